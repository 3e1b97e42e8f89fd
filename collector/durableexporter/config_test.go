package durableexporter

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/activitylog/activitylog/collector/durableexporter/internal/metadata"
	"github.com/activitylog/activitylog/internal/configtest"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	return cfg, configtest.Load(t, metadata.Type, name, cfg)
}

func TestLoadConfig(t *testing.T) {
	def, err := loadConfig(t, "")
	if err != nil {
		t.Fatalf("default config with an endpoint: %v", err)
	}
	q := def.QueueBatch.Get()
	switch {
	case def.Elasticsearch.QueueBatchConfig.HasValue():
		t.Error("the inner exporter has a queue by default")
	case q == nil || q.QueueSize != 100_000 || q.NumConsumers != 4 || !q.Batch.HasValue() || q.Batch.Get().MaxSize != 5000:
		t.Errorf("default queue %+v", q)
	case !def.RetryOnFailure.Enabled || def.RetryOnFailure.MaxElapsedTime != 0:
		t.Errorf("default retry %+v: want enabled, with no time limit", def.RetryOnFailure)
	case def.Elasticsearch.Endpoints[0] != "http://localhost:9200":
		t.Errorf("endpoints %v", def.Elasticsearch.Endpoints)
	}

	custom, err := loadConfig(t, "custom")
	if err != nil {
		t.Fatalf("custom: %v", err)
	}
	q = custom.QueueBatch.Get()
	switch {
	case len(custom.Elasticsearch.Endpoints) != 2 || custom.Elasticsearch.Timeout != 20*time.Second:
		t.Errorf("elasticsearch %v %v", custom.Elasticsearch.Endpoints, custom.Elasticsearch.Timeout)
	case !custom.Elasticsearch.LogsDynamicID.Enabled || custom.Elasticsearch.Retry.MaxRetries != 2:
		t.Errorf("elasticsearch settings not read: %+v", custom.Elasticsearch.Retry)
	case q.StorageID == nil || q.StorageID.String() != "file_storage/queue" || q.QueueSize != 5000 || q.Batch.Get().MinSize != 100:
		t.Errorf("queue %+v", q)
	case custom.RetryOnFailure.InitialInterval != 2*time.Second || custom.RetryOnFailure.MaxInterval != 10*time.Second:
		t.Errorf("retry %+v", custom.RetryOnFailure)
	}

	for name, want := range map[string]string{
		"inner_queue": "elasticsearch::sending_queue must stay disabled",
		"no_endpoint": "exactly one of [endpoint, endpoints, cloudid] must be specified",
		"bad_retry":   "randomization_factor",
	} {
		_, err := loadConfig(t, name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", name, err, want)
		}
	}
	if err := (&Config{}).Validate(); err == nil {
		t.Error("a config without the elasticsearch section validated")
	}
}

// TestLifecycle builds the exporter from a valid configuration, starts and
// stops it. Its behaviour is tested end to end, with the real collector and
// a real Elasticsearch node, in ../e2e_test.go.
func TestLifecycle(t *testing.T) {
	cfg, err := loadConfig(t, "")
	if err != nil {
		t.Fatal(err)
	}
	f := NewFactory()
	if f.Type() != metadata.Type || f.LogsStability() != metadata.LogsStability {
		t.Fatalf("factory %s %s", f.Type(), f.LogsStability())
	}
	exp, err := f.CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.CreateMetrics(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg); !errors.Is(err, pipeline.ErrSignalNotSupported) {
		t.Errorf("metrics exporter: got %v, want %v (logs only)", err, pipeline.ErrSignalNotSupported)
	}
}
