package httpapi

import (
	"strconv"
	"testing"
	"time"
)

// TestLimiterSweepsAtMostOncePerSecond: past sweepAt active principals, a
// sweep (a walk of every bucket under the lock) runs at most once per
// sweepEvery, not on every request; and idle buckets are still dropped.
func TestLimiterSweepsAtMostOncePerSecond(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	l := newLimiter(0.01, 10, func() time.Time { return now }) // a bucket fills again in 1,000 s
	for i := range sweepAt + 10 {
		now = now.Add(time.Microsecond)
		l.allow("p-" + strconv.Itoa(i))
	}
	swept := l.swept
	for i := range 500 {
		now = now.Add(time.Millisecond)
		l.allow("q-" + strconv.Itoa(i))
		if l.swept != swept && now.Sub(swept) < sweepEvery {
			t.Fatalf("swept again %s after the last sweep, want at most once per %s", now.Sub(swept), sweepEvery)
		}
		swept = l.swept
	}
	// Once every bucket is idle long enough to be full, they are dropped.
	now = now.Add(2000 * time.Second)
	l.allow("last")
	if len(l.buckets) != 1 {
		t.Errorf("got %d buckets after all went idle, want 1", len(l.buckets))
	}
}

// TestLimiterHoldsWhenABucketTakesAgesToFill: a rate so low that a bucket
// takes longer than time.Duration can say to fill again still limits: the
// bucket is kept, not dropped (and refilled) on every request.
func TestLimiterHoldsWhenABucketTakesAgesToFill(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	l := newLimiter(1e-10, 1, func() time.Time { return now }) // one request per ~317 years
	if ok, _ := l.allow("p"); !ok {
		t.Fatal("got the first request refused, want it allowed")
	}
	now = now.Add(time.Second)
	if ok, _ := l.allow("p"); ok {
		t.Errorf("got a second request allowed a second later, want it refused")
	}
}
