package schema

import (
	"strings"

	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
)

// FieldType is the Elasticsearch field type of a mapped field. Only types
// that the minimal integ-test-zip distribution supports are used, so the same
// schema installs on a test node and on a full production cluster.
type FieldType string

// Field types used by the schema.
const (
	TypeKeyword   FieldType = "keyword"
	TypeText      FieldType = "text"
	TypeIP        FieldType = "ip"
	TypeDateNanos FieldType = "date_nanos"
	TypeDate      FieldType = "date"
	TypeLong      FieldType = "long"
	TypeFlattened FieldType = "flattened"
)

// Aggregatable reports whether a terms or histogram aggregation can run on
// the type (text cannot; flattened can, on its keyed leaves).
func (t FieldType) Aggregatable() bool { return t != TypeText }

// Field is one mapped field of an activity document.
type Field struct {
	// Attribute is the OpenTelemetry attribute key, or "" for a field the
	// exporter writes from the record itself (timestamp, body, event name).
	Attribute string
	// Path is the field's full path in an Elasticsearch document.
	Path string
	// Type is the field's Elasticsearch type.
	Type FieldType
	// Description says what the field holds, for docs/schema.md.
	Description string
}

// Document paths of fields written from the log record itself.
const (
	FieldTimestamp         = "@timestamp"
	FieldObservedTimestamp = "observed_timestamp"
	FieldEventName         = "event_name"
	FieldSeverityText      = "severity_text"
	FieldSeverityNumber    = "severity_number"
	FieldBodyText          = "body.text"
	FieldBodyStructured    = "body.structured"
	FieldTraceID           = "trace_id"
	FieldSpanID            = "span_id"
	FieldDataStreamType    = "data_stream.type"
	FieldDataStreamDataset = "data_stream.dataset"
	FieldDataStreamNS      = "data_stream.namespace"
)

// attributesPrefix and resourcePrefix are where the exporter's otel mapping
// mode writes record and resource attributes.
const (
	attributesPrefix = "attributes."
	resourcePrefix   = "resource.attributes."
)

// Path returns the full document path of a record attribute, for example
// "attributes.activity.tenant.id" for AttrTenantID. Queries should use full
// paths: the shorter passthrough alias ("activity.tenant.id") is a convenience
// for people typing in Kibana.
func Path(attribute string) string { return attributesPrefix + attribute }

// ResourcePath returns the full document path of a resource attribute.
func ResourcePath(attribute string) string { return resourcePrefix + attribute }

