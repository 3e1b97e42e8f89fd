package durableexporter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/elasticsearchexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/activitylog/activitylog/collector/durableexporter/internal/metadata"
)

// NewFactory returns the factory of the durable_elasticsearch exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(metadata.Type, createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability))
}

func createDefaultConfig() component.Config {
	es := elasticsearchexporter.NewFactory().CreateDefaultConfig().(*elasticsearchexporter.Config)
	es.QueueBatchConfig = configoptional.None[exporterhelper.QueueBatchConfig]()

	queue := exporterhelper.NewDefaultQueueConfig()
	queue.Sizer = exporterhelper.RequestSizerTypeItems
	queue.QueueSize = 100_000
	queue.NumConsumers = 4
	queue.BlockOnOverflow = true
	queue.Batch = configoptional.Some(exporterhelper.BatchConfig{
		FlushTimeout: time.Second,
		Sizer:        exporterhelper.RequestSizerTypeItems,
		MinSize:      1000,
		MaxSize:      5000,
	})

	retry := configretry.NewDefaultBackOffConfig()
	retry.InitialInterval = time.Second
	retry.MaxElapsedTime = 0 // until Elasticsearch takes the batch

	return &Config{
		Elasticsearch:  es,
		QueueBatch:     configoptional.Some(queue),
		RetryOnFailure: retry,
	}
}

// createLogs builds the contrib elasticsearch exporter without a queue, so
// that its ConsumeLogs writes one batch and returns what happened, and puts
// the collector's queue and retry in front of it. A batch it fails to write
// is retried rather than dropped (the contrib exporter has no retry sender,
// so behind its own persistent queue a batch is deleted once its retries
// run out). When the collector stops, a batch waiting for its retry is
// left in the persistent queue for the next start. A batch some of whose
// documents Elasticsearch refused with a retryable status is retried too
// (refusals.go). A large batch goes in several bulk requests (split.go).
func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	es := *c.Elasticsearch
	es.QueueBatchConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	factory := elasticsearchexporter.NewFactory()
	inner := set
	inner.ID = component.NewIDWithName(factory.Type(), set.ID.Name())
	inner.MeterProvider = watchingMeterProvider{MeterProvider: set.MeterProvider, retryable: es.Retry.RetryOnStatus}
	next, err := factory.CreateLogs(ctx, inner, &es)
	if err != nil {
		return nil, fmt.Errorf("durable_elasticsearch: %w", err)
	}
	push := func(ctx context.Context, ld plog.Logs) error {
		return write(ctx, next, chunks(ld, maxRequestBytes))
	}
	return exporterhelper.NewLogs(ctx, set, cfg, push,
		exporterhelper.WithStart(next.Start),
		exporterhelper.WithShutdown(next.Shutdown),
		exporterhelper.WithCapabilities(next.Capabilities()),
		exporterhelper.WithQueue(c.QueueBatch),
		exporterhelper.WithRetry(c.RetryOnFailure),
		// The elasticsearch exporter bounds each attempt with its own
		// timeout (elasticsearch::timeout).
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{}),
	)
}

// write hands each of parts to next as one bulk request, in order, and
// stops at the first that fails; the batch is then retried whole (what was
// written is answered 409 and skipped). A request Elasticsearch refuses as
// too large (a node whose http.max_content_length is set below the size
// chunks keeps to) is sent again in halves, down to single records. A single
// record too large for the node is refused for good: the others are still
// written, and the error, permanent, names what was refused.
func write(ctx context.Context, next consumer.Logs, parts []plog.Logs) error {
	var over oversized
	for _, part := range parts {
		rctx, refused := withRefusals(ctx)
		err := next.ConsumeLogs(rctx, part)
		if err == nil {
			err = refused.err()
		}
		if tooLarge(err) {
			if part.LogRecordCount() > 1 {
				err = write(ctx, next, halves(part))
			} else {
				err = &oversized{errs: []error{err}}
			}
		}
		var o *oversized
		switch {
		case err == nil:
		case errors.As(err, &o):
			over.errs = append(over.errs, o.errs...)
		default:
			return err
		}
	}
	if len(over.errs) > 0 {
		return &over
	}
	return nil
}

// oversized holds the refusals of records too large for Elasticsearch, each
// permanent, so that the batch leaves the queue once everything else is
// written.
type oversized struct{ errs []error }

func (o *oversized) Error() string {
	return fmt.Sprintf("%d record(s) larger than Elasticsearch takes in one request (http.max_content_length), dropped: %v",
		len(o.errs), errors.Join(o.errs...))
}

func (o *oversized) Unwrap() []error { return o.errs }
