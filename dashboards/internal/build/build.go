// Package build constructs the activitylog Kibana saved objects from the
// schema's field names, so that a renamed field is renamed in every panel.
// The generator in ../gen writes its output to dashboards/activitylog.ndjson.
package build

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/activitylog/activitylog/schema"
)

// Saved object ids. They are fixed so that a second import overwrites the
// first instead of adding copies.
const (
	DataViewID          = "activitylog-data-view"
	OverviewDashboardID = "activitylog-overview"
	SecurityDashboardID = "activitylog-security"
	LatestRecordsID     = "activitylog-latest-records"
	BurstAlertRecordsID = "activitylog-burst-alert-records"
)

// Migration versions the objects are written in. They are the versions of
// the shapes used here (Lens formBased layers with partition "metrics",
// dashboards with panelRefName and a controlGroupInput); Kibana 8.19
// migrates anything newer on import.
const (
	coreMigrationVersion = "8.8.0"
	panelVersion         = "8.11.0"
)

// typeMigrationVersion returns the migration version of a saved object type.
func typeMigrationVersion(typ string) string {
	switch typ {
	case "index-pattern":
		return "7.11.0"
	case "search":
		return "7.9.3"
	case "lens":
		return "8.9.0"
	default: // dashboard
		return "8.7.0"
	}
}

// Object is one saved object as Kibana's import API reads it.
type Object struct {
	Type                 string         `json:"type"`
	ID                   string         `json:"id"`
	Attributes           map[string]any `json:"attributes"`
	References           []Reference    `json:"references"`
	CoreMigrationVersion string         `json:"coreMigrationVersion"`
	TypeMigrationVersion string         `json:"typeMigrationVersion"`
	Managed              bool           `json:"managed"`
}

// Reference points from one saved object to another.
type Reference struct {
	Name string `json:"name"`
	Type string `json:"type"`
	ID   string `json:"id"`
}

func newObject(typ, id string, attrs map[string]any, refs []Reference) Object {
	if refs == nil {
		refs = []Reference{}
	}
	return Object{
		Type: typ, ID: id, Attributes: attrs, References: refs,
		CoreMigrationVersion: coreMigrationVersion, TypeMigrationVersion: typeMigrationVersion(typ),
	}
}

// Objects returns every saved object: the data view, the saved searches,
// the Lens visualizations and the two dashboards.
func Objects() []Object {
	objs := []Object{dataView(), latestRecords(), burstAlertRecords()}
	overview, overviewLens := overviewDashboard()
	security, securityLens := securityDashboard()
	objs = append(objs, overviewLens...)
	objs = append(objs, securityLens...)
	return append(objs, overview, security)
}

// NDJSON returns Objects as newline-delimited JSON, one object per line.
func NDJSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, o := range Objects() {
		if err := enc.Encode(o); err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", o.Type, o.ID, err)
		}
	}
	return b.Bytes(), nil
}

// jsonString returns v marshalled, for the attributes Kibana stores as
// JSON inside a string (panelsJSON, searchSourceJSON...).
func jsonString(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Every value passed here is built from maps, slices and strings.
		panic(fmt.Sprintf("build: marshal %T: %v", v, err))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func dataView() Object {
	return newObject("index-pattern", DataViewID, map[string]any{
		"title":           schema.IndexPattern,
		"name":            "Activity log",
		"timeFieldName":   schema.FieldTimestamp,
		"allowHidden":     false,
		"fields":          "[]",
		"runtimeFieldMap": "{}",
		"sourceFilters":   "[]",
		"typeMeta":        "{}",
	}, nil)
}

// kql returns a KQL query matching any of values in field.
func kql(field string, values ...string) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = fmt.Sprintf("%s : %q", field, v)
	}
	return strings.Join(parts, " or ")
}

func searchSource(query string) map[string]any {
	return map[string]any{
		"kibanaSavedObjectMeta": map[string]any{"searchSourceJSON": jsonString(map[string]any{
			"query":        map[string]any{"query": query, "language": "kuery"},
			"filter":       []any{},
			"highlightAll": true,
			"version":      true,
			"indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index",
		})},
	}
}

func savedSearch(id, title, description, query string, columns []string) Object {
	attrs := searchSource(query)
	attrs["title"] = title
	attrs["description"] = description
	attrs["columns"] = columns
	attrs["sort"] = [][]string{{schema.FieldTimestamp, "desc"}}
	attrs["hideChart"] = false
	attrs["isTextBasedQuery"] = false
	attrs["grid"] = map[string]any{}
	return newObject("search", id, attrs, []Reference{{
		Name: "kibanaSavedObjectMeta.searchSourceJSON.index", Type: "index-pattern", ID: DataViewID,
	}})
}

func latestRecords() Object {
	return savedSearch(LatestRecordsID, "Latest activity records",
		"Newest activity records first, with their plain-English description.", "",
		[]string{
			schema.FieldBodyText, p(schema.AttrCategory), p(schema.AttrEvent), p(schema.AttrOutcome), p(schema.AttrUserName), p(schema.AttrActorType),
			p(schema.AttrTenantName), p(schema.AttrSubjectType), p(schema.AttrSubjectName),
		})
}

func burstAlertRecords() Object {
	return savedSearch(BurstAlertRecordsID, "Failed-login burst alerts",
		"Alerts the collector raised when failed logins for one key reached the threshold inside the window.",
		kql(p(schema.AttrEvent), schema.EventFailedLoginBurst),
		[]string{
			p(schema.AttrAlertKeyType), p(schema.AttrAlertKey),
			p(schema.AttrAlertCount), p(schema.AttrAlertThreshold),
			p(schema.AttrAlertWindowSeconds), p(schema.AttrAlertFirstSeen),
			// The tenant id, not its name: an alert carries only the id (the
			// one partners are scoped by), when its failures were all in one.
			p(schema.AttrAlertLastSeen), p(schema.AttrTenantID),
		})
}

// p returns the document path of a record attribute.
func p(attribute string) string { return schema.Path(attribute) }
