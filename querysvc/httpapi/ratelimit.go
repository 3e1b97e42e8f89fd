package httpapi

import (
	"math"
	"sync"
	"time"
)

// limiter is a token bucket per key: each key may make burst requests at
// once and rate requests per second on average. Buckets idle long enough to
// be full again are dropped, so memory follows the active principals.
type limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int, now func() time.Time) *limiter {
	return &limiter{rate: rate, burst: float64(burst), now: now, buckets: map[string]*bucket{}}
}

// allow takes a token for key, or returns how long until one is available.
func (l *limiter) allow(key string) (bool, time.Duration) {
	if l.rate <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, seconds((1 - b.tokens) / l.rate)
}

// seconds converts s seconds to a duration, the longest one when s is too
// long for a duration: the conversion of a float too large for an int64 is
// left to the platform (on amd64 the most negative duration), which made a
// very low rate's bucket read as full at once, and its wait as negative.
func seconds(s float64) time.Duration {
	if d := s * float64(time.Second); d < float64(math.MaxInt64) {
		return time.Duration(d)
	}
	return math.MaxInt64
}

// sweepAt is the number of buckets past which they are swept more often
// than every time a bucket fills, but at most once per sweepEvery: a sweep
// walks every bucket under the lock, and with that many principals active
// (each with a valid token) a sweep on every request would make each request
// cost as much as the whole map.
const (
	sweepAt    = 10000
	sweepEvery = time.Second
)

func (l *limiter) sweep(now time.Time) {
	full := seconds(l.burst / l.rate)
	since := now.Sub(l.swept)
	if since < full && (len(l.buckets) < sweepAt || since < sweepEvery) {
		return
	}
	l.swept = now
	for k, b := range l.buckets {
		if now.Sub(b.last) >= full {
			delete(l.buckets, k)
		}
	}
}
