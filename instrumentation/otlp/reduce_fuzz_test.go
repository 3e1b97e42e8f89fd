package otlp

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

// FuzzReduceChanges walks changes made from any JSON document, each of its
// strings repeated rep times so that short inputs reach ReducedValueBytes:
// reduceChanges never panics, leaves its input as it was, keeps every field
// name and side name in order, and replaces exactly the values whose strings
// (keys included; 8 bytes a scalar) add up to more than ReducedValueBytes,
// counted here independently of valueBytes. Seeds in
// testdata/fuzz/FuzzReduceChanges.
func FuzzReduceChanges(f *testing.F) {
	f.Add([]byte(`{"notes":{"old":"a","new":"b"},"points":{"old":1,"new":2}}`), uint8(200))
	f.Add([]byte(`{"phone":{"redacted":true},"tags":{"old":["x","y"],"new":[]}}`), uint8(100))
	f.Add([]byte(`"a value that is not a map"`), uint8(90))
	f.Add([]byte(`{"prefs":{"new":{"deep":{"deeper":["z",{"k":"v"}]}}},"n":null}`), uint8(30))
	f.Fuzz(func(t *testing.T, data []byte, rep uint8) {
		var doc any
		if json.Unmarshal(data, &doc) != nil {
			return
		}
		in := toValue(doc, int(rep)%120+1)
		before := in.Emit()
		got, reduced := reduceChanges(in)
		if in.Emit() != before {
			t.Fatalf("input changed: %.200s -> %.200s", before, in.Emit())
		}
		replaced := false
		// check compares one value with what it became.
		check := func(path string, in, out attribute.Value) {
			if exactBytes(in) > ReducedValueBytes {
				replaced = true
				if out.Type() != attribute.STRING || out.AsString() != MarkerTooLarge {
					t.Errorf("%s: %d bytes, got %.100s, want the marker", path, exactBytes(in), out.Emit())
				}
				return
			}
			if out.Type() != in.Type() || out.Emit() != in.Emit() {
				t.Errorf("%s: %d bytes, got %.100s, want it as it was", path, exactBytes(in), out.Emit())
			}
		}
		if in.Type() != attribute.MAP {
			check("changes", in, got)
		} else {
			fields, outFields := in.AsMap(), got.AsMap()
			if got.Type() != attribute.MAP || !sameKeys(fields, outFields) {
				t.Fatalf("got fields %.200s, want the names of %.200s", got.Emit(), before)
			}
			for i, fld := range fields {
				if fld.Value.Type() != attribute.MAP {
					check(string(fld.Key), fld.Value, outFields[i].Value)
					continue
				}
				sides, outSides := fld.Value.AsMap(), outFields[i].Value.AsMap()
				if outFields[i].Value.Type() != attribute.MAP || !sameKeys(sides, outSides) {
					t.Fatalf("%s: got %.200s, want the sides of %.200s", fld.Key, outFields[i].Value.Emit(), fld.Value.Emit())
				}
				for j, s := range sides {
					check(string(fld.Key)+"."+string(s.Key), s.Value, outSides[j].Value)
				}
			}
		}
		if reduced != replaced {
			t.Errorf("reduced %t, want %t", reduced, replaced)
		}
	})
}

// toValue is doc as an attribute value, each string repeated rep times;
// object members in key order, numbers that are whole as integers.
func toValue(doc any, rep int) attribute.Value {
	switch d := doc.(type) {
	case string:
		return attribute.StringValue(strings.Repeat(d, rep))
	case bool:
		return attribute.BoolValue(d)
	case float64:
		if d == math.Trunc(d) && math.Abs(d) < 1<<53 {
			return attribute.Int64Value(int64(d))
		}
		return attribute.Float64Value(d)
	case []any:
		vs := make([]attribute.Value, len(d))
		for i, e := range d {
			vs[i] = toValue(e, rep)
		}
		return attribute.SliceValue(vs...)
	case map[string]any:
		keys := make([]string, 0, len(d))
		for k := range d {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		kvs := make([]attribute.KeyValue, len(keys))
		for i, k := range keys {
			kvs[i] = attribute.KeyValue{Key: attribute.Key(strings.Repeat(k, rep)), Value: toValue(d[k], rep)}
		}
		return attribute.MapValue(kvs...)
	}
	return attribute.Value{}
}

// exactBytes counts v's bytes as ReducedValueBytes says, to the end: its
// strings at any depth, map keys included, 8 a number or bool.
func exactBytes(v attribute.Value) int {
	switch v.Type() {
	case attribute.STRING:
		return len(v.AsString())
	case attribute.SLICE:
		n := 0
		for _, e := range v.AsSlice() {
			n += exactBytes(e)
		}
		return n
	case attribute.MAP:
		n := 0
		for _, kv := range v.AsMap() {
			n += len(kv.Key) + exactBytes(kv.Value)
		}
		return n
	case attribute.EMPTY:
		return 0
	}
	return 8
}

func sameKeys(a, b []attribute.KeyValue) bool {
	return slices.EqualFunc(a, b, func(x, y attribute.KeyValue) bool { return x.Key == y.Key })
}
