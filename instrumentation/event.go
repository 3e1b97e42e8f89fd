package instrumentation

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/activitylog/activitylog/schema"
)

// Category is what kind of thing an action concerned. The values are the
// schema's Category* constants.
type Category string

// Categories an application records. The collector's security alerts are
// deliberately absent: only the collector's activity processor writes them.
const (
	Cards        Category = schema.CategoryCards
	StampCards   Category = schema.CategoryStampCards
	Members      Category = schema.CategoryMembers
	Staff        Category = schema.CategoryStaff
	Partners     Category = schema.CategoryPartners
	Rewards      Category = schema.CategoryRewards
	Clubs        Category = schema.CategoryClubs
	Networks     Category = schema.CategoryNetworks
	Transactions Category = schema.CategoryTransactions
	Redemptions  Category = schema.CategoryRedemptions
	Auth         Category = schema.CategoryAuth
	// Audit is the record of who read the activity log, written by the query
	// service with the Viewed action.
	Audit Category = schema.CategoryAudit
)

// Action is what happened. The values are the schema's Event* constants.
type Action string

// Actions an application records.
const (
	Created      Action = schema.EventCreated
	Updated      Action = schema.EventUpdated
	Deleted      Action = schema.EventDeleted
	Login        Action = schema.EventLogin
	Logout       Action = schema.EventLogout
	LoginFailed  Action = schema.EventLoginFailed
	OTPRequested Action = schema.EventOTPRequested
	OTPVerified  Action = schema.EventOTPVerified
	OTPFailed    Action = schema.EventOTPFailed
	// PasswordChanged records a password change: the actor's own, or with
	// a Subject, someone else's.
	PasswordChanged Action = schema.EventPasswordChanged
	// PasswordResetRequested records a "forgot password" request: for the
	// actor's own account, or with a Subject, for someone else's.
	PasswordResetRequested Action = schema.EventPasswordResetRequested
	// PasswordReset records a completed password reset: the actor's own (a
	// reset link used), or with a Subject, someone else's (an administrator
	// setting a new password).
	PasswordReset       Action = schema.EventPasswordReset
	StampAdded          Action = schema.EventStampAdded
	TransactionRecorded Action = schema.EventTransactionRecorded
	TransactionRefunded Action = schema.EventTransactionRefunded
	RedemptionProcessed Action = schema.EventRedemptionProcessed
	RedemptionCancelled Action = schema.EventRedemptionCancelled
	// Viewed records a read; with category Audit, a query of the activity
	// log, described by Event.Query.
	Viewed Action = schema.EventViewed
)

// ActorType is the kind of user who acted.
type ActorType string

// Actor types, the schema's Actor* constants.
const (
	ActorAdmin    ActorType = schema.ActorAdmin
	ActorPartner  ActorType = schema.ActorPartner
	ActorStaff    ActorType = schema.ActorStaff
	ActorCustomer ActorType = schema.ActorCustomer
)

// Outcome says whether an action succeeded.
type Outcome string

// Outcomes.
const (
	Success Outcome = schema.OutcomeSuccess
	Failure Outcome = schema.OutcomeFailure
)

// Actor is the user who performed an action. For a failed login it is the
// user who was tried: Name holds the user name typed, ID may be empty.
type Actor struct {
	// ID is the user's id (user.id).
	ID string
	// Name is the user's display name or login name (user.name).
	Name string
	// Type is the user's kind (activity.actor.type and user.roles).
	Type ActorType
}

// Tenant is the partner business a record belongs to. The query service
// scopes partners by its ID.
type Tenant struct {
	// ID is the partner business's id (activity.tenant.id).
	ID string
	// Name is its display name (activity.tenant.name).
	Name string
}

// Subject is the thing an action was performed on.
type Subject struct {
	// Category is what kind of thing it is in the activity log's terms.
	Category Category
	// Type is the subject's type in the application's terms: "card",
	// "member", "reward"... (activity.subject.type).
	Type string
	// ID is the subject's id (activity.subject.id).
	ID string
	// Name is the subject's display name, used in descriptions
	// (activity.subject.name). It must not be a secret.
	Name string
}

// Model is implemented by domain types that know how they appear in the
// activity log. The GORM plugin uses it to name what it records.
type Model interface {
	// ActivitySubject returns the subject a record about this value concerns.
	ActivitySubject() Subject
}

