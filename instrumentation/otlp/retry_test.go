package otlp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // the test collector takes gzip, as the collector does
	grpcstats "google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/instrumentation/otlp"
	"github.com/activitylog/activitylog/schema"
)

// scriptedExporter fails its first exports with the scripted errors, then
// (or, with heal set, once heal is closed) delivers. A fake rather than a
// real collector because the tests need an exact failure sequence, and a
// collector cannot be made to fail the same way twice on cue.
type scriptedExporter struct {
	mu        sync.Mutex
	errs      []error       // returned by the first len(errs) exports, in order
	always    error         // returned after errs until heal is closed
	heal      chan struct{} // nil means deliver once errs are used up
	calls     int
	delivered []string // bodies of the delivered records
}

func (e *scriptedExporter) Export(ctx context.Context, rs []sdklog.Record) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls++
	if len(e.errs) > 0 {
		err := e.errs[0]
		e.errs = e.errs[1:]
		return err
	}
	if e.always != nil {
		select {
		case <-e.heal:
		default:
			return e.always
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, r := range rs {
		e.delivered = append(e.delivered, r.Body().AsString())
	}
	return nil
}
func (*scriptedExporter) Shutdown(context.Context) error   { return nil }
func (*scriptedExporter) ForceFlush(context.Context) error { return nil }

func (e *scriptedExporter) callCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls
}

func (e *scriptedExporter) bodies() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.delivered)
}

// fastRetry keeps the tests fast: waits of a few milliseconds, not seconds.
var fastRetry = otlp.WithRetryBackoff(time.Millisecond, 5*time.Millisecond)

// emitNumbered emits records whose bodies are the numbers from..to-1.
func emitNumbered(p *otlp.Provider, from, to int) {
	l := p.Logger("test")
	for i := from; i < to; i++ {
		var r log.Record
		r.SetBody(attribute.StringValue(fmt.Sprint(i)))
		l.Emit(context.Background(), r)
	}
}

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func shutdown(t *testing.T, p *otlp.Provider) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Errorf("got shutdown error %v, want nil", err)
	}
}

// TestProviderRetriesRetryableFailures proves that a batch whose export
// fails with a retryable error (the collector restarting, overloaded or slow)
// is tried again until it is delivered, and is counted once, as exported.
func TestProviderRetriesRetryableFailures(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name string
		errs []error
	}{
		{"gRPC unavailable twice", []error{status.Error(codes.Unavailable, "down"), status.Error(codes.Unavailable, "down")}},
		{"gRPC deadline exceeded, resource exhausted, aborted", []error{
			status.Error(codes.DeadlineExceeded, "slow"), throttled(), status.Error(codes.Aborted, "aborted")}},
		{"connection refused", []error{refused, fmt.Errorf("post: %w", refused)}},
		{"attempt timed out", []error{context.DeadlineExceeded}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp := &scriptedExporter{errs: slices.Clone(tt.errs)}
			p, err := otlp.NewProvider(context.Background(), otlp.WithExporter(exp), fastRetry)
			if err != nil {
				t.Fatal(err)
			}
			emitNumbered(p, 0, 10)
			shutdown(t, p)
			if s, want := p.Stats(), (otlp.Stats{Accepted: 10, Exported: 10}); s != want {
				t.Errorf("got %+v, want %+v", s, want)
			}
			if got, want := exp.callCount(), len(tt.errs)+1; got != want {
				t.Errorf("got %d export attempts, want %d", got, want)
			}
			if got := len(exp.bodies()); got != 10 {
				t.Errorf("got %d records delivered, want 10", got)
			}
		})
	}
}

// TestProviderFailsNonRetryableAtOnce proves that an export refused for a
// reason a retry cannot cure (a wrong token, a malformed request, a quota
// without RetryInfo) is counted as failed at once, with no further attempt,
// nor split as a request refused as too large is (see
// TestProviderSplitsBatchRefusedAsTooLarge).
func TestProviderFailsNonRetryableAtOnce(t *testing.T) {
	for _, err := range []error{
		status.Error(codes.Unauthenticated, "no token"),
		status.Error(codes.PermissionDenied, "wrong token"),
		status.Error(codes.InvalidArgument, "bad request"),
		status.Error(codes.ResourceExhausted, "quota exceeded"),
		errors.New("failed to send logs to http://collector/v1/logs: 401 Unauthorized (body: (empty))"),
		errors.New("failed to send logs to http://collector/v1/logs: 400 Bad Request (body: invalid protobuf)"),
	} {
		t.Run(err.Error(), func(t *testing.T) {
			exp := &scriptedExporter{errs: []error{err}}
			p, perr := otlp.NewProvider(context.Background(), otlp.WithExporter(exp), fastRetry)
			if perr != nil {
				t.Fatal(perr)
			}
			emitNumbered(p, 0, 10)
			if ferr := p.ForceFlush(context.Background()); !errors.Is(ferr, err) {
				t.Errorf("got ForceFlush error %v, want %v", ferr, err)
			}
			if s, want := p.Stats(), (otlp.Stats{Accepted: 10, Failed: 10}); s != want {
				t.Errorf("got %+v, want %+v", s, want)
			}
			if got := exp.callCount(); got != 1 {
				t.Errorf("got %d export attempts, want 1", got)
			}
			shutdown(t, p)
		})
	}
}

