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

// TestScoped: the same tenant and id give the same id (a resend maps onto
// its document), another tenant or id another, however the two split, and
// the time bits are the record's.
func TestScoped(t *testing.T) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	id := Scoped("acme", "17", at)
	if again := Scoped("acme", "17", at); again != id {
		t.Errorf("got %q then %q for the same tenant and id", id, again)
	}
	seen := map[string]string{id: "acme/17"}
	for _, c := range [][2]string{{"bean-there", "17"}, {"acme", "18"}, {"acme1", "7"}, {"acm", "e17"}, {"", "acme17"}} {
		got := Scoped(c[0], c[1], at)
		if prev, ok := seen[got]; ok {
			t.Errorf("%s/%s: got %q, the id of %s", c[0], c[1], got, prev)
		}
		seen[got] = c[0] + "/" + c[1]
	}
	u, err := uuid.Parse(id)
	if err != nil || u.Version() != 7 {
		t.Fatalf("got %q (%v), want a UUIDv7", id, err)
	}
	if sec, nsec := u.Time().UnixTime(); time.Unix(sec, nsec).UnixMilli() != at.UnixMilli() {
		t.Errorf("time bits: got %v, want %v", time.Unix(sec, nsec).UTC(), at)
	}
}
