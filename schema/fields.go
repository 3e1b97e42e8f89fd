package schema

import (
	"errors"
	"fmt"
	"strings"
)

// Dataset and data stream naming. The collector's elasticsearch exporter runs
// in its default "otel" mapping mode and routes a record with
// data_stream.dataset=activity and data_stream.namespace=NS to the data stream
// logs-activity.otel-NS.
const (
	// DataStreamType is the data_stream.type of every activity record.
	DataStreamType = "logs"
	// Dataset is the data_stream.dataset of every activity record.
	Dataset = "activity"
	// DefaultNamespace is the data_stream.namespace used when none is configured.
	DefaultNamespace = "default"
	// IndexPattern matches every activity data stream, whatever its namespace.
	IndexPattern = "logs-activity.otel-*"
)

// MaxNamespaceLen is Elasticsearch's limit on a data stream namespace.
const MaxNamespaceLen = 100

// ErrInvalidNamespace is wrapped by ValidateNamespace's errors.
var ErrInvalidNamespace = errors.New("invalid namespace")

// ValidateNamespace checks a data stream namespace as Elasticsearch and the
// activity schema take it: at most MaxNamespaceLen characters of lowercase
// letters, digits, '_' and '.'. Empty is valid: it means DefaultNamespace.
// Every component that reads ACTIVITY_NAMESPACE checks it with this, so a
// namespace the collector refuses is refused by the others too, at start.
func ValidateNamespace(ns string) error {
	if len(ns) > MaxNamespaceLen {
		return fmt.Errorf("namespace is %d characters, the maximum is %d: %w", len(ns), MaxNamespaceLen, ErrInvalidNamespace)
	}
	if i := strings.IndexFunc(ns, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' && r != '.'
	}); i >= 0 {
		return fmt.Errorf("namespace %q has %q at byte %d; only lowercase letters, digits, '_' and '.' are allowed: %w", ns, ns[i], i, ErrInvalidNamespace)
	}
	return nil
}

// DataStream returns the name of the activity data stream for a namespace.
func DataStream(namespace string) string {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	return DataStreamType + "-" + Dataset + ".otel-" + namespace
}

