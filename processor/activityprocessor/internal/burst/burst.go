package burst

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Defaults.
const (
	DefaultThreshold = 5
	DefaultWindow    = time.Minute
	DefaultCooldown  = 10 * time.Minute
	DefaultMaxKeys   = 100_000
	// MaxKeyLen is the longest key or tenant kept; longer ones are cut.
	MaxKeyLen = 128
	// MaxThreshold bounds the per-key timestamp ring.
	MaxThreshold = 1000
)

// Sentinel errors returned (wrapped) by New.
var (
	ErrThreshold = errors.New("threshold out of range")
	ErrWindow    = errors.New("window must be positive")
	ErrCooldown  = errors.New("cooldown must not be negative")
	ErrMaxKeys   = errors.New("max keys must be positive")
)

// Config configures a Detector. Zero fields take the defaults above.
type Config struct {
	// Threshold is how many failures inside Window raise an alert.
	Threshold int
	// Window is the sliding window's length.
	Window time.Duration
	// Cooldown is how long after an alert the same key cannot raise another.
	Cooldown time.Duration
	// MaxKeys is the most keys tracked at once.
	MaxKeys int
}

func (c Config) withDefaults() Config {
	if c.Threshold == 0 {
		c.Threshold = DefaultThreshold
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Cooldown == 0 {
		c.Cooldown = DefaultCooldown
	}
	if c.MaxKeys == 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	return c
}

// Validate checks c after defaults are applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.Threshold < 1 || c.Threshold > MaxThreshold {
		return fmt.Errorf("threshold %d is not between 1 and %d: %w", c.Threshold, MaxThreshold, ErrThreshold)
	}
	if c.Window < 0 {
		return fmt.Errorf("window %s: %w", c.Window, ErrWindow)
	}
	if c.Cooldown < 0 {
		return fmt.Errorf("cooldown %s: %w", c.Cooldown, ErrCooldown)
	}
	if c.MaxKeys < 0 {
		return fmt.Errorf("max keys %d: %w", c.MaxKeys, ErrMaxKeys)
	}
	return nil
}

// BytesPerKey is an upper bound of the memory one tracked key costs for a
// threshold: the key and tenant (at most MaxKeyLen each), the rings of
// timestamps and ids and the future-dated ids (32 bytes a failure, twice
// over: append grows them to up to twice the threshold's capacity), and the
// entry with its map slot, both also in tables that grow by doubling (a
// full key measured 751 bytes at the default threshold, where the former
// bound, which counted neither growth, said 600).
func BytesPerKey(threshold int) int {
	const entry = 416 // entry struct and free-list slot, twice; map slot at the lowest load, with its control byte
	return entry + 2*MaxKeyLen + 64*threshold
}

// Alert is one burst.
type Alert struct {
	// KeyType is what the key counts by (for example "client.address").
	KeyType string
	// Key is the value counted.
	Key string
	// Tenant is the tenant of the failures counted when they all belong to
	// one, or "" when they span several (a failure without a tenant counts
	// as another): partners are scoped by the alert's tenant, and such a
	// burst is the platform's, not one business's, so it must not show one
	// partner the others' failures.
	Tenant string
	// Count is how many failures were inside the window when it fired.
	Count int
	// Threshold and Window are the configuration that fired.
	Threshold int
	Window    time.Duration
	// FirstSeen and LastSeen are the times of the first and last failures counted.
	FirstSeen, LastSeen time.Time
}

// futureFailure is a failure counted as "now" because its record was dated
// later: id and the record's own time.
type futureFailure struct {
	id uint64
	at int64
}

type mapKey struct {
	typ string
	key string
}

type entry struct {
	k          mapKey
	tenant     string   // tenant of the latest failure
	otherUntil int64    // latest event time of a failure of another tenant than tenant, 0 if none
	ts         []int64  // unix nanos, sorted ascending, at most threshold long
	ids        []uint64 // the failure of ts[i] has id ids[i] (0: none)
	// future holds the failures with an id that were dated past the clock
	// when counted, at most threshold of them: see remember.
	future     []futureFailure
	lastAlert  int64 // event time of the last alert, 0 if none
	latest     int64 // latest event time seen
	prev, next int32 // LRU list: head is most recent
}

// Detector counts failures. It is safe for concurrent use.
type Detector struct {
	cfg   Config
	clock func() time.Time

	mu      sync.Mutex
	index   map[mapKey]int32
	entries []entry
	free    []int32
	head    int32
	tail    int32
}

const none = -1

