package durableexporter

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// The elasticsearch exporter retries a document that Elasticsearch refused
// on its own, with a status of retry::retry_on_status (a node out of disk
// space answers the bulk request but refuses each document with 429), a
// counted number of times. Then it logs the documents still refused, drops
// them and reports the batch as written, so the batch would leave the queue
// without them. It reports each such document through its telemetry only:
// the counter docsProcessed, with the document's status, recorded with the
// context of the call that wrote the batch. This exporter watches that
// counter and fails the attempt when it counts a refusal that may pass
// later; the batch is then retried whole (documents already written are
// answered 409 and skipped).

// docsProcessed is the elasticsearch exporter's counter of documents, by
// outcome and status.
const docsProcessed = "otelcol.elasticsearch.docs.processed"

// statusKey is the attribute that holds a document's status.
const statusKey = attribute.Key("http.response.status_code")

// refusals counts the documents refused with a retryable status during one
// call of the elasticsearch exporter.
type refusals struct {
	n      atomic.Int64
	status atomic.Int64 // the last one's
}

type refusalsKey struct{}

// withRefusals returns ctx carrying a new count of refusals.
func withRefusals(ctx context.Context) (context.Context, *refusals) {
	r := &refusals{}
	return context.WithValue(ctx, refusalsKey{}, r), r
}

// err is the attempt's error when documents were refused.
func (r *refusals) err() error {
	n := r.n.Load()
	if n == 0 {
		return nil
	}
	return fmt.Errorf("elasticsearch refused %d document(s), the last with status %d, a status of retry::retry_on_status: "+
		"the batch is kept and retried", n, r.status.Load())
}

// watchingMeterProvider hands the elasticsearch exporter meters whose
// docsProcessed counter also counts, in the calling context's refusals, the
// documents refused with one of the retryable statuses.
type watchingMeterProvider struct {
	metric.MeterProvider
	retryable []int
}

func (p watchingMeterProvider) Meter(name string, opts ...metric.MeterOption) metric.Meter {
	return watchingMeter{Meter: p.MeterProvider.Meter(name, opts...), retryable: p.retryable}
}

type watchingMeter struct {
	metric.Meter
	retryable []int
}

func (m watchingMeter) Int64Counter(name string, opts ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	c, err := m.Meter.Int64Counter(name, opts...)
	if err != nil || name != docsProcessed {
		return c, err
	}
	return watchingCounter{Int64Counter: c, retryable: m.retryable}, nil
}

type watchingCounter struct {
	metric.Int64Counter
	retryable []int
}

func (c watchingCounter) Add(ctx context.Context, n int64, opts ...metric.AddOption) {
	c.Int64Counter.Add(ctx, n, opts...)
	r, ok := ctx.Value(refusalsKey{}).(*refusals)
	if !ok {
		return
	}
	attrs := metric.NewAddConfig(opts).Attributes()
	v, ok := attrs.Value(statusKey)
	if !ok || v.Type() != attribute.INT64 || !slices.Contains(c.retryable, int(v.AsInt64())) {
		return
	}
	r.n.Add(n)
	r.status.Store(v.AsInt64())
}