// Attribute keys set on log records. OpenTelemetry semantic-convention names
// are used where a convention exists; everything else lives in the single
// "activity." namespace.
const (
	// AttrUserID is the acting user's id (semconv user.id).
	AttrUserID = "user.id"
	// AttrUserName is the acting user's display name, or for a failed login the
	// user name that was tried (semconv user.name).
	AttrUserName = "user.name"
	// AttrUserRoles holds the actor type as a one-element list (semconv user.roles).
	AttrUserRoles = "user.roles"
	// AttrClientAddress is the client IP address (semconv client.address).
	AttrClientAddress = "client.address"
	// AttrUserAgent is the client's User-Agent header (semconv user_agent.original).
	AttrUserAgent = "user_agent.original"
	// AttrServiceName is the emitting service (semconv service.name, a resource attribute).
	AttrServiceName = "service.name"

	// AttrID is the record's unique, time-ordered id (a UUIDv7) set at the
	// source. The collector uses it as the Elasticsearch document id, so a
	// retried batch cannot duplicate a record.
	AttrID = "activity.id"
	// AttrCategory is what kind of thing the action concerned; see the Category* constants.
	AttrCategory = "activity.category"
	// AttrEvent is what happened; see the Event* constants.
	AttrEvent = "activity.event"
	// AttrOutcome is OutcomeSuccess or OutcomeFailure.
	AttrOutcome = "activity.outcome"
	// AttrActorType is the actor's type: one of the Actor* constants.
	AttrActorType = "activity.actor.type"
	// AttrTenantID is the partner business the record belongs to. The query
	// service scopes partners by this field.
	AttrTenantID = "activity.tenant.id"
	// AttrTenantName is the partner business's display name.
	AttrTenantName = "activity.tenant.name"
	// AttrSubjectType is the type of the thing acted on (card, member, reward...).
	AttrSubjectType = "activity.subject.type"
	// AttrSubjectID is the id of the thing acted on.
	AttrSubjectID = "activity.subject.id"
	// AttrSubjectName is the display name of the thing acted on.
	AttrSubjectName = "activity.subject.name"
	// AttrRequestID is the id of the request that caused the action.
	AttrRequestID = "activity.request.id"
	// AttrChanges maps each changed field to {"old": v, "new": v}, or to
	// {"redacted": true} for a field recorded as changed without its values.
	AttrChanges = "activity.changes"
	// AttrChangedFields lists the names of every changed field, redacted ones included.
	AttrChangedFields = "activity.changed_fields"
	// AttrFailureReason says why a failed action failed (for example "invalid_password").
	AttrFailureReason = "activity.failure.reason"
	// AttrRedactedKeys lists the attribute paths the collector redacted (names, never values).
	AttrRedactedKeys = "activity.redacted_keys"

	// AttrAlertRule names the detection rule that raised an alert.
	AttrAlertRule = "activity.alert.rule"
	// AttrAlertKeyType is what an alert's key counts by (client.address, user.name, activity.tenant.id).
	AttrAlertKeyType = "activity.alert.key_type"
	// AttrAlertKey is the value counted (the IP address, user name or tenant).
	AttrAlertKey = "activity.alert.key"
	// AttrAlertCount is how many failures were seen in the window when the alert fired.
	AttrAlertCount = "activity.alert.count"
	// AttrAlertThreshold is the configured threshold that was reached.
	AttrAlertThreshold = "activity.alert.threshold"
	// AttrAlertWindowSeconds is the sliding window's length in seconds.
	AttrAlertWindowSeconds = "activity.alert.window_seconds"
	// AttrAlertFirstSeen is the time of the first failure counted (RFC 3339).
	AttrAlertFirstSeen = "activity.alert.first_seen"
	// AttrAlertLastSeen is the time of the last failure counted (RFC 3339).
	AttrAlertLastSeen = "activity.alert.last_seen"

	// AttrQueryEndpoint is, on an audit record, the query service endpoint
	// that was called (the route template, e.g. "/v1/activities/{id}").
	AttrQueryEndpoint = "activity.query.endpoint"
	// AttrQueryParams is, on an audit record, the query parameters the caller
	// sent (name to value; the pagination cursor omitted).
	AttrQueryParams = "activity.query.params"
	// AttrQueryStatus is, on an audit record, the HTTP status of the answer.
	AttrQueryStatus = "activity.query.status"
)

// Routing attributes read (and removed from the document) by the contrib
// elasticsearch exporter.
const (
	// AttrDataStreamType routes a record to a data stream type.
	AttrDataStreamType = "data_stream.type"
	// AttrDataStreamDataset routes a record to a data stream dataset.
	AttrDataStreamDataset = "data_stream.dataset"
	// AttrDataStreamNamespace routes a record to a data stream namespace.
	AttrDataStreamNamespace = "data_stream.namespace"
	// AttrDocumentID is the exporter's document-id attribute (logs_dynamic_id).
	AttrDocumentID = "elasticsearch.document_id"
	// AttrIndex makes the exporter write a record to the named index instead
	// of its data stream (record, scope or resource attribute). The collector
	// strips it: an emitter must not choose where its records go.
	AttrIndex = "elasticsearch.index"
	// AttrIngestPipeline selects an ingest pipeline per record; stripped by the collector.
	AttrIngestPipeline = "elasticsearch.ingest_pipeline"
	// AttrMappingHints changes how the exporter encodes values; stripped by the collector.
	AttrMappingHints = "elasticsearch.mapping.hints"
	// AttrMappingMode (a scope attribute) overrides the exporter's mapping
	// mode, e.g. to write a map body as the whole document; stripped by the collector.
	AttrMappingMode = "elastic.mapping.mode"
)

// Categories: what kind of thing an action concerned.
const (
	CategoryCards        = "cards"
	CategoryStampCards   = "stamp_cards"
	CategoryMembers      = "members"
	CategoryStaff        = "staff"
	CategoryPartners     = "partners"
	CategoryRewards      = "rewards"
	CategoryClubs        = "clubs"
	CategoryNetworks     = "networks"
	CategoryTransactions = "transactions"
	CategoryRedemptions  = "redemptions"
	CategoryAuth         = "auth"
	// CategorySecurity holds alerts raised by the collector's detectors.
	CategorySecurity = "security"
	// CategoryAudit holds the query service's records of who read the log.
	CategoryAudit = "audit"
)

