package rawotlp

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestAttributes(t *testing.T) {
	m, err := Attributes(`{"a":"x","n":1,"f":1.5,"b":true,"z":null,"l":[{"k":1,"k":2}],"a":"y"}`)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m.All() {
		keys = append(keys, k)
	}
	if got, want := len(keys), 7; got != want {
		t.Fatalf("got %d entries %v, want %d", got, keys, want)
	}
	if got := keys[6]; got != "a" {
		t.Errorf("last key: got %q, want the repeated a", got)
	}
	types := map[string]pcommon.ValueType{"n": pcommon.ValueTypeInt, "f": pcommon.ValueTypeDouble,
		"b": pcommon.ValueTypeBool, "z": pcommon.ValueTypeEmpty, "l": pcommon.ValueTypeSlice}
	for k, want := range types {
		if v, _ := m.Get(k); v.Type() != want {
			t.Errorf("%s: got type %s, want %s", k, v.Type(), want)
		}
	}
	if got, want := RepeatedKey(m, "attrs"), "attrs.l[0].k"; got != want {
		t.Errorf("RepeatedKey: got %q, want %q (the nested repeat comes first)", got, want)
	}
}

func TestAttributesBadInput(t *testing.T) {
	for _, doc := range []string{``, `[1]`, `"s"`, `{"a":1} {}`, `{"a":`, `{"a":1e999}`} {
		if _, err := Attributes(doc); err == nil {
			t.Errorf("%q: got no error, want one", doc)
		}
	}
}
