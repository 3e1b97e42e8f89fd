package otlp

import (
	"os"
	"time"

	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// Protocol is an OTLP transport.
type Protocol string

// Protocols, named as in OTEL_EXPORTER_OTLP_PROTOCOL.
const (
	GRPC Protocol = "grpc"
	HTTP Protocol = "http/protobuf"
)

// Defaults.
const (
	// DefaultMaxQueueSize is how many records may wait for export.
	DefaultMaxQueueSize = 2048
	// DefaultExportInterval is the longest a record waits before a batch is sent.
	DefaultExportInterval = time.Second
	// DefaultExportTimeout bounds one attempt at exporting a batch.
	DefaultExportTimeout = 10 * time.Second
	// DefaultRetryInitialInterval is about how long a batch whose export
	// failed with a retryable error waits before its second attempt.
	DefaultRetryInitialInterval = time.Second
	// DefaultRetryMaxInterval is about the longest wait between two attempts.
	DefaultRetryMaxInterval = 30 * time.Second
)

// Option configures NewProvider.
type Option interface {
	apply(*config)
}

type config struct {
	endpoint       string
	protocol       Protocol
	insecure       bool
	headers        map[string]string
	maxQueueSize   int
	exportInterval time.Duration
	exportTimeout  time.Duration
	retryInitial   time.Duration
	retryMax       time.Duration
	maxRetryTime   time.Duration
	serviceName    string
	serviceVersion string
	environment    string
	getenv         func(string) string
	meterProvider  metric.MeterProvider
	exporter       sdklog.Exporter
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithEndpoint sets the collector's OTLP endpoint, either a URL
// ("http://collector:4317", "https://collector:4318/v1/logs"; over HTTP a URL
// without a path gets /v1/logs, and a path is used as it is) or host:port
// (TLS unless WithInsecure is given; over HTTP the path is /v1/logs). Nothing
// of it comes from the environment: the OTEL_EXPORTER_OTLP_*ENDPOINT
// variables are then ignored, their scheme and path included.
// The default is the exporter's: OTEL_EXPORTER_OTLP_LOGS_ENDPOINT, used as it
// is, or OTEL_EXPORTER_OTLP_ENDPOINT, to whose path HTTP adds /v1/logs (as
// the OpenTelemetry specification says), else localhost:4317 (gRPC) or
// localhost:4318 (HTTP). A service that reads those variables itself should
// leave them to the default rather than pass them here: WithEndpoint cannot
// tell the base URL of OTEL_EXPORTER_OTLP_ENDPOINT from a logs URL.
func WithEndpoint(endpoint string) Option {
	return optionFunc(func(c *config) { c.endpoint = endpoint })
}

// WithProtocol chooses the transport. The default is
// OTEL_EXPORTER_OTLP_LOGS_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else
// GRPC; a value other than "grpc" or "http/protobuf" is ErrInvalidProtocol.
func WithProtocol(p Protocol) Option {
	return optionFunc(func(c *config) { c.protocol = p })
}

// WithInsecure sends records in plaintext. By default TLS is used unless the
// endpoint is an http:// URL.
func WithInsecure() Option {
	return optionFunc(func(c *config) { c.insecure = true })
}

// WithHeaders adds headers (for example the collector's ingest token,
// "Authorization": "Bearer <token>") to every export. The default is
// OTEL_EXPORTER_OTLP_LOGS_HEADERS, else OTEL_EXPORTER_OTLP_HEADERS
// (comma-separated key=value pairs, percent-encoded, so
// "Authorization=Bearer%20<token>"); a malformed one is ErrInvalidHeaders.
func WithHeaders(h map[string]string) Option {
	return optionFunc(func(c *config) { c.headers = h })
}

// WithMaxQueueSize bounds how many records may wait for export; beyond it new
// records are dropped and counted. The default is DefaultMaxQueueSize; values
// below one mean the default.
func WithMaxQueueSize(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.maxQueueSize = n
		}
	})
}

