// Package audit records who read the activity log: every /v1 request the
// query service answers becomes an activity record of category audit and
// event viewed, attributed to the caller, with the endpoint, the parameters
// and the HTTP status.
//
// The record has exactly the shape the instrumentation library gives every
// other activity record (a UUIDv7 activity.id, EventName "activity.viewed",
// the actor, tenant and request attributes, a plain-English body) and is
// emitted through an OpenTelemetry log.LoggerProvider, in production the
// instrumentation library's OTLP provider (instrumentation/otlp). It does not
// go through instrumentation.Recorder because the Recorder deliberately
// refuses the collector- and service-only categories (audit, security).
package audit