// TestProviderShutdownEndsRetries proves that Shutdown returns when its
// context ends even though the collector is still down, that the batch
// being retried is then counted as failed (once), and that it is not tried
// again afterwards.
func TestProviderShutdownEndsRetries(t *testing.T) {
	exp := &scriptedExporter{always: status.Error(codes.Unavailable, "down"), heal: make(chan struct{})}
	p, err := otlp.NewProvider(context.Background(), otlp.WithExporter(exp),
		otlp.WithExportInterval(time.Millisecond), otlp.WithRetryBackoff(5*time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	emitNumbered(p, 0, 10)
	waitFor(t, "a second attempt", func() bool { return exp.callCount() >= 2 })
	if s := p.Stats(); s.Failed != 0 {
		t.Fatalf("got %+v while retrying, want nothing failed yet", s)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := p.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got shutdown error %v, want %v", err, context.DeadlineExceeded)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Shutdown took %s with a 100ms context, want it to return when the context ends", d)
	}
	waitFor(t, "the retried batch to be counted", func() bool { return p.Stats().Failed == 10 })
	calls := exp.callCount()
	close(exp.heal) // the collector is back: nothing counted failed may reach it now
	time.Sleep(50 * time.Millisecond)
	if s, want := p.Stats(), (otlp.Stats{Accepted: 10, Failed: 10}); s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
	if got := exp.callCount(); got != calls {
		t.Errorf("got %d export attempts after Shutdown returned, want none", got-calls)
	}
	if got := exp.bodies(); len(got) != 0 {
		t.Errorf("collector got %v, counted as failed, want nothing", got)
	}
}

// TestProviderQueueFullWhileRetrying proves that while a batch is being
// retried, new records fill the bounded queue and, beyond it, are dropped
// and counted, and emitting never blocks; once the collector is back, the
// retried batch and the queued records are delivered, the retried one first.
func TestProviderQueueFullWhileRetrying(t *testing.T) {
	exp := &scriptedExporter{always: status.Error(codes.Unavailable, "down"), heal: make(chan struct{})}
	p, err := otlp.NewProvider(context.Background(), otlp.WithExporter(exp), otlp.WithMaxQueueSize(10),
		otlp.WithExportInterval(time.Millisecond), otlp.WithRetryBackoff(time.Millisecond, 2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	emitNumbered(p, 0, 10)
	waitFor(t, "the first batch to be retried", func() bool { return exp.callCount() >= 2 })

	start := time.Now()
	emitNumbered(p, 10, 110)
	if d := time.Since(start); d > time.Second {
		t.Errorf("emitting 100 records took %s while the collector was down, want no blocking", d)
	}
	s := p.Stats()
	if s.Accepted != 20 || s.Dropped != 90 || s.Failed != 0 {
		t.Errorf("got %+v while retrying, want 10 retried + 10 queued accepted, 90 dropped, none failed", s)
	}

	close(exp.heal)
	shutdown(t, p)
	if s, want := p.Stats(), (otlp.Stats{Accepted: 20, Exported: 20, Dropped: 90}); s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
	got := exp.bodies()
	want := make([]string, 20)
	for i := range want {
		want[i] = fmt.Sprint(i)
	}
	if !slices.Equal(got, want) {
		t.Errorf("collector got %v, want %v", got, want)
	}
}

// TestProviderMaxRetryTime proves that WithMaxRetryTime gives up on a batch
// once it has been retried that long, counting it as failed.
func TestProviderMaxRetryTime(t *testing.T) {
	exp := &scriptedExporter{always: status.Error(codes.Unavailable, "down"), heal: make(chan struct{})}
	p, err := otlp.NewProvider(context.Background(), otlp.WithExporter(exp), fastRetry,
		otlp.WithMaxRetryTime(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	emitNumbered(p, 0, 10)
	start := time.Now()
	_ = p.ForceFlush(context.Background())
	// It gives up as soon as the next wait would pass the bound, so a few
	// milliseconds (the longest wait) early at most.
	if d := time.Since(start); d < 40*time.Millisecond || d > 2*time.Second {
		t.Errorf("ForceFlush took %s, want about the 50ms of retries", d)
	}
	if s, want := p.Stats(), (otlp.Stats{Accepted: 10, Failed: 10}); s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
	if got := exp.callCount(); got < 3 {
		t.Errorf("got %d export attempts, want retries", got)
	}
	close(exp.heal)
	shutdown(t, p)
}

// TestProviderForceFlushDeadlineKeepsRetrying proves that a ForceFlush whose
// context ends during an outage returns then, and that the records it was
// flushing are not lost: they are still retried and delivered.
func TestProviderForceFlushDeadlineKeepsRetrying(t *testing.T) {
	t.Setenv("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "5")
	exp := &scriptedExporter{always: status.Error(codes.Unavailable, "down"), heal: make(chan struct{})}
	p, err := otlp.NewProvider(context.Background(), otlp.WithExporter(exp),
		otlp.WithExportInterval(time.Hour), fastRetry)
	if err != nil {
		t.Fatal(err)
	}
	emitNumbered(p, 0, 4) // below the batch size: only a flush sends them
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := p.ForceFlush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got ForceFlush error %v, want %v", err, context.DeadlineExceeded)
	}
	close(exp.heal)
	waitFor(t, "the flushed records to be delivered", func() bool { return p.Stats().Exported == 4 })
	shutdown(t, p)
	if s, want := p.Stats(), (otlp.Stats{Accepted: 4, Exported: 4}); s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
}

// TestProviderRetriesWhatTheExportersReport proves the retry decision on the
// errors the real OTLP exporters return, over HTTP and gRPC: the statuses
// the OTLP specification calls retryable are retried until the batch is
// delivered; authentication, permission and malformed-request refusals fail
// the batch at once.
func TestProviderRetriesWhatTheExportersReport(t *testing.T) {
	httpTests := []struct {
		statuses  []int // answered in turn, then 200
		delivered bool
	}{
		{[]int{503, 429}, true},
		{[]int{502, 504}, true},
		{[]int{401}, false},
		{[]int{403}, false},
		{[]int{400}, false},
	}
	for _, tt := range httpTests {
		t.Run(fmt.Sprint("http ", tt.statuses), func(t *testing.T) {
			ls := &logsServer{}
			var mu sync.Mutex
			requests := 0
			ok := httpLogs(ls, "/v1/logs")
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				i := requests
				requests++
				mu.Unlock()
				if i < len(tt.statuses) {
					http.Error(w, "scripted", tt.statuses[i])
					return
				}
				ok.ServeHTTP(w, r)
			}))
			defer srv.Close()
			s := sendThrough(t, otlp.WithProtocol(otlp.HTTP), otlp.WithEndpoint(srv.URL))
			checkRetryOutcome(t, s, ls.count(), tt.delivered)
			mu.Lock()
			defer mu.Unlock()
			if want := len(tt.statuses) + 1; tt.delivered && requests != want || !tt.delivered && requests != 1 {
				t.Errorf("got %d requests, want %d", requests, map[bool]int{true: want, false: 1}[tt.delivered])
			}
		})
	}

	grpcTests := []struct {
		codes     []codes.Code
		delivered bool
	}{
		{[]codes.Code{codes.Unavailable, codes.Unavailable}, true},
		{[]codes.Code{codes.ResourceExhausted}, false}, // without RetryInfo: see TestProviderFailsOversizedGRPCBatchAtOnce
		{[]codes.Code{codes.Aborted, codes.DeadlineExceeded}, true},
		{[]codes.Code{codes.Unauthenticated}, false},
		{[]codes.Code{codes.PermissionDenied}, false},
		{[]codes.Code{codes.InvalidArgument}, false},
	}
	t.Run("grpc throttled", func(t *testing.T) {
		ls := &scriptedLogsServer{throttled: 2}
		srvAddr := serveGRPC(t, ls)
		s := sendThrough(t, otlp.WithProtocol(otlp.GRPC), otlp.WithEndpoint(srvAddr), otlp.WithInsecure())
		checkRetryOutcome(t, s, ls.count(), true)
		if got := ls.requests(); got != 3 {
			t.Errorf("got %d requests, want 3", got)
		}
	})
	for _, tt := range grpcTests {
		t.Run(fmt.Sprint("grpc ", tt.codes), func(t *testing.T) {
			ls := &scriptedLogsServer{codes: slices.Clone(tt.codes)}
			srvAddr := serveGRPC(t, ls)
			s := sendThrough(t, otlp.WithProtocol(otlp.GRPC), otlp.WithEndpoint(srvAddr), otlp.WithInsecure())
			checkRetryOutcome(t, s, ls.count(), tt.delivered)
			if want := len(tt.codes) + 1; tt.delivered && ls.requests() != want || !tt.delivered && ls.requests() != 1 {
				t.Errorf("got %d requests, want %d", ls.requests(), map[bool]int{true: want, false: 1}[tt.delivered])
			}
		})
	}
}

// scriptedLogsServer refuses its first exports with the scripted codes,
// then counts records as logsServer does.
type scriptedLogsServer struct {
	logsServer
	codes []codes.Code
	// throttled is how many exports, after codes, are refused as an
	// overloaded collector refuses them: ResourceExhausted with RetryInfo.
	throttled int
	n         int
}

// throttled is a ResourceExhausted status with RetryInfo: the server asks
// for the request to be sent again later.
func throttled() error {
	s, err := status.New(codes.ResourceExhausted, "throttled").
		WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Millisecond)})
	if err != nil {
		panic(err)
	}
	return s.Err()
}

