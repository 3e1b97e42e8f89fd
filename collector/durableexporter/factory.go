package durableexporter

import (
	"context"
	"fmt"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/elasticsearchexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
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
// (refusals.go).
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
		ctx, refused := withRefusals(ctx)
		if err := next.ConsumeLogs(ctx, ld); err != nil {
			return err
		}
		return refused.err()
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
