// Package recordid derives deterministic, time-ordered record ids for log
// records that arrive without one, so a batch re-sent by an emitter that does
// not set activity.id is still de-duplicated by Elasticsearch.
package recordid
