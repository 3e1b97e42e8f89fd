package otlp_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
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
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = p.Shutdown(ctx) // the flush fails: the collector is down
			s := p.Stats()
			if s.Exported != 0 {
				t.Errorf("got %d exported to a closed port, want 0", s.Exported)
			}
			if got := p.Dropped(); got != 200 {
				t.Errorf("got Dropped() %d (%+v), want all 200 records counted as lost", got, s)
			}
			if s.Accepted != s.Failed+(s.Dropped-(200-s.Accepted)) {
				t.Errorf("got %+v: accepted records must end exported, failed or dropped at shutdown", s)
			}
		})
	}
}

// logsServer is a real OTLP/gRPC logs endpoint that counts log records.
type logsServer struct {
	collogs.UnimplementedLogsServiceServer
	mu       sync.Mutex
	records  int
	resource map[string]string
	events   []string
}

func (s *logsServer) Export(_ context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	s.add(req)
	return &collogs.ExportLogsServiceResponse{}, nil
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
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	ls := &logsServer{}
	collogs.RegisterLogsServiceServer(srv, ls)
	go func() { _ = srv.Serve(l) }()
	defer srv.Stop()

	env := map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
	p, err := otlp.NewProvider(context.Background(),
		otlp.WithGetenv(func(k string) string { return env[k] }),
		otlp.WithEndpoint(l.Addr().String()), otlp.WithInsecure(),
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
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	ls := &logsServer{}
	collogs.RegisterLogsServiceServer(srv, ls)
	go func() { _ = srv.Serve(l) }()
	defer srv.Stop()

	p, err := otlp.NewProvider(context.Background(), otlp.WithEndpoint(l.Addr().String()), otlp.WithInsecure())
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

func deliverOverHTTP(t *testing.T, path string) {
	ls := &logsServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/logs" {
			http.Error(w, "wrong path "+r.URL.Path, http.StatusNotFound)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var req collogs.ExportLogsServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ls.add(&req)
		w.Header().Set("Content-Type", "application/x-protobuf")
		b, _ := proto.Marshal(&collogs.ExportLogsServiceResponse{})
		_, _ = w.Write(b)
	}))
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

func TestProviderRejectsUnknownProtocol(t *testing.T) {
	env := map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}
	_, err := otlp.NewProvider(context.Background(), otlp.WithGetenv(func(k string) string { return env[k] }))
	if !errors.Is(err, otlp.ErrInvalidProtocol) {
		t.Errorf("got error %v, want ErrInvalidProtocol", err)
	}
}

func TestProviderPublishesRecordCounts(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	exp := &blockingExporter{release: make(chan struct{})}
	close(exp.release)
	p, err := otlp.NewProvider(context.Background(), otlp.WithExporter(exp), otlp.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	login(t, instrumentation.New(p), 4)
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
	want := map[string]int64{"accepted": 4, "exported": 4, "dropped": 0, "failed": 0}
	for k, v := range want {
		if got[k] != v {
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
