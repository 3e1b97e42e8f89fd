// Package otlp builds an OpenTelemetry log provider that ships activity
// records to a collector over OTLP (gRPC by default, HTTP optionally) without
// ever hurting the service that records them.
//
// Records wait in a bounded queue in front of the SDK's batch processor.
// Emitting only appends to that queue: it never blocks on the network and
// never returns an error to the caller, whether the collector is slow, down or
// unreachable. A batch whose export fails with a retryable error (the
// collector down, restarting or overloaded) is retried with exponential
// backoff until it is delivered or [Provider.Shutdown]'s context ends (see
// [WithRetryBackoff] and [WithMaxRetryTime]); meanwhile new records wait in
// the queue. When the queue is full the newest record is dropped rather than
// the service slowed down; every dropped record and every record an export
// failed to deliver is counted, readable through [Provider.Stats] and
// [Provider.Dropped] and, with [WithMeterProvider], published as a metric.
//
// A batch the collector refuses as too large is sent again in halves, down
// to single records. A record too large even alone is sent once more
// reduced: its changed values longer than [ReducedValueBytes] replaced by
// [MarkerTooLarge] and its description cut to [ReducedBodyLength], everything
// that says who did what to what, when and from where kept, so that the
// event reaches the audit trail without the values that made it too large
// (counted in [Stats].Reduced).
//
// The provider leaves attribute keys as they are given: it skips the SDK's
// key de-duplication, because the instrumentation Recorder already emits
// each key once at every level and the de-duplication was most of the cost
// of an emit. Anything else that emits through it must not repeat keys
// either (see [NewProvider]).
//
// The endpoint, protocol, headers and resource follow the standard
// OpenTelemetry environment variables (OTEL_EXPORTER_OTLP_ENDPOINT,
// OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES...) unless an option says otherwise; see
// [WithEndpoint] for how the endpoint variables are read. The connection uses
// TLS unless the endpoint is an http:// URL or [WithInsecure] is given. The
// OTLP timeout variables apply only below [WithExportTimeout]'s bound, and
// the OTEL_BLRP_* queue size, interval and timeout variables are replaced
// by the provider's options.
package otlp