func (s *scriptedLogsServer) Export(ctx context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	s.mu.Lock()
	i := s.n
	s.n++
	s.mu.Unlock()
	if i < len(s.codes) {
		return nil, status.Error(s.codes[i], "scripted")
	}
	if i-len(s.codes) < s.throttled {
		return nil, throttled()
	}
	return s.logsServer.Export(ctx, req)
}

func (s *scriptedLogsServer) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// sendThrough sends 5 records through a provider built with fast retries
// and opts, shuts it down and returns its stats. A one-second export timeout
// keeps an exporter's own retries (seconds apart) from passing for ours.
func sendThrough(t *testing.T, opts ...otlp.Option) otlp.Stats {
	t.Helper()
	opts = append([]otlp.Option{fastRetry, otlp.WithExportTimeout(time.Second)}, opts...)
	p, err := otlp.NewProvider(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	login(t, instrumentation.New(p), 5)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.Shutdown(ctx)
	return p.Stats()
}

func checkRetryOutcome(t *testing.T, s otlp.Stats, got int, delivered bool) {
	t.Helper()
	want := otlp.Stats{Accepted: 5, Failed: 5}
	wantGot := 0
	if delivered {
		want, wantGot = otlp.Stats{Accepted: 5, Exported: 5}, 5
	}
	if s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
	if got != wantGot {
		t.Errorf("collector got %d records, want %d", got, wantGot)
	}
}

// TestProviderFailsOversizedGRPCBatchAtOnce proves that records a real gRPC
// collector refuses as larger than it accepts (ResourceExhausted, with no
// RetryInfo), each one even alone, fail, counted, instead of being retried
// forever while every newer record waits and is then dropped.
func TestProviderFailsOversizedGRPCBatchAtOnce(t *testing.T) {
	ls := &logsServer{}
	addr := serveGRPC(t, ls, grpc.MaxRecvMsgSize(256))
	p, err := otlp.NewProvider(context.Background(), otlp.WithEndpoint(addr), otlp.WithInsecure(), fastRetry)
	if err != nil {
		t.Fatal(err)
	}
	login(t, instrumentation.New(p), 5)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := p.ForceFlush(ctx); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("got ForceFlush error %v, want the collector's ResourceExhausted refusal", err)
	}
	if s, want := p.Stats(), (otlp.Stats{Accepted: 5, Failed: 5}); s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
	shutdown(t, p)
}

// partialLogsServer takes every export but answers that it rejected some
// of the records, as an OTLP partial success.
type partialLogsServer struct {
	logsServer
	rejected int64
	message  string
}

