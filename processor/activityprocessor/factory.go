package activityprocessor

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/activitylog/activitylog/processor/activityprocessor/internal/metadata"
)

// NewFactory returns the factory of the "activity" logs processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		createDefaultComponentConfig,
		processor.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultComponentConfig() component.Config { return createDefaultConfig() }

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	c, ok := cfg.(*Config)
	if !ok {
		return nil, fmt.Errorf("activity processor: got config of type %T, want *Config", cfg)
	}
	p, err := newActivityProcessor(c, set, time.Now)
	if err != nil {
		return nil, fmt.Errorf("activity processor: %w", err)
	}
	return p.logs(ctx, set, next)
}

// logs puts p in front of next.
func (p *activityProcessor) logs(ctx context.Context, set processor.Settings, next consumer.Logs) (processor.Logs, error) {
	if p.detector != nil {
		p.delivery = newAlertDelivery(next, set.Logger, p.alertBatch)
		next = p.delivery
	}
	return processorhelper.NewLogs(ctx, set, nil, next, p.processLogs,
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}),
		processorhelper.WithStart(p.startDelivery),
		processorhelper.WithShutdown(p.stopDelivery),
	)
}
