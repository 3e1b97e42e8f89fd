// Package store answers the query service's questions from Elasticsearch,
// through the go-elasticsearch typed API.
//
// Tenant scoping lives here and nowhere else: every request the Store sends
// carries a term filter on the tenant field taken from the querysvc.Principal
// in the context, never from a request parameter. A partner asking for another
// tenant gets CodeForbidden before anything is sent; a call without a
// principal gets CodeUnauthorized. Free text is sent as a match query on the
// description, which Elasticsearch analyses as plain words, so no query-string
// syntax ever reaches it.
//
// Searches read a point in time and continue with search_after, sorted newest
// first with the record id as tie-breaker, so a client paging through results
// sees one consistent snapshot while new records arrive.
//
// The cluster-wide failed-login burst view (Bursts) is computed from the
// failed-login records: a date_histogram with a fixed interval equal to the
// window (tumbling windows aligned to the Unix epoch) with a terms
// sub-aggregation on the key field whose min_doc_count is the threshold. It
// complements the collector's sliding-window alerts, which each collector
// instance raises from only the records it sees.
package store
