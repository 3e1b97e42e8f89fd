package instrumentation_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/activitylog/activitylog/instrumentation"
)

// memExporter keeps every exported record in memory. Paired with the SDK's
// SimpleProcessor it shows exactly what the SDK would hand to an OTLP
// exporter, after its attribute limits and de-duplication.
type memExporter struct {
	mu      sync.Mutex
	records []sdklog.Record
}

func (e *memExporter) Export(_ context.Context, rs []sdklog.Record) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range rs {
		e.records = append(e.records, r.Clone())
	}
	return nil
}

func (*memExporter) Shutdown(context.Context) error   { return nil }
func (*memExporter) ForceFlush(context.Context) error { return nil }

func (e *memExporter) all() []sdklog.Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]sdklog.Record(nil), e.records...)
}

var fixedTime = time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)

// newTestRecorder returns a recorder with a fixed clock and id, and the
// exporter that receives its records.
func newTestRecorder(t testing.TB, opts ...instrumentation.Option) (*instrumentation.Recorder, *memExporter) {
	t.Helper()
	exp := &memExporter{}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
	t.Cleanup(func() { _ = lp.Shutdown(context.Background()) })
	base := []instrumentation.Option{
		instrumentation.WithClock(func() time.Time { return fixedTime }),
		instrumentation.WithIDGenerator(func() (string, error) { return "0193a1b2-0000-7000-8000-000000000001", nil }),
	}
	return instrumentation.New(lp, append(base, opts...)...), exp
}

// attrs returns a record's attributes as plain Go values.
func attrs(r sdklog.Record) map[string]any {
	out := map[string]any{}
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		out[string(kv.Key)] = plain(kv.Value)
		return true
	})
	return out
}

// plain converts an attribute value to plain Go: maps to map[string]any,
// slices to []any.
func plain(v attribute.Value) any {
	switch v.Type() {
	case attribute.MAP:
		m := map[string]any{}
		for _, kv := range v.AsMap() {
			m[string(kv.Key)] = plain(kv.Value)
		}
		return m
	case attribute.SLICE:
		var s []any
		for _, e := range v.AsSlice() {
			s = append(s, plain(e))
		}
		return s
	case attribute.STRINGSLICE:
		var s []any
		for _, e := range v.AsStringSlice() {
			s = append(s, e)
		}
		return s
	}
	return v.AsInterface()
}
