// Package durableexporter provides the durable_elasticsearch exporter: the
// contrib elasticsearch exporter behind the collector's persistent sending
// queue and retry sender.
//
// The contrib exporter retries a failed bulk request a bounded number of
// times, and has no retry sender of its own: behind its persistent queue, a
// batch whose retries run out during an Elasticsearch outage is deleted from
// the queue, and a graceful stop waits for those retries. For an audit trail
// neither is acceptable. This exporter keeps the contrib exporter for
// everything it does well (document routing, the otel mapping, dynamic
// document ids, per-document retries) and sends it one batch at a time from
// its own queue, retrying a failed batch until Elasticsearch takes it. A
// batch waiting for its retry when the collector stops stays in the
// persistent queue, and the next start sends it.
//
// The contrib exporter also drops, after its per-document retries, the
// documents Elasticsearch refused one by one, and reports the batch as
// written. A node out of disk space does that to every document (429). This
// exporter counts those refusals through the contrib exporter's own
// telemetry and fails the attempt when one had a status of
// retry::retry_on_status, so the batch stays in the queue and is retried.
//
// Resending a batch writes nothing twice when documents carry their id
// (logs_dynamic_id, which the activity processor feeds): a document already
// written to the data stream's write index is answered 409 and skipped (one
// resent after a rollover lands again in the new write index; see the
// README).
package durableexporter
