package build

import (
	"fmt"

	"github.com/activitylog/activitylog/schema"
)

// layerID is the one data layer of every Lens visualization built here.
const layerID = "layer-1"

// recordsField is Lens's pseudo-field for "count of documents".
const recordsField = "___records___"

// column is one Lens formBased column.
type column struct {
	id  string
	def map[string]any
}

func dateHistogram(id string) column {
	return column{id, map[string]any{
		"label": "@timestamp", "dataType": "date", "operationType": "date_histogram",
		"sourceField": schema.FieldTimestamp, "isBucketed": true, "scale": "interval",
		"params": map[string]any{"interval": "auto", "includeEmptyRows": true, "dropPartials": false},
	}}
}

func count(id, label string) column {
	return column{id, map[string]any{
		"label": label, "customLabel": true, "dataType": "number", "operationType": "count",
		"sourceField": recordsField, "isBucketed": false, "scale": "ratio",
		"params": map[string]any{"emptyAsNull": true},
	}}
}

// terms is a top-values column on field ordered by the column orderBy.
func terms(id, field, label string, size int, orderBy string) column {
	dataType := "string"
	if fld, ok := schema.FieldByPath(field); ok && fld.Type == schema.TypeIP {
		dataType = "ip"
	}
	return column{id, map[string]any{
		"label": label, "customLabel": true, "dataType": dataType, "operationType": "terms",
		"sourceField": field, "isBucketed": true, "scale": "ordinal",
		"params": map[string]any{
			"size": size, "orderBy": map[string]any{"type": "column", "columnId": orderBy},
			"orderDirection": "desc", "otherBucket": false, "missingBucket": false,
			"parentFormat": map[string]any{"id": "terms"},
		},
	}}
}

func maxOf(id, field, label string) column {
	return column{id, map[string]any{
		"label": label, "customLabel": true, "dataType": "number", "operationType": "max",
		"sourceField": field, "isBucketed": false, "scale": "ratio",
		"params": map[string]any{"emptyAsNull": true},
	}}
}

// lens builds a Lens saved object with one formBased layer.
func lens(id, title, description, vizType, query string, cols []column, visualization map[string]any) Object {
	columns := map[string]any{}
	order := make([]string, len(cols))
	for i, c := range cols {
		columns[c.id] = c.def
		order[i] = c.id
	}
	return newObject("lens", id, map[string]any{
		"title":             title,
		"description":       description,
		"visualizationType": vizType,
		"state": map[string]any{
			"datasourceStates": map[string]any{"formBased": map[string]any{"layers": map[string]any{
				layerID: map[string]any{"columns": columns, "columnOrder": order, "incompleteColumns": map[string]any{}},
			}}},
			"visualization":      visualization,
			"query":              map[string]any{"query": query, "language": "kuery"},
			"filters":            []any{},
			"internalReferences": []any{},
			"adHocDataViews":     map[string]any{},
		},
	}, []Reference{{Name: "indexpattern-datasource-layer-" + layerID, Type: "index-pattern", ID: DataViewID}})
}

// xy is an XY chart: x is the x-axis column, ys the metrics, split the
// optional breakdown column.
func xy(seriesType, x string, ys []string, split string) map[string]any {
	layer := map[string]any{
		"layerId": layerID, "layerType": "data", "seriesType": seriesType,
		"xAccessor": x, "accessors": ys,
	}
	if split != "" {
		layer["splitAccessor"] = split
	}
	return map[string]any{
		"legend":              map[string]any{"isVisible": true, "position": "right"},
		"valueLabels":         "hide",
		"fittingFunction":     "None",
		"preferredSeriesType": seriesType,
		"layers":              []any{layer},
	}
}

func pie(group, metric string) map[string]any {
	return map[string]any{
		"shape": "donut",
		"layers": []any{map[string]any{
			"layerId": layerID, "layerType": "data",
			"primaryGroups": []string{group}, "metrics": []string{metric},
			"numberDisplay": "percent", "categoryDisplay": "default", "legendDisplay": "default",
			"nestedLegend": false,
		}},
	}
}

