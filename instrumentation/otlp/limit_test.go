package otlp_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/instrumentation/otlp"
)

// longestServer is a collector that counts records and notes the longest
// string value in any record's attributes, at any depth, and in its body.
type longestServer struct {
	collogs.UnimplementedLogsServiceServer
	mu          sync.Mutex
	records     int
	longest     int
	longestBody int
}

func (s *longestServer) Export(_ context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rl := range req.GetResourceLogs() {
		for _, sl := range rl.GetScopeLogs() {
			for _, lr := range sl.GetLogRecords() {
				s.records++
				s.longestBody = max(s.longestBody, longestString(lr.GetBody()))
				for _, kv := range lr.GetAttributes() {
					s.longest = max(s.longest, longestString(kv.GetValue()))
				}
			}
		}
	}
	return &collogs.ExportLogsServiceResponse{}, nil
}

func longestString(v *commonpb.AnyValue) int {
	n := len(v.GetStringValue())
	for _, e := range v.GetArrayValue().GetValues() {
		n = max(n, longestString(e))
	}
	for _, kv := range v.GetKvlistValue().GetValues() {
		n = max(n, longestString(kv.GetValue()))
	}
	return n
}

// longestProvider is a provider with the default value length limit
// exporting to a longestServer, and a recorder over it.
func longestProvider(t *testing.T) (*longestServer, *otlp.Provider, *instrumentation.Recorder) {
	t.Helper()
	ls := &longestServer{}
	p, err := otlp.NewProvider(context.Background(), otlp.WithEndpoint(serveGRPC(t, ls)), otlp.WithInsecure(),
		otlp.WithGetenv(func(string) string { return "" }))
	if err != nil {
		t.Fatal(err)
	}
	return ls, p, instrumentation.New(p)
}

type note struct{ Text string }

// TestProviderDeliversABatchHoldingAHugeValue: a record whose changed value
// is larger than a collector accepts in a request (gRPC's 4 MiB by default)
// arrives, the value cut to otlp.DefaultValueLengthLimit, and so do the
// records exported with it. Uncut, it was refused even alone, and lost.
func TestProviderDeliversABatchHoldingAHugeValue(t *testing.T) {
	ls, p, r := longestProvider(t)
	login(t, r, 10)
	huge := note{Text: strings.Repeat("x", 5<<20)}
	if err := r.Updated(context.Background(), instrumentation.Subject{Category: instrumentation.Rewards, Type: "note", ID: "n-1"}, note{}, huge); err != nil {
		t.Fatal(err)
	}
	login(t, r, 10)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatalf("got shutdown error %v, want nil", err)
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.records != 21 {
		t.Errorf("collector got %d records, want 21 (stats %+v)", ls.records, p.Stats())
	}
	if ls.longest != otlp.DefaultValueLengthLimit {
		t.Errorf("got a longest value of %d bytes, want it cut to %d", ls.longest, otlp.DefaultValueLengthLimit)
	}
}

// TestProviderValueLengthLimitFromEnvironment: the standard variable
// OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT sets another limit (-1: none),
// and a value that is not an integer is an error that names it.
func TestProviderValueLengthLimitFromEnvironment(t *testing.T) {
	ls := &longestServer{}
	addr := serveGRPC(t, ls)
	env := map[string]string{"OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT": "100"}
	p, err := otlp.NewProvider(context.Background(), otlp.WithEndpoint(addr), otlp.WithInsecure(),
		otlp.WithGetenv(func(k string) string { return env[k] }))
	if err != nil {
		t.Fatal(err)
	}
	r := instrumentation.New(p)
	if err := r.Updated(context.Background(), instrumentation.Subject{Category: instrumentation.Rewards, Type: "note", ID: "n-1"},
		note{}, note{Text: strings.Repeat("y", 1000)}); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ls.mu.Lock()
	if ls.longest != 100 {
		t.Errorf("got a longest value of %d bytes, want 100", ls.longest)
	}
	ls.mu.Unlock()

	env["OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT"] = "64k"
	_, err = otlp.NewProvider(context.Background(), otlp.WithEndpoint(addr), otlp.WithInsecure(),
		otlp.WithGetenv(func(k string) string { return env[k] }))
	if err == nil || !strings.Contains(err.Error(), "OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT") {
		t.Errorf("got %v, want an error naming OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT", err)
	}
}

// TestProviderCutsTheBody: the SDK cuts attribute values only; the provider
// cuts the body (the description) to the same limit, in characters. A
// subject's name of 5 MiB, which the description quotes, or a caller's own
// description as long, made a record the collector refused even alone: it
// was lost.
func TestProviderCutsTheBody(t *testing.T) {
	ls, p, r := longestProvider(t)
	ctx := context.Background()
	name := strings.Repeat("é", 3<<20)
	if err := r.Created(ctx, instrumentation.Subject{Category: instrumentation.Rewards, Type: "reward", ID: "r-1", Name: name}, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.Record(ctx, instrumentation.Event{Action: instrumentation.Viewed,
		Subject:     instrumentation.Subject{Category: instrumentation.Rewards, Type: "reward", ID: "r-1"},
		Description: strings.Repeat("d", 5<<20)}); err != nil {
		t.Fatal(err)
	}
	login(t, r, 3)
	if err := p.Shutdown(ctx); err != nil {
		t.Fatalf("got shutdown error %v, want nil", err)
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.records != 5 {
		t.Errorf("collector got %d records, want 5 (stats %+v)", ls.records, p.Stats())
	}
	// The name is two bytes a character: the description of the first
	// record, cut to the limit in characters, is at most twice it in bytes;
	// the second's is exactly the limit.
	if ls.longestBody < otlp.DefaultValueLengthLimit || ls.longestBody > 2*otlp.DefaultValueLengthLimit {
		t.Errorf("got a longest body of %d bytes, want it cut to %d characters", ls.longestBody, otlp.DefaultValueLengthLimit)
	}
}