// Request describes where an action came from.
type Request struct {
	// ClientAddress is the client's IP address (client.address).
	ClientAddress string
	// UserAgent is the client's User-Agent header (user_agent.original).
	UserAgent string
	// ID is the request id (activity.request.id).
	ID string
}

// Query describes one read of the activity log through the query service,
// recorded on a Viewed event of category Audit.
type Query struct {
	// Endpoint is the route template of the endpoint called, for example
	// "/v1/activities/{id}" (activity.query.endpoint); empty records none.
	Endpoint string
	// Params are the query parameters the caller sent
	// (activity.query.params), recorded as one map attribute with the keys
	// sorted. They are recorded as given, except that the value of a
	// parameter named like a credential (see WithSecretNames) is masked; the
	// caller leaves out what else must not be kept, such as a paging cursor.
	Params map[string]string
	// Status is the HTTP status of the answer (activity.query.status); zero
	// records none.
	Status int
}

// Event is one activity record before it is emitted. Empty Actor, Tenant and
// Request fields are filled from the context; an empty Description is
// generated; a zero Time is the recorder's clock's now; an empty Outcome is
// Success.
type Event struct {
	// Action is what happened. Required.
	Action Action
	// Subject is what it happened to. Subject.Category is required, except
	// for auth actions, whose category is Auth when empty, and Viewed, whose
	// category is Audit when empty. Views of authentication select records
	// by event, so an auth action filed under another category (a password
	// reset under Members) is still counted as one.
	Subject Subject
	// Actor overrides the context's actor when its ID or Name is set.
	Actor Actor
	// Tenant overrides the context's tenant when its ID is set.
	Tenant Tenant
	// Request fields override the context's request fields one by one.
	Request Request
	// Description is the record's body; generated when empty.
	Description string
	// Changes are the changed fields, usually from [Recorder.Diff].
	Changes Changes
	// Query describes the read of the activity log a Viewed event records;
	// nil records no activity.query attributes.
	Query *Query
	// Outcome is Success (the default) or Failure.
	Outcome Outcome
	// FailureReason says why a failed action failed, for example
	// "invalid_password". It must be a short machine-readable code.
	FailureReason string
	// Time is when the action happened; zero means now.
	Time time.Time
}

// ErrInvalidEvent is returned (wrapped) for an event that cannot be recorded
// as given: an unknown action, category, actor type or outcome.
var ErrInvalidEvent = errors.New("invalid activity event")

func knownCategory(c Category) bool {
	return slices.Contains([]Category{Cards, StampCards, Members, Staff, Partners, Rewards, Clubs, Networks, Transactions, Redemptions, Auth, Audit}, c)
}

func knownAction(a Action) bool {
	return slices.Contains([]Action{Created, Updated, Deleted, Login, Logout, LoginFailed, OTPRequested, OTPVerified, OTPFailed, PasswordChanged, PasswordResetRequested, PasswordReset, StampAdded, TransactionRecorded, TransactionRefunded, RedemptionProcessed, RedemptionCancelled, Viewed}, a)
}

func knownActorType(t ActorType) bool {
	return slices.Contains([]ActorType{"", ActorAdmin, ActorPartner, ActorStaff, ActorCustomer}, t)
}

// isAuth reports whether an action is an authentication event.
func (a Action) isAuth() bool {
	switch a {
	case Login, Logout, LoginFailed, OTPRequested, OTPVerified, OTPFailed,
		PasswordChanged, PasswordResetRequested, PasswordReset:
		return true
	}
	return false
}

// validate checks the parts of e that must come from the fixed vocabularies.
func (e *Event) validate() error {
	if !knownAction(e.Action) {
		return fmt.Errorf("%w: unknown action %q", ErrInvalidEvent, e.Action)
	}
	if e.Subject.Category == "" {
		switch {
		case e.Action.isAuth():
			e.Subject.Category = Auth
		case e.Action == Viewed:
			e.Subject.Category = Audit
		}
	}
	if !knownCategory(e.Subject.Category) {
		return fmt.Errorf("%w: unknown category %q for action %q", ErrInvalidEvent, e.Subject.Category, e.Action)
	}
	if !knownActorType(e.Actor.Type) {
		return fmt.Errorf("%w: unknown actor type %q", ErrInvalidEvent, e.Actor.Type)
	}
	switch e.Outcome {
	case "":
		e.Outcome = Success
	case Success, Failure:
	default:
		return fmt.Errorf("%w: unknown outcome %q", ErrInvalidEvent, e.Outcome)
	}
	return nil
}
