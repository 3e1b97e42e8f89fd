// Package seed generates deterministic activity records for the query
// service's tests and benchmarks and bulk-indexes them into a data stream in
// the shape the collector's elasticsearch exporter writes ("otel" mapping
// mode: attributes under "attributes" with their dotted keys, the description
// under body.text, @timestamp with nanoseconds).
//
// Generated records are kept in memory so that tests compute every expected
// number from them independently of Elasticsearch.
package seed
