package durableexporter

import (
	"errors"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/elasticsearchexporter"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Config is the durable_elasticsearch exporter's configuration.
type Config struct {
	// Elasticsearch is the contrib elasticsearch exporter's whole
	// configuration, except its sending_queue: this exporter queues and
	// batches in front of it, and sends it one batch at a time.
	Elasticsearch *elasticsearchexporter.Config `mapstructure:"elasticsearch"`

	// QueueBatch is the sending queue, with batching. With storage set it
	// is persistent: batches survive a restart, and a batch in flight or
	// waiting for a retry when the collector stops is sent by the next
	// start.
	QueueBatch configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`

	// RetryOnFailure retries a batch the elasticsearch exporter failed to
	// write after its own retries. max_elapsed_time 0 (the default) retries
	// until Elasticsearch takes it.
	RetryOnFailure configretry.BackOffConfig `mapstructure:"retry_on_failure"`
}

var errInnerQueue = errors.New("elasticsearch::sending_queue must stay disabled: " +
	"durable_elasticsearch queues and batches itself; configure its own sending_queue instead")

// Validate reports a configuration this exporter cannot honour. The nested
// configurations are validated on their own.
func (c *Config) Validate() error {
	if c.Elasticsearch == nil {
		return errors.New("elasticsearch: the elasticsearch exporter's configuration is required")
	}
	if c.Elasticsearch.QueueBatchConfig.HasValue() {
		return errInnerQueue
	}
	return nil
}
