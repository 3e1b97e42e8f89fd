package otlp

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// downExporter answers every export as a collector that is down does. A fake:
// the test needs a collector that stays down for as long as it looks.
type downExporter struct{}

func (downExporter) Export(context.Context, []sdklog.Record) error {
	return status.Error(codes.Unavailable, "down")
}
func (downExporter) Shutdown(context.Context) error   { return nil }
func (downExporter) ForceFlush(context.Context) error { return nil }

// TestShutdownWithoutDeadlineEnds proves that Shutdown given a context with
// no deadline still returns while the collector stays down, after
// shutdownTimeout (DefaultShutdownTimeout, shortened here), with the batch it
// was retrying counted as failed: a process must be able to exit.
func TestShutdownWithoutDeadlineEnds(t *testing.T) {
	defer func(d time.Duration) { shutdownTimeout = d }(shutdownTimeout)
	shutdownTimeout = 200 * time.Millisecond
	p, err := NewProvider(context.Background(), WithExporter(downExporter{}),
		WithExportInterval(time.Millisecond), WithRetryBackoff(5*time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	var rec log.Record
	rec.SetBody(attribute.StringValue("login failed"))
	p.Logger("test").Emit(context.Background(), rec)

	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- p.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got shutdown error %v, want %v", err, context.DeadlineExceeded)
		}
		if d := time.Since(start); d < shutdownTimeout {
			t.Errorf("Shutdown returned after %s, before its %s bound: it gave up retrying early", d, shutdownTimeout)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown(context.Background()) did not return while the collector stayed down")
	}
	if s, want := p.Stats(), (Stats{Accepted: 1, Failed: 1}); s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
}

// countedDownExporter is downExporter that counts its attempts.
type countedDownExporter struct {
	downExporter
	attempts atomic.Int64
}

func (e *countedDownExporter) Export(ctx context.Context, rs []sdklog.Record) error {
	e.attempts.Add(1)
	return e.downExporter.Export(ctx, rs)
}

// TestRetriedFailureReported proves that an outage shows in the
// OpenTelemetry error handler while the provider retries, before any batch
// is given up (the batch processor reports only that), and once per
// retryReportEvery, not once per attempt.
func TestRetriedFailureReported(t *testing.T) {
	var mu sync.Mutex
	var reports []error
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, err)
	}))
	defer otel.SetErrorHandler(prev)

	exp := &countedDownExporter{}
	p, err := NewProvider(context.Background(), WithExporter(exp),
		WithExportInterval(time.Millisecond), WithRetryBackoff(time.Millisecond, 2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	var rec log.Record
	rec.SetBody(attribute.StringValue("login failed"))
	p.Logger("test").Emit(context.Background(), rec)
	deadline := time.Now().Add(10 * time.Second)
	for exp.attempts.Load() < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("got %d attempts in 10 s, want 10", exp.attempts.Load())
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	got := slices.Clone(reports)
	mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("got %d reports after %d failed attempts, want 1: %v", len(got), exp.attempts.Load(), got)
	}
	if msg := got[0].Error(); !strings.Contains(msg, "export failed; 1 records kept") || !strings.Contains(msg, "down") {
		t.Errorf("got report %q, want the records kept and the collector's error", msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = p.Shutdown(ctx)
}

// TestShutdownDeadlineCountsWaitingBatchBeforeReturning proves that a batch
// waiting for a retry when Shutdown's deadline passes is in Stats, as
// failed, by the time Shutdown returns. The export goroutine and Shutdown
// wake at the same deadline; before, the goroutine could take the batch back
// and count it only after Shutdown had found nothing to count and returned.
func TestShutdownDeadlineCountsWaitingBatchBeforeReturning(t *testing.T) {
	for i := range 30 {
		p, err := NewProvider(context.Background(), WithExporter(downExporter{}),
			WithExportInterval(time.Hour), WithRetryBackoff(time.Hour, time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var rec log.Record
		rec.SetBody(attribute.StringValue("login failed"))
		p.Logger("test").Emit(context.Background(), rec)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_ = p.Shutdown(ctx)
		cancel()
		if s, want := p.Stats(), (Stats{Accepted: 1, Failed: 1}); s != want {
			t.Fatalf("run %d: got %+v as Shutdown returned, want %+v", i, s, want)
		}
	}
}
