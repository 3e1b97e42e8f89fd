package redact

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/activitylog/activitylog/schema"
)

// pairwiseMax is the largest map whose keys are compared pair by pair when
// looking for a repeated key; larger maps use Report.seen.
const pairwiseMax = 8

// startTop starts the walk of the top-level map m and returns its stamp:
// a new one, so that every key entry is unmarked for it.
func (w *walker) startTop(m pcommon.Map) uint32 {
	w.lostMark = false
	w.top = m
	return w.rep.cache.nextStamp(&w.rep.cache.stamp, func(e *keyEntry) *uint32 { return &e.mark })
}

// startChanges starts the walk of activity.changes: a new field stamp.
func (w *walker) startChanges() {
	c := w.rep.cache
	c.lostField = false
	c.nextStamp(&c.fieldStamp, func(e *keyEntry) *uint32 { return &e.fieldMark })
}

// nextStamp advances *stamp, one of c's stamps, and returns it. When it
// wraps around to 0 it first clears the marks of that stamp (mark returns
// an entry's) in every key entry, so that no entry carries a stamp of long
// ago.
func (c *batchCache) nextStamp(stamp *uint32, mark func(*keyEntry) *uint32) uint32 {
	*stamp++
	if *stamp == 0 {
		for i := range c.keys {
			*mark(&c.keys[i]) = 0
		}
		*stamp = 1
	}
	return *stamp
}

// keyBefore reports whether one of the first pos entries of the top-level
// map being walked has the key k.
func (w *walker) keyBefore(k string, pos int) bool {
	i := 0
	for key := range w.top.All() {
		if i == pos {
			return false
		}
		if key == k {
			return true
		}
		i++
	}
	return false
}

// dedupe removes the entries of m whose key an earlier entry has, counting
// them. Most maps repeat no key: they cost one pass over the keys.
func (w *walker) dedupe(m pcommon.Map) {
	if m.Len() > 1 && w.rep.repeatsKey(m) {
		w.rep.Duplicates += w.rep.removeRepeats(m)
	}
}

// repeatsKey reports whether two entries of m have the same key.
func (rep *Report) repeatsKey(m pcommon.Map) bool {
	if m.Len() <= pairwiseMax {
		var keys [pairwiseMax]string
		n := 0
		for k := range m.All() {
			for _, prev := range keys[:n] {
				if prev == k {
					return true
				}
			}
			keys[n] = k
			n++
		}
		return false
	}
	seen := rep.seenSet()
	defer clear(seen)
	for k := range m.All() {
		if _, ok := seen[k]; ok {
			return true
		}
		seen[k] = struct{}{}
	}
	return false
}

// removeRepeats removes every entry of m whose key an earlier entry has
// and returns how many it removed.
func (rep *Report) removeRepeats(m pcommon.Map) int {
	seen := rep.seenSet()
	defer clear(seen)
	removed := 0
	m.RemoveIf(func(k string, _ pcommon.Value) bool {
		if _, ok := seen[k]; ok {
			removed++
			return true
		}
		seen[k] = struct{}{}
		return false
	})
	return removed
}

func (rep *Report) seenSet() map[string]struct{} {
	if rep.seen == nil {
		rep.seen = make(map[string]struct{})
	}
	return rep.seen
}

// Elasticsearch indexes every leaf of a flattened field (activity.changes, a
// map body) as one term holding its dotted path and value, and refuses the
// whole document when a term is longer than Lucene's 32,766 bytes. A path
// of at most maxFlattenedPath bytes leaves room for a value of up to the
// fields' ignore_above (1,024); longer values are not indexed. Only a key of
// at least longKey bytes can make a path that long within the maximum
// depth, so shorter keys are never measured.
const (
	maxFlattenedPath = 30_000
	longKey          = maxFlattenedPath / (schema.MaxChangesDepth + 1)
)

// pathTooLong reports whether the key k, below the current path, makes the
// path of a flattened field longer than maxFlattenedPath; then it records a
// RuleTooLong hit under the path with Mask in place of k, and the caller
// removes the entry.
func (w *walker) pathTooLong(k string) bool {
	var from int
	switch {
	case w.prefix == "body":
		from = 0 // the body map is the field
	case w.prefix == "" && w.n > 0 && w.path[0] == schema.AttrChanges:
		from = 1 // below the attribute
	default:
		return false // not in a flattened field
	}
	n := len(k)
	for i := from; i < w.n && i < len(w.path); i++ {
		n += len(w.path[i]) + 1
	}
	if n <= maxFlattenedPath {
		return false
	}
	w.push(Mask)
	w.hit(RuleTooLong)
	w.pop()
	return true
}