func table(cols ...string) map[string]any {
	columns := make([]any, len(cols))
	for i, c := range cols {
		columns[i] = map[string]any{"columnId": c}
	}
	return map[string]any{"layerId": layerID, "layerType": "data", "columns": columns}
}

// panel places a saved object on a dashboard's 48-column grid.
type panel struct {
	obj        Object
	x, y, w, h int
}

// control is an options-list control filtering the dashboard by one field.
type control struct {
	id, title, field string
}

func dashboard(id, title, description string, panels []panel, controls []control) Object {
	var refs []Reference
	entries := make([]any, len(panels))
	for i, pn := range panels {
		index := fmt.Sprintf("panel-%d", i+1)
		entries[i] = map[string]any{
			"version":          panelVersion,
			"type":             pn.obj.Type,
			"gridData":         map[string]any{"x": pn.x, "y": pn.y, "w": pn.w, "h": pn.h, "i": index},
			"panelIndex":       index,
			"embeddableConfig": map[string]any{"enhancements": map[string]any{}},
			"panelRefName":     "panel_" + index,
		}
		refs = append(refs, Reference{Name: index + ":panel_" + index, Type: pn.obj.Type, ID: pn.obj.ID})
	}
	controlPanels := map[string]any{}
	for i, c := range controls {
		controlPanels[c.id] = map[string]any{
			"order": i, "width": "medium", "grow": true, "type": "optionsListControl",
			"explicitInput": map[string]any{"id": c.id, "title": c.title, "fieldName": c.field, "enhancements": map[string]any{}},
		}
		refs = append(refs, Reference{Name: "controlGroup_" + c.id + ":optionsListDataView", Type: "index-pattern", ID: DataViewID})
	}
	return newObject("dashboard", id, map[string]any{
		"title":       title,
		"description": description,
		"panelsJSON":  jsonString(entries),
		"optionsJSON": jsonString(map[string]any{
			"useMargins": true, "syncColors": false, "syncCursor": true, "syncTooltips": false, "hidePanelTitles": false,
		}),
		"timeRestore":     true,
		"timeFrom":        "now-7d",
		"timeTo":          "now",
		"refreshInterval": map[string]any{"pause": false, "value": 60000},
		"kibanaSavedObjectMeta": map[string]any{"searchSourceJSON": jsonString(map[string]any{
			"query": map[string]any{"query": "", "language": "kuery"}, "filter": []any{},
		})},
		"controlGroupInput": map[string]any{
			"controlStyle":   "oneLine",
			"chainingSystem": "HIERARCHICAL",
			"panelsJSON":     jsonString(controlPanels),
			"ignoreParentSettingsJSON": jsonString(map[string]any{
				"ignoreFilters": false, "ignoreQuery": false, "ignoreTimerange": false, "ignoreValidations": false,
			}),
		},
		"version": 1,
	}, refs)
}

