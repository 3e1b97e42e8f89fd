package store

import (
	"slices"
	"sync"
	"time"

	"github.com/activitylog/activitylog/querysvc"
)

// DefaultMaxOpenSearches is how many searches one principal may have open
// at once: querysvc.DefaultMaxOpenSearches.
const DefaultMaxOpenSearches = querysvc.DefaultMaxOpenSearches

// walks keeps, per principal, the points in time its searches left open for
// a next page, so that no principal holds more than max at once. Without a
// bound, one partner's token at the default rate limit (10 a second, 40 at
// once) opened some 1,200 points in time per keep-alive of 2 minutes, each
// pinning a reader of every shard of the data stream (hundreds of backing
// indices): Elasticsearch's heap and file handles, shared by every tenant,
// were the limit. A search beyond max releases its principal's least
// recently paged one, whose next page answers "cursor has expired".
//
// It is safe for concurrent use. Entries lapse with their keep-alive, when
// Elasticsearch has released the point in time anyway.
type walks struct {
	max  int
	keep time.Duration

	mu      sync.Mutex
	byOwner map[string][]walk // least recently paged first
	swept   time.Time
}

// walk is one open point in time and when Elasticsearch releases it.
type walk struct {
	pit     string
	expires time.Time
}

func newWalks(max int, keep time.Duration) *walks {
	return &walks{max: max, keep: keep, byOwner: map[string][]walk{}}
}

// ownerOf names the principal in ctx as the rate limit does: role, tenant
// and subject. Scope has refused a context without one before any search.
func ownerOf(p querysvc.Principal) string {
	return string(p.Role) + "\x00" + p.Tenant + "\x00" + p.Subject
}

// paged records that owner's search left pit open at now, for a next page;
// prev is the point in time the page read ("" for a first page), which pit
// replaces. It returns the points in time to release: the owner's least
// recently paged beyond max.
func (w *walks) paged(owner, prev, pit string, now time.Time) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sweep(now)
	list := live(w.byOwner[owner], now)
	list = slices.DeleteFunc(list, func(e walk) bool { return e.pit == pit || (prev != "" && e.pit == prev) })
	list = append(list, walk{pit: pit, expires: now.Add(w.keep)})
	var evicted []string
	for len(list) > w.max {
		evicted = append(evicted, list[0].pit)
		list = list[1:]
	}
	w.byOwner[owner] = slices.Clip(list)
	return evicted
}

// done records that owner's search over pit (or prev, the id it had before
// the last page) ended: its point in time is released.
func (w *walks) done(owner, prev, pit string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	list := slices.DeleteFunc(w.byOwner[owner], func(e walk) bool { return e.pit == pit || e.pit == prev })
	if len(list) == 0 {
		delete(w.byOwner, owner)
		return
	}
	w.byOwner[owner] = list
}

// live drops the entries whose point in time Elasticsearch has released.
func live(list []walk, now time.Time) []walk {
	return slices.DeleteFunc(list, func(e walk) bool { return now.After(e.expires) })
}

// sweep forgets, at most once per keep-alive, the owners whose every search
// has lapsed, so that memory follows the principals paging.
func (w *walks) sweep(now time.Time) {
	if now.Sub(w.swept) < w.keep {
		return
	}
	w.swept = now
	for owner, list := range w.byOwner {
		if list = live(list, now); len(list) == 0 {
			delete(w.byOwner, owner)
		} else {
			w.byOwner[owner] = list
		}
	}
}
