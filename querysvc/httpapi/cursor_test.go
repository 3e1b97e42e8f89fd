package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
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
	raw, err := base64.RawURLEncoding.DecodeString(cur)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) string {
		b := slices.Clone(raw)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	const notValid = "is expired or not valid"
	tests := []struct {
		name   string
		c      cursors
		pr     querysvc.Principal
		p      Params
		cursor string
		code   string
		msg    string
	}{
		{"other subject", c, querysvc.Principal{Subject: "bob", Role: querysvc.RolePartner, Tenant: "t-1"}, p, cur, querysvc.CodeForbidden, "another principal"},
		{"other tenant", c, querysvc.Principal{Subject: "alice", Role: querysvc.RolePartner, Tenant: "t-2"}, p, cur, querysvc.CodeForbidden, "another principal"},
		{"other role", c, querysvc.Principal{Subject: "alice", Role: querysvc.RoleAdmin}, p, cur, querysvc.CodeForbidden, "another principal"},
		{"other filters", c, alice, Params{Filter: querysvc.Filter{Category: "cards"}, Limit: 10}, cur, querysvc.CodeInvalid, "other filters"},
		{"other limit", c, alice, other, cur, querysvc.CodeInvalid, "other filters"},
		{"expired", testCursors(now.Add(2 * time.Minute)), alice, p, cur, querysvc.CodeInvalid, "has expired"},
		{"other key", cursors{key: []byte("ffffffffffffffffffffffffffffffff"), ttl: time.Minute, now: c.now}, alice, p, cur, querysvc.CodeInvalid, notValid},
		{"version altered", c, alice, p, flip(0), querysvc.CodeInvalid, notValid},
		{"salt altered", c, alice, p, flip(1), querysvc.CodeInvalid, notValid},
		{"ciphertext altered", c, alice, p, flip(cursorHeader + 3), querysvc.CodeInvalid, notValid},
		{"tag altered", c, alice, p, flip(len(raw) - 1), querysvc.CodeInvalid, notValid},
		{"truncated", c, alice, p, cur[:len(cur)-2], querysvc.CodeInvalid, notValid},
		{"header only", c, alice, p, base64.RawURLEncoding.EncodeToString(raw[:cursorHeader]), querysvc.CodeInvalid, notValid},
		{"appended", c, alice, p, cur + "AAAA", querysvc.CodeInvalid, notValid},
		{"not base64url", c, alice, p, cur[:10] + "." + cur[10:], querysvc.CodeInvalid, notValid},
		{"version 1", c, alice, p, v1Cursor(t, c.key, alice, p, pos, now.Add(time.Minute)), querysvc.CodeInvalid, notValid},
		{"too long", c, alice, p, strings.Repeat("A", maxCursorLen+1), querysvc.CodeInvalid, notValid},
		{"empty", c, alice, p, "", querysvc.CodeInvalid, notValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.open(tt.pr, tt.p, tt.cursor)
			if got := querysvc.ErrorCode(err); got != tt.code || !strings.Contains(querysvc.ErrorMessage(err), tt.msg) {
				t.Errorf("got %v (%s), want code %s saying %q", err, got, tt.code, tt.msg)
			}
		})
	}
}

// v1Cursor is a cursor as the service issued it before cursors were sealed:
// its claims in clear JSON and an HMAC-SHA256 under the same key.
func v1Cursor(t testing.TB, key []byte, pr querysvc.Principal, p Params, pos querysvc.Position, expires time.Time) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"v": 1, "sub": pr.Subject, "role": pr.Role, "tenant": pr.Tenant,
		"filter": fingerprint(p), "exp": expires.Unix(), "pos": pos})
	if err != nil {
		t.Fatal(err)
	}
	payload := base64.RawURLEncoding.EncodeToString(b)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return payload + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// TestCursorRevealsNothing: a cursor is handed to the client and shows up
// in its logs, browser history and proxies; nothing it carries can be read
// from it (the point in time id, the last record's sort values, the
// principal and tenant it is bound to), and two cursors for the same page
// share nothing but their version byte.
func TestCursorRevealsNothing(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	c := testCursors(now)
	pr := querysvc.Principal{Subject: "subject-secret", Role: querysvc.RolePartner, Tenant: "tenant-secret"}
	p := Params{Filter: querysvc.Filter{Category: "auth"}, Limit: 10}
	pos := querysvc.Position{PIT: "pit-secret-pit-secret", SearchAfter: []json.RawMessage{json.RawMessage(`"sort-secret"`)}}
	first, err := c.issue(pr, p, pos)
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.issue(pr, p, pos)
	if err != nil {
		t.Fatal(err)
	}
	for _, cur := range []string{first, second} {
		raw, err := base64.RawURLEncoding.DecodeString(cur)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"subject-secret", "tenant-secret", "pit-secret", "sort-secret", "partner", `"pos"`, `"sub"`} {
			for _, in := range []string{cur, string(raw)} {
				if strings.Contains(in, secret) || strings.Contains(in, base64.RawURLEncoding.EncodeToString([]byte(secret))) {
					t.Errorf("got cursor %q, want it not to reveal %q", cur, secret)
				}
			}
		}
	}
	a, _ := base64.RawURLEncoding.DecodeString(first)
	b, _ := base64.RawURLEncoding.DecodeString(second)
	if len(a) != len(b) {
		t.Fatalf("got cursors of %d and %d bytes for one page, want one length", len(a), len(b))
	}
	same := 0
	for i := 1; i < len(a); i++ {
		if a[i] == b[i] {
			same++
		}
	}
	// Random bytes agree at about 1 position in 256.
	if same > len(a)/16 {
		t.Errorf("got two cursors for one page agreeing on %d of %d bytes, want them unrelated (a salt of their own)", same, len(a))
	}
	for _, cur := range []string{first, second} {
		if got, err := c.open(pr, p, cur); err != nil || !reflect.DeepEqual(got, pos) {
			t.Errorf("got %+v, %v; want the position back", got, err)
		}
	}
}