// Categories lists every category, in documentation order.
func Categories() []string {
	return []string{
		CategoryCards, CategoryStampCards, CategoryMembers, CategoryStaff, CategoryPartners,
		CategoryRewards, CategoryClubs, CategoryNetworks, CategoryTransactions, CategoryRedemptions,
		CategoryAuth, CategorySecurity, CategoryAudit,
	}
}

// Events: what happened.
const (
	EventCreated      = "created"
	EventUpdated      = "updated"
	EventDeleted      = "deleted"
	EventLogin        = "login"
	EventLogout       = "logout"
	EventLoginFailed  = "login_failed"
	EventOTPRequested = "otp_requested"
	EventOTPVerified  = "otp_verified"
	EventOTPFailed    = "otp_failed"
	// EventPasswordChanged records that a user changed a password: their
	// own, or, with a subject, someone else's.
	EventPasswordChanged = "password_changed"
	// EventPasswordResetRequested records that a password reset was asked
	// for (a "forgot password" request).
	EventPasswordResetRequested = "password_reset_requested"
	// EventPasswordReset records that a password was reset: a reset link
	// used, or an administrator setting a new password for someone.
	EventPasswordReset       = "password_reset"
	EventStampAdded          = "stamp_added"
	EventTransactionRecorded = "transaction_recorded"
	EventTransactionRefunded = "transaction_refunded"
	EventRedemptionProcessed = "redemption_processed"
	EventRedemptionCancelled = "redemption_cancelled"
	// EventFailedLoginBurst is the alert the collector raises when failed
	// logins for one key reach the threshold inside the window.
	EventFailedLoginBurst = "failed_login_burst"
	// EventViewed records that someone queried the activity log.
	EventViewed = "viewed"
)

// Events lists every event, in documentation order.
func Events() []string {
	return []string{
		EventCreated, EventUpdated, EventDeleted, EventLogin, EventLogout, EventLoginFailed,
		EventOTPRequested, EventOTPVerified, EventOTPFailed, EventPasswordChanged,
		EventPasswordResetRequested, EventPasswordReset, EventStampAdded, EventTransactionRecorded,
		EventTransactionRefunded, EventRedemptionProcessed, EventRedemptionCancelled,
		EventFailedLoginBurst, EventViewed,
	}
}

// AuthEvents lists the authentication events: logins, logouts, failed
// logins, one-time passwords and password changes and resets. Views of authentication select them by
// event, not by category, which an emitter other than the instrumentation
// library may set otherwise.
func AuthEvents() []string {
	return []string{
		EventLogin, EventLogout, EventLoginFailed, EventOTPRequested, EventOTPVerified, EventOTPFailed,
		EventPasswordChanged, EventPasswordResetRequested, EventPasswordReset,
	}
}

// EventName returns the OpenTelemetry log record EventName for an event:
// "activity." followed by the event, for example "activity.login_failed".
func EventName(event string) string { return "activity." + event }

// Actor types.
const (
	ActorAdmin    = "Admin"
	ActorPartner  = "Partner"
	ActorStaff    = "Staff"
	ActorCustomer = "Customer"
)

// ActorTypes lists every actor type.
func ActorTypes() []string { return []string{ActorAdmin, ActorPartner, ActorStaff, ActorCustomer} }

// Outcomes.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// AlertRuleFailedLoginBurst is the AttrAlertRule value of failed-login burst alerts.
const AlertRuleFailedLoginBurst = "failed_login_burst"

// TenantUnknown is the tenant the collector assigns to a record whose tenant
// cannot be determined, when its missing-tenant policy is to tag.
const TenantUnknown = "unknown"

// AuthTenants is the client.AuthData attribute (go.opentelemetry.io/collector/client)
// in which the collector's ingest authenticator (collector/ingestauth) puts,
// as a []string of normalized tenant ids, the only tenants a request's
// token may write; the activity processor drops the request's records of
// any other tenant. Absent, the token may write every tenant.
const AuthTenants = "activitylog.tenants"

// AuthIngest is the client.AuthData attribute that the collector's ingest
// authenticator sets, to true, on every request it lets in, bound to tenants
// or not. A processor that finds it missing cannot tell an unbound token
// from a pipeline that lost the request's client.Info (the batch processor
// does), so the activity processor may refuse such a batch
// (require_ingest_auth) rather than let it write every tenant.
const AuthIngest = "activitylog.ingest"