// Fields returns every mapped field, in documentation order. The index
// template's mappings are built from this table and nothing else.
func Fields() []Field {
	return []Field{
		{"", FieldTimestamp, TypeDateNanos, "When the action happened (the record's timestamp)."},
		{"", FieldObservedTimestamp, TypeDateNanos, "When the record was first observed by the pipeline."},
		{"", FieldEventName, TypeKeyword, `The record's OpenTelemetry EventName: "activity." + the event, e.g. "activity.updated".`},
		{"", FieldSeverityText, TypeKeyword, "INFO for successes, WARN for failures and alerts."},
		{"", FieldSeverityNumber, TypeLong, "OpenTelemetry severity number matching severity_text."},
		{"", FieldBodyText, TypeText, `Plain-English description, e.g. "Jane Doe (Partner) updated reward 'Free coffee'". Full-text searchable.`},
		{"", FieldBodyStructured, TypeFlattened, "A structured body from an emitter that sent a map instead of a description."},
		{"", FieldTraceID, TypeKeyword, "Trace the action happened in, when the emitter had one."},
		{"", FieldSpanID, TypeKeyword, "Span the action happened in, when the emitter had one."},
		{"", FieldDataStreamType, TypeKeyword, `Always "logs".`},
		{"", FieldDataStreamDataset, TypeKeyword, `Always "activity.otel" (the exporter appends ".otel" in its otel mapping mode).`},
		{"", FieldDataStreamNS, TypeKeyword, "The data stream namespace (the deployment's, \"default\" unless configured)."},

		{AttrID, Path(AttrID), TypeKeyword, "Unique time-ordered record id (UUIDv7) set at the source; also the document _id."},
		{AttrCategory, Path(AttrCategory), TypeKeyword, "What kind of thing the action concerned: cards, stamp_cards, members, staff, partners, rewards, clubs, networks, transactions, redemptions, auth, security, audit."},
		{AttrEvent, Path(AttrEvent), TypeKeyword, "What happened: " + strings.Join(Events(), ", ") + "."},
		{AttrOutcome, Path(AttrOutcome), TypeKeyword, "success or failure."},
		{AttrUserID, Path(AttrUserID), TypeKeyword, "Id of the actor (semconv user.id)."},
		{AttrUserName, Path(AttrUserName), TypeKeyword, "Name of the actor; for a failed login, the user name tried (semconv user.name)."},
		{AttrUserRoles, Path(AttrUserRoles), TypeKeyword, "The actor type as a one-element list (semconv user.roles)."},
		{AttrActorType, Path(AttrActorType), TypeKeyword, "Actor type: Admin, Partner, Staff or Customer."},
		{AttrTenantID, Path(AttrTenantID), TypeKeyword, `The partner business the record belongs to ("unknown" when the collector could not tell). Partners are scoped by it.`},
		{AttrTenantName, Path(AttrTenantName), TypeKeyword, "The partner business's display name."},
		{AttrSubjectType, Path(AttrSubjectType), TypeKeyword, "Type of the thing acted on (card, member, reward...)."},
		{AttrSubjectID, Path(AttrSubjectID), TypeKeyword, "Id of the thing acted on."},
		{AttrSubjectName, Path(AttrSubjectName), TypeKeyword, "Display name of the thing acted on."},
		{AttrClientAddress, Path(AttrClientAddress), TypeIP, "Client IP address (semconv client.address); malformed values are kept in _source but not indexed."},
		{AttrUserAgent, Path(AttrUserAgent), TypeKeyword, "Client User-Agent header (semconv user_agent.original)."},
		{AttrRequestID, Path(AttrRequestID), TypeKeyword, "Id of the request that caused the action."},
		{AttrChanges, Path(AttrChanges), TypeFlattened, `Changed fields: {"field": {"old": v, "new": v}} or {"field": {"redacted": true}}. One flattened field, so any number of field names costs one mapping entry.`},
		{AttrChangedFields, Path(AttrChangedFields), TypeKeyword, "Names of every changed field, redacted ones included."},
		{AttrFailureReason, Path(AttrFailureReason), TypeKeyword, "Why a failed action failed, e.g. invalid_password."},
		{AttrRedactedKeys, Path(AttrRedactedKeys), TypeKeyword, "Attribute paths the collector redacted (names only, never values)."},
		{AttrAlertRule, Path(AttrAlertRule), TypeKeyword, "Alerts: the rule that fired (failed_login_burst)."},
		{AttrAlertKeyType, Path(AttrAlertKeyType), TypeKeyword, "Alerts: what the rule counts by (client.address, user.name or activity.tenant.id)."},
		{AttrAlertKey, Path(AttrAlertKey), TypeKeyword, "Alerts: the value counted (the IP, user name or tenant)."},
		{AttrAlertCount, Path(AttrAlertCount), TypeLong, "Alerts: failures in the window when the alert fired."},
		{AttrAlertThreshold, Path(AttrAlertThreshold), TypeLong, "Alerts: the configured threshold."},
		{AttrAlertWindowSeconds, Path(AttrAlertWindowSeconds), TypeLong, "Alerts: the sliding window in seconds."},
		{AttrAlertFirstSeen, Path(AttrAlertFirstSeen), TypeDate, "Alerts: time of the first failure counted."},
		{AttrAlertLastSeen, Path(AttrAlertLastSeen), TypeDate, "Alerts: time of the last failure counted."},
		{AttrQueryEndpoint, Path(AttrQueryEndpoint), TypeKeyword, "Audit: the query service endpoint called."},
		{AttrQueryParams, Path(AttrQueryParams), TypeFlattened, "Audit: the query parameters sent (the cursor omitted)."},
		{AttrQueryStatus, Path(AttrQueryStatus), TypeLong, "Audit: the HTTP status of the answer."},

		{AttrServiceName, ResourcePath(AttrServiceName), TypeKeyword, "The emitting service (resource attribute service.name)."},
		{"service.version", ResourcePath("service.version"), TypeKeyword, "The emitting service's version."},
		{"deployment.environment.name", ResourcePath("deployment.environment.name"), TypeKeyword, "The deployment environment."},
		{"", "scope.name", TypeKeyword, "Instrumentation scope (the emitting library)."},
		{"", "scope.version", TypeKeyword, "Instrumentation scope version."},
	}
}

// FieldByPath returns the mapped field at a document path.
func FieldByPath(path string) (Field, bool) {
	for _, f := range Fields() {
		if f.Path == path {
			return f, true
		}
	}
	return Field{}, false
}

// ignoreAbove keeps over-long strings in _source without indexing them, so a
// huge value can neither be rejected (Lucene's 32 KiB term limit) nor bloat
// the terms index.
const ignoreAbove = 1024

// flattenedDepthLimit is Elasticsearch's default nesting limit for flattened
// fields, stated so the collector can enforce a smaller one before indexing.
const flattenedDepthLimit = 20

// MaxChangesDepth is the deepest nesting the collector lets through inside a
// flattened field (activity.changes, body.structured). It is below
// Elasticsearch's own limit so that depth can never be a reason to reject a
// document.
const MaxChangesDepth = 16

func property(t FieldType) types.Property {
	yes := true
	limit := ignoreAbove
	switch t {
	case TypeKeyword:
		p := types.NewKeywordProperty()
		p.IgnoreAbove = &limit
		return p
	case TypeText:
		return types.NewTextProperty()
	case TypeIP:
		p := types.NewIpProperty()
		p.IgnoreMalformed = &yes
		return p
	case TypeDateNanos:
		// Only the exporter writes these (from the record's timestamps), so
		// they are always well formed; a data stream's @timestamp may not
		// ignore malformed values anyway.
		return types.NewDateNanosProperty()
	case TypeDate:
		p := types.NewDateProperty()
		p.IgnoreMalformed = &yes
		return p
	case TypeLong:
		p := types.NewLongNumberProperty()
		p.IgnoreMalformed = &yes
		return p
	case TypeFlattened:
		p := types.NewFlattenedProperty()
		p.IgnoreAbove = &limit
		depth := flattenedDepthLimit
		p.DepthLimit = &depth
		return p
	}
	panic("schema: unmapped field type " + string(t)) // unreachable: Fields uses only the types above
}
