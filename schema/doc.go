// Package schema is the single source of truth for what an activity record
// looks like: the OpenTelemetry attribute names every emitter and the
// collector processor use, the Elasticsearch field each of them lands in, and
// the Elasticsearch index template, component templates and retention policy
// that give those fields their types.
//
// Every other part of activitylog (the instrumentation library, the collector
// processor, activityctl setup, the query service and the Kibana dashboards)
// reads names from here rather than spelling them itself, so that a renamed
// field is renamed everywhere at once. The human-readable form of the same
// table is docs/schema.md, generated from [Fields] by `go generate`.
package schema
