// Package activityprocessor is the collector's "activity" logs processor. For
// every activity log record, whatever emitted it, it routes the record to the
// activity data stream with a stable document id, redacts credentials
// (failing closed), tags the record with its tenant, and raises an alert
// record when failed logins for one key burst.
//
// See README.md for every configuration key, its default and what happens
// when it is wrong.
package activityprocessor // import "github.com/activitylog/activitylog/processor/activityprocessor"

//go:generate mdatagen metadata.yaml
