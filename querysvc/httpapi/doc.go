// Package httpapi serves the query service's JSON API over HTTP: the /v1
// search, record and analytics endpoints described by the OpenAPI 3 document
// served at /openapi.yaml, plus /healthz, /readyz and /metrics.
//
// Every /v1 request goes through the same chain: a request timeout, bearer
// token verification (401), the role check (staff and customers get 403), a
// rate limit per principal (429), strict parameter parsing (400 for an
// unknown, repeated, empty or malformed parameter), the handler, and an
// audit record of who read what. Errors are written as
// {"error":{"code":"...","message":"..."}} by one function; internal details
// are logged, never returned.
//
// Search cursors carry the point in time and search_after position, the
// principal they were issued to and a fingerprint of the filters, sealed with
// AES-256-GCM under a key derived (HKDF-SHA256) from the server's cursor key
// and a random salt of each cursor's own, so that a cursor reveals none of
// it; a cursor presented by another principal, for other filters, after its
// expiry or altered in any way is refused.
package httpapi
