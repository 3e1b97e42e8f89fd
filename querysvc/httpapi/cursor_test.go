package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/activitylog/activitylog/querysvc"
)

func testCursors(now time.Time) cursors {
	return cursors{key: []byte("0123456789abcdef0123456789abcdef"), ttl: time.Minute, now: func() time.Time { return now }}
}

func TestCursor(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	c := testCursors(now)
	alice := querysvc.Principal{Subject: "alice", Role: querysvc.RolePartner, Tenant: "t-1"}
	p := Params{Filter: querysvc.Filter{Category: "auth"}, Limit: 10}
	pos := querysvc.Position{PIT: "pit-1", SearchAfter: []json.RawMessage{json.RawMessage(`"2026-11-01T00:00:00.000000001Z"`), json.RawMessage(`"id-9"`)}}
	cur, err := c.issue(alice, p, pos)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.open(alice, p, cur)
	if err != nil || got.PIT != "pit-1" || len(got.SearchAfter) != 2 || string(got.SearchAfter[1]) != `"id-9"` {
		t.Fatalf("got %+v, %v; want the position back", got, err)
	}
	other := p
	other.Limit = 11
	tests := []struct {
		name   string
		c      cursors
		pr     querysvc.Principal
		p      Params
		cursor string
		code   string
	}{
		{"other subject", c, querysvc.Principal{Subject: "bob", Role: querysvc.RolePartner, Tenant: "t-1"}, p, cur, querysvc.CodeForbidden},
		{"other tenant", c, querysvc.Principal{Subject: "alice", Role: querysvc.RolePartner, Tenant: "t-2"}, p, cur, querysvc.CodeForbidden},
		{"other role", c, querysvc.Principal{Subject: "alice", Role: querysvc.RoleAdmin}, p, cur, querysvc.CodeForbidden},
		{"other filters", c, alice, Params{Filter: querysvc.Filter{Category: "cards"}, Limit: 10}, cur, querysvc.CodeInvalid},
		{"other limit", c, alice, other, cur, querysvc.CodeInvalid},
		{"expired", testCursors(now.Add(2 * time.Minute)), alice, p, cur, querysvc.CodeInvalid},
		{"other key", cursors{key: []byte("ffffffffffffffffffffffffffffffff"), ttl: time.Minute, now: c.now}, alice, p, cur, querysvc.CodeInvalid},
		{"truncated", c, alice, p, cur[:len(cur)-2], querysvc.CodeInvalid},
		{"no mac", c, alice, p, strings.Split(cur, ".")[0], querysvc.CodeInvalid},
		{"empty", c, alice, p, ".", querysvc.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.open(tt.pr, tt.p, tt.cursor)
			if got := querysvc.ErrorCode(err); got != tt.code {
				t.Errorf("got %v (%s), want code %s", err, got, tt.code)
			}
		})
	}
}

// FuzzCursor: a cursor is attacker-controlled; opening any string either
// fails with a client error or succeeds only with what this key signed: the
// claims it carries (position, principal, filters, expiry) are exactly those
// of the issued cursor, so no string can move the position or rebind it.
func FuzzCursor(f *testing.F) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	c := testCursors(now)
	alice := querysvc.Principal{Subject: "alice", Role: querysvc.RolePartner, Tenant: "t-1"}
	p := Params{Limit: 10}
	issued := querysvc.Position{PIT: "pit", SearchAfter: []json.RawMessage{json.RawMessage(`1`)}}
	cur, err := c.issue(alice, p, issued)
	if err != nil {
		f.Fatal(err)
	}
	want, err := cursorClaimsOf(cur)
	if err != nil {
		f.Fatal(err)
	}
	// Forgeries of the same cursor at another position: its claims with
	// search_after moved, under its own MAC, none, and another key's.
	moved := querysvc.Position{PIT: "pit", SearchAfter: []json.RawMessage{json.RawMessage(`2`)}}
	other := c
	other.key = []byte("ffffffffffffffffffffffffffffffff")
	forged, err := other.issue(alice, p, moved)
	if err != nil {
		f.Fatal(err)
	}
	forgedPayload, _, _ := strings.Cut(forged, ".")
	_, mac, _ := strings.Cut(cur, ".")
	for _, s := range []string{cur, "", ".", "a.b", cur + "x", "eyJ2IjoxfQ.AAAA", strings.Repeat("A", 100) + "." + strings.Repeat("B", 43),
		forged, forgedPayload + ".", forgedPayload + "." + mac} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pos, err := c.open(alice, p, s)
		if err != nil {
			if code := querysvc.ErrorCode(err); code != querysvc.CodeInvalid && code != querysvc.CodeForbidden {
				t.Fatalf("got code %s, want invalid or forbidden", code)
			}
			return
		}
		if !reflect.DeepEqual(pos, issued) {
			t.Fatalf("cursor %q opened at %+v, want the issued %+v", s, pos, issued)
		}
		got, err := cursorClaimsOf(s)
		if err != nil {
			t.Fatalf("cursor %q opened but its claims do not decode: %v", s, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("cursor %q opened with claims %+v, want the issued %+v", s, got, want)
		}
	})
}

