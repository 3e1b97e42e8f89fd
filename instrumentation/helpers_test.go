package instrumentation_test

import (
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/internal/logtest"
)

var fixedTime = time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)

// newTestRecorder returns a recorder with a fixed clock and id, and the
// exporter that receives its records.
func newTestRecorder(t testing.TB, opts ...instrumentation.Option) (*instrumentation.Recorder, *logtest.Exporter) {
	t.Helper()
	lp, exp := logtest.NewProvider(t)
	base := []instrumentation.Option{
		instrumentation.WithClock(func() time.Time { return fixedTime }),
		instrumentation.WithIDGenerator(func() (string, error) { return "0193a1b2-0000-7000-8000-000000000001", nil }),
	}
	return instrumentation.New(lp, append(base, opts...)...), exp
}

// attrs returns a record's attributes as plain Go values.
func attrs(r sdklog.Record) map[string]any {
	out := map[string]any{}
	for k, v := range logtest.Attributes(r) {
		out[k] = plain(v)
	}
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
