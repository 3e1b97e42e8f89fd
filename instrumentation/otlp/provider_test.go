package otlp_test

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/instrumentation/otlp"
	"github.com/activitylog/activitylog/internal/logtest"
	"github.com/activitylog/activitylog/schema"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// gRPC's resolver and balancer goroutines wind down asynchronously
		// after a client connection closes.
		goleak.IgnoreTopFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}

// blockingExporter holds every export until release is closed.
type blockingExporter struct {
	release chan struct{}
	mu      sync.Mutex
	n       int
}

func (e *blockingExporter) Export(ctx context.Context, rs []sdklog.Record) error {
	select {
	case <-e.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	e.mu.Lock()
	e.n += len(rs)
	e.mu.Unlock()
	return nil
}
func (*blockingExporter) Shutdown(context.Context) error   { return nil }
func (*blockingExporter) ForceFlush(context.Context) error { return nil }

func login(t *testing.T, r *instrumentation.Recorder, n int) {
	t.Helper()
	for i := range n {
		err := r.LoginFailed(context.Background(), instrumentation.Actor{Name: "jane", Type: instrumentation.ActorPartner}, "invalid_password")
		if err != nil {
			t.Fatalf("record %d: got error %v, want nil", i, err)
		}
	}
}

func TestProviderDropsNewestWhenQueueFullAndCountsThem(t *testing.T) {
	exp := &blockingExporter{release: make(chan struct{})}
	p, err := otlp.NewProvider(context.Background(), otlp.WithExporter(exp),
		otlp.WithMaxQueueSize(10), otlp.WithExportInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	login(t, instrumentation.New(p), 100)

	s := p.Stats()
	if s.Accepted+s.Dropped != 100 {
		t.Errorf("got accepted %d + dropped %d, want 100", s.Accepted, s.Dropped)
	}
	if s.Dropped == 0 {
		t.Errorf("got 0 dropped with a stuck exporter and a queue of 10, want some")
	}
	// At most the queue plus the one batch the exporter is holding.
	if s.Accepted > 20 {
		t.Errorf("got %d accepted, want at most 20", s.Accepted)
	}
	close(exp.release)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	s = p.Stats()
	if s.Exported != s.Accepted || s.Failed != 0 {
		t.Errorf("got %+v, want every accepted record exported", s)
	}
	if uint64(exp.n) != s.Exported {
		t.Errorf("exporter got %d records, stats say %d", exp.n, s.Exported)
	}
	if got := p.Dropped(); got != s.Dropped {
		t.Errorf("got Dropped() %d, want %d", got, s.Dropped)
	}
}

// closedPort returns a local address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func TestProviderCollectorDownNeverHurtsTheCaller(t *testing.T) {
	for _, proto := range []otlp.Protocol{otlp.GRPC, otlp.HTTP} {
		t.Run(string(proto), func(t *testing.T) {
			p, err := otlp.NewProvider(context.Background(),
				otlp.WithProtocol(proto), otlp.WithEndpoint("http://"+closedPort(t)),
				otlp.WithMaxQueueSize(20), otlp.WithExportInterval(5*time.Millisecond),
				otlp.WithExportTimeout(200*time.Millisecond))
			if err != nil {
				t.Fatalf("got error %v creating a provider for a collector that is down, want nil", err)
			}
			login(t, instrumentation.New(p), 200)
			// The collector stays down: Shutdown retries until its context ends.
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			_ = p.Shutdown(ctx)
			s := p.Stats()
			if s.Exported != 0 {
				t.Errorf("got %d exported to a closed port, want 0", s.Exported)
			}
			if got := p.Dropped(); got != 200 {
				t.Errorf("got Dropped() %d (%+v), want all 200 records counted as lost", got, s)
			}
			if s.Accepted != s.Failed || s.Dropped != 200-s.Accepted {
				t.Errorf("got %+v: accepted records must end failed, the others dropped", s)
			}
		})
	}
}

// logsServer is a real OTLP/gRPC logs endpoint that counts log records.
// With hold set, it signals arrived and then holds each export until hold is
// closed.
type logsServer struct {
	collogs.UnimplementedLogsServiceServer
	hold     chan struct{}
	arrived  chan struct{}
	mu       sync.Mutex
	records  int
	resource map[string]string
	events   []string
}

func (s *logsServer) Export(ctx context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	if s.hold != nil {
		select {
		case s.arrived <- struct{}{}:
		default:
		}
		select {
		case <-s.hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.add(req)
	return &collogs.ExportLogsServiceResponse{}, nil
}

// serveGRPC starts ls on a local port, with the server options, and
// returns its address.
func serveGRPC(t *testing.T, ls collogs.LogsServiceServer, opts ...grpc.ServerOption) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(opts...)
	collogs.RegisterLogsServiceServer(srv, ls)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return l.Addr().String()
}

// TestProviderShutdownDeadlineCountsQueuedRecordsAsFailed proves that when
// Shutdown's context ends while a batch is still being delivered, the
// records waiting behind that batch are counted as failed, not as dropped
// (which means never accepted), so Accepted = Exported + Failed still holds;
// the batch in flight is counted by how its export ends, and nothing twice.
func TestProviderShutdownDeadlineCountsQueuedRecordsAsFailed(t *testing.T) {
	// Batches of exactly 10, sent when full.
	t.Setenv("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "10")
	ls := &logsServer{hold: make(chan struct{}), arrived: make(chan struct{}, 1)}
	addr := serveGRPC(t, ls)
	p, err := otlp.NewProvider(context.Background(), otlp.WithEndpoint(addr), otlp.WithInsecure(),
		otlp.WithExportInterval(time.Minute), otlp.WithExportTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	r := instrumentation.New(p)
	login(t, r, 10)
	select {
	case <-ls.arrived: // the first 10 records are in flight, held by the collector
	case <-time.After(10 * time.Second):
		t.Fatal("got no export at the collector, want one")
	}
	login(t, r, 10) // these wait behind them

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := p.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got shutdown error %v, want %v", err, context.DeadlineExceeded)
	}
	if s := p.Stats(); s.Failed != 10 || s.Dropped != 0 || s.Exported != 0 {
		t.Errorf("got %+v when Shutdown returned, want the 10 waiting records failed and the 10 in flight not counted yet", s)
	}
	close(ls.hold)
	// The SDK's export goroutine now delivers the batch in flight, after
	// Shutdown has returned.
	deadline := time.Now().Add(5 * time.Second)
	for p.Stats().Exported < 10 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	s := p.Stats()
	want := otlp.Stats{Accepted: 20, Exported: 10, Failed: 10}
	if s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
	if got := ls.count(); uint64(got) != s.Exported {
		t.Errorf("collector got %d records, stats say %d exported", got, s.Exported)
	}
}

// TestProviderShutdownWithEndedContextStillSettles proves that Shutdown
// with a context that has already ended (a service's cancelled main context,
// say) still closes the queue and settles the count, though the SDK then
// skips its processors' Shutdown: the queued records are counted as failed
// and not sent later, and the export goroutine and connection are released
// (goleak in TestMain checks the latter).
func TestProviderShutdownWithEndedContextStillSettles(t *testing.T) {
	ls := &logsServer{}
	addr := serveGRPC(t, ls)
	p, err := otlp.NewProvider(context.Background(), otlp.WithEndpoint(addr), otlp.WithInsecure(),
		otlp.WithExportInterval(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	login(t, instrumentation.New(p), 10)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("got shutdown error %v, want %v", err, context.Canceled)
	}
	// The export goroutine may have taken the records just before the
	// count was settled; its attempt with the ended context then fails.
	deadline := time.Now().Add(5 * time.Second)
	for p.Stats().Failed < 10 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s, want := p.Stats(), (otlp.Stats{Accepted: 10, Failed: 10}); s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
	if got := ls.count(); got != 0 {
		t.Errorf("collector got %d records counted as failed, want 0", got)
	}
}

func (s *logsServer) add(req *collogs.ExportLogsServiceRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rl := range req.GetResourceLogs() {
		if s.resource == nil {
			s.resource = map[string]string{}
		}
		for _, kv := range rl.GetResource().GetAttributes() {
			s.resource[kv.GetKey()] = kv.GetValue().GetStringValue()
		}
		for _, sl := range rl.GetScopeLogs() {
			for _, lr := range sl.GetLogRecords() {
				s.records++
				s.events = append(s.events, lr.GetEventName())
			}
		}
	}
}

func (s *logsServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records
}

func TestProviderDeliversOverGRPC(t *testing.T) {
	ls := &logsServer{}
	addr := serveGRPC(t, ls)

	env := map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
	p, err := otlp.NewProvider(context.Background(),
		otlp.WithGetenv(func(k string) string { return env[k] }),
		otlp.WithEndpoint(addr), otlp.WithInsecure(),
		otlp.WithServiceName("loyalty-api"), otlp.WithServiceVersion("1.2.3"), otlp.WithEnvironment("test"))
	if err != nil {
		t.Fatal(err)
	}
	login(t, instrumentation.New(p), 25)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatalf("got shutdown error %v, want nil", err)
	}
	if got := ls.count(); got != 25 {
		t.Errorf("collector got %d records, want 25", got)
	}
	if s := p.Stats(); s.Exported != 25 || p.Dropped() != 0 {
		t.Errorf("got %+v, want 25 exported and none dropped", s)
	}
	for k, want := range map[string]string{schema.AttrServiceName: "loyalty-api", "service.version": "1.2.3", "deployment.environment.name": "test"} {
		if got := ls.resource[k]; got != want {
			t.Errorf("got resource %s=%q, want %q", k, got, want)
		}
	}
	if ls.events[0] != schema.EventName(schema.EventLoginFailed) {
		t.Errorf("got event name %q, want %q", ls.events[0], schema.EventName(schema.EventLoginFailed))
	}
}

// TestProviderDeliversABatchHoldingInvalidUTF8 proves that one record with
// invalid UTF-8 (a user name typed at a failed login, say) does not cost the
// records exported with it: protobuf cannot encode such a string, and the
// exporter would fail the whole request.
func TestProviderDeliversABatchHoldingInvalidUTF8(t *testing.T) {
	ls := &logsServer{}
	addr := serveGRPC(t, ls)

	p, err := otlp.NewProvider(context.Background(), otlp.WithEndpoint(addr), otlp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	r := instrumentation.New(p)
	login(t, r, 10)
	if err := r.LoginFailed(context.Background(), instrumentation.Actor{Name: "jane\xe9@example.com"}, "unknown_user"); err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	login(t, r, 10)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatalf("got shutdown error %v, want nil", err)
	}
	if got := ls.count(); got != 21 {
		t.Errorf("collector got %d records, want 21 (stats %+v)", got, p.Stats())
	}
}

func TestProviderDeliversOverHTTP(t *testing.T) {
	for _, path := range []string{"/v1/logs", "", "/"} {
		t.Run("path "+path, func(t *testing.T) { deliverOverHTTP(t, path) })
	}
}

// httpLogs is a real OTLP/HTTP logs endpoint at path that counts log
// records into ls.
func httpLogs(ls *logsServer, path string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.Error(w, "wrong path "+r.URL.Path, http.StatusNotFound)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		answerLogs(w, body, ls.add)
	})
}

// answerLogs decodes body, an OTLP/HTTP logs request, hands it to add and
// answers as a collector does; a body that is not one is answered 400.
func answerLogs(w http.ResponseWriter, body []byte, add func(*collogs.ExportLogsServiceRequest)) {
	var req collogs.ExportLogsServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	add(&req)
	w.Header().Set("Content-Type", "application/x-protobuf")
	b, _ := proto.Marshal(&collogs.ExportLogsServiceResponse{})
	_, _ = w.Write(b)
}

func deliverOverHTTP(t *testing.T, path string) {
	ls := &logsServer{}
	srv := httptest.NewServer(httpLogs(ls, "/v1/logs"))
	defer srv.Close()

	env := map[string]string{"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "http/protobuf"}
	p, err := otlp.NewProvider(context.Background(),
		otlp.WithGetenv(func(k string) string { return env[k] }),
		otlp.WithEndpoint(srv.URL+path))
	if err != nil {
		t.Fatal(err)
	}
	login(t, instrumentation.New(p), 7)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatalf("got shutdown error %v, want nil", err)
	}
	if got := ls.count(); got != 7 {
		t.Errorf("collector got %d records, want 7", got)
	}
}

// TestProviderEndpointVariablesOverHTTP proves that the endpoint variables
// reach the collector as the OpenTelemetry specification says: the path of
// OTEL_EXPORTER_OTLP_ENDPOINT is a base that gets /v1/logs, the one of
// OTEL_EXPORTER_OTLP_LOGS_ENDPOINT is used as it is and wins.
func TestProviderEndpointVariablesOverHTTP(t *testing.T) {
	tests := []struct {
		name            string
		generic, forLog string // paths on the receiver; "-" leaves the variable unset
		want            string
	}{
		{"generic base path", "/otlp", "-", "/otlp/v1/logs"},
		{"generic without path", "", "-", "/v1/logs"},
		{"logs path as is", "-", "/custom/logs", "/custom/logs"},
		{"logs wins over generic", "/otlp", "/custom/logs", "/custom/logs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls := &logsServer{}
			srv := httptest.NewServer(httpLogs(ls, tt.want))
			defer srv.Close()
			for k, path := range map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": tt.generic, "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": tt.forLog} {
				if path != "-" {
					t.Setenv(k, srv.URL+path)
				}
			}
			p, err := otlp.NewProvider(context.Background(), otlp.WithProtocol(otlp.HTTP))
			if err != nil {
				t.Fatal(err)
			}
			login(t, instrumentation.New(p), 3)
			if err := p.Shutdown(context.Background()); err != nil {
				t.Fatalf("got shutdown error %v, want nil", err)
			}
			if got := ls.count(); got != 3 {
				t.Errorf("collector at %s got %d records (stats %+v), want 3", tt.want, got, p.Stats())
			}
		})
	}
}

