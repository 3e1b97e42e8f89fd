package redact

import (
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/activitylog/activitylog/schema"
)

func TestRemovals(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		marked []int
	}{
		{"none", 10, nil},
		{"first and last of a small map", 10, []int{0, 9}},
		{"across the bit set's end", 130, []int{3, 63, 64, 65, 100, 129}},
		{"only beyond the bit set", 70, []int{66, 69}},
		{"all", 66, func() []int {
			all := make([]int, 66)
			for i := range all {
				all[i] = i
			}
			return all
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := pcommon.NewMap()
			s := pcommon.NewSlice()
			for i := 0; i < tt.n; i++ {
				m.PutInt(strconv.Itoa(i), int64(i))
				s.AppendEmpty().SetInt(int64(i))
			}
			var rmMap, rmSlice removals
			want := map[int]bool{}
			for _, i := range tt.marked {
				rmMap.mark(i)
				rmSlice.mark(i)
				want[i] = true
			}
			rmMap.removeFrom(m)
			rmSlice.removeFromSlice(s)
			var gotMap, gotSlice, wantLeft []int64
			for i := 0; i < tt.n; i++ {
				if !want[i] {
					wantLeft = append(wantLeft, int64(i))
				}
			}
			for _, v := range m.All() {
				gotMap = append(gotMap, v.Int())
			}
			for _, v := range s.All() {
				gotSlice = append(gotSlice, v.Int())
			}
			if !reflect.DeepEqual(gotMap, wantLeft) {
				t.Errorf("map: got %v, want %v", gotMap, wantLeft)
			}
			if !reflect.DeepEqual(gotSlice, wantLeft) {
				t.Errorf("slice: got %v, want %v", gotSlice, wantLeft)
			}
		})
	}
}

// hookCall is one call of Report.Hook, as the differential test logs it.
type hookCall struct {
	key string
	tag uint8
	typ pcommon.ValueType
}

// cachesConfig is testConfig with a hook on some keys: "h.*" keys get a tag
// handed over for every value, "n.*" keys one with HookContainers, and the
// changes attribute one as well.
func cachesConfig() Config {
	cfg := testConfig()
	cfg.Hooked = func(k string) uint8 {
		switch {
		case strings.HasPrefix(k, "h."):
			return 1
		case strings.HasPrefix(k, "n."):
			return 2 | HookContainers
		case k == schema.AttrChanges:
			return 3
		}
		return 0
	}
	return cfg
}

// walkOutcome is everything a walk of one record produces.
type walkOutcome struct {
	Attrs  string
	Paths  []string
	Counts [NumRules]int
	Hooks  []hookCall
	// Texts are Text's and Body's results on the record's top-level
	// strings, each twice (the second answered by their memos).
	Texts []string
}

// walkRecord walks a copy of attrs with rep, which may carry the caches of
// earlier walks, removing the values whose hook call asks for it ("h.drop").
func walkRecord(r *Redactor, rep *Report, attrs pcommon.Map) walkOutcome {
	m := pcommon.NewMap()
	attrs.CopyTo(m)
	var out walkOutcome
	rep.Reset()
	rep.Hook = HookFunc(func(k string, tag uint8, v pcommon.Value) bool {
		out.Hooks = append(out.Hooks, hookCall{k, tag, v.Type()})
		return k == "h.drop"
	})
	r.Attributes(m, "", true, rep)
	raw, _ := json.Marshal(m.AsRaw())
	out.Attrs = string(raw)
	out.Paths = append([]string(nil), rep.Paths()...)
	out.Counts = rep.Counts
	for _, v := range attrs.All() {
		if v.Type() != pcommon.ValueTypeStr {
			continue
		}
		for range 2 {
			rep.Reset()
			text, changed := r.Text("text", v.Str(), rep)
			out.Texts = append(out.Texts, fmt.Sprintf("%q %v %v %v", text, changed, rep.Paths(), rep.Counts))
			rep.Reset()
			body := pcommon.NewValueStr(v.Str())
			r.Body(body, rep)
			out.Texts = append(out.Texts, fmt.Sprintf("body %q %v %v", body.Str(), rep.Paths(), rep.Counts))
		}
	}
	return out
}

// checkCachesAgree walks records one after the other with one Report, as a
// batch does (so the shape, the per-key clean values and the clean cache
// answer), and each again with a fresh Report, which must give the same
// result: the caches are only ever a shortcut.
func checkCachesAgree(t *testing.T, r *Redactor, records []pcommon.Map) {
	t.Helper()
	var shared Report
	for i, rec := range records {
		if i == len(records)/2 {
			// A new batch with a cache from the pool: cleared.
			shared.Release()
		}
		got := walkRecord(r, &shared, rec)
		var fresh Report
		want := walkRecord(r, &fresh, rec)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("record %d with the batch's caches: got %+v, want %+v (fresh caches)", i, got, want)
		}
	}
}

