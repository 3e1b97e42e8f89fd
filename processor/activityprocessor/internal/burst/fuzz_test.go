package burst

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzKeys are the keys failures are counted under: a few short ones, so
// that they repeat, and long ones that MaxKeyLen cuts, one of them in the
// middle of a character.
var fuzzKeys = []string{
	"203.0.113.7", "jane", "",
	strings.Repeat("a", MaxKeyLen-1) + "é",
	strings.Repeat("b", MaxKeyLen-1) + "éé",
	strings.Repeat("c", MaxKeyLen) + "x",
	strings.Repeat("c", MaxKeyLen) + "y",
}

var fuzzTenants = []string{"acme", "beta", ""}

// modelFailure is one failure the reference model counts.
type modelFailure struct {
	t      int64
	id     uint64
	tenant string
}

// FuzzObserve: failures arrive with whatever timestamps, keys, tenants and
// ids their records carry, in any order. The detector fires exactly when a
// plain reference does (every failure kept: the key has threshold failures
// inside the window that ends at its latest, outside the cooldown of its
// last alert); an alert's tenant is one that every failure in its window
// has, so no partner sees another's failures; and an alert's key and tenant
// are valid UTF-8 whenever what was observed is, since they become strings
// of an OTLP record.
func FuzzObserve(f *testing.F) {
	f.Add(uint8(3), uint8(60), uint8(120), []byte{0, 0, 10, 128, 0, 0, 0, 10, 128, 0, 0, 0, 10, 128, 0})
	f.Add(uint8(1), uint8(10), uint8(0), []byte{3, 0, 10, 128, 0, 3, 1, 10, 128, 0, 4, 0, 10, 128, 0})
	f.Add(uint8(3), uint8(30), uint8(5), []byte{5, 0, 20, 128, 1, 6, 0, 20, 120, 2, 5, 1, 20, 100, 1, 6, 0, 20, 128, 3})
	f.Add(uint8(1), uint8(5), uint8(1), []byte{1, 2, 0, 200, 3, 1, 2, 0, 60, 3, 1, 0, 255, 0, 0})
	f.Fuzz(func(t *testing.T, threshold, windowSecs, cooldownSecs uint8, ops []byte) {
		cfg := Config{
			Threshold: int(threshold%6) + 1,
			Window:    time.Duration(windowSecs%120+1) * time.Second,
			Cooldown:  time.Duration(cooldownSecs%200+1) * time.Second,
			MaxKeys:   len(fuzzKeys),
		}
		d, clk := newDetector(t, cfg)
		type modelKey struct {
			failures  []modelFailure
			lastAlert int64
			latest    int64
		}
		model := map[string]*modelKey{}
		window, cooldown := int64(cfg.Window), int64(cfg.Cooldown)
		type sentFailure struct {
			key, tenant string
			at          time.Time
		}
		sent := map[uint64]sentFailure{}
		for len(ops) >= 5 {
			key, tenant := fuzzKeys[int(ops[0])%len(fuzzKeys)], fuzzTenants[int(ops[1])%len(fuzzTenants)]
			// The clock moves on by up to 25.5 s; the record's time is up
			// to 63 s before the clock or 64 s after it.
			clk.now = clk.now.Add(time.Duration(ops[2]) * 100 * time.Millisecond)
			at := clk.now.Add(time.Duration(int(ops[3]>>1)-64) * time.Second)
			id := uint64(ops[4] % 4)
			ops = ops[5:]
			// An id is a record's: sent again, it is the same failure. (A
			// record from the future is counted at the time it arrives, so
			// once its key has expired, a resend would count it again: not
			// modelled.)
			if at.After(clk.now) {
				id = 0
			}
			if id != 0 {
				if f, ok := sent[id]; ok {
					key, tenant, at = f.key, f.tenant, f.at
				} else {
					sent[id] = sentFailure{key, tenant, at}
				}
			}

			alert, fired, _ := d.ObserveOnce("user.name", key, tenant, at, id)

			// The reference, on every failure kept under the cut key.
			at2 := at.UnixNano()
			now := clk.now.UnixNano()
			if at2 > now {
				at2 = now
			}
			cutKey := cutUTF8(key)
			m := model[cutKey]
			if m == nil {
				m = &modelKey{}
				model[cutKey] = m
			}
			wantFired := false
			switch {
			case at2 < now-window:
			case id != 0 && func() bool {
				for _, f := range m.failures {
					if f.id == id {
						return true
					}
				}
				return false
			}():
			default:
				m.failures = append(m.failures, modelFailure{at2, id, tenant})
				m.latest = max(m.latest, at2)
				n := 0
				for _, f := range m.failures {
					if f.t >= m.latest-window {
						n++
					}
				}
				if n >= cfg.Threshold && (m.lastAlert == 0 || m.latest >= m.lastAlert+cooldown) {
					wantFired = true
					m.lastAlert = m.latest
				}
			}
			if fired != wantFired {
				t.Fatalf("key %q at %v: got fired %v, want %v (failures %v)", cutKey, at, fired, wantFired, m.failures)
			}
			if !fired {
				continue
			}
			if !utf8.ValidString(alert.Key) || !utf8.ValidString(alert.Tenant) {
				t.Fatalf("got alert key %q, tenant %q, want valid UTF-8", alert.Key, alert.Tenant)
			}
			if alert.Key != cutKey {
				t.Fatalf("got alert key %q, want %q", alert.Key, cutKey)
			}
			if alert.Count != cfg.Threshold || alert.LastSeen.UnixNano() != m.latest || alert.LastSeen.Sub(alert.FirstSeen) > cfg.Window {
				t.Fatalf("got alert %+v, want %d failures ending at %v within %s", alert, cfg.Threshold, time.Unix(0, m.latest).UTC(), cfg.Window)
			}
			if alert.Tenant != "" {
				for _, f := range m.failures {
					if f.t >= m.latest-window && f.tenant != alert.Tenant {
						t.Fatalf("got alert of tenant %q, but a failure in its window is of tenant %q", alert.Tenant, f.tenant)
					}
				}
			}
		}
	})
}

// cutUTF8 is the key a long key is counted under: its first MaxKeyLen bytes,
// less the start of a character cut there.
func cutUTF8(s string) string {
	if len(s) <= MaxKeyLen {
		return s
	}
	n := MaxKeyLen
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