// TestProviderEndpointOptionTakesNothingFromTheEnvironment proves that a
// host:port given to WithEndpoint gets its scheme and path from the options
// alone: an OTEL_EXPORTER_OTLP_ENDPOINT naming a plaintext collector with a
// base path neither turns TLS off nor moves the logs path.
func TestProviderEndpointOptionTakesNothingFromTheEnvironment(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+closedPort(t)+"/otlp")

	t.Run("http tls", func(t *testing.T) {
		ls := &logsServer{}
		srv := httptest.NewTLSServer(httpLogs(ls, "/v1/logs"))
		defer srv.Close()
		ca := filepath.Join(t.TempDir(), "ca.pem")
		pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
		if err := os.WriteFile(ca, pemCert, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", ca)
		deliverTo(t, ls, otlp.WithProtocol(otlp.HTTP), otlp.WithEndpoint(srv.Listener.Addr().String()))
	})
	t.Run("http insecure", func(t *testing.T) {
		ls := &logsServer{}
		srv := httptest.NewServer(httpLogs(ls, "/v1/logs"))
		defer srv.Close()
		deliverTo(t, ls, otlp.WithProtocol(otlp.HTTP), otlp.WithEndpoint(srv.Listener.Addr().String()), otlp.WithInsecure())
	})
	t.Run("grpc never plaintext without WithInsecure", func(t *testing.T) {
		ls := &logsServer{}
		addr := serveGRPC(t, ls)
		p, err := otlp.NewProvider(context.Background(), otlp.WithProtocol(otlp.GRPC), otlp.WithEndpoint(addr),
			otlp.WithExportTimeout(500*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		login(t, instrumentation.New(p), 3)
		// The TLS handshake fails, and is retried until the context ends.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = p.Shutdown(ctx)
		if got := ls.count(); got != 0 {
			t.Errorf("plaintext collector got %d records sent to a host:port without WithInsecure, want 0", got)
		}
	})
}

// deliverTo sends three records through a provider built with opts and
// checks that ls got them.
func deliverTo(t *testing.T, ls *logsServer, opts ...otlp.Option) {
	t.Helper()
	p, err := otlp.NewProvider(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	login(t, instrumentation.New(p), 3)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Errorf("got shutdown error %v, want nil", err)
	}
	if got := ls.count(); got != 3 {
		t.Errorf("collector got %d records (stats %+v), want 3", got, p.Stats())
	}
}

func TestProviderRejectsInvalidEndpoint(t *testing.T) {
	for _, ep := range []string{"http://", "http://[::1", "unix:///run/otel.sock"} {
		for _, proto := range []otlp.Protocol{otlp.GRPC, otlp.HTTP} {
			_, err := otlp.NewProvider(context.Background(), otlp.WithProtocol(proto), otlp.WithEndpoint(ep))
			if !errors.Is(err, otlp.ErrInvalidEndpoint) {
				t.Errorf("%s %q: got error %v, want ErrInvalidEndpoint", proto, ep, err)
			}
		}
	}
}

func TestProviderRejectsUnknownProtocol(t *testing.T) {
	env := map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}
	_, err := otlp.NewProvider(context.Background(), otlp.WithGetenv(func(k string) string { return env[k] }))
	if !errors.Is(err, otlp.ErrInvalidProtocol) {
		t.Errorf("got error %v, want ErrInvalidProtocol", err)
	}
}

// longBodyExporter refuses, as a gRPC collector refuses a message over its
// size limit, a batch holding a body longer than otlp.ReducedBodyLength, and
// takes every other.
type longBodyExporter struct{}

func (longBodyExporter) Export(_ context.Context, rs []sdklog.Record) error {
	for _, r := range rs {
		if len(r.Body().AsString()) > otlp.ReducedBodyLength {
			return status.Error(codes.ResourceExhausted, "grpc: received message larger than max (9000 vs. 4096)")
		}
	}
	return nil
}
func (longBodyExporter) Shutdown(context.Context) error   { return nil }
func (longBodyExporter) ForceFlush(context.Context) error { return nil }

func TestProviderPublishesRecordCounts(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	p, err := otlp.NewProvider(context.Background(), otlp.WithExporter(longBodyExporter{}), otlp.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	login(t, instrumentation.New(p), 3)
	emitBodies(p, []string{strings.Repeat("d", 2*otlp.ReducedBodyLength)}) // sent reduced
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != otlp.MetricRecords {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				state, _ := dp.Attributes.Value(attribute.Key(otlp.MetricStateKey))
				got[state.AsString()] = dp.Value
			}
		}
	}
	want := map[string]int64{"accepted": 4, "exported": 4, "dropped": 0, "failed": 0, "reduced": 1}
	for k, v := range want {
		if n, ok := got[k]; !ok || n != v {
			t.Errorf("got %s=%d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestProviderLeavesKeysAsGiven shows that the provider skips the SDK's key
// de-duplication: a record with a repeated key, which only a caller other
// than the Recorder can emit, is exported as it was given.
func TestProviderLeavesKeysAsGiven(t *testing.T) {
	exp := &logtest.Exporter{}
	p, err := otlp.NewProvider(context.Background(), otlp.WithExporter(exp))
	if err != nil {
		t.Fatal(err)
	}
	var r log.Record
	r.AddAttributes(attribute.String("k", "first"), attribute.String("k", "last"),
		attribute.Map("m", attribute.Int("n", 1), attribute.Int("n", 2)))
	p.Logger("test").Emit(context.Background(), r)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatalf("got shutdown error %v, want nil", err)
	}
	recs := exp.Records()
	if len(recs) != 1 {
		t.Fatalf("got %d records, want 1", len(recs))
	}
	var got []string
	recs[0].WalkAttributes(func(kv attribute.KeyValue) bool {
		got = append(got, string(kv.Key)+"="+kv.Value.String())
		return true
	})
	want := []string{"k=first", "k=last", `m={"n":1,"n":2}`}
	if !slices.Equal(got, want) {
		t.Errorf("got attributes %v, want %v", got, want)
	}
}

// TestProviderCountsRecordsAfterShutdown proves that a record emitted once
// Shutdown has begun (a request still being served while the process stops)
// is counted as dropped, through the Recorder and through a logger the
// provider handed out before: the SDK discards it without a word.
func TestProviderCountsRecordsAfterShutdown(t *testing.T) {
	exp := &logtest.Exporter{}
	p, err := otlp.NewProvider(context.Background(), otlp.WithExporter(exp))
	if err != nil {
		t.Fatal(err)
	}
	r := instrumentation.New(p)
	early := p.Logger("early")
	login(t, r, 2)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	login(t, r, 3)
	early.Emit(context.Background(), log.Record{})
	want := otlp.Stats{Accepted: 2, Exported: 2, Dropped: 4}
	if s := p.Stats(); s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
	if got := len(exp.Records()); got != 2 {
		t.Errorf("got %d records exported, want 2", got)
	}
}
