package burst

import (
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeClock is an injected clock the test moves by hand.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func newDetector(t testing.TB, cfg Config) (*Detector, *fakeClock) {
	t.Helper()
	clk := &fakeClock{now: t0}
	d, err := New(cfg, clk.Now)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d, clk
}

func TestThresholdAndCooldown(t *testing.T) {
	d, clk := newDetector(t, Config{})
	alerts := 0
	observe := func() (Alert, bool) {
		clk.now = clk.now.Add(time.Second)
		a, fired, _ := d.Observe("client.address", "203.0.113.7", "acme", clk.now)
		if fired {
			alerts++
		}
		return a, fired
	}
	for i := 0; i < 4; i++ {
		if _, fired := observe(); fired {
			t.Fatalf("failure %d: got an alert, want none before the threshold", i+1)
		}
	}
	a, fired := observe()
	if !fired {
		t.Fatalf("5th failure: got no alert, want one")
	}
	want := Alert{KeyType: "client.address", Key: "203.0.113.7", Tenant: "acme", Count: 5, Threshold: 5, Window: time.Minute,
		FirstSeen: t0.Add(time.Second), LastSeen: t0.Add(5 * time.Second)}
	if a != want {
		t.Errorf("alert: got %+v, want %+v", a, want)
	}
	for i := 0; i < 50; i++ {
		if _, fired := observe(); fired {
			t.Fatalf("failure %d inside the cooldown: got an alert, want none", i+6)
		}
	}
	if alerts != 1 {
		t.Errorf("got %d alerts, want exactly 1", alerts)
	}
	// After the cooldown a continuing burst alerts again.
	clk.now = clk.now.Add(DefaultCooldown)
	for i := 0; i < 5; i++ {
		observe()
	}
	if alerts != 2 {
		t.Errorf("after the cooldown: got %d alerts, want 2", alerts)
	}
}

func TestTwoAddressesTwoAlerts(t *testing.T) {
	d, clk := newDetector(t, Config{})
	got := map[string]int{}
	for i := 0; i < 5; i++ {
		clk.now = clk.now.Add(time.Second)
		for _, ip := range []string{"203.0.113.7", "198.51.100.9"} {
			if a, fired, _ := d.Observe("client.address", ip, "acme", clk.now); fired {
				got[a.Key]++
			}
		}
	}
	if len(got) != 2 || got["203.0.113.7"] != 1 || got["198.51.100.9"] != 1 {
		t.Errorf("got alerts %v, want one per address", got)
	}
}

func TestSlidingWindow(t *testing.T) {
	d, clk := newDetector(t, Config{})
	// Four failures, then a gap longer than the window: the old ones no
	// longer count.
	for i := 0; i < 4; i++ {
		d.Observe("user.name", "jane", "", clk.now)
		clk.now = clk.now.Add(time.Second)
	}
	clk.now = clk.now.Add(2 * time.Minute)
	if _, fired, _ := d.Observe("user.name", "jane", "", clk.now); fired {
		t.Fatalf("got an alert for failures spread over more than the window, want none")
	}
}

func TestOutOfOrderInsideWindow(t *testing.T) {
	d, clk := newDetector(t, Config{})
	clk.now = t0.Add(time.Minute)
	// Timestamps arrive shuffled, all inside one minute.
	offsets := []int{50, 10, 40, 20, 30}
	var alert Alert
	fired := 0
	for _, o := range offsets {
		if a, ok, _ := d.Observe("client.address", "203.0.113.7", "", t0.Add(time.Duration(o)*time.Second)); ok {
			alert = a
			fired++
		}
	}
	if fired != 1 {
		t.Fatalf("got %d alerts, want 1", fired)
	}
	if !alert.FirstSeen.Equal(t0.Add(10*time.Second)) || !alert.LastSeen.Equal(t0.Add(50*time.Second)) {
		t.Errorf("got first %s last %s, want %s and %s", alert.FirstSeen, alert.LastSeen, t0.Add(10*time.Second), t0.Add(50*time.Second))
	}
	// A late failure older than the window (by the clock) is ignored.
	d2, clk2 := newDetector(t, Config{Threshold: 1})
	clk2.now = t0.Add(time.Hour)
	if _, ok, _ := d2.Observe("client.address", "x", "", t0); ok {
		t.Errorf("got an alert for a failure older than the window, want none")
	}
}

func TestFutureTimestampsCountAsNow(t *testing.T) {
	d, clk := newDetector(t, Config{})
	fired := 0
	// An emitter spreading timestamps into the future cannot escape the window.
	for i := 0; i < 5; i++ {
		if _, ok, _ := d.Observe("client.address", "x", "", clk.now.Add(time.Duration(i)*time.Hour)); ok {
			fired++
		}
	}
	if fired != 1 {
		t.Errorf("got %d alerts, want 1", fired)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{"defaults", Config{}, nil},
		{"threshold", Config{Threshold: MaxThreshold + 1}, ErrThreshold},
		{"window", Config{Window: -time.Second}, ErrWindow},
		{"cooldown", Config{Cooldown: -time.Second}, ErrCooldown},
		{"max keys", Config{MaxKeys: -1}, ErrMaxKeys},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestSprayMemoryBounded sprays 1,000,000 distinct keys and measures the
// heap: it must stay under MaxKeys * BytesPerKey, and every key beyond
// MaxKeys must have been evicted and counted.
func TestSprayMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000,000-key spray skipped in -short mode")
	}
	const maxKeys = 10_000
	const spray = 1_000_000
	before := heapInUse()
	d, clk := newDetector(t, Config{MaxKeys: maxKeys})
	evicted := 0
	buf := make([]byte, 0, 32)
	for i := 0; i < spray; i++ {
		buf = strconv.AppendInt(append(buf[:0], "10.0."...), int64(i), 10)
		_, _, ev := d.Observe("client.address", string(buf), "tenant-"+strconv.Itoa(i%7), clk.now)
		evicted += ev
	}
	after := heapInUse()
	if got := d.Len(); got != maxKeys {
		t.Errorf("tracked keys: got %d, want %d", got, maxKeys)
	}
	if evicted != spray-maxKeys {
		t.Errorf("evicted: got %d, want %d", evicted, spray-maxKeys)
	}
	checkHeapBound(t, before, after, maxKeys, "keys")
	runtime.KeepAlive(d)
}

// TestAlertTenant: partners are scoped by an alert's tenant, so an alert
// names a tenant only when every failure it counts is that tenant's.
func TestAlertTenant(t *testing.T) {
	tests := []struct {
		name string
		// tenants of five failures one second apart, after those of
		// earlier, which come two minutes before (outside the window)
		earlier, tenants []string
		want             string
	}{
		{"one tenant", nil, []string{"acme", "acme", "acme", "acme", "acme"}, "acme"},
		{"two tenants", nil, []string{"acme", "acme", "beta", "acme", "acme"}, ""},
		{"the latest another's", nil, []string{"acme", "acme", "acme", "acme", "beta"}, ""},
		{"one without a tenant", nil, []string{"acme", "", "acme", "acme", "acme"}, ""},
		{"another's left the window", []string{"beta", "beta"}, []string{"acme", "acme", "acme", "acme", "acme"}, "acme"},
		{"none has one", nil, []string{"", "", "", "", ""}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, clk := newDetector(t, Config{})
			for _, tn := range tt.earlier {
				clk.now = clk.now.Add(time.Second)
				if _, fired, _ := d.Observe("client.address", "203.0.113.7", tn, clk.now); fired {
					t.Fatal("an alert before the threshold")
				}
			}
			clk.now = clk.now.Add(2 * time.Minute)
			var got Alert
			fired := false
			for _, tn := range tt.tenants {
				clk.now = clk.now.Add(time.Second)
				got, fired, _ = d.Observe("client.address", "203.0.113.7", tn, clk.now)
			}
			if !fired || got.Count != 5 {
				t.Fatalf("got %+v, fired %v, want an alert counting 5", got, fired)
			}
			if got.Tenant != tt.want {
				t.Errorf("got tenant %q, want %q", got.Tenant, tt.want)
			}
		})
	}
	// Out of order: another tenant's failure, older than the latest but
	// inside the window, arrives last.
	d, clk := newDetector(t, Config{})
	for i := 0; i < 4; i++ {
		clk.now = clk.now.Add(time.Second)
		d.Observe("client.address", "203.0.113.7", "acme", clk.now)
	}
	a, fired, _ := d.Observe("client.address", "203.0.113.7", "beta", clk.now.Add(-3*time.Second))
	if !fired || a.Tenant != "" {
		t.Errorf("out of order: got %+v, fired %v, want an alert without a tenant", a, fired)
	}
}