// cacheRecords builds records around the fuzzer's input: the same keys in
// the same or a shifted order, repeated and changing values, secrets at
// every level, so that every cache both hits and misses.
func cacheRecords(doc []byte, kind uint8, b []byte) []pcommon.Map {
	var raw map[string]any
	if json.Unmarshal(doc, &raw) != nil {
		raw = map[string]any{"text": string(doc)}
	}
	planted, _ := plant(kind, b)
	var recs []pcommon.Map
	for i := 0; i < 6; i++ {
		m := pcommon.NewMap()
		if err := m.FromRaw(raw); err != nil {
			m = pcommon.NewMap()
		}
		if i%3 == 1 {
			m.PutStr("shift", "moves every later key by one position")
		}
		m.PutStr("h.kept", "repeated value, long enough to be scanned")
		m.PutStr("n.value", fmt.Sprintf("changing value %d", i))
		m.PutInt("n.int", int64(i))
		if i%2 == 0 {
			m.PutStr("n.value", planted)
			m.PutStr("h.drop", "removed by the hook")
		} else {
			m.PutStr("h.kept", planted)
		}
		list := m.PutEmptySlice("list")
		list.AppendEmpty().SetStr("repeated item, long enough to be scanned")
		list.AppendEmpty().SetStr([]string{planted, fmt.Sprintf("changing item %d", i)}[i%2])
		list.AppendEmpty().SetInt(int64(i))
		list.AppendEmpty().SetStr([]string{"same fourth item", planted}[i%3/2])
		m.PutStr("otp", "123456")
		m.PutStr(planted, "a secret as a key")
		ch := m.PutEmptyMap(schema.AttrChanges)
		f := ch.PutEmptyMap("title")
		f.PutStr("old", "same old title")
		f.PutStr("new", []string{"same old title", planted}[i%2])
		ch.PutEmptyMap("password").PutStr("new", "hunter22")
		recs = append(recs, m)
	}
	return recs
}

func TestCachesAgreeWithFreshWalk(t *testing.T) {
	r := mustNew(t, cachesConfig())
	for kind := uint8(0); kind < 8; kind++ {
		checkCachesAgree(t, r, cacheRecords([]byte(`{"a":{"b":[1,"x y z long enough"]},"c":"Bearer abcdefghijk"}`), kind, []byte("seed")))
	}
}

// FuzzWalkerCaches is the differential test of the walker's shortcuts (the
// shape of the previous record, each key's last clean value, the clean
// cache, the deferred removals and the hook tags): a batch walked with
// shared caches must come out exactly as each record walked on its own.
func FuzzWalkerCaches(f *testing.F) {
	f.Add([]byte(`{"a":{"password":"x","b":[1,"Bearer abcdefghijk",{"c":null}]},"activity.changes":{"pin":{"old":1,"new":2}}}`), uint8(0), []byte("s"))
	f.Add([]byte(`{"x":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]}`), uint8(5), []byte("1234"))
	f.Add([]byte(`not json`), uint8(3), []byte{})
	r := mustNew(f, cachesConfig())
	f.Fuzz(func(t *testing.T, doc []byte, kind uint8, b []byte) {
		checkCachesAgree(t, r, cacheRecords(doc, kind, b))
	})
}

// FuzzCleanCache holds the clean cache to a full comparison: after a
// string is marked clean, another is known clean exactly when it is equal,
// whatever the two hash to, also with clean in both ways of other's set.
// Short strings (8 to 16 bytes) are compared by
// their first and last 8 bytes, long ones as strings.
func FuzzCleanCache(f *testing.F) {
	f.Add("tenant-12", "tenant-21")
	f.Add("0123456789abcdef", "0123456789abcdeF")
	f.Add("12345678", "123456789")
	f.Add("abcdefghabcdefgh", "abcdefghabcdefgh")
	f.Add("a user agent longer than sixteen bytes", "a user agent longer than sixteen byteS")
	r := mustNew(f, testConfig())
	f.Fuzz(func(t *testing.T, clean, other string) {
		if len(clean) < minScanLen || len(other) < minScanLen {
			return
		}
		var rep Report
		w := rep.walker(r, "")
		ref, _ := w.lookupClean(clean)
		rep.markClean(ref, clean, wayCold)
		if _, known := w.lookupClean(clean); known != (len(clean) <= cleanMaxLen) {
			t.Errorf("lookupClean(%q) after marking it: got %v", clean, known)
		}
		if _, known := w.lookupClean(other); known != (other == clean && len(clean) <= cleanMaxLen) {
			t.Errorf("lookupClean(%q) after marking %q: got %v", other, clean, known)
		}
		// Force a collision: clean's entry, with other's tag, in both ways
		// of other's set.
		if oref, _ := w.lookupClean(other); oref.set >= 0 {
			for way := range 2 {
				if isShort(len(clean)) {
					rep.cache.short[oref.set][way] = shortEntry{a: ref.a, b: ref.b, n: uint8(len(clean)), state: wayCold}
				} else {
					c := &rep.cache.clean[oref.set]
					c.s[way], c.tag[way], c.state[way] = clean, oref.tag, wayCold
				}
			}
			if _, known := w.lookupClean(other); known != (other == clean) {
				t.Errorf("lookupClean(%q) with %q in its set: got %v", other, clean, known)
			}
		}
		rep.Release()
		w = rep.walker(r, "")
		if _, known := w.lookupClean(clean); known {
			t.Errorf("lookupClean(%q) after Release: got true, want false", clean)
		}
	})
}