// New returns a Detector; clock supplies "now" (time.Now in production).
func New(cfg Config, clock func() time.Time) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if clock == nil {
		return nil, errors.New("burst: nil clock")
	}
	cfg = cfg.withDefaults()
	return &Detector{cfg: cfg, clock: clock, index: make(map[mapKey]int32), head: none, tail: none}, nil
}

// Len returns how many keys are tracked.
func (d *Detector) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.index)
}

func cut(s string) string {
	return strings.Clone(cutLen(s))
}

// cutLen returns s cut to MaxKeyLen bytes, not inside a character: cut in
// the middle, a user name would come out of the alert as invalid UTF-8,
// which an OTLP record cannot carry (its batch fails to encode).
func cutLen(s string) string {
	if len(s) <= MaxKeyLen {
		return s
	}
	n := MaxKeyLen
	for n > MaxKeyLen-utf8.UTFMax && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Observe records one failure for key of keyType at time at (the record's
// timestamp). A zero time or one in the future counts as now; a failure
// older than the window (by the clock) is ignored. It returns the alert when
// this failure makes the key reach the threshold outside its cooldown, and
// how many keys were evicted to make room.
func (d *Detector) Observe(keyType, key, tenant string, at time.Time) (alert Alert, fired bool, evicted int) {
	return d.ObserveOnce(keyType, key, tenant, at, 0)
}

// ObserveOnce is Observe for a failure with an id (a hash of its record's
// document id; 0 for none): a failure whose id the key already counts is a
// resent record, which Elasticsearch stores once, and is not counted again.
func (d *Detector) ObserveOnce(keyType, key, tenant string, at time.Time, id uint64) (alert Alert, fired bool, evicted int) {
	now := d.clock()
	t := at.UnixNano()
	future := !at.IsZero() && at.After(now)
	if at.IsZero() || future {
		t = now.UnixNano()
	}
	if t < now.Add(-d.cfg.Window).UnixNano() {
		return Alert{}, false, 0
	}
	key = cutLen(key)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.expire(now)
	horizon := now.Add(-d.cfg.Window).UnixNano()
	mk := mapKey{typ: keyType, key: key}
	i, ok := d.index[mk]
	if !ok {
		if len(d.index) >= d.cfg.MaxKeys {
			d.remove(d.tail)
			evicted++
		}
		i = d.alloc(mapKey{typ: keyType, key: strings.Clone(key)})
	} else {
		d.unlink(i)
	}
	d.pushFront(i)
	e := &d.entries[i]
	if id != 0 && (slices.Contains(e.ids, id) || e.counted(id, horizon)) {
		return Alert{}, false, evicted
	}
	if future && id != 0 {
		e.remember(id, at.UnixNano(), horizon, d.cfg.Threshold)
	}
	if tenant != e.tenant {
		if len(e.ts) > 0 {
			// Every failure kept so far is at most as late as latest and
			// not of this tenant: until latest leaves the window, the
			// burst spans tenants (out-of-order failures only make this
			// last longer than it must, on the side of showing less).
			e.otherUntil = max(e.otherUntil, e.latest)
		}
		e.tenant = cut(tenant)
	}
	e.insert(t, id, d.cfg.Threshold)
	if t > e.latest {
		e.latest = t
	}
	// Count the failures inside the window that ends at the latest one.
	lo := e.latest - int64(d.cfg.Window)
	first := 0
	for first < len(e.ts) && e.ts[first] < lo {
		first++
	}
	count := len(e.ts) - first
	if count < d.cfg.Threshold {
		return Alert{}, false, evicted
	}
	if e.lastAlert != 0 && e.latest < e.lastAlert+int64(d.cfg.Cooldown) {
		return Alert{}, false, evicted
	}
	e.lastAlert = e.latest
	tenantOf := e.tenant
	if e.otherUntil >= lo {
		tenantOf = "" // another tenant's failure is inside the window
	}
	return Alert{
		KeyType: e.k.typ, Key: e.k.key, Tenant: tenantOf, Count: count,
		Threshold: d.cfg.Threshold, Window: d.cfg.Window,
		FirstSeen: time.Unix(0, e.ts[first]).UTC(), LastSeen: time.Unix(0, e.latest).UTC(),
	}, true, evicted
}

// counted reports whether the failure id was counted while dated in the
// future and could still count now: its own time is at most a window old.
func (e *entry) counted(id uint64, horizon int64) bool {
	for _, f := range e.future {
		if f.id == id && f.at >= horizon {
			return true
		}
	}
	return false
}

// remember keeps the id of a failure dated past the clock, counted as now.
// A resend of its record is dated in the future again, or later inside a
// window of its own time, so neither the too-old rule nor the ring (which
// newer failures leave, and which goes with the key when it expires) stops it
// from counting twice; it is remembered until its own time is a window old.
// At most max are kept: those that can no longer count go first, then the
// earliest.
func (e *entry) remember(id uint64, at, horizon int64, max int) {
	e.future = slices.DeleteFunc(e.future, func(f futureFailure) bool { return f.at < horizon })
	if len(e.future) == max {
		i := 0
		for j, f := range e.future {
			if f.at < e.future[i].at {
				i = j
			}
		}
		e.future = slices.Delete(e.future, i, i+1)
	}
	e.future = append(e.future, futureFailure{id: id, at: at})
}

// pinned reports whether e remembers a failure that could still count.
func (e *entry) pinned(horizon int64) bool {
	for _, f := range e.future {
		if f.at >= horizon {
			return true
		}
	}
	return false
}

// insert adds t, with its id, keeping ts sorted and at most max long (the
// oldest go).
func (e *entry) insert(t int64, id uint64, max int) {
	if len(e.ts) == max {
		if t <= e.ts[0] {
			return // older than everything kept: cannot change the count
		}
		copy(e.ts, e.ts[1:])
		e.ts = e.ts[:len(e.ts)-1]
		copy(e.ids, e.ids[1:])
		e.ids = e.ids[:len(e.ids)-1]
	}
	j := len(e.ts)
	e.ts = append(e.ts, t)
	e.ids = append(e.ids, id)
	for j > 0 && e.ts[j-1] > t {
		e.ts[j], e.ids[j] = e.ts[j-1], e.ids[j-1]
		j--
	}
	e.ts[j], e.ids[j] = t, id
}

// expire drops least recently seen keys that can neither count nor be
// cooling down. A failure is counted when its record time is at most a window
// before now, and it counts the failures up to a window before itself: a key
// whose latest failure is two windows old, and whose cooldown ended a window
// ago, cannot matter again. (Idle for just a window, it can: a record that
// arrives late counts failures older than the window before now.) A key that
// remembers a future-dated failure is kept while the failure could be resent
// and count (see remember), and stays where it is, the least recently seen:
// the first evicted at MaxKeys. (Moved to the head of the list, idle pinned
// keys outranked the keys under attack, which then evicted one another.)
// The idle keys behind it are still read, up to eight keys per call.
func (d *Detector) expire(now time.Time) {
	idle := d.cfg.Window + max(d.cfg.Window, d.cfg.Cooldown)
	limit := now.Add(-idle).UnixNano()
	horizon := now.Add(-d.cfg.Window).UnixNano()
	i := d.tail
	for n := 0; i != none && n < 8; n++ {
		e := &d.entries[i]
		if e.latest >= limit {
			return
		}
		prev := e.prev
		if !e.pinned(horizon) {
			d.remove(i)
		}
		i = prev
	}
}

func (d *Detector) alloc(k mapKey) int32 {
	var i int32
	if n := len(d.free); n > 0 {
		i = d.free[n-1]
		d.free = d.free[:n-1]
		ts, ids, future := d.entries[i].ts[:0], d.entries[i].ids[:0], d.entries[i].future[:0]
		d.entries[i] = entry{k: k, ts: ts, ids: ids, future: future}
	} else {
		i = int32(len(d.entries))
		n := min(d.cfg.Threshold, 4)
		d.entries = append(d.entries, entry{k: k, ts: make([]int64, 0, n), ids: make([]uint64, 0, n)})
	}
	d.index[k] = i
	return i
}

func (d *Detector) remove(i int32) {
	d.unlink(i)
	delete(d.index, d.entries[i].k)
	d.entries[i].k = mapKey{}
	d.entries[i].tenant = ""
	d.free = append(d.free, i)
}

func (d *Detector) unlink(i int32) {
	e := &d.entries[i]
	if e.prev != none {
		d.entries[e.prev].next = e.next
	} else {
		d.head = e.next
	}
	if e.next != none {
		d.entries[e.next].prev = e.prev
	} else {
		d.tail = e.prev
	}
	e.prev, e.next = none, none
}

func (d *Detector) pushFront(i int32) {
	e := &d.entries[i]
	e.prev, e.next = none, d.head
	if d.head != none {
		d.entries[d.head].prev = i
	}
	d.head = i
	if d.tail == none {
		d.tail = i
	}
}