// TestObserveOnce: a failure with an id the key already counts is a resent
// record and does not count again; id 0 (none) always counts; once an id's
// failure has left the ring, the id counts again.
func TestObserveOnce(t *testing.T) {
	d, clk := newDetector(t, Config{})
	observe := func(id uint64) bool {
		clk.now = clk.now.Add(time.Second)
		_, fired, _ := d.ObserveOnce("client.address", "203.0.113.7", "acme", clk.now, id)
		return fired
	}
	for _, id := range []uint64{1, 2, 3, 1, 2, 3, 3, 3} {
		if observe(id) {
			t.Fatalf("alert after failure %d: 3 distinct failures, resent, are 3", id)
		}
	}
	if observe(0) || !observe(0) {
		t.Error("failures without an id: the 4th must not alert, the 5th must")
	}

	d2, clk2 := newDetector(t, Config{Threshold: 2, Cooldown: time.Nanosecond, Window: time.Hour})
	fired := 0
	for _, id := range []uint64{7, 8, 9, 7} { // 7 left the ring of 2 when 9 came
		clk2.now = clk2.now.Add(time.Second)
		if _, ok, _ := d2.ObserveOnce("user.name", "jane", "", clk2.now, id); ok {
			fired++
		}
	}
	if fired != 3 {
		t.Errorf("got %d alerts, want 3 (8, 9 and the returning 7 each complete a pair)", fired)
	}
}

