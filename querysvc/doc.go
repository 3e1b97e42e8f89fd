// Package querysvc holds the domain of the activity-log query service: who is
// asking (Principal and Role), what they may ask for (Filter and the analytics
// queries), what they get back (Activity, ActivityPage and the analytics
// results), the service interfaces the HTTP layer is written against (Store,
// Auditor) and the one application error type with its codes.
//
// The sub-packages each bind one technology: auth verifies bearer JWTs into a
// Principal, store answers the queries from Elasticsearch and applies tenant
// scoping to every request from the Principal in the context, and httpapi
// serves the JSON API described by its embedded OpenAPI document.
package querysvc