// WithExportInterval sets the longest a record waits before it is sent. The
// default is DefaultExportInterval; values below one mean the default.
func WithExportInterval(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.exportInterval = d
		}
	})
}

// WithExportTimeout bounds one attempt at exporting a batch; an attempt that
// takes longer fails and, like any retryable failure, is tried again (see
// WithRetryBackoff). The default is DefaultExportTimeout; values below one
// mean the default.
func WithExportTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.exportTimeout = d
		}
	})
}

// WithRetryBackoff sets how long a batch whose export failed with a
// retryable error (the collector unreachable, overloaded or timing out)
// waits before it is tried again: about initial after the first failure,
// doubling after each further one up to about max, each wait shortened by a
// random part of up to half of it so that services restarted together do not
// retry together, but never shorter than the collector asks (HTTP
// Retry-After, gRPC RetryInfo) up to about max. The defaults are DefaultRetryInitialInterval and
// DefaultRetryMaxInterval; values below one mean the default, and a max
// below initial means initial.
func WithRetryBackoff(initial, max time.Duration) Option {
	return optionFunc(func(c *config) {
		if initial > 0 {
			c.retryInitial = initial
		}
		if max > 0 {
			c.retryMax = max
		}
	})
}

// WithMaxRetryTime bounds how long a batch is retried after its first
// failed attempt (each part of a batch sent in parts, having been refused as
// too large, for its own d); a batch not delivered by then is counted as
// failed. By
// default, and for values below one, a batch is retried until it is
// delivered or Shutdown's context ends, which is what an audit trail wants:
// during an outage new records then wait in the queue, and are dropped and
// counted once it is full.
func WithMaxRetryTime(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.maxRetryTime = d
		}
	})
}

// WithServiceName sets the service.name resource attribute. The default is
// OTEL_SERVICE_NAME, else "unknown_service".
func WithServiceName(name string) Option {
	return optionFunc(func(c *config) { c.serviceName = name })
}

// WithServiceVersion sets the service.version resource attribute. By default
// it is taken from OTEL_RESOURCE_ATTRIBUTES, or left out.
func WithServiceVersion(v string) Option {
	return optionFunc(func(c *config) { c.serviceVersion = v })
}

// WithEnvironment sets the deployment.environment.name resource attribute. By
// default it is taken from OTEL_RESOURCE_ATTRIBUTES, or left out.
func WithEnvironment(env string) Option {
	return optionFunc(func(c *config) { c.environment = env })
}

// WithGetenv sets how the protocol and headers variables are read
// (OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_HEADERS and their LOGS_
// variants), and OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT, so a service
// that takes its configuration from elsewhere can still hand the
// collector's ingest token over. The default is os.Getenv.
// (The exporters and resource detector read their other variables from the
// process environment.)
func WithGetenv(getenv func(string) string) Option {
	return optionFunc(func(c *config) {
		if getenv != nil {
			c.getenv = getenv
		}
	})
}

// WithMeterProvider publishes the provider's record counts as the observable
// counter MetricRecords on mp. By default no metric is published; the counts
// are still available from Provider.Stats.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.meterProvider = mp })
}

// WithExporter replaces the OTLP exporter, for example with a stdout exporter
// in development or a test double. The endpoint, protocol, insecure and
// headers options are then ignored.
func WithExporter(e sdklog.Exporter) Option {
	return optionFunc(func(c *config) { c.exporter = e })
}

func newConfig(opts []Option) config {
	c := config{
		maxQueueSize:   DefaultMaxQueueSize,
		exportInterval: DefaultExportInterval,
		exportTimeout:  DefaultExportTimeout,
		retryInitial:   DefaultRetryInitialInterval,
		retryMax:       DefaultRetryMaxInterval,
		getenv:         os.Getenv,
	}
	for _, o := range opts {
		o.apply(&c)
	}
	c.retryMax = max(c.retryMax, c.retryInitial)
	return c
}
