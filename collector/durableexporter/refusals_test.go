package durableexporter

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// TestRefusalsCounted: the docsProcessed counter of the elasticsearch
// exporter's meter still records everything, and also counts, in the
// context of the call, the documents refused with a retryable status; other
// statuses (a conflict for a document already written, a mapping error),
// other counters and calls without a count are left alone. The end-to-end
// behaviour is TestRefusedDocumentsLoseNothing in ../e2e_test.go.
func TestRefusalsCounted(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := watchingMeterProvider{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)), retryable: []int{429, 503}}
	m := mp.Meter("elasticsearchexporter")
	docs, err := m.Int64Counter(docsProcessed)
	if err != nil {
		t.Fatal(err)
	}
	other, err := m.Int64Counter("otelcol.elasticsearch.bulk_requests.count")
	if err != nil {
		t.Fatal(err)
	}
	status := func(code int) metric.AddOption {
		return metric.WithAttributes(attribute.String("outcome", "x"), statusKey.Int(code))
	}

	ctx, refused := withRefusals(context.Background())
	if refused.err() != nil {
		t.Fatal("a new count has refusals")
	}
	docs.Add(ctx, 5, status(200))
	docs.Add(ctx, 2, status(409))
	docs.Add(ctx, 1, status(400))
	docs.Add(ctx, 3, metric.WithAttributes(attribute.String("outcome", "timeout")))
	other.Add(ctx, 1, status(429))
	docs.Add(context.Background(), 4, status(429)) // another call's
	if err := refused.err(); err != nil {
		t.Fatalf("no retryable refusal yet: %v", err)
	}
	docs.Add(ctx, 2, status(429))
	docs.Add(ctx, 1, status(503))
	err = refused.err()
	if err == nil || !strings.Contains(err.Error(), "refused 3 document(s), the last with status 503") {
		t.Errorf("got %v, want 3 refusals, the last 503", err)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, sm := range rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			if mt.Name != docsProcessed {
				continue
			}
			for _, dp := range mt.Data.(metricdata.Sum[int64]).DataPoints {
				total += dp.Value
			}
		}
	}
	if total != 5+2+1+3+4+2+1 {
		t.Errorf("the counter recorded %d documents, want every one (18)", total)
	}
}