func (s *partialLogsServer) Export(ctx context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	s.add(req)
	return s.response(), nil
}

func (s *partialLogsServer) response() *collogs.ExportLogsServiceResponse {
	return &collogs.ExportLogsServiceResponse{PartialSuccess: &collogs.ExportLogsPartialSuccess{
		RejectedLogRecords: s.rejected, ErrorMessage: s.message}}
}

// TestProviderCountsPartialSuccess proves that when the collector answers
// an export with an OTLP partial success, over gRPC and HTTP, the records it
// says it rejected are counted as failed and the rest as exported (not the
// whole batch as failed, though the collector stored most of it), and that
// the batch is not sent again.
func TestProviderCountsPartialSuccess(t *testing.T) {
	tests := []struct {
		rejected int64
		message  string
		want     otlp.Stats
	}{
		{2, "2 records too large", otlp.Stats{Accepted: 5, Exported: 3, Failed: 2}},
		{0, "a warning only", otlp.Stats{Accepted: 5, Exported: 5}},
		{9, "more than were sent", otlp.Stats{Accepted: 5, Failed: 5}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("grpc ", tt.message), func(t *testing.T) {
			ls := &partialLogsServer{rejected: tt.rejected, message: tt.message}
			addr := serveGRPC(t, ls)
			if s := sendThrough(t, otlp.WithProtocol(otlp.GRPC), otlp.WithEndpoint(addr), otlp.WithInsecure()); s != tt.want {
				t.Errorf("got %+v, want %+v", s, tt.want)
			}
			if got := ls.count(); got != 5 {
				t.Errorf("collector got %d records, want the batch once, 5", got)
			}
		})
		t.Run(fmt.Sprint("http ", tt.message), func(t *testing.T) {
			ls := &partialLogsServer{rejected: tt.rejected, message: tt.message}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				var req collogs.ExportLogsServiceRequest
				if err := proto.Unmarshal(body, &req); err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				ls.add(&req)
				w.Header().Set("Content-Type", "application/x-protobuf")
				b, _ := proto.Marshal(ls.response())
				_, _ = w.Write(b)
			}))
			defer srv.Close()
			if s := sendThrough(t, otlp.WithProtocol(otlp.HTTP), otlp.WithEndpoint(srv.URL)); s != tt.want {
				t.Errorf("got %+v, want %+v", s, tt.want)
			}
			if got := ls.count(); got != 5 {
				t.Errorf("collector got %d records, want the batch once, 5", got)
			}
		})
	}
}

// TestProviderShutdownRetriesWaitingBatchAtOnce proves that Shutdown tries a
// batch waiting between two attempts again at once, not once the rest of
// its wait (up to 30 s by default, longer than a usual Shutdown deadline) has
// passed: a collector back by then gets the batch, and the records queued
// behind it, before the deadline.
func TestProviderShutdownRetriesWaitingBatchAtOnce(t *testing.T) {
	exp := &scriptedExporter{always: status.Error(codes.Unavailable, "down"), heal: make(chan struct{})}
	p, err := otlp.NewProvider(context.Background(), otlp.WithExporter(exp), otlp.WithMaxQueueSize(20),
		otlp.WithExportInterval(time.Millisecond), otlp.WithRetryBackoff(time.Minute, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	emitNumbered(p, 0, 10)
	waitFor(t, "a first attempt", func() bool { return exp.callCount() >= 1 })
	emitNumbered(p, 10, 20) // queued behind the waiting batch
	close(exp.heal)         // the collector is back

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Errorf("got shutdown error %v, want nil", err)
	}
	if s, want := p.Stats(), (otlp.Stats{Accepted: 20, Exported: 20}); s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
}

// TestProviderForceFlushDuringOutageLeavesNoGoroutinePerCall proves that
// ForceFlush calls whose contexts end while the collector is down do not
// each leave a goroutine behind, waiting to flush once it is back (a service
// that flushes after every request would grow without bound through an
// outage), and that their records are still delivered.
func TestProviderForceFlushDuringOutageLeavesNoGoroutinePerCall(t *testing.T) {
	exp := &scriptedExporter{always: status.Error(codes.Unavailable, "down"), heal: make(chan struct{})}
	p, err := otlp.NewProvider(context.Background(), otlp.WithExporter(exp),
		otlp.WithExportInterval(time.Millisecond), fastRetry)
	if err != nil {
		t.Fatal(err)
	}
	emitNumbered(p, 0, 1)
	waitFor(t, "the first batch to be retried", func() bool { return exp.callCount() >= 2 })
	before := runtime.NumGoroutine()
	for i := range 200 {
		emitNumbered(p, i+1, i+2)
		ctx, cancel := context.WithTimeout(context.Background(), time.Microsecond)
		_ = p.ForceFlush(ctx)
		cancel()
	}
	if grown := runtime.NumGoroutine() - before; grown > 10 {
		t.Errorf("got %d more goroutines after 200 ForceFlush calls during an outage, want a few at most", grown)
	}
	close(exp.heal)
	shutdown(t, p)
	if s, want := p.Stats(), (otlp.Stats{Accepted: 201, Exported: 201}); s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
}

// TestProviderWaitsAsLongAsTheCollectorAsks proves that a retry waits at
// least the delay an overloaded collector asks for (HTTP Retry-After, gRPC
// RetryInfo), up to the longest wait, as the OTLP specification asks,
// rather than coming back after the much shorter first wait of the backoff.
func TestProviderWaitsAsLongAsTheCollectorAsks(t *testing.T) {
	retry := otlp.WithRetryBackoff(time.Millisecond, 10*time.Second)
	t.Run("http Retry-After", func(t *testing.T) {
		ls := &logsServer{}
		ok := httpLogs(ls, "/v1/logs")
		var mu sync.Mutex
		var at []time.Time
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			at = append(at, time.Now())
			first := len(at) == 1
			mu.Unlock()
			if first {
				w.Header().Set("Retry-After", "1")
				http.Error(w, "overloaded", http.StatusServiceUnavailable)
				return
			}
			ok.ServeHTTP(w, r)
		}))
		defer srv.Close()
		s := sendThrough(t, otlp.WithProtocol(otlp.HTTP), otlp.WithEndpoint(srv.URL), retry)
		checkRetryOutcome(t, s, ls.count(), true)
		mu.Lock()
		defer mu.Unlock()
		if len(at) != 2 {
			t.Fatalf("got %d requests, want 2", len(at))
		}
		if d := at[1].Sub(at[0]); d < 900*time.Millisecond {
			t.Errorf("got the retry %s after a Retry-After of 1 s, want 1 s", d)
		}
	})
	t.Run("grpc RetryInfo", func(t *testing.T) {
		ls := &delayLogsServer{}
		addr := serveGRPC(t, ls)
		s := sendThrough(t, otlp.WithProtocol(otlp.GRPC), otlp.WithEndpoint(addr), otlp.WithInsecure(), retry)
		checkRetryOutcome(t, s, ls.count(), true)
		ls.mu.Lock()
		defer ls.mu.Unlock()
		if len(ls.at) != 2 {
			t.Fatalf("got %d requests, want 2", len(ls.at))
		}
		if d := ls.at[1].Sub(ls.at[0]); d < 900*time.Millisecond {
			t.Errorf("got the retry %s after a RetryInfo of 1 s, want 1 s", d)
		}
	})
}

