// Package instrumentation records every platform action and authentication
// event of the loyalty platform, and every read of the activity log itself
// ([Recorder.Viewed], category [Audit]), as an OpenTelemetry log record: who
// did it (the actor), for which partner business (the tenant), to what (the
// subject), from where (client address, user agent, request id), what changed
// (old and new values) and whether it succeeded.
//
// A [Recorder] is built on any [go.opentelemetry.io/otel/log.LoggerProvider];
// the sub-package otlp builds one that ships records to a collector with a
// bounded queue, so that recording never blocks or fails a request. Actor,
// tenant and request data travel in the context ([WithActor], [WithTenant],
// [WithRequest]); the httpmw sub-package fills the request data from an
// http.Request, and the gormlog sub-package records creates, updates and
// deletes made through GORM with no per-call code.
//
// Every record carries the EventName schema.EventName(action), a plain-English
// description as its body (for example "Jane Doe (Partner) updated reward
// 'Free coffee'"), severity INFO for successes and WARN for failures, and the
// attributes named in package schema, which is the single source of truth for
// attribute names and their Elasticsearch mapping.
//
// Credentials never leave the process: when values are compared, struct fields
// and map keys whose names look like credentials (see [DefaultSecretNames])
// and struct fields tagged `activity:"-"` are left out, fields tagged
// `activity:"redact"` are recorded as changed without either value, and no
// value is ever produced by formatting a whole struct.
package instrumentation
