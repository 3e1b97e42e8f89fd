package durableexporter

import (
	"errors"
	"net/http"

	"github.com/elastic/go-docappender/v2"
	"go.opentelemetry.io/collector/pdata/plog"
)

// maxRequestBytes bounds the records one bulk request carries, measured as
// their OTLP protobuf size. With its own queue off, the elasticsearch
// exporter sends a whole batch (up to 5,000 records) as one bulk request,
// however large, and Elasticsearch refuses a request over its
// http.max_content_length (100 MB by default) with 413, which the exporter
// takes as permanent: the batch would be dropped. Elastic advises bulk
// requests of a few to about fifteen megabytes; the bulk body, JSON with
// every field named, is about two to three times the protobuf size.
const maxRequestBytes = 5 << 20

// chunks returns ld whole if it fits in limit protobuf bytes, else split
// into requests whose records fit (see split).
func chunks(ld plog.Logs, limit int) []plog.Logs {
	var sizer plog.ProtoMarshaler
	if sizer.LogsSize(ld) <= limit {
		return []plog.Logs{ld}
	}
	return split(ld, limit, sizer.LogRecordSize)
}

// halves returns ld, which holds at least two records, as two Logs of half
// its records each (the first one more if odd).
func halves(ld plog.Logs) []plog.Logs {
	return split(ld, (ld.LogRecordCount()+1)/2, func(plog.LogRecord) int { return 1 })
}

// split returns the records of ld, in order, as Logs whose records weigh at
// most limit in all (a record heavier than limit goes alone), each record
// under a copy of its resource and scope. ld is not changed: a batch that
// fails is retried as it was queued.
func split(ld plog.Logs, limit int, weight func(plog.LogRecord) int) []plog.Logs {
	var (
		out    []plog.Logs
		cur    plog.Logs
		total  int
		rl     plog.ResourceLogs // in cur, for the source's resource rlFrom
		sl     plog.ScopeLogs    // in cur, for the source's scope slFrom
		rlFrom = -1
		slFrom = -1
	)
	for i, srcRL := range ld.ResourceLogs().All() {
		for j, srcSL := range srcRL.ScopeLogs().All() {
			for _, lr := range srcSL.LogRecords().All() {
				w := weight(lr)
				if len(out) == 0 || (total > 0 && total+w > limit) {
					cur = plog.NewLogs()
					out = append(out, cur)
					total, rlFrom, slFrom = 0, -1, -1
				}
				if rlFrom != i {
					rl = cur.ResourceLogs().AppendEmpty()
					srcRL.Resource().CopyTo(rl.Resource())
					rl.SetSchemaUrl(srcRL.SchemaUrl())
					rlFrom, slFrom = i, -1
				}
				if slFrom != j {
					sl = rl.ScopeLogs().AppendEmpty()
					srcSL.Scope().CopyTo(sl.Scope())
					sl.SetSchemaUrl(srcSL.SchemaUrl())
					slFrom = j
				}
				lr.CopyTo(sl.LogRecords().AppendEmpty())
				total += w
			}
		}
	}
	return out
}

// tooLarge reports whether err is Elasticsearch refusing a bulk request as
// larger than its http.max_content_length.
func tooLarge(err error) bool {
	var ff docappender.ErrorFlushFailed
	return errors.As(err, &ff) && ff.StatusCode() == http.StatusRequestEntityTooLarge
}