// delayLogsServer refuses its first export as Unavailable, asking for a
// retry in one second, then counts records as logsServer does.
type delayLogsServer struct {
	logsServer
	at []time.Time // guarded by logsServer.mu
}

func (s *delayLogsServer) Export(ctx context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	s.mu.Lock()
	s.at = append(s.at, time.Now())
	first := len(s.at) == 1
	s.mu.Unlock()
	if first {
		st, err := status.New(codes.Unavailable, "overloaded").
			WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Second)})
		if err != nil {
			return nil, err
		}
		return nil, st.Err()
	}
	return s.logsServer.Export(ctx, req)
}

// bodiesServer is an OTLP logs collector, over gRPC and HTTP, that keeps the
// records it takes and their bodies, in the order they arrive, and counts its
// requests.
type bodiesServer struct {
	collogs.UnimplementedLogsServiceServer
	mu       sync.Mutex
	bodies   []string
	records  []*logspb.LogRecord
	requests int
}

func (s *bodiesServer) Export(_ context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	s.add(req)
	return &collogs.ExportLogsServiceResponse{}, nil
}

func (s *bodiesServer) add(req *collogs.ExportLogsServiceRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rl := range req.GetResourceLogs() {
		for _, sl := range rl.GetScopeLogs() {
			for _, lr := range sl.GetLogRecords() {
				s.bodies = append(s.bodies, lr.GetBody().GetStringValue())
				s.records = append(s.records, lr)
			}
		}
	}
}

// count counts a request that reached the server, refused or not.
func (s *bodiesServer) count() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
}

func (s *bodiesServer) got() (bodies []string, requests int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.bodies), s.requests
}

func (s *bodiesServer) gotRecords() []*logspb.LogRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.records)
}

// countRequests counts every gRPC call that reaches the server, including
// those it refuses as too large before the handler runs.
func (s *bodiesServer) countRequests() grpc.ServerOption {
	return grpc.StatsHandler(&requestCounter{s})
}