func overviewDashboard() (Object, []Object) {
	overTime := lens("activitylog-activity-over-time", "Activity over time",
		"Records per interval, by outcome.", "lnsXY", "",
		[]column{dateHistogram("time"), count("count", "Records"), terms("outcome", p(schema.AttrOutcome), "Outcome", 3, "count")},
		xy("bar_stacked", "time", []string{"count"}, "outcome"))
	events := lens("activitylog-event-types", "Event types",
		"Share of each event type.", "lnsPie", "",
		[]column{terms("event", p(schema.AttrEvent), "Event", len(schema.Events()), "count"), count("count", "Records")},
		pie("event", "count"))
	categories := lens("activitylog-categories", "Categories",
		"Records per category.", "lnsXY", "",
		[]column{terms("category", p(schema.AttrCategory), "Category", len(schema.Categories()), "count"), count("count", "Records")},
		xy("bar_horizontal", "category", []string{"count"}, ""))
	users := lens("activitylog-most-active-users", "Most active users",
		"Users with the most records, with their user type.", "lnsDatatable", "",
		[]column{
			terms("user", p(schema.AttrUserName), "User", 20, "count"),
			terms("type", p(schema.AttrActorType), "User type", len(schema.ActorTypes()), "count"),
			count("count", "Records"),
		},
		table("user", "type", "count"))
	// By event, not category: an emitter other than the instrumentation
	// library may file a login under another category.
	auth := lens("activitylog-authentication", "Authentication statistics",
		"Logins, logouts, failed logins, one-time passwords, and password changes and resets, by outcome.", "lnsXY",
		kql(p(schema.AttrEvent), schema.AuthEvents()...),
		[]column{terms("event", p(schema.AttrEvent), "Event", len(schema.AuthEvents()), "count"), count("count", "Records"), terms("outcome", p(schema.AttrOutcome), "Outcome", 2, "count")},
		xy("bar_stacked", "event", []string{"count"}, "outcome"))
	latest := latestRecords()
	d := dashboard(OverviewDashboardID, "Activity overview",
		"What happened on the loyalty platform: activity over time, event types, categories, the most active users, authentication and the latest records.",
		[]panel{
			{overTime, 0, 0, 48, 12},
			{events, 0, 12, 16, 14}, {categories, 16, 12, 16, 14}, {auth, 32, 12, 16, 14},
			{users, 0, 26, 16, 16}, {latest, 16, 26, 32, 16},
		},
		[]control{
			{"control-category", "Category", p(schema.AttrCategory)},
			{"control-event", "Event type", p(schema.AttrEvent)},
			{"control-user-type", "User type", p(schema.AttrActorType)},
			{"control-resource", "Resource", p(schema.AttrSubjectType)},
		})
	return d, []Object{overTime, events, categories, users, auth}
}

