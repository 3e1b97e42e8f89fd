package logtest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
)

var _ sdklog.Exporter = (*Exporter)(nil)

// Exporter is an sdklog.Exporter that keeps a clone of every exported record
// in memory. The zero value is ready to use; it is safe for concurrent use.
type Exporter struct {
	mu      sync.Mutex
	records []sdklog.Record
}

// NewProvider returns a LoggerProvider whose records go, through a
// SimpleProcessor, to the returned Exporter. opts are applied after the
// processor. The provider is shut down when tb's test ends.
func NewProvider(tb testing.TB, opts ...sdklog.LoggerProviderOption) (*sdklog.LoggerProvider, *Exporter) {
	tb.Helper()
	exp := &Exporter{}
	all := append([]sdklog.LoggerProviderOption{sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp))}, opts...)
	lp := sdklog.NewLoggerProvider(all...)
	tb.Cleanup(func() { _ = lp.Shutdown(context.Background()) })
	return lp, exp
}

// Export keeps a clone of each record, since the SDK may reuse them.
func (e *Exporter) Export(_ context.Context, records []sdklog.Record) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range records {
		e.records = append(e.records, r.Clone())
	}
	return nil
}

// Shutdown does nothing: the records stay readable after the provider is
// shut down.
func (*Exporter) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing: Export keeps nothing back.
func (*Exporter) ForceFlush(context.Context) error { return nil }

// Records returns a copy of the records exported so far, oldest first.
func (e *Exporter) Records() []sdklog.Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.records)
}

// Await returns the records exported so far once there are at least n,
// failing tb if that takes longer than timeout. It is for records emitted
// after a response has been sent, such as a service's audit records.
func (e *Exporter) Await(tb testing.TB, n int, timeout time.Duration) []sdklog.Record {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		recs := e.Records()
		if len(recs) >= n {
			return recs
		}
		if time.Now().After(deadline) {
			tb.Fatalf("got %d records after %s, want %d", len(recs), timeout, n)
			return recs
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Take returns the records exported so far, oldest first, and forgets them,
// so the next call sees only what is exported after this one.
func (e *Exporter) Take() []sdklog.Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.records
	e.records = nil
	return out
}

// Attributes returns a record's attributes by key. Should a key occur more
// than once (the SDK de-duplicates by default), the last value wins.
func Attributes(r sdklog.Record) map[string]attribute.Value {
	out := map[string]attribute.Value{}
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		out[string(kv.Key)] = kv.Value
		return true
	})
	return out
}

var _ sdklog.Exporter = Discard{}

// Discard is an sdklog.Exporter that drops every record: for benchmarks that
// measure what emits the records, not an exporter's memory.
type Discard struct{}

// Export drops records.
func (Discard) Export(context.Context, []sdklog.Record) error { return nil }

// Shutdown does nothing.
func (Discard) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing.
func (Discard) ForceFlush(context.Context) error { return nil }