// cursorClaimsOf decodes the claims a cursor carries, without verifying it.
func cursorClaimsOf(cursor string) (cursorClaims, error) {
	payload, _, _ := strings.Cut(cursor, ".")
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return cursorClaims{}, err
	}
	var cl cursorClaims
	err = json.Unmarshal(b, &cl)
	return cl, err
}

// TestCursorLongPIT: a point in time too long for a URL stays in the
// service (pitStore) and its cursor stays short; the position comes back
// whole from the instance that issued it, and as "expired" from any other,
// or once the store forgot it to stay within its budget.
func TestCursorLongPIT(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	c := testCursors(now)
	c.pits = newPITStore(maxPITBytes, 0)
	alice := querysvc.Principal{Subject: "alice", Role: querysvc.RoleAdmin}
	p := Params{Limit: 10}
	long := strings.Repeat("x", 80<<10) // a year of daily backing indices
	pos := querysvc.Position{PIT: long, SearchAfter: []json.RawMessage{json.RawMessage(`"id-9"`)}}
	cur, err := c.issue(alice, p, pos)
	if err != nil {
		t.Fatal(err)
	}
	if len(cur) > 1<<10 {
		t.Errorf("got a cursor of %d bytes, want the point in time kept out of it", len(cur))
	}
	got, err := c.open(alice, p, cur)
	if err != nil || got.PIT != long || len(got.SearchAfter) != 1 {
		t.Fatalf("got PIT of %d bytes, %v; want the position back", len(got.PIT), err)
	}
	// The next page's cursor over the same point in time shares its entry.
	if again, err := c.issue(alice, p, pos); err != nil || c.pits.bytes != len(long) {
		t.Errorf("second cursor (%v): store holds %d bytes, want one entry of %d", err, c.pits.bytes, len(long))
	} else if _, err := c.open(alice, p, again); err != nil {
		t.Errorf("second cursor: %v", err)
	}
	// A short one still travels in its cursor, which any instance serves.
	short := querysvc.Position{PIT: "pit-1"}
	curShort, _ := c.issue(alice, p, short)
	other := testCursors(now)
	other.pits = newPITStore(maxPITBytes, 0)
	if got, err := other.open(alice, p, curShort); err != nil || got.PIT != "pit-1" {
		t.Errorf("short PIT on another instance: got %+v, %v", got, err)
	}
	if _, err := other.open(alice, p, cur); querysvc.ErrorCode(err) != querysvc.CodeInvalid || !strings.Contains(err.Error(), "expired") {
		t.Errorf("long PIT on another instance: got %v, want 400 expired", err)
	}
	// Over the budget, the oldest is forgotten.
	small := testCursors(now)
	small.pits = newPITStore(3*len(long)/2, 0)
	first, _ := small.issue(alice, p, pos)
	second, _ := small.issue(alice, p, querysvc.Position{PIT: long + "y"})
	if _, err := small.open(alice, p, first); querysvc.ErrorCode(err) != querysvc.CodeInvalid {
		t.Errorf("oldest beyond the budget: got %v, want 400 expired", err)
	}
	if got, err := small.open(alice, p, second); err != nil || got.PIT != long+"y" {
		t.Errorf("newest: got %d bytes, %v", len(got.PIT), err)
	}
}