// TestCleanCacheWays checks the clean cache's replacement (see cleanSet),
// for short and long strings: two strings of one set are both kept; a
// newcomer replaces a cold way before a hot one (found again), the older of
// two alike; a costly one (the detectors had to read it) is replaced only by
// another costly one.
func TestCleanCacheWays(t *testing.T) {
	r := mustNew(t, testConfig())
	for _, form := range []string{"short-%05d", "a longer clean value, number %05d"} {
		var rep Report
		w := rep.walker(r, "")
		// Five strings hashed into one set.
		var same []string
		want, _ := w.lookupClean(fmt.Sprintf(form, 0))
		for i := 0; len(same) < 5; i++ {
			s := fmt.Sprintf(form, i)
			if ref, _ := w.lookupClean(s); ref.set == want.set {
				same = append(same, s)
			}
		}
		a, b, c, d, e := same[0], same[1], same[2], same[3], same[4]
		mark := func(s string, st uint8) {
			ref, _ := w.lookupClean(s)
			rep.markClean(ref, s, st)
		}
		known := func(step string, s string, want bool) {
			t.Helper()
			if _, got := w.lookupClean(s); got != want {
				t.Errorf("%s: %s: lookupClean(%q) = %v, want %v", form, step, s, got, want)
			}
		}
		mark(a, wayCold)
		mark(b, wayCold)
		known("two in one set", a, true)
		known("two in one set", b, true)
		rep.Release()
		w = rep.walker(r, "")
		mark(a, wayCold)
		mark(b, wayCold)
		known("a found again", a, true)
		// c replaces b, cold, not a, hot.
		mark(c, wayCold)
		known("c after hot a and cold b", a, true)
		known("c after hot a and cold b", b, false)
		known("c after hot a and cold b", c, true)
		// Both hot now: d replaces the older, a.
		mark(d, wayCold)
		known("d after hot a and c", a, false)
		known("d after hot a and c", c, true)
		known("d after hot a and c", d, true)
		rep.Release()
		w = rep.walker(r, "")
		mark(a, wayCostly)
		mark(b, wayCostly)
		// Both costly: c is not kept.
		mark(c, wayCold)
		known("c after costly a and b", c, false)
		known("c after costly a and b", a, true)
		known("c after costly a and b", b, true)
		// e, costly, replaces the older costly one, a.
		mark(e, wayCostly)
		known("costly e", a, false)
		known("costly e", b, true)
		known("costly e", e, true)
		rep.Release()
		w = rep.walker(r, "")
		mark(a, wayCostly)
		mark(b, wayCostly)
		known("a found again", a, true)
		// b, costly, not found again, is still kept from c.
		mark(c, wayCold)
		known("c after costly a, hot, and b", c, false)
		known("c after costly a, hot, and b", b, true)
		known("c after costly a, hot, and b", a, true)
		rep.Release()
	}
}

func TestSame(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"", ""}, {"a", "a"}, {"a", "b"}, {"ab", "ab"}, {"ab", "ba"}, {"tenant-12", "tenant-13"},
		{"tenant-12", "tenant-12"}, {"x-tenant-12", "y-tenant-12"}, {"abc", "abcd"}, {"12345678", "12345678"},
	} {
		if got, want := same(tc.a, tc.b), tc.a == tc.b; got != want {
			t.Errorf("same(%q, %q): got %v, want %v", tc.a, tc.b, got, want)
		}
	}
}