// serveHTTPLogs serves s over OTLP/HTTP, refusing a request body over limit
// bytes as refuse does.
func serveHTTPLogs(t *testing.T, s *bodiesServer, limit int64, refuse func(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.count()
		if body, ok := refuse(w, r, limit); ok {
			answerLogs(w, body, s.add)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// refuse413 answers 413 to a body over limit, as a proxy in front of the
// collector does (nginx's client_max_body_size).
func refuse413(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, false
	}
	if int64(len(body)) > limit {
		http.Error(w, "request entity too large", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	return body, true
}

// refuseAsCollector refuses a body over limit as the collector's OTLP/HTTP
// receiver does past its max_request_body_size (confighttp wraps the body in
// http.MaxBytesReader; the receiver answers a failed read with 400 and the
// error in a google.rpc.Status).
func refuseAsCollector(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		b, _ := proto.Marshal(status.New(codes.InvalidArgument, err.Error()).Proto())
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(b)
		return nil, false
	}
	return body, true
}

// emitBodies emits one record per body, in order.
func emitBodies(p *otlp.Provider, bodies []string) {
	l := p.Logger("test")
	for _, b := range bodies {
		var r log.Record
		r.SetBody(attribute.StringValue(b))
		l.Emit(context.Background(), r)
	}
}

// tooLargeLimit is the request size, in bytes, above which the servers of
// tooLargeTransports refuse a request as too large.
const tooLargeLimit = 8 << 10

// tooLargeTransports serve a bodiesServer refusing requests over
// tooLargeLimit as each transport does, and return the options of a provider
// sending to it.
var tooLargeTransports = []struct {
	name  string
	serve func(t *testing.T, s *bodiesServer) []otlp.Option
}{
	{"grpc", func(t *testing.T, s *bodiesServer) []otlp.Option {
		addr := serveGRPC(t, s, grpc.MaxRecvMsgSize(tooLargeLimit), s.countRequests())
		return []otlp.Option{otlp.WithProtocol(otlp.GRPC), otlp.WithEndpoint(addr), otlp.WithInsecure()}
	}},
	{"grpc gzip", func(t *testing.T, s *bodiesServer) []otlp.Option {
		// grpc-go words its refusal of a message too large once
		// decompressed otherwise.
		t.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
		addr := serveGRPC(t, s, grpc.MaxRecvMsgSize(tooLargeLimit), s.countRequests())
		return []otlp.Option{otlp.WithProtocol(otlp.GRPC), otlp.WithEndpoint(addr), otlp.WithInsecure()}
	}},
	{"http 413", func(t *testing.T, s *bodiesServer) []otlp.Option {
		return []otlp.Option{otlp.WithProtocol(otlp.HTTP), otlp.WithEndpoint(serveHTTPLogs(t, s, tooLargeLimit, refuse413))}
	}},
	{"http collector max_request_body_size", func(t *testing.T, s *bodiesServer) []otlp.Option {
		return []otlp.Option{otlp.WithProtocol(otlp.HTTP), otlp.WithEndpoint(serveHTTPLogs(t, s, tooLargeLimit, refuseAsCollector))}
	}},
}

// randomText returns n random lowercase letters: a value that stays large
// when compressed.
func randomText(seed uint64, n int) string {
	b := make([]byte, n)
	rnd := rand.New(rand.NewPCG(seed, 2))
	for i := range b {
		b[i] = 'a' + byte(rnd.IntN(26))
	}
	return string(b)
}

// TestProviderSplitsBatchRefusedAsTooLarge proves that a batch the collector
// refuses as larger than it accepts (gRPC over max_recv_msg_size_mib, HTTP
// 413 from a proxy, HTTP 400 "request body too large" from the collector's
// own max_request_body_size) is sent again in halves, down to single records:
// one huge record is sent alone, then reduced (its description cut to
// otlp.ReducedBodyLength), and every other record of its batch is delivered
// as it was, all in the order emitted; a batch too large only as a whole is
// delivered whole in parts; a batch within the limit is sent once.
// TestProviderReducesRecordTooLargeAlone covers the reduction of activity
// records.
func TestProviderSplitsBatchRefusedAsTooLarge(t *testing.T) {
	const limit = tooLargeLimit
	numbered := func(n int, pad int) []string {
		bs := make([]string, n)
		for i := range bs {
			bs[i] = fmt.Sprint(i, strings.Repeat(".", pad))
		}
		return bs
	}
	oneHuge := numbered(41, 0)
	// A description quoting a huge name, say.
	huge := randomText(1, 4*limit)
	oneHuge[17] = huge
	hugeReduced := slices.Clone(oneHuge)
	hugeReduced[17] = huge[:otlp.ReducedBodyLength]
	batches := []struct {
		name      string
		emitted   []string
		want      otlp.Stats
		delivered []string
		requests  func(int) bool
		wantReqs  string
	}{
		{"one huge record among small ones", oneHuge, otlp.Stats{Accepted: 41, Exported: 41, Reduced: 1}, hugeReduced,
			func(n int) bool { return n > 3 && n <= 2+2*6 }, "a few halvings, at most 2 per level, and the reduced record"},
		{"too large only as a whole", numbered(40, 400), otlp.Stats{Accepted: 40, Exported: 40}, numbered(40, 400),
			func(n int) bool { return n > 1 && n < 40 }, "more than one, fewer than one per record"},
		{"within the limit", numbered(40, 0), otlp.Stats{Accepted: 40, Exported: 40}, numbered(40, 0),
			func(n int) bool { return n == 1 }, "1"},
	}
	for _, tr := range tooLargeTransports {
		for _, b := range batches {
			t.Run(tr.name+" "+b.name, func(t *testing.T) {
				s := &bodiesServer{}
				opts := append(tr.serve(t, s), fastRetry, otlp.WithExportInterval(time.Hour))
				p, err := otlp.NewProvider(context.Background(), opts...)
				if err != nil {
					t.Fatal(err)
				}
				emitBodies(p, b.emitted)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = p.ForceFlush(ctx) // one batch: all emitted before the flush
				shutdown(t, p)
				if got := p.Stats(); got != b.want {
					t.Errorf("got %+v, want %+v", got, b.want)
				}
				got, requests := s.got()
				if !slices.Equal(got, b.delivered) {
					t.Errorf("collector got %d records %.8q, want %d %.8q", len(got), got, len(b.delivered), b.delivered)
				}
				if !b.requests(requests) {
					t.Errorf("got %d requests, want %s", requests, b.wantReqs)
				}
			})
		}
	}
}

// reward is a model with a small field and two that may be large.
type reward struct {
	Points int    `json:"points"`
	Notes  string `json:"notes"`
	Image  string `json:"image"`
}

// TestProviderReducesRecordTooLargeAlone proves that an activity record the
// collector refuses as too large even alone (gRPC, gRPC compressed, HTTP 413,
// the collector's HTTP 400) is sent once more reduced and delivered: who did
// what to what, when and from where as they were, the names of the changed
// fields kept, each changed value longer than otlp.ReducedValueBytes replaced
// by otlp.MarkerTooLarge and the shorter ones kept; the other records of its
// batch are delivered as they were, in order. A record still too large
// reduced, or with nothing to reduce, fails alone, counted, with an error
// that says so.
func TestProviderReducesRecordTooLargeAlone(t *testing.T) {
	const big = 6 << 10 // each large value; two make a record over tooLargeLimit
	ctx := instrumentation.WithActor(context.Background(),
		instrumentation.Actor{ID: "u-7", Name: "Jane Doe", Type: instrumentation.ActorPartner})
	ctx = instrumentation.WithTenant(ctx, instrumentation.Tenant{ID: "bean-there", Name: "Bean There"})
	ctx = instrumentation.WithRequest(ctx, instrumentation.Request{ClientAddress: "203.0.113.7", UserAgent: "test-agent", ID: "req-1"})
	subject := instrumentation.Subject{Category: instrumentation.Rewards, Type: "reward", ID: "r-big", Name: "Free coffee"}
	notesBefore, notesAfter, image := randomText(1, big), randomText(2, big), randomText(3, big)
	tests := []struct {
		name    string
		special func(r *instrumentation.Recorder) error
		want    otlp.Stats
		wantErr string // in ForceFlush's error; "" for none
	}{
		{"changed values too large", func(r *instrumentation.Recorder) error {
			return r.Updated(ctx, subject, reward{Points: 100, Notes: notesBefore}, reward{Points: 120, Notes: notesAfter, Image: image})
		}, otlp.Stats{Accepted: 21, Exported: 21, Reduced: 1}, ""},
		{"too large even reduced", func(r *instrumentation.Recorder) error {
			named := subject
			named.Name = randomText(4, 3*big) // an identity value, kept whole
			return r.Updated(ctx, named, reward{Points: 100, Notes: notesBefore}, reward{Points: 120, Notes: notesAfter})
		}, otlp.Stats{Accepted: 21, Exported: 20, Failed: 1}, "too large to send, even alone and reduced"},
		{"nothing to reduce", func(r *instrumentation.Recorder) error {
			return r.Viewed(ctx, instrumentation.Subject{Type: "activity_log"},
				instrumentation.Query{Endpoint: "/v1/activities", Params: map[string]string{"q": randomText(5, 3*big)}, Status: 200})
		}, otlp.Stats{Accepted: 21, Exported: 20, Failed: 1}, "with nothing to reduce"},
	}
	for _, tr := range tooLargeTransports {
		for _, tt := range tests {
			t.Run(tr.name+" "+tt.name, func(t *testing.T) {
				s := &bodiesServer{}
				opts := append(tr.serve(t, s), fastRetry, otlp.WithExportInterval(time.Hour))
				p, err := otlp.NewProvider(context.Background(), opts...)
				if err != nil {
					t.Fatal(err)
				}
				r := instrumentation.New(p)
				normal := func(from, to int) {
					for i := from; i < to; i++ {
						sub := instrumentation.Subject{Category: instrumentation.Rewards, Type: "reward", ID: fmt.Sprint("r-", i), Name: fmt.Sprint("Reward ", i)}
						if err := r.Updated(ctx, sub, reward{Points: i}, reward{Points: i + 1}); err != nil {
							t.Fatal(err)
						}
					}
				}
				normal(0, 10)
				if err := tt.special(r); err != nil {
					t.Fatal(err)
				}
				normal(10, 20)
				fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				ferr := p.ForceFlush(fctx) // one batch: all emitted before the flush
				switch {
				case tt.wantErr == "" && ferr != nil:
					t.Errorf("got ForceFlush error %v, want nil", ferr)
				case tt.wantErr != "" && (ferr == nil || !strings.Contains(ferr.Error(), tt.wantErr)):
					t.Errorf("got ForceFlush error %v, want one saying %q", ferr, tt.wantErr)
				}
				shutdown(t, p)
				if got := p.Stats(); got != tt.want {
					t.Errorf("got %+v, want %+v", got, tt.want)
				}
				got := s.gotRecords()
				if want := int(tt.want.Exported); len(got) != want {
					t.Fatalf("collector got %d records, want %d", len(got), want)
				}
				var special *logspb.LogRecord
				if tt.want.Reduced == 1 {
					special = got[10]
					got = slices.Delete(got, 10, 11)
				}
				for i, lr := range got {
					wantBody := fmt.Sprintf("Jane Doe (Partner) updated reward 'Reward %d'", i)
					wantChanges := map[string]any{"points": map[string]any{"old": int64(i), "new": int64(i + 1)}}
					if b := lr.GetBody().GetStringValue(); b != wantBody {
						t.Errorf("record %d: got body %q, want %q", i, b, wantBody)
					}
					if c := attrs(lr)[schema.AttrChanges]; !reflect.DeepEqual(c, wantChanges) {
						t.Errorf("record %d: got changes %v, want %v", i, c, wantChanges)
					}
				}
				if special != nil {
					checkReduced(t, special, map[string]any{
						"points": map[string]any{"old": int64(100), "new": int64(120)},
						"notes":  map[string]any{"old": otlp.MarkerTooLarge, "new": otlp.MarkerTooLarge},
						"image":  map[string]any{"old": "", "new": otlp.MarkerTooLarge},
					})
				}
			})
		}
	}
}

// checkReduced checks the reduced record of
// TestProviderReducesRecordTooLargeAlone: everything as the Recorder wrote
// it, but for the changes, which must be wantChanges.
func checkReduced(t *testing.T, lr *logspb.LogRecord, wantChanges map[string]any) {
	t.Helper()
	if b, want := lr.GetBody().GetStringValue(), "Jane Doe (Partner) updated reward 'Free coffee'"; b != want {
		t.Errorf("reduced record: got body %q, want %q", b, want)
	}
	if lr.GetEventName() != "activity.updated" || lr.GetTimeUnixNano() == 0 || lr.GetSeverityText() != "INFO" {
		t.Errorf("reduced record: got event name %q, time %d, severity %q, want activity.updated, the time of the event, INFO",
			lr.GetEventName(), lr.GetTimeUnixNano(), lr.GetSeverityText())
	}
	got := attrs(lr)
	id, _ := got[schema.AttrID].(string)
	if id == "" || got[schema.AttrDocumentID] != id {
		t.Errorf("reduced record: got id %v and document id %v, want the same id in both", got[schema.AttrID], got[schema.AttrDocumentID])
	}
	want := map[string]any{
		schema.AttrID: id, schema.AttrDocumentID: id,
		schema.AttrCategory: "rewards", schema.AttrEvent: "updated", schema.AttrOutcome: "success",
		schema.AttrUserID: "u-7", schema.AttrUserName: "Jane Doe", schema.AttrUserRoles: []any{"Partner"},
		schema.AttrActorType: "Partner", schema.AttrTenantID: "bean-there", schema.AttrTenantName: "Bean There",
		schema.AttrSubjectType: "reward", schema.AttrSubjectID: "r-big", schema.AttrSubjectName: "Free coffee",
		schema.AttrClientAddress: "203.0.113.7", schema.AttrUserAgent: "test-agent", schema.AttrRequestID: "req-1",
		schema.AttrChangedFields: []any{"points", "notes", "image"},
		schema.AttrChanges:       wantChanges,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reduced record: got attributes %.200v, want %.200v", got, want)
	}
}

// attrs returns a record's attributes as Go values.
func attrs(lr *logspb.LogRecord) map[string]any {
	m := map[string]any{}
	for _, kv := range lr.GetAttributes() {
		m[kv.GetKey()] = goValue(kv.GetValue())
	}
	return m
}

// goValue returns v as a Go value: a string, int64, float64, bool, []any or
// map[string]any.
func goValue(v *commonpb.AnyValue) any {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		return x.DoubleValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_ArrayValue:
		out := []any{}
		for _, e := range x.ArrayValue.GetValues() {
			out = append(out, goValue(e))
		}
		return out
	case *commonpb.AnyValue_KvlistValue:
		out := map[string]any{}
		for _, kv := range x.KvlistValue.GetValues() {
			out[kv.GetKey()] = goValue(kv.GetValue())
		}
		return out
	}
	return nil
}

// requestCounter counts the gRPC calls that reach a bodiesServer.
type requestCounter struct{ s *bodiesServer }

func (c *requestCounter) TagRPC(ctx context.Context, _ *grpcstats.RPCTagInfo) context.Context {
	return ctx
}
func (c *requestCounter) HandleRPC(_ context.Context, st grpcstats.RPCStats) {
	if _, ok := st.(*grpcstats.Begin); ok {
		c.s.count()
	}
}
func (c *requestCounter) TagConn(ctx context.Context, _ *grpcstats.ConnTagInfo) context.Context {
	return ctx
}
func (c *requestCounter) HandleConn(context.Context, grpcstats.ConnStats) {}

// halvesExporter refuses, as a gRPC collector refuses a message over its
// size limit, any batch of more than max records, and answers every other
// Unavailable until heal is closed. A fake: the test needs the halves of a
// batch to meet an outage on cue.
type halvesExporter struct {
	max   int
	heal  chan struct{}
	mu    sync.Mutex
	sizes []int // the size of each batch tried
	got   []string
}

func (e *halvesExporter) Export(_ context.Context, rs []sdklog.Record) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sizes = append(e.sizes, len(rs))
	if len(rs) > e.max {
		return status.Error(codes.ResourceExhausted, "grpc: received message larger than max (9000 vs. 4096)")
	}
	select {
	case <-e.heal:
	default:
		return status.Error(codes.Unavailable, "down")
	}
	for _, r := range rs {
		e.got = append(e.got, r.Body().AsString())
	}
	return nil
}
func (*halvesExporter) Shutdown(context.Context) error   { return nil }
func (*halvesExporter) ForceFlush(context.Context) error { return nil }

func (e *halvesExporter) tried() []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.sizes)
}