// TestFutureRecordResentCountsOnce: a record dated past the clock counts as
// now, and stays "now" on every resend until its own time comes. Resent
// after its key went idle long enough to expire (a replay from an upstream
// queue an hour later), or after newer failures pushed it out of the key's
// ring, it is the same record, which Elasticsearch stores once: it must not
// count again.
func TestFutureRecordResentCountsOnce(t *testing.T) {
	at := t0.Add(24 * time.Hour)
	t.Run("after expiry", func(t *testing.T) {
		d, clk := newDetector(t, Config{Threshold: 2})
		fired := 0
		for range 2 { // the burst, then its replay an hour later
			for _, id := range []uint64{7, 8} {
				if _, ok, _ := d.ObserveOnce("client.address", "x", "", at, id); ok {
					fired++
				}
			}
			clk.now = clk.now.Add(time.Hour)
		}
		if fired != 1 {
			t.Errorf("a burst of 2 future-dated failures, resent an hour later: got %d alerts, want 1", fired)
		}
	})
	t.Run("after ring", func(t *testing.T) {
		d, clk := newDetector(t, Config{Threshold: 2, Cooldown: time.Nanosecond, Window: time.Hour})
		fired := 0
		observe := func(at time.Time, id uint64) {
			clk.now = clk.now.Add(time.Second)
			if _, ok, _ := d.ObserveOnce("user.name", "jane", "", at, id); ok {
				fired++
			}
		}
		observe(at, 7)
		observe(clk.now.Add(time.Second), 8)
		observe(clk.now.Add(time.Second), 9) // 7 leaves the ring of 2
		before := fired
		observe(at, 7)
		if fired != before {
			t.Errorf("the future-dated record resent: got %d alerts more, want none", fired-before)
		}
	})
}

// TestPinnedKeyEvictedFirst: a key kept only because it remembers a
// future-dated failure (an emitter whose clock runs a day ahead), idle
// since, is the least recently seen key, and at MaxKeys it is the one
// evicted. Moved to the head of the list instead, it outranked the keys
// under attack, which then evicted one another: three addresses failing
// three times each, interleaved, in room for three keys beside it, raised
// no alert.
func TestPinnedKeyEvictedFirst(t *testing.T) {
	d, clk := newDetector(t, Config{Threshold: 3, MaxKeys: 3})
	d.ObserveOnce("client.address", "skewed", "", t0.Add(24*time.Hour), 1)
	clk.now = clk.now.Add(time.Hour) // idle long enough to expire, but pinned
	fired := 0
	for round := range 3 {
		for _, key := range []string{"a", "b", "c"} {
			clk.now = clk.now.Add(time.Second)
			if _, ok, _ := d.ObserveOnce("client.address", key, "", clk.now, uint64(10*round)+uint64(key[0])); ok {
				fired++
			}
		}
	}
	if fired != 3 {
		t.Errorf("got %d alerts, want 3 (one per address)", fired)
	}
}

// TestFullKeysMemoryBounded measures the bound where it is reached: every
// tracked key is as long as MaxKeyLen allows (cut from a longer one) and has
// a tenant as long, and holds Threshold failures, each with its own id and
// dated past the clock, so that its rings and its future-dated ids are all
// full. TestSprayMemoryBounded's keys hold one short failure each, which
// cannot tell whether BytesPerKey covers a full key.
func TestFullKeysMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("full-key spray skipped in -short mode")
	}
	const maxKeys = 10_000
	before := heapInUse()
	d, clk := newDetector(t, Config{MaxKeys: maxKeys})
	long := strings.Repeat("k", 2*MaxKeyLen)
	id := uint64(0)
	for i := 0; i < maxKeys; i++ {
		key := strconv.Itoa(i) + long
		tenant := strconv.Itoa(i) + long
		for range DefaultThreshold {
			id++
			d.ObserveOnce("user.name", key, tenant, clk.now.Add(time.Duration(id)*time.Millisecond), id)
		}
	}
	after := heapInUse()
	if got := d.Len(); got != maxKeys {
		t.Fatalf("tracked keys: got %d, want %d", got, maxKeys)
	}
	checkHeapBound(t, before, after, maxKeys, "full keys")
	runtime.KeepAlive(d)
}

// checkHeapBound checks that the heap grew by at most BytesPerKey at the
// default threshold for each of the keys tracked between before and after.
func checkHeapBound(t *testing.T, before, after uint64, keys int, what string) {
	t.Helper()
	grown := int64(after) - int64(before)
	bound := int64(keys * BytesPerKey(DefaultThreshold))
	t.Logf("heap grew %d bytes for %d %s (%.0f bytes/key), bound %d", grown, keys, what, float64(grown)/float64(keys), bound)
	if grown > bound {
		t.Errorf("heap grew %d bytes, want at most %d (%d keys x %d bytes)", grown, bound, keys, BytesPerKey(DefaultThreshold))
	}
}