// TestHookBits checks which values of a hooked key reach Report.Hook for
// each tag bit.
func TestHookBits(t *testing.T) {
	values := map[string]func(pcommon.Value){
		"str":   func(v pcommon.Value) { v.SetStr("a string value") },
		"int":   func(v pcommon.Value) { v.SetInt(7) },
		"map":   func(v pcommon.Value) { v.SetEmptyMap().PutStr("k", "v") },
		"slice": func(v pcommon.Value) { v.SetEmptySlice().AppendEmpty().SetStr("x") },
		// A list holding a list, or a map, is a container; one of
		// scalars is not.
		"nested": func(v pcommon.Value) { v.SetEmptySlice().AppendEmpty().SetEmptySlice().AppendEmpty().SetInt(1) },
		"maps":   func(v pcommon.Value) { v.SetEmptySlice().AppendEmpty().SetEmptyMap().PutStr("k", "v") },
	}
	tests := []struct {
		tag  uint8
		want map[string]bool
	}{
		{1, map[string]bool{"str": true, "int": true, "map": true, "slice": true, "nested": true, "maps": true}},
		{1 | HookContainers, map[string]bool{"str": false, "int": false, "map": true, "slice": false, "nested": true, "maps": true}},
		{1 | HookNonMaps, map[string]bool{"str": true, "int": true, "map": false, "slice": true, "nested": true, "maps": true}},
		{1 | HookContainers | HookNonMaps, map[string]bool{"str": false, "int": false, "map": false, "slice": false, "nested": true, "maps": true}},
	}
	for _, tt := range tests {
		cfg := testConfig()
		cfg.Hooked = func(k string) uint8 {
			if k == "hooked" {
				return tt.tag
			}
			return 0
		}
		r := mustNew(t, cfg)
		for name, set := range values {
			var rep Report
			called := false
			rep.Hook = HookFunc(func(k string, tag uint8, v pcommon.Value) bool {
				if k != "hooked" || tag != tt.tag {
					t.Errorf("tag %#x, %s: hook got key %q tag %#x", tt.tag, name, k, tag)
				}
				called = true
				return false
			})
			m := pcommon.NewMap()
			set(m.PutEmpty("hooked"))
			r.Attributes(m, "", true, &rep)
			rep.Release()
			if called != tt.want[name] {
				t.Errorf("tag %#x, %s value: hook called %v, want %v", tt.tag, name, called, tt.want[name])
			}
		}
	}
}

// TestCachesKeptAcrossCollections checks that a released batch cache is the
// one the next batch gets, cleared, even after garbage collections (a
// sync.Pool would have dropped it), and that no more than maxFreeCaches are
// kept.
func TestCachesKeptAcrossCollections(t *testing.T) {
	r := mustNew(t, testConfig())
	var rep Report
	first := rep.ensureCache(r)
	first.clean[0].s[0] = "a clean value of some length"
	rep.Release()
	runtime.GC()
	runtime.GC()
	if got := rep.ensureCache(r); got != first {
		t.Error("the next batch got a new cache, not the released one")
	} else if got.clean[0].s[0] != "" {
		t.Errorf("the reused cache was not cleared: %q", got.clean[0].s[0])
	}
	rep.Release()

	reps := make([]Report, maxFreeCaches()+3)
	for i := range reps {
		reps[i].ensureCache(r)
	}
	for i := range reps {
		reps[i].Release()
	}
	if got, want := len(r.caches), maxFreeCaches(); got != want {
		t.Errorf("free caches kept: got %d, want %d", got, want)
	}
}

// TestShapeKeyComparedInFull proves that the shape memo (the key at the
// same position in the previous record, and the field name at the same
// position in the previous changes) is reused only for the very same key:
// keys of 8 to 24 bytes are compared word by word inline, and a key that
// differs from the previous record's in any one byte, at any length, is
// classified afresh. The second key of each pair holds "secret", so a
// wrongly reused verdict would leave its value unredacted.
func TestShapeKeyComparedInFull(t *testing.T) {
	r := mustNew(t, testConfig())
	for n := len("secret"); n <= 30; n++ {
		for at := 0; at+len("secret") <= n; at++ {
			secretKey := strings.Repeat("x", at) + "secret" + strings.Repeat("x", n-at-len("secret"))
			// The same key with one byte changed: it matches no pattern.
			cleanKey := secretKey[:at+5] + "q" + secretKey[at+6:]
			var rep Report
			for i, k := range []string{cleanKey, secretKey} {
				m := pcommon.NewMap()
				m.PutStr(k, "a value long enough")
				m.PutEmptyMap(schema.AttrChanges).PutEmptyMap(k).PutStr("new", "a value long enough")
				rep.Reset()
				r.Attributes(m, "", true, &rep)
				v, _ := m.Get(k)
				f, _ := m.Get(schema.AttrChanges)
				field, _ := f.Map().Get(k)
				redacted := v.Str() == Mask
				fieldRedacted := field.Type() == pcommon.ValueTypeMap && field.Map().Len() == 1
				if _, ok := field.Map().Get("redacted"); !ok {
					fieldRedacted = false
				}
				if want := i == 1; redacted != want || fieldRedacted != want {
					t.Errorf("key %q after %q: got value redacted %v, field redacted %v, want %v",
						k, cleanKey, redacted, fieldRedacted, want)
				}
			}
			rep.Release()
		}
	}
}