// TestProviderShutdownCountsWholeSplitBatch proves that when Shutdown's
// context ends while a half of a split batch waits for a retry, every record
// of the batch not yet delivered (the waiting half and the half not yet
// tried) is counted as failed by the time Shutdown returns, once, and none is
// sent afterwards; and that halves retried through an outage are delivered,
// in order, once the collector is back.
func TestProviderShutdownCountsWholeSplitBatch(t *testing.T) {
	t.Run("deadline", func(t *testing.T) {
		exp := &halvesExporter{max: 5, heal: make(chan struct{})}
		p, err := otlp.NewProvider(context.Background(), otlp.WithExporter(exp),
			otlp.WithExportInterval(time.Millisecond), otlp.WithRetryBackoff(5*time.Millisecond, 10*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		emitNumbered(p, 0, 10)
		waitFor(t, "the first half to be retried", func() bool { return len(exp.tried()) >= 3 })
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if err := p.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got shutdown error %v, want %v", err, context.DeadlineExceeded)
		}
		if s, want := p.Stats(), (otlp.Stats{Accepted: 10, Failed: 10}); s != want {
			t.Errorf("got %+v when Shutdown returned, want %+v", s, want)
		}
		tried := len(exp.tried())
		close(exp.heal)
		time.Sleep(50 * time.Millisecond)
		if s, want := p.Stats(), (otlp.Stats{Accepted: 10, Failed: 10}); s != want {
			t.Errorf("got %+v after, want %+v", s, want)
		}
		if got := exp.tried(); len(got) != tried {
			t.Errorf("got batches %v tried after Shutdown returned, want none", got[tried:])
		}
	})
	t.Run("collector back", func(t *testing.T) {
		exp := &halvesExporter{max: 5, heal: make(chan struct{})}
		p, err := otlp.NewProvider(context.Background(), otlp.WithExporter(exp),
			otlp.WithExportInterval(time.Millisecond), fastRetry)
		if err != nil {
			t.Fatal(err)
		}
		emitNumbered(p, 0, 10)
		waitFor(t, "the first half to be retried", func() bool { return len(exp.tried()) >= 3 })
		if s, want := p.Stats(), (otlp.Stats{Accepted: 10}); s != want {
			t.Errorf("got %+v while retrying, want %+v", s, want)
		}
		close(exp.heal)
		shutdown(t, p)
		if s, want := p.Stats(), (otlp.Stats{Accepted: 10, Exported: 10}); s != want {
			t.Errorf("got %+v, want %+v", s, want)
		}
		want := make([]string, 10)
		for i := range want {
			want[i] = fmt.Sprint(i)
		}
		exp.mu.Lock()
		defer exp.mu.Unlock()
		if !slices.Equal(exp.got, want) {
			t.Errorf("collector got %v, want %v", exp.got, want)
		}
	})
}
