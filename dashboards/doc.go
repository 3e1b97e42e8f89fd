// Package dashboards holds the activitylog Kibana saved objects: a data view
// on the activity data streams, the "Activity overview" and "Security
// monitoring" dashboards, their Lens visualizations and saved searches.
//
// The objects are generated from the schema's field names by
// `go generate ./dashboards` (see internal/build) into activitylog.ndjson,
// which is embedded here so `activityctl setup` can import it into Kibana
// through the saved-objects import API without the file on disk. The NDJSON
// is also importable by hand: Stack Management > Saved objects > Import.
package dashboards
