// Package audit records who read the activity log: every /v1 request the
// query service answers becomes an activity record of category audit and
// event viewed, attributed to the caller, with the endpoint, the parameters
// and the HTTP status.
//
// Records are emitted through the instrumentation library's Recorder
// (instrumentation.Viewed, instrumentation.Audit, instrumentation.Query), so
// they have exactly the shape of every other activity record: a UUIDv7
// activity.id, EventName "activity.viewed", the instrumentation scope, the
// actor, tenant and request attributes and a plain-English body. In
// production the Recorder sits on the library's OTLP provider
// (instrumentation/otlp).
//
// The actor comes from the verified Principal, never from the request; the
// tenant is the principal's, or for an admin (and no other role) the tenant it
// filtered on, as the collector stores tenants; the
// request data come from the View. What these leave empty stays empty: the
// Recorder is not allowed to fill it from the context. The Recorder replaces
// invalid UTF-8 in what the request carried with U+FFFD: OTLP's strings must
// be UTF-8, and one invalid string would fail the export of a whole batch of
// records.
package audit
