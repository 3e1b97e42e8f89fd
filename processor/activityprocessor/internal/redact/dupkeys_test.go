package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/activitylog/activitylog/internal/rawotlp"
	"github.com/activitylog/activitylog/schema"
)

func TestRepeatedKeys(t *testing.T) {
	hooked := func(k string) uint8 {
		if k == schema.AttrTenantID {
			return 1
		}
		return 0
	}
	tests := []struct {
		name string
		doc  string
		top  bool
		want string // the map afterwards, as JSON
		dups int
	}{
		{"top-level, first kept", `{"a":"1","b":"2","a":"3"}`, true, `{"a":"1","b":"2"}`, 1},
		{"top-level, three times", `{"a":"1","a":"2","a":"3"}`, true, `{"a":"1"}`, 2},
		{"top-level, a secret in the repeat", `{"user":"jane","user":"Bearer abcdefghijklmnop"}`, true, `{"user":"jane"}`, 1},
		{"hooked key, later value never seen", `{"activity.tenant.id":"acme","activity.tenant.id":"evil"}`, true,
			`{"activity.tenant.id":"acme"}`, 1},
		{"nested map", `{"m":{"x":1,"y":2,"x":3}}`, true, `{"m":{"x":1,"y":2}}`, 1},
		{"nested in a list", `{"l":[{"x":1,"x":2},"s"]}`, true, `{"l":[{"x":1},"s"]}`, 1},
		{"changes: repeated field and repeated old", `{"activity.changes":{"email":{"old":"a@x.io","old":"b@x.io","new":"c@x.io"},"email":{"old":"z"}}}`, true,
			`{"activity.changes":{"email":{"old":"a@x.io","new":"c@x.io"}}}`, 2},
		{"changes: other keys in a change", `{"activity.changes":{"f":{"old":"1","note":"a","note":"b","new":"2","new":"3"}}}`, true,
			`{"activity.changes":{"f":{"old":"1","note":"a","new":"2"}}}`, 2},
		{"changes: a secret field repeated", `{"activity.changes":{"password":{"old":"p1","new":"p2"},"password":{"old":"p3"}}}`, true,
			`{"activity.changes":{"password":{"redacted":true}}}`, 1},
		{"not top-level: resource attributes", `{"service.name":"a","service.name":"b","k":{"q":1,"q":2}}`, false,
			`{"service.name":"a","k":{"q":1}}`, 2},
		{"many keys, one repeat at the end", `{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"n":{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k1":0}}`, true,
			`{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"n":{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9}}`, 1},
		{"no repeats", `{"a":"1","b":{"a":"2"}}`, true, `{"a":"1","b":{"a":"2"}}`, 0},
	}
	cfg := testConfig()
	cfg.Hooked = hooked
	r := mustNew(t, cfg)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := attrsWithRepeats(t, tt.doc)
			var rep Report
			var hookedValues []string
			rep.Hook = HookFunc(func(k string, _ uint8, v pcommon.Value) bool {
				hookedValues = append(hookedValues, k+"="+v.AsString())
				return false
			})
			// Twice with one Report: the second walk goes through the
			// batch cache's shortcuts.
			for round := 0; round < 2; round++ {
				hookedValues = nil
				rep.Reset()
				in, err := rawotlp.Attributes(tt.doc)
				if err != nil {
					t.Fatal(err)
				}
				if round == 0 {
					in = m
				}
				r.Attributes(in, "", tt.top, &rep)
				got, _ := json.Marshal(in.AsRaw())
				var want bytes.Buffer
				if err := json.Compact(&want, []byte(tt.want)); err != nil {
					t.Fatal(err)
				}
				if p := rawotlp.RepeatedKey(in, ""); p != "" {
					t.Errorf("round %d: key %s still repeated", round, p)
				}
				if !jsonEqual(t, got, want.Bytes()) {
					t.Errorf("round %d: got %s, want %s", round, got, want.Bytes())
				}
				if rep.Duplicates != tt.dups {
					t.Errorf("round %d: got %d duplicates, want %d", round, rep.Duplicates, tt.dups)
				}
				for _, h := range hookedValues {
					if strings.Contains(h, "evil") {
						t.Errorf("round %d: the hook saw the repeated entry %s", round, h)
					}
				}
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// TestRepeatedKeyAfterEviction repeats a top-level key after the walk has
// evicted its cache entry (and so its mark): the walk must still find the
// repeat, by comparing keys.
func TestRepeatedKeyAfterEviction(t *testing.T) {
	// Three keys of one two-way set of the key cache: the third evicts an
	// entry of one of the first two.
	bySet := map[uint32][]string{}
	var set []string
	for i := 0; set == nil; i++ {
		k := fmt.Sprintf("attr.%d", i)
		s := sampleHash(k) % keySlots / 2
		bySet[s] = append(bySet[s], k)
		if len(bySet[s]) == 3 {
			set = bySet[s]
		}
	}
	r := mustNew(t, testConfig())
	for _, first := range set[:2] {
		keys := fmt.Sprintf(`%q:"1",%q:"2",%q:"3",%q:"4"`, set[0], set[1], set[2], first)
		// At the top, and as field names of activity.changes.
		for _, doc := range []string{"{" + keys + "}", `{"activity.changes":{` + keys + `}}`} {
			m, err := rawotlp.Attributes(doc)
			if err != nil {
				t.Fatal(err)
			}
			var rep Report
			r.Attributes(m, "", true, &rep)
			if p := rawotlp.RepeatedKey(m, ""); p != "" {
				t.Errorf("%s: key %s still repeated", doc, p)
			}
			inner := m
			if v, ok := m.Get(schema.AttrChanges); ok {
				inner = v.Map()
			}
			if got := inner.Len(); got != 3 {
				t.Errorf("%s: got %d entries, want 3", doc, got)
			}
			if rep.Duplicates != 1 {
				t.Errorf("%s: got %d duplicates, want 1", doc, rep.Duplicates)
			}
		}
	}
}

// FuzzRepeatedKeys walks attribute maps with repeated keys at any depth.
// No key is repeated afterwards, and the result equals the walk of the same
// map with the repeats removed beforehand (the first of each key kept).
func FuzzRepeatedKeys(f *testing.F) {
	f.Add(`{"a":"1","a":"2"}`)
	f.Add(`{"activity.changes":{"f":{"old":"x","old":"Bearer abcdefghijklmnop","new":1},"f":{"new":2}},"x":[{"k":1,"k":{"k":2,"k":3}}]}`)
	f.Add(`{"password":"a","password":"b","m":{"token":"t","token":"u"}}`)
	f.Add(`{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k9":0}`)
	r := mustNew(f, testConfig())
	f.Fuzz(func(t *testing.T, doc string) {
		m, err := rawotlp.Attributes(doc)
		if err != nil {
			t.Skip("not a JSON object")
		}
		ref, _ := rawotlp.Attributes(doc)
		keepFirst(ref)
		var rep, refRep Report
		r.Attributes(m, "", true, &rep)
		r.Attributes(ref, "", true, &refRep)
		if p := rawotlp.RepeatedKey(m, ""); p != "" {
			t.Fatalf("key %s still repeated in %s", p, doc)
		}
		got, err := json.Marshal(m.AsRaw())
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(ref.AsRaw())
		if !bytes.Equal(got, want) {
			t.Errorf("got %s, want %s (the walk of the map without repeats)", got, want)
		}
	})
}

// keepFirst removes, at every depth, the entries whose key an earlier entry
// of the same map has: the reference FuzzRepeatedKeys compares with.
func keepFirst(m pcommon.Map) {
	seen := map[string]bool{}
	m.RemoveIf(func(k string, _ pcommon.Value) bool {
		if seen[k] {
			return true
		}
		seen[k] = true
		return false
	})
	for _, v := range m.All() {
		keepFirstIn(v)
	}
}

func keepFirstIn(v pcommon.Value) {
	switch v.Type() {
	case pcommon.ValueTypeMap:
		keepFirst(v.Map())
	case pcommon.ValueTypeSlice:
		for _, item := range v.Slice().All() {
			keepFirstIn(item)
		}
	}
}

// TestStampWrapsAround walks a map with a repeated key right after the
// top-level and field stamps wrapped around to 0: the marks of long ago are
// cleared, so only the real repeat is removed.
func TestStampWrapsAround(t *testing.T) {
	r := mustNew(t, testConfig())
	var rep Report
	doc := `{"a":"1","b":"2","a":"3","activity.changes":{"f":{"old":"x"},"g":{"old":"y"},"f":{"old":"z"}}}`
	m, err := rawotlp.Attributes(doc)
	if err != nil {
		t.Fatal(err)
	}
	r.Attributes(m, "", true, &rep) // fills the cache and marks its entries
	c := rep.cache
	for i := range c.keys {
		c.keys[i].mark, c.keys[i].fieldMark = 1, 1
	}
	c.stamp, c.fieldStamp = ^uint32(0), ^uint32(0)
	rep.Reset()
	m, _ = rawotlp.Attributes(doc)
	r.Attributes(m, "", true, &rep)
	if rep.Duplicates != 2 {
		t.Errorf("got %d duplicates, want 2", rep.Duplicates)
	}
	got, _ := json.Marshal(m.AsRaw())
	if want := `{"a":"1","activity.changes":{"f":{"old":"x"},"g":{"old":"y"}},"b":"2"}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestFlattenedPathTooLong removes the entries of flattened fields whose
// path Elasticsearch cannot index (it refused the whole document), and only
// those.
func TestFlattenedPathTooLong(t *testing.T) {
	long := strings.Repeat("k", maxFlattenedPath+1)
	half := strings.Repeat("h", maxFlattenedPath/2)
	r := mustNew(t, testConfig())
	tests := []struct {
		name, prefix, doc, want string
		hits                    int
	}{
		{"a changed field's name", "", `{"activity.changes":{"` + long + `":{"old":"1"},"f":{"old":"2"}}}`,
			`{"activity.changes":{"f":{"old":"2"}}}`, 1},
		{"two long keys on one path", "", `{"activity.changes":{"` + half + `":{"old":{"` + half + `x":1,"ok":2}}}}`,
			`{"activity.changes":{"` + half + `":{"old":{"ok":2}}}}`, 1},
		{"a top-level key is no flattened path", "", `{"` + long + `":"v"}`, `{"` + long + `":"v"}`, 0},
		{"nor one in another attribute", "", `{"m":{"` + long + `":"v"}}`, `{"m":{"` + long + `":"v"}}`, 0},
		{"nor in resource attributes", "resource", `{"m":{"` + long + `":"v"}}`, `{"m":{"` + long + `":"v"}}`, 0},
		{"a map body", "body", `{"` + long + `":"v","ok":"w"}`, `{"ok":"w"}`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := attrsWithRepeats(t, tt.doc)
			var rep Report
			if tt.prefix == "body" {
				v := pcommon.NewValueMap()
				m.CopyTo(v.Map())
				r.Body(v, &rep)
				m = v.Map()
			} else {
				r.Attributes(m, tt.prefix, tt.prefix == "", &rep)
			}
			got, _ := json.Marshal(m.AsRaw())
			if string(got) != tt.want && !jsonEqual(t, got, []byte(tt.want)) {
				t.Errorf("got %.200s, want %.200s", got, tt.want)
			}
			if rep.Counts[RuleTooLong] != tt.hits {
				t.Errorf("got %d too_long hits, want %d", rep.Counts[RuleTooLong], tt.hits)
			}
			for _, p := range rep.Paths() {
				if strings.Contains(p, long) || strings.Contains(p, half+"x") || !strings.HasSuffix(p, "."+Mask) {
					t.Errorf("got recorded path %.100s..., want the removed key as %s", p, Mask)
				}
			}
		})
	}
}

// attrsWithRepeats returns the JSON object doc as attributes, repeated keys
// kept (rawotlp.Attributes), failing t when doc is not one.
func attrsWithRepeats(t testing.TB, doc string) pcommon.Map {
	t.Helper()
	m, err := rawotlp.Attributes(doc)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
