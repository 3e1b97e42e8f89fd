package recordid

import (
	"encoding/json"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

var uuidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func record(attrs map[string]any) plog.LogRecord {
	lr := plog.NewLogRecord()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)))
	lr.SetEventName("activity.created")
	lr.Body().SetStr("body")
	_ = lr.Attributes().FromRaw(attrs)
	return lr
}

func TestDerive(t *testing.T) {
	a := Derive(record(map[string]any{"a": 1, "b": "x"}), nil)
	b := Derive(record(map[string]any{"b": "x", "a": 1}), nil)   // order does not matter
	c := Derive(record(map[string]any{"a": "1", "b": "x"}), nil) // type does
	d := Derive(record(map[string]any{"a": 1, "b": "x", "skip": "me"}), func(k string) bool { return k == "skip" })
	if a != b {
		t.Errorf("attribute order: got %s and %s, want equal", a, b)
	}
	if a == c {
		t.Errorf("int 1 and string \"1\": got the same id %s, want different", a)
	}
	if a != d {
		t.Errorf("skipped attribute: got %s, want %s", d, a)
	}
	if !uuidV7.MatchString(a) {
		t.Errorf("got %s, want a UUIDv7", a)
	}
	// The first 48 bits are the record's Unix milliseconds.
	if got, want := a[:8]+a[9:13], fmt.Sprintf("%012x", time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC).UnixMilli()); got != want {
		t.Errorf("time prefix: got %s, want %s", got, want)
	}
}

// TestDeriveFrom: the copies of one record, and the same record from other
// origins, get ids of their own, each the same every time; with no origin,
// the first copy's id is Derive's.
func TestDeriveFrom(t *testing.T) {
	lr := record(map[string]any{"a": 1})
	origin := func(host, scope, version string, skipped string) *Origin {
		res := pcommon.NewResource()
		res.Attributes().PutStr("host.name", host)
		res.Attributes().PutStr("skipped", skipped)
		sc := pcommon.NewInstrumentationScope()
		sc.SetName(scope)
		sc.SetVersion(version)
		o := OriginOf(res, sc, func(k string) bool { return k == "skipped" })
		return &o
	}
	seen := map[string]string{}
	for _, o := range []struct {
		name   string
		origin *Origin
	}{
		{"no origin", nil},
		{"web-1/auth", origin("web-1", "auth", "1", "")},
		{"web-2/auth", origin("web-2", "auth", "1", "")},
		{"web-1/billing", origin("web-1", "billing", "1", "")},
		{"web-1/auth v2", origin("web-1", "auth", "2", "")},
	} {
		for n := range 3 {
			id := DeriveFrom(o.origin, lr, nil, n)
			if again := DeriveFrom(o.origin, lr, nil, n); again != id {
				t.Errorf("%s copy %d: got %s, then %s", o.name, n, id, again)
			}
			what := fmt.Sprintf("%s copy %d", o.name, n)
			if prev, ok := seen[id]; ok {
				t.Errorf("%s and %s: got the same id %s, want different", prev, what, id)
			}
			seen[id] = what
		}
	}
	if got, want := DeriveFrom(nil, lr, nil, 0), Derive(lr, nil); got != want {
		t.Errorf("no origin, copy 0: got %s, want Derive's %s", got, want)
	}
	if a, b := DeriveFrom(origin("web-1", "auth", "1", "x"), lr, nil, 0), DeriveFrom(origin("web-1", "auth", "1", "y"), lr, nil, 0); a != b {
		t.Errorf("origins differing only in a skipped attribute: got ids %s and %s, want equal", a, b)
	}
}

func FuzzDerive(f *testing.F) {
	f.Add([]byte(`{"a":{"b":[1,2,{"c":null}]},"d":1.5,"e":true}`), int64(0))
	f.Add([]byte(`[]`), int64(-1))
	f.Fuzz(func(t *testing.T, doc []byte, ts int64) {
		var raw map[string]any
		if json.Unmarshal(doc, &raw) != nil {
			raw = map[string]any{"s": string(doc)}
		}
		lr := plog.NewLogRecord()
		lr.SetTimestamp(pcommon.Timestamp(uint64(ts)))
		if err := lr.Attributes().FromRaw(raw); err != nil {
			t.Skip()
		}
		lr.Body().SetEmptyBytes().FromRaw(doc)
		a, b := Derive(lr, nil), Derive(lr, nil)
		if a != b || !uuidV7.MatchString(a) {
			t.Errorf("got %s then %s, want one equal UUIDv7", a, b)
		}
	})
}

// TestScoped: the same tenant, service and id give the same id (a resend
// maps onto its document), any other triple another, however the parts
// split, and the id is a UUIDv8.
func TestScoped(t *testing.T) {
	id := Scoped("acme", "billing", "17")
	if again := Scoped("acme", "billing", "17"); again != id {
		t.Errorf("got %q then %q for the same tenant, service and id", id, again)
	}
	seen := map[string]string{id: "acme/billing/17"}
	for _, c := range [][3]string{{"bean-there", "billing", "17"}, {"acme", "shop", "17"}, {"acme", "billing", "18"},
		{"acme", "billing1", "7"}, {"acm", "ebilling", "17"}, {"", "acmebilling", "17"}, {"acme", "", "billing17"}} {
		got := Scoped(c[0], c[1], c[2])
		if prev, ok := seen[got]; ok {
			t.Errorf("%v: got %q, the id of %s", c, got, prev)
		}
		seen[got] = c[0] + "/" + c[1] + "/" + c[2]
	}
	u, err := uuid.Parse(id)
	if err != nil || u.Version() != 8 || u.Variant() != uuid.RFC4122 {
		t.Fatalf("got %q (%v), want a UUIDv8", id, err)
	}
}