// TestCursorSaltFailure: a salt that cannot be drawn is the service's
// fault (500), never a cursor under a salt some other cursor had.
func TestCursorSaltFailure(t *testing.T) {
	c := testCursors(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))
	c.random = func([]byte) (int, error) { return 0, errors.New("no entropy") }
	cur, err := c.issue(querysvc.Principal{Subject: "alice", Role: querysvc.RoleAdmin}, Params{Limit: 10}, querysvc.Position{PIT: "pit"})
	if querysvc.ErrorCode(err) != querysvc.CodeInternal || cur != "" {
		t.Errorf("got %q, %v; want no cursor and an internal error", cur, err)
	}
}

// FuzzCursor: a cursor is attacker-controlled; opening any string either
// fails with a client error or succeeds only with what this key sealed: the
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
	want, ok := c.unseal(cur)
	if !ok {
		f.Fatal("the issued cursor does not unseal")
	}
	// Forgeries of the same cursor at another position: sealed under
	// another key, spliced with the issued cursor's salt, and in the
	// previous layout (clear claims, an HMAC under this key).
	moved := querysvc.Position{PIT: "pit", SearchAfter: []json.RawMessage{json.RawMessage(`2`)}}
	other := c
	other.key = []byte("ffffffffffffffffffffffffffffffff")
	forged, err := other.issue(alice, p, moved)
	if err != nil {
		f.Fatal(err)
	}
	rawCur, _ := base64.RawURLEncoding.DecodeString(cur)
	rawForged, _ := base64.RawURLEncoding.DecodeString(forged)
	spliced := base64.RawURLEncoding.EncodeToString(append(slices.Clone(rawCur[:cursorHeader]), rawForged[cursorHeader:]...))
	for _, s := range []string{cur, "", ".", "a.b", cur + "x", cur[:len(cur)-1], "eyJ2IjoxfQ.AAAA", strings.Repeat("A", 100),
		forged, spliced, v1Cursor(f, c.key, alice, p, moved, now.Add(time.Minute))} {
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
		got, ok := c.unseal(s)
		if !ok {
			t.Fatalf("cursor %q opened but does not unseal", s)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("cursor %q opened with claims %+v, want the issued %+v", s, got, want)
		}
	})
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

// BenchmarkCursor measures a page's cursor, issued and opened, sealed
// (HKDF-SHA256, AES-256-GCM), beside the baseline: the same claims signed
// and verified with HMAC-SHA256 and readable by anyone, as cursors were
// before they were sealed.
func BenchmarkCursor(b *testing.B) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	c := testCursors(now)
	pr := querysvc.Principal{Subject: "acc_owner_bean-there", Role: querysvc.RolePartner, Tenant: "bean-there"}
	p := Params{Filter: querysvc.Filter{Category: "auth"}, Limit: 20}
	// A point in time over three shards, and the last record's sort values.
	pos := querysvc.Position{PIT: strings.Repeat("x", 650),
		SearchAfter: []json.RawMessage{json.RawMessage(`"2026-11-01T00:00:00.000000001Z"`), json.RawMessage(`"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"`)}}
	b.Run("sealed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			cur, err := c.issue(pr, p, pos)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.open(pr, p, cur); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("hmac-baseline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			cur := v1Cursor(b, c.key, pr, p, pos, now.Add(c.ttl))
			payload, sig, _ := strings.Cut(cur, ".")
			m := hmac.New(sha256.New, c.key)
			m.Write([]byte(payload))
			got, err := base64.RawURLEncoding.DecodeString(sig)
			if err != nil || !hmac.Equal(got, m.Sum(nil)) {
				b.Fatal("baseline cursor does not verify")
			}
			raw, err := base64.RawURLEncoding.DecodeString(payload)
			if err != nil {
				b.Fatal(err)
			}
			var cl cursorClaims
			if err := json.Unmarshal(raw, &cl); err != nil || cl.Subject != pr.Subject || cl.Filter != fingerprint(p) {
				b.Fatalf("baseline cursor: got %+v, %v", cl, err)
			}
		}
	})
}