func securityDashboard() (Object, []Object) {
	failures := kql(p(schema.AttrEvent), schema.EventLoginFailed)
	failedOverTime := lens("activitylog-failed-logins-over-time", "Failed logins over time",
		"Failed logins per interval, by failure reason.", "lnsXY", failures,
		[]column{dateHistogram("time"), count("count", "Failed logins"), terms("reason", p(schema.AttrFailureReason), "Reason", 5, "count")},
		xy("bar_stacked", "time", []string{"count"}, "reason"))
	ips := lens("activitylog-failed-login-ips", "Top source IPs of failed logins",
		"Client addresses with the most failed logins.", "lnsXY", failures,
		[]column{terms("ip", p(schema.AttrClientAddress), "Source IP", 10, "count"), count("count", "Failed logins")},
		xy("bar_horizontal", "ip", []string{"count"}, ""))
	names := lens("activitylog-failed-login-users", "Top user names of failed logins",
		"User names tried most often in failed logins.", "lnsXY", failures,
		[]column{terms("user", p(schema.AttrUserName), "User name", 10, "count"), count("count", "Failed logins")},
		xy("bar_horizontal", "user", []string{"count"}, ""))
	bursts := lens("activitylog-burst-alerts", "Burst alerts",
		"Failed-login burst alerts by what they counted and the key, with the highest count seen.", "lnsDatatable",
		kql(p(schema.AttrEvent), schema.EventFailedLoginBurst),
		[]column{
			terms("keytype", p(schema.AttrAlertKeyType), "Counted by", 3, "alerts"),
			terms("key", p(schema.AttrAlertKey), "Key", 20, "alerts"),
			count("alerts", "Alerts"),
			maxOf("max", p(schema.AttrAlertCount), "Most failures in a window"),
		},
		table("keytype", "key", "alerts", "max"))
	otp := lens("activitylog-otp-requests-vs-verifications", "OTP requests versus verifications",
		"One-time passwords requested, verified and failed per interval.", "lnsXY",
		kql(p(schema.AttrEvent), schema.EventOTPRequested, schema.EventOTPVerified, schema.EventOTPFailed),
		[]column{dateHistogram("time"), count("count", "Records"), terms("event", p(schema.AttrEvent), "Event", 3, "count")},
		xy("line", "time", []string{"count"}, "event"))
	passwordEvents := []string{schema.EventPasswordChanged, schema.EventPasswordResetRequested, schema.EventPasswordReset}
	passwords := lens("activitylog-password-changes-and-resets", "Password changes and resets",
		"Passwords changed, resets requested and resets completed per interval.", "lnsXY",
		kql(p(schema.AttrEvent), passwordEvents...),
		[]column{dateHistogram("time"), count("count", "Records"), terms("event", p(schema.AttrEvent), "Event", len(passwordEvents), "count")},
		xy("line", "time", []string{"count"}, "event"))
	logins := lens("activitylog-logins-by-user-type", "Logins by user type",
		"Successful logins per user type.", "lnsPie", kql(p(schema.AttrEvent), schema.EventLogin),
		[]column{terms("type", p(schema.AttrActorType), "User type", len(schema.ActorTypes()), "count"), count("count", "Logins")},
		pie("type", "count"))
	// Admins act across every partner, so what they do is watched on its
	// own; their logins are in the panels above. Only signing in and out is
	// left out: an admin changing or resetting someone's password is an
	// admin action like any other, and an event added later shows here
	// until it is deliberately left out.
	signIn := []string{schema.EventLogin, schema.EventLogout, schema.EventLoginFailed,
		schema.EventOTPRequested, schema.EventOTPVerified, schema.EventOTPFailed}
	admin := lens("activitylog-admin-actions", "Admin actions",
		"What admins did (logins aside): by admin, event and resource.", "lnsDatatable",
		kql(p(schema.AttrActorType), schema.ActorAdmin)+" and not ("+kql(p(schema.AttrEvent), signIn...)+")",
		[]column{
			terms("user", p(schema.AttrUserName), "Admin", 20, "count"),
			terms("event", p(schema.AttrEvent), "Event", len(schema.Events()), "count"),
			terms("resource", p(schema.AttrSubjectType), "Resource", 10, "count"),
			count("count", "Records"),
		},
		table("user", "event", "resource", "count"))
	changes := lens("activitylog-changes-by-actor", "Changes by actor",
		"Records created, updated and deleted per user.", "lnsXY",
		kql(p(schema.AttrEvent), schema.EventCreated, schema.EventUpdated, schema.EventDeleted),
		[]column{
			terms("user", p(schema.AttrUserName), "User", 15, "count"),
			count("count", "Changes"),
			terms("event", p(schema.AttrEvent), "Event", 3, "count"),
		},
		xy("bar_horizontal_stacked", "user", []string{"count"}, "event"))
	alerts := burstAlertRecords()
	d := dashboard(SecurityDashboardID, "Security monitoring",
		"Failed logins, their sources and targets, burst alerts raised by the collector, one-time passwords, password changes and resets, logins by user type, admin actions and changes by actor.",
		[]panel{
			{failedOverTime, 0, 0, 48, 12},
			{ips, 0, 12, 16, 14}, {names, 16, 12, 16, 14}, {logins, 32, 12, 16, 14},
			{otp, 0, 26, 16, 14}, {passwords, 16, 26, 16, 14}, {bursts, 32, 26, 16, 14},
			{alerts, 0, 40, 48, 14},
			{admin, 0, 54, 24, 16}, {changes, 24, 54, 24, 16},
		},
		[]control{
			// By tenant id, the field partners are scoped by: burst alerts and
			// records of a tenant the emitter gave no name carry only the id,
			// and two businesses may share a display name.
			{"control-tenant", "Partner", p(schema.AttrTenantID)},
			{"control-user-type", "User type", p(schema.AttrActorType)},
		})
	return d, []Object{failedOverTime, ips, names, bursts, otp, passwords, logins, admin, changes}
}