// TestPITStoreKeepsLiveEntries: the store forgets a point in time whose
// cursors are still valid only when the live ids alone exceed its budget.
// The next page of a walk puts the same id again: that must neither count
// its bytes twice (evicting another walk, or the walk's own entry, whose
// reference the previous page's cursor names) nor leave the entry at the
// head of the eviction order, ahead of walks that ended long ago.
func TestPITStoreKeepsLiveEntries(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	const ttl = 10 * time.Minute
	a := strings.Repeat("a", 80<<10)
	b := strings.Repeat("b", 80<<10)
	c := strings.Repeat("c", 80<<10)
	budget := 5 * len(a) / 2 // two ids fit, not three
	put := func(s *pitStore, pit string, at time.Duration) string {
		return s.put("alice", pit, t0.Add(at), t0.Add(at+ttl))
	}
	t.Run("next page of a walk", func(t *testing.T) {
		s := newPITStore(budget, 0)
		refB := put(s, b, 0)
		refA := put(s, a, time.Minute)
		if again := put(s, a, 2*time.Minute); again != refA {
			t.Errorf("got reference %q for the next page, want the walk's %q", again, refA)
		}
		if _, ok := s.get(refB, t0.Add(3*time.Minute)); !ok {
			t.Error("got another walk forgotten, want it kept: two ids fit the budget")
		}
		if _, ok := s.get(refA, t0.Add(3*time.Minute)); !ok || s.bytes != len(a)+len(b) {
			t.Errorf("got the walk kept %v, %d bytes held; want kept, %d", ok, s.bytes, len(a)+len(b))
		}
	})
	t.Run("walk outlasting an ended one", func(t *testing.T) {
		s := newPITStore(budget, 0)
		refA := put(s, a, 0)
		put(s, b, time.Minute)    // a walk that stops here: expires at 11m
		put(s, a, 9*time.Minute)  // the first walk goes on: expires at 19m
		put(s, c, 12*time.Minute) // a new walk
		if _, ok := s.get(refA, t0.Add(12*time.Minute)); !ok {
			t.Error("got the walk in progress forgotten, want the expired one forgotten instead")
		}
		if s.bytes != len(a)+len(c) {
			t.Errorf("got %d bytes held, want %d (the expired id forgotten)", s.bytes, len(a)+len(c))
		}
	})
}

// TestPITStoreBoundPerPrincipal: the ids of a year's point in time (some
// 80 KB) stay in the service, within 64 MB. One partner starting walks
// faster than they expire (at the default rate limit, 800 within 80 s) used
// to fill that budget and push out every other principal's walk, whose next
// page then answered "cursor has expired". A principal's walks beyond
// querysvc.DefaultMaxOpenSearches now push out its own least recently paged
// ones only: the other principal's walk pages on, and the partner keeps its
// newest walks.
func TestPITStoreBoundPerPrincipal(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	c := testCursors(now)
	c.pits = newPITStore(maxPITBytes, querysvc.DefaultMaxOpenSearches)
	bob := querysvc.Principal{Subject: "bob", Role: querysvc.RolePartner, Tenant: "t-2"}
	mallory := querysvc.Principal{Subject: "mallory", Role: querysvc.RolePartner, Tenant: "t-1"}
	p := Params{Limit: 10}
	long := strings.Repeat("x", 80<<10)
	bobs, err := c.issue(bob, p, querysvc.Position{PIT: long + "bob"})
	if err != nil {
		t.Fatal(err)
	}
	walks := maxPITBytes/len(long) + 100 // more than the budget holds
	var cursors []string
	for i := range walks {
		cur, err := c.issue(mallory, p, querysvc.Position{PIT: long + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		cursors = append(cursors, cur)
	}
	if got, err := c.open(bob, p, bobs); err != nil || got.PIT != long+"bob" {
		t.Errorf("another principal's walk after %d of the partner's: got %d bytes, %v; want it kept", walks, len(got.PIT), err)
	}
	if _, err := c.open(mallory, p, cursors[0]); querysvc.ErrorCode(err) != querysvc.CodeInvalid || !strings.Contains(err.Error(), "expired") {
		t.Errorf("the partner's oldest walk: got %v, want 400 cursor has expired", err)
	}
	for _, cur := range cursors[walks-querysvc.DefaultMaxOpenSearches:] {
		if _, err := c.open(mallory, p, cur); err != nil {
			t.Errorf("one of the partner's newest %d walks: got %v, want it kept", querysvc.DefaultMaxOpenSearches, err)
		}
	}
	if want := (querysvc.DefaultMaxOpenSearches+1)*len(long) + querysvc.DefaultMaxOpenSearches*3 + 3; c.pits.bytes > want {
		t.Errorf("got %d bytes held, want at most %d (the partner's bound and bob's walk)", c.pits.bytes, want)
	}
}
