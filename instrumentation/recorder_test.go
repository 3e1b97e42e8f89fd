package instrumentation_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/internal/logtest"
	"github.com/activitylog/activitylog/schema"
)

type reward struct {
	Name     string `json:"name"`
	Points   int    `json:"points"`
	Active   bool   `json:"active"`
	Password string `json:"password"`
}

// requestContext carries the actor, tenant and request data a middleware
// would put in a request's context.
func requestContext() context.Context {
	ctx := instrumentation.WithActor(context.Background(), instrumentation.Actor{ID: "u-1", Name: "Jane Doe", Type: instrumentation.ActorPartner})
	ctx = instrumentation.WithTenant(ctx, instrumentation.Tenant{ID: "t-1", Name: "Bean There"})
	return instrumentation.WithRequest(ctx, instrumentation.Request{ClientAddress: "203.0.113.7", UserAgent: "loyalty-app/2.1", ID: "req-9"})
}

// common is what every record made in requestContext carries.
func common(event, category string) map[string]any {
	return map[string]any{
		schema.AttrID:            "0193a1b2-0000-7000-8000-000000000001",
		schema.AttrDocumentID:    "0193a1b2-0000-7000-8000-000000000001",
		schema.AttrEvent:         event,
		schema.AttrCategory:      category,
		schema.AttrOutcome:       schema.OutcomeSuccess,
		schema.AttrUserID:        "u-1",
		schema.AttrUserName:      "Jane Doe",
		schema.AttrUserRoles:     []any{schema.ActorPartner},
		schema.AttrActorType:     schema.ActorPartner,
		schema.AttrTenantID:      "t-1",
		schema.AttrTenantName:    "Bean There",
		schema.AttrClientAddress: "203.0.113.7",
		schema.AttrUserAgent:     "loyalty-app/2.1",
		schema.AttrRequestID:     "req-9",
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(m, kv[i].(string))
			continue
		}
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func TestRecorderEventKinds(t *testing.T) {
	coffee := instrumentation.Subject{Category: instrumentation.Rewards, Type: "reward", ID: "r-1", Name: "Free coffee"}
	before := reward{Name: "Free coffee", Points: 100, Active: true, Password: "hunter2"}
	after := reward{Name: "Free coffee", Points: 120, Active: false, Password: "hunter3"}
	tried := instrumentation.Actor{Name: "jane@example.com", Type: instrumentation.ActorPartner}
	customer := instrumentation.Actor{ID: "c-7", Name: "Sam Lee", Type: instrumentation.ActorCustomer}
	customerAttrs := func(event string) map[string]any {
		return with(common(event, schema.CategoryAuth),
			schema.AttrUserID, "c-7", schema.AttrUserName, "Sam Lee",
			schema.AttrUserRoles, []any{schema.ActorCustomer}, schema.AttrActorType, schema.ActorCustomer)
	}
	card := instrumentation.Subject{Type: "stamp_card", ID: "sc-3", Name: "Coffee card"}
	txn := instrumentation.Subject{Type: "transaction", ID: "tx-5"}
	redemption := instrumentation.Subject{Type: "redemption", ID: "rd-2", Name: "Free coffee"}
	logView := instrumentation.Subject{Type: "activity_log"}

	tests := []struct {
		name     string
		record   func(*instrumentation.Recorder, context.Context) error
		event    string
		severity log.Severity
		body     string
		attrs    map[string]any
	}{
		{
			name:   "created",
			record: func(r *instrumentation.Recorder, ctx context.Context) error { return r.Created(ctx, coffee, before) },
			event:  schema.EventCreated, severity: log.SeverityInfo,
			body: "Jane Doe (Partner) created reward 'Free coffee'",
			attrs: with(common(schema.EventCreated, schema.CategoryRewards),
				schema.AttrSubjectType, "reward", schema.AttrSubjectID, "r-1", schema.AttrSubjectName, "Free coffee",
				schema.AttrChanges, map[string]any{
					"name":   map[string]any{"new": "Free coffee"},
					"points": map[string]any{"new": int64(100)},
					"active": map[string]any{"new": true},
					// Set, so recorded, without its value.
					"password": map[string]any{"redacted": true},
				},
				schema.AttrChangedFields, []any{"name", "points", "active", "password"}),
		},
		{
			name: "updated",
			record: func(r *instrumentation.Recorder, ctx context.Context) error {
				return r.Updated(ctx, coffee, before, after)
			},
			event: schema.EventUpdated, severity: log.SeverityInfo,
			body: "Jane Doe (Partner) updated reward 'Free coffee'",
			attrs: with(common(schema.EventUpdated, schema.CategoryRewards),
				schema.AttrSubjectType, "reward", schema.AttrSubjectID, "r-1", schema.AttrSubjectName, "Free coffee",
				schema.AttrChanges, map[string]any{
					"points":   map[string]any{"old": int64(100), "new": int64(120)},
					"active":   map[string]any{"old": true, "new": false},
					"password": map[string]any{"redacted": true},
				},
				schema.AttrChangedFields, []any{"points", "active", "password"}),
		},
		{
			name:   "deleted",
			record: func(r *instrumentation.Recorder, ctx context.Context) error { return r.Deleted(ctx, coffee, after) },
			event:  schema.EventDeleted, severity: log.SeverityInfo,
			body: "Jane Doe (Partner) deleted reward 'Free coffee'",
			attrs: with(common(schema.EventDeleted, schema.CategoryRewards),
				schema.AttrSubjectType, "reward", schema.AttrSubjectID, "r-1", schema.AttrSubjectName, "Free coffee",
				schema.AttrChanges, map[string]any{
					"name":     map[string]any{"old": "Free coffee"},
					"points":   map[string]any{"old": int64(120)},
					"active":   map[string]any{"old": false},
					"password": map[string]any{"redacted": true},
				},
				schema.AttrChangedFields, []any{"name", "points", "active", "password"}),
		},
		{
			name:   "login",
			record: func(r *instrumentation.Recorder, ctx context.Context) error { return r.Login(ctx, customer) },
			event:  schema.EventLogin, severity: log.SeverityInfo,
			body:  "Sam Lee (Customer) logged in",
			attrs: customerAttrs(schema.EventLogin),
		},
		{
			name:   "logout",
			record: func(r *instrumentation.Recorder, ctx context.Context) error { return r.Logout(ctx, customer) },
			event:  schema.EventLogout, severity: log.SeverityInfo,
			body:  "Sam Lee (Customer) logged out",
			attrs: customerAttrs(schema.EventLogout),
		},
		{
			name: "login failed",
			record: func(r *instrumentation.Recorder, ctx context.Context) error {
				return r.LoginFailed(ctx, tried, "invalid_password")
			},
			event: schema.EventLoginFailed, severity: log.SeverityWarn,
			body: "jane@example.com (Partner) failed to log in: invalid password",
			attrs: with(common(schema.EventLoginFailed, schema.CategoryAuth),
				schema.AttrUserID, nil, schema.AttrUserName, "jane@example.com",
				schema.AttrOutcome, schema.OutcomeFailure, schema.AttrFailureReason, "invalid_password"),
		},
		{
			name:   "otp requested",
			record: func(r *instrumentation.Recorder, ctx context.Context) error { return r.OTPRequested(ctx, customer) },
			event:  schema.EventOTPRequested, severity: log.SeverityInfo,
			body:  "Sam Lee (Customer) requested a one-time passcode",
			attrs: customerAttrs(schema.EventOTPRequested),
		},
		{
			name:   "otp verified",
			record: func(r *instrumentation.Recorder, ctx context.Context) error { return r.OTPVerified(ctx, customer) },
			event:  schema.EventOTPVerified, severity: log.SeverityInfo,
			body:  "Sam Lee (Customer) verified a one-time passcode",
			attrs: customerAttrs(schema.EventOTPVerified),
		},
		{
			name: "otp failed",
			record: func(r *instrumentation.Recorder, ctx context.Context) error {
				return r.OTPFailed(ctx, customer, "expired")
			},
			event: schema.EventOTPFailed, severity: log.SeverityWarn,
			body: "Sam Lee (Customer) failed to verify a one-time passcode: expired",
			attrs: with(customerAttrs(schema.EventOTPFailed),
				schema.AttrOutcome, schema.OutcomeFailure, schema.AttrFailureReason, "expired"),
		},
		{
			name:   "password changed",
			record: func(r *instrumentation.Recorder, ctx context.Context) error { return r.PasswordChanged(ctx, customer) },
			event:  schema.EventPasswordChanged, severity: log.SeverityInfo,
			body:  "Sam Lee (Customer) changed their password",
			attrs: customerAttrs(schema.EventPasswordChanged),
		},
		{
			name: "password reset requested",
			record: func(r *instrumentation.Recorder, ctx context.Context) error {
				return r.PasswordResetRequested(ctx, tried)
			},
			event: schema.EventPasswordResetRequested, severity: log.SeverityInfo,
			body: "jane@example.com (Partner) requested a password reset",
			attrs: with(common(schema.EventPasswordResetRequested, schema.CategoryAuth),
				schema.AttrUserID, nil, schema.AttrUserName, "jane@example.com"),
		},
		{
			name:   "password reset",
			record: func(r *instrumentation.Recorder, ctx context.Context) error { return r.PasswordReset(ctx, customer) },
			event:  schema.EventPasswordReset, severity: log.SeverityInfo,
			body:  "Sam Lee (Customer) reset their password",
			attrs: customerAttrs(schema.EventPasswordReset),
		},
		{
			// An administrator acting on someone else's account: the
			// record names whose password it was.
			name: "password reset of someone else",
			record: func(r *instrumentation.Recorder, ctx context.Context) error {
				return r.Record(ctx, instrumentation.Event{Action: instrumentation.PasswordReset,
					Subject: instrumentation.Subject{Type: "member_account", ID: "c-7", Name: "Sam Lee"}})
			},
			event: schema.EventPasswordReset, severity: log.SeverityInfo,
			body: "Jane Doe (Partner) reset the password of member_account 'Sam Lee'",
			attrs: with(common(schema.EventPasswordReset, schema.CategoryAuth),
				schema.AttrSubjectType, "member_account", schema.AttrSubjectID, "c-7", schema.AttrSubjectName, "Sam Lee"),
		},
		{
			// A subject named by its type alone is still someone else's
			// account, not the actor's own.
			name: "password reset of someone else, named by type",
			record: func(r *instrumentation.Recorder, ctx context.Context) error {
				return r.Record(ctx, instrumentation.Event{Action: instrumentation.PasswordReset,
					Subject: instrumentation.Subject{Type: "member_account"}})
			},
			event: schema.EventPasswordReset, severity: log.SeverityInfo,
			body: "Jane Doe (Partner) reset the password of member_account",
			attrs: with(common(schema.EventPasswordReset, schema.CategoryAuth),
				schema.AttrSubjectType, "member_account"),
		},
		{
			name: "password change of someone else, failed",
			record: func(r *instrumentation.Recorder, ctx context.Context) error {
				return r.Record(ctx, instrumentation.Event{Action: instrumentation.PasswordChanged,
					Subject: instrumentation.Subject{Type: "staff_account", ID: "s-4"},
					Outcome: instrumentation.Failure, FailureReason: "password_too_short"})
			},
			event: schema.EventPasswordChanged, severity: log.SeverityWarn,
			body: "Jane Doe (Partner) changed the password of staff_account s-4, which failed: password too short",
			attrs: with(common(schema.EventPasswordChanged, schema.CategoryAuth),
				schema.AttrSubjectType, "staff_account", schema.AttrSubjectID, "s-4",
				schema.AttrOutcome, schema.OutcomeFailure, schema.AttrFailureReason, "password_too_short"),
		},
		{
			name:   "stamp added",
			record: func(r *instrumentation.Recorder, ctx context.Context) error { return r.StampAdded(ctx, card) },
			event:  schema.EventStampAdded, severity: log.SeverityInfo,
			body: "Jane Doe (Partner) added a stamp to stamp_card 'Coffee card'",
			attrs: with(common(schema.EventStampAdded, schema.CategoryStampCards),
				schema.AttrSubjectType, "stamp_card", schema.AttrSubjectID, "sc-3", schema.AttrSubjectName, "Coffee card"),
		},
		{
			name:   "transaction recorded",
			record: func(r *instrumentation.Recorder, ctx context.Context) error { return r.TransactionRecorded(ctx, txn) },
			event:  schema.EventTransactionRecorded, severity: log.SeverityInfo,
			body: "Jane Doe (Partner) recorded transaction tx-5",
			attrs: with(common(schema.EventTransactionRecorded, schema.CategoryTransactions),
				schema.AttrSubjectType, "transaction", schema.AttrSubjectID, "tx-5"),
		},
		{
			name:   "transaction refunded",
			record: func(r *instrumentation.Recorder, ctx context.Context) error { return r.TransactionRefunded(ctx, txn) },
			event:  schema.EventTransactionRefunded, severity: log.SeverityInfo,
			body: "Jane Doe (Partner) refunded transaction tx-5",
			attrs: with(common(schema.EventTransactionRefunded, schema.CategoryTransactions),
				schema.AttrSubjectType, "transaction", schema.AttrSubjectID, "tx-5"),
		},
		{
			name: "redemption processed",
			record: func(r *instrumentation.Recorder, ctx context.Context) error {
				return r.RedemptionProcessed(ctx, redemption)
			},
			event: schema.EventRedemptionProcessed, severity: log.SeverityInfo,
			body: "Jane Doe (Partner) processed redemption 'Free coffee'",
			attrs: with(common(schema.EventRedemptionProcessed, schema.CategoryRedemptions),
				schema.AttrSubjectType, "redemption", schema.AttrSubjectID, "rd-2", schema.AttrSubjectName, "Free coffee"),
		},
		{
			name: "redemption cancelled",
			record: func(r *instrumentation.Recorder, ctx context.Context) error {
				return r.RedemptionCancelled(ctx, redemption)
			},
			event: schema.EventRedemptionCancelled, severity: log.SeverityInfo,
			body: "Jane Doe (Partner) cancelled redemption 'Free coffee'",
			attrs: with(common(schema.EventRedemptionCancelled, schema.CategoryRedemptions),
				schema.AttrSubjectType, "redemption", schema.AttrSubjectID, "rd-2", schema.AttrSubjectName, "Free coffee"),
		},
		{
			name: "general record with failure",
			record: func(r *instrumentation.Recorder, ctx context.Context) error {
				return r.Record(ctx, instrumentation.Event{
					Action: instrumentation.RedemptionProcessed, Subject: withCat(redemption, instrumentation.Redemptions),
					Outcome: instrumentation.Failure, FailureReason: "insufficient_points",
				})
			},
			event: schema.EventRedemptionProcessed, severity: log.SeverityWarn,
			body: "Jane Doe (Partner) processed redemption 'Free coffee', which failed: insufficient points",
			attrs: with(common(schema.EventRedemptionProcessed, schema.CategoryRedemptions),
				schema.AttrSubjectType, "redemption", schema.AttrSubjectID, "rd-2", schema.AttrSubjectName, "Free coffee",
				schema.AttrOutcome, schema.OutcomeFailure, schema.AttrFailureReason, "insufficient_points"),
		},
		{
			name: "viewed",
			record: func(r *instrumentation.Recorder, ctx context.Context) error {
				return r.Viewed(ctx, logView, instrumentation.Query{
					Endpoint: "/v1/activities", Params: map[string]string{"q": "coffee", "category": "auth"}, Status: 200,
				})
			},
			event: schema.EventViewed, severity: log.SeverityInfo,
			body: "Jane Doe (Partner) viewed the activity log",
			attrs: with(common(schema.EventViewed, schema.CategoryAudit),
				schema.AttrSubjectType, "activity_log", schema.AttrQueryEndpoint, "/v1/activities",
				schema.AttrQueryParams, map[string]any{"category": "auth", "q": "coffee"},
				schema.AttrQueryStatus, int64(200)),
		},
		{
			name: "viewed refused",
			record: func(r *instrumentation.Recorder, ctx context.Context) error {
				return r.Viewed(ctx, withID(logView, "0193-x"), instrumentation.Query{Endpoint: "/v1/activities/{id}", Status: 403})
			},
			event: schema.EventViewed, severity: log.SeverityWarn,
			body: "Jane Doe (Partner) viewed activity log record 0193-x, which failed: http 403",
			attrs: with(common(schema.EventViewed, schema.CategoryAudit),
				schema.AttrSubjectType, "activity_log", schema.AttrSubjectID, "0193-x",
				schema.AttrQueryEndpoint, "/v1/activities/{id}", schema.AttrQueryStatus, int64(403),
				schema.AttrOutcome, schema.OutcomeFailure, schema.AttrFailureReason, "http_403"),
		},
		{
			name: "general record viewed, own description, no status",
			record: func(r *instrumentation.Recorder, ctx context.Context) error {
				return r.Record(ctx, instrumentation.Event{
					Action: instrumentation.Viewed, Subject: logView,
					Query:       &instrumentation.Query{Endpoint: "/v1/analytics/events", Params: map[string]string{"tenant": "t-1"}},
					Description: `Jane Doe (Partner) viewed /v1/analytics/events with tenant="t-1"`,
				})
			},
			event: schema.EventViewed, severity: log.SeverityInfo,
			body: `Jane Doe (Partner) viewed /v1/analytics/events with tenant="t-1"`,
			attrs: with(common(schema.EventViewed, schema.CategoryAudit),
				schema.AttrSubjectType, "activity_log", schema.AttrQueryEndpoint, "/v1/analytics/events",
				schema.AttrQueryParams, map[string]any{"tenant": "t-1"}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, exp := newTestRecorder(t)
			if err := tt.record(r, requestContext()); err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			recs := exp.Records()
			if len(recs) != 1 {
				t.Fatalf("got %d records, want 1", len(recs))
			}
			rec := recs[0]
			if got, want := rec.EventName(), schema.EventName(tt.event); got != want {
				t.Errorf("got event name %q, want %q", got, want)
			}
			if got := rec.Severity(); got != tt.severity {
				t.Errorf("got severity %v, want %v", got, tt.severity)
			}
			if got, want := rec.SeverityText(), map[log.Severity]string{log.SeverityInfo: "INFO", log.SeverityWarn: "WARN"}[tt.severity]; got != want {
				t.Errorf("got severity text %q, want %q", got, want)
			}
			if got := rec.Body().AsString(); got != tt.body {
				t.Errorf("got body %q, want %q", got, tt.body)
			}
			if got := rec.Timestamp(); !got.Equal(fixedTime) {
				t.Errorf("got timestamp %v, want %v", got, fixedTime)
			}
			if got, want := rec.InstrumentationScope().Name, instrumentation.ScopeName; got != want {
				t.Errorf("got scope %q, want %q", got, want)
			}
			if got := attrs(rec); !reflect.DeepEqual(got, tt.attrs) {
				t.Errorf("got attributes\n%#v\nwant\n%#v", got, tt.attrs)
			}
		})
	}
}

func withID(s instrumentation.Subject, id string) instrumentation.Subject {
	s.ID = id
	return s
}

func withCat(s instrumentation.Subject, c instrumentation.Category) instrumentation.Subject {
	s.Category = c
	return s
}

func TestRecorderRejectsInvalidEvents(t *testing.T) {
	tests := []struct {
		name  string
		event instrumentation.Event
	}{
		{"no action", instrumentation.Event{Subject: instrumentation.Subject{Category: instrumentation.Cards}}},
		{"unknown action", instrumentation.Event{Action: "exploded", Subject: instrumentation.Subject{Category: instrumentation.Cards}}},
		{"no category", instrumentation.Event{Action: instrumentation.Created}},
		{"unknown category", instrumentation.Event{Action: instrumentation.Created, Subject: instrumentation.Subject{Category: "security"}}},
		{"viewed with the collector's category", instrumentation.Event{Action: instrumentation.Viewed, Subject: instrumentation.Subject{Category: "security"}}},
		{"unknown actor type", instrumentation.Event{Action: instrumentation.Login, Actor: instrumentation.Actor{Name: "x", Type: "Root"}}},
		{"unknown outcome", instrumentation.Event{Action: instrumentation.Login, Outcome: "maybe"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, exp := newTestRecorder(t)
			err := r.Record(context.Background(), tt.event)
			if !errors.Is(err, instrumentation.ErrInvalidEvent) {
				t.Errorf("got error %v, want ErrInvalidEvent", err)
			}
			if n := len(exp.Records()); n != 0 {
				t.Errorf("got %d records, want 0", n)
			}
		})
	}
}

func TestRecorderEventOverridesContext(t *testing.T) {
	r, exp := newTestRecorder(t)
	when := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	err := r.Record(requestContext(), instrumentation.Event{
		Action:      instrumentation.Updated,
		Subject:     instrumentation.Subject{Category: instrumentation.Members, Type: "member", ID: "m-1"},
		Actor:       instrumentation.Actor{ID: "a-1", Name: "Ops Bot", Type: instrumentation.ActorAdmin},
		Tenant:      instrumentation.Tenant{ID: "t-2"},
		Request:     instrumentation.Request{ID: "req-override"},
		Description: "Ops Bot merged two member accounts",
		Time:        when,
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := exp.Records()[0]
	got := attrs(rec)
	for k, want := range map[string]any{
		schema.AttrUserID: "a-1", schema.AttrActorType: schema.ActorAdmin, schema.AttrTenantID: "t-2",
		schema.AttrRequestID: "req-override", schema.AttrClientAddress: "203.0.113.7",
	} {
		if got[k] != want {
			t.Errorf("got %s=%v, want %v", k, got[k], want)
		}
	}
	if _, ok := got[schema.AttrTenantName]; ok {
		t.Errorf("got tenant name %v from the context, want none (the event named another tenant)", got[schema.AttrTenantName])
	}
	if got, want := rec.Body().AsString(), "Ops Bot merged two member accounts"; got != want {
		t.Errorf("got body %q, want %q", got, want)
	}
	if !rec.Timestamp().Equal(when) {
		t.Errorf("got timestamp %v, want %v", rec.Timestamp(), when)
	}
}

func TestRecorderUpdatedWithoutChangesRecordsNothing(t *testing.T) {
	r, exp := newTestRecorder(t)
	v := reward{Name: "Free coffee", Points: 1, Password: "a"}
	if err := r.Updated(requestContext(), instrumentation.Subject{Category: instrumentation.Rewards}, v, v); err != nil {
		t.Fatal(err)
	}
	if n := len(exp.Records()); n != 0 {
		t.Errorf("got %d records, want 0", n)
	}
}

// TestRecorderSecretOnlyChangeIsRecordedWithoutValues proves that an update
// that changes a credential alone (a password changed or reset) leaves a
// record that names the field, with neither value anywhere in it.
func TestRecorderSecretOnlyChangeIsRecordedWithoutValues(t *testing.T) {
	r, exp := newTestRecorder(t)
	v := reward{Name: "Free coffee", Points: 1, Password: "old-secret-1"}
	w := v
	w.Password = "new-secret-2"
	if err := r.Updated(requestContext(), instrumentation.Subject{Category: instrumentation.Rewards}, v, w); err != nil {
		t.Fatal(err)
	}
	recs := exp.Records()
	if len(recs) != 1 {
		t.Fatalf("got %d records, want 1", len(recs))
	}
	a := attrs(recs[0])
	want := map[string]any{"password": map[string]any{"redacted": true}}
	if got := a[schema.AttrChanges]; !reflect.DeepEqual(got, want) {
		t.Errorf("got changes %#v, want %#v", got, want)
	}
	if got := a[schema.AttrChangedFields]; !reflect.DeepEqual(got, []any{"password"}) {
		t.Errorf("got changed fields %#v, want [password]", got)
	}
	if dump := fmt.Sprint(a, recs[0].Body()); strings.Contains(dump, "secret-") {
		t.Errorf("a credential's value reached the record: %s", dump)
	}
}

func TestRecorderDefaultIDsAreTimeOrderedUUIDv7(t *testing.T) {
	lp, exp := logtest.NewProvider(t)
	r := instrumentation.New(lp)
	ctx := requestContext()
	for range 50 {
		if err := r.Login(ctx, instrumentation.Actor{ID: "u"}); err != nil {
			t.Fatal(err)
		}
	}
	var prev string
	seen := map[string]bool{}
	for _, rec := range exp.Records() {
		id, _ := attrs(rec)[schema.AttrID].(string)
		if docID := attrs(rec)[schema.AttrDocumentID]; docID != id {
			t.Errorf("got %s %v, want the activity.id %s", schema.AttrDocumentID, docID, id)
		}
		u, err := uuid.Parse(id)
		if err != nil {
			t.Fatalf("got id %q, want a UUID: %v", id, err)
		}
		if u.Version() != 7 {
			t.Errorf("got UUID version %d, want 7", u.Version())
		}
		if seen[id] {
			t.Errorf("got duplicate id %s", id)
		}
		seen[id] = true
		if strings.Compare(prev, id) >= 0 {
			t.Errorf("got id %s after %s, want increasing ids", id, prev)
		}
		prev = id
	}
	if len(seen) != 50 {
		t.Errorf("got %d ids, want 50", len(seen))
	}
}

func TestRecorderIDGeneratorError(t *testing.T) {
	boom := errors.New("entropy exhausted")
	r, exp := newTestRecorder(t, instrumentation.WithIDGenerator(func() (string, error) { return "", boom }))
	if err := r.Login(context.Background(), instrumentation.Actor{ID: "u"}); !errors.Is(err, boom) {
		t.Errorf("got error %v, want %v", err, boom)
	}
	if n := len(exp.Records()); n != 0 {
		t.Errorf("got %d records, want 0", n)
	}
}

func TestRecorderDescriptionWithoutActorOrName(t *testing.T) {
	tests := []struct {
		name  string
		ctx   context.Context
		event instrumentation.Event
		want  string
	}{
		{"no actor", context.Background(), instrumentation.Event{Action: instrumentation.Deleted, Subject: instrumentation.Subject{Category: instrumentation.Cards, Type: "card", ID: "c-9"}}, "Someone deleted card c-9"},
		{"actor without name", instrumentation.WithActor(context.Background(), instrumentation.Actor{ID: "42", Type: instrumentation.ActorStaff}),
			instrumentation.Event{Action: instrumentation.Created, Subject: instrumentation.Subject{Category: instrumentation.StampCards}}, "user 42 (Staff) created stamp card"},
		{"subject with name", context.Background(), instrumentation.Event{Action: instrumentation.Updated, Subject: instrumentation.Subject{Category: instrumentation.Clubs, Type: "club", Name: "Gold"}}, "Someone updated club 'Gold'"},
		{"viewed the log", context.Background(), instrumentation.Event{Action: instrumentation.Viewed}, "Someone viewed the activity log"},
		{"admin viewed the log", instrumentation.WithActor(context.Background(), instrumentation.Actor{ID: "a-1", Name: "Ada Admin", Type: instrumentation.ActorAdmin}),
			instrumentation.Event{Action: instrumentation.Viewed, Subject: instrumentation.Subject{Category: instrumentation.Audit}}, "Ada Admin (Admin) viewed the activity log"},
		{"viewed another subject", context.Background(), instrumentation.Event{Action: instrumentation.Viewed, Subject: instrumentation.Subject{Category: instrumentation.Members, Type: "member", Name: "Ann"}}, "Someone viewed member 'Ann'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, exp := newTestRecorder(t)
			if err := r.Record(tt.ctx, tt.event); err != nil {
				t.Fatal(err)
			}
			if got := exp.Records()[0].Body().AsString(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRecorderQueryParamsSortedByKey(t *testing.T) {
	r, exp := newTestRecorder(t)
	params := map[string]string{"to": "2026-11-26", "category": "auth", "q": "coffee", "from": "2026-11-01", "limit": "5", "event": "login"}
	if err := r.Viewed(requestContext(), instrumentation.Subject{}, instrumentation.Query{Endpoint: "/v1/activities", Params: params, Status: 200}); err != nil {
		t.Fatal(err)
	}
	var keys []string
	exp.Records()[0].WalkAttributes(func(kv attribute.KeyValue) bool {
		if kv.Key == schema.AttrQueryParams {
			for _, p := range kv.Value.AsMap() {
				keys = append(keys, string(p.Key)+"="+p.Value.AsString())
			}
		}
		return true
	})
	want := []string{"category=auth", "event=login", "from=2026-11-01", "limit=5", "q=coffee", "to=2026-11-26"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("got params %v, want %v", keys, want)
	}
}

// TestRecorderQueryParamsMaskCredentials proves that a query parameter named
// like a credential keeps its name on the record but never its value, while
// the other parameters are recorded as given.
func TestRecorderQueryParamsMaskCredentials(t *testing.T) {
	r, exp := newTestRecorder(t)
	params := map[string]string{"access_token": "eyJhbGciOiJIUzI1NiJ9.e30.c2ln", "apiKey": "k-123456", "q": "coffee", "pin": "4321"}
	if err := r.Viewed(requestContext(), instrumentation.Subject{}, instrumentation.Query{Endpoint: "/v1/activities", Params: params, Status: 200}); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	exp.Records()[0].WalkAttributes(func(kv attribute.KeyValue) bool {
		if kv.Key == schema.AttrQueryParams {
			for _, p := range kv.Value.AsMap() {
				got[string(p.Key)] = p.Value.AsString()
			}
		}
		return true
	})
	for k, v := range params {
		want := v
		if k != "q" {
			want = "xxxxx"
		}
		if got[k] != want {
			t.Errorf("got param %s=%q, want %q", k, got[k], want)
		}
	}
}

func TestContextHelpers(t *testing.T) {
	ctx := context.Background()
	if _, ok := instrumentation.ActorFrom(ctx); ok {
		t.Error("got an actor from an empty context, want none")
	}
	if _, ok := instrumentation.TenantFrom(ctx); ok {
		t.Error("got a tenant from an empty context, want none")
	}
	if _, ok := instrumentation.RequestFrom(ctx); ok {
		t.Error("got a request from an empty context, want none")
	}
	ctx = requestContext()
	if a, _ := instrumentation.ActorFrom(ctx); a.ID != "u-1" {
		t.Errorf("got actor %+v, want u-1", a)
	}
	if tn, _ := instrumentation.TenantFrom(ctx); tn.ID != "t-1" {
		t.Errorf("got tenant %+v, want t-1", tn)
	}
	if rq, _ := instrumentation.RequestFrom(ctx); rq.ID != "req-9" {
		t.Errorf("got request %+v, want req-9", rq)
	}
}

func TestRecorderWithoutProviderRecordsNothing(t *testing.T) {
	r := instrumentation.New(nil)
	if err := r.Login(context.Background(), instrumentation.Actor{ID: "u"}); err != nil {
		t.Errorf("got error %v, want nil", err)
	}
	if err := r.Record(context.Background(), instrumentation.Event{Action: "bogus"}); !errors.Is(err, instrumentation.ErrInvalidEvent) {
		t.Errorf("got error %v, want ErrInvalidEvent even without a provider", err)
	}
}

func TestRecorderIsSafeForConcurrentUse(t *testing.T) {
	r, exp := newTestRecorder(t)
	subject := instrumentation.Subject{Category: instrumentation.Rewards, Type: "reward", ID: "r-1"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			ctx := instrumentation.WithActor(context.Background(), instrumentation.Actor{ID: strconv.Itoa(g), Type: instrumentation.ActorStaff})
			for i := range 50 {
				if err := r.Updated(ctx, subject, reward{Points: i}, reward{Points: i + 1}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n := len(exp.Records()); n != 400 {
		t.Errorf("got %d records, want 400", n)
	}
}

type loyaltyCard struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

func (c *loyaltyCard) ActivitySubject() instrumentation.Subject {
	return instrumentation.Subject{Category: instrumentation.Cards, Type: "card", ID: c.ID, Name: "card " + c.ID}
}

func TestRecorderTakesTheSubjectFromAModel(t *testing.T) {
	r, exp := newTestRecorder(t)
	ctx := requestContext()
	if err := r.Updated(ctx, instrumentation.Subject{}, &loyaltyCard{ID: "c-1", Status: "active"}, &loyaltyCard{ID: "c-1", Status: "blocked"}); err != nil {
		t.Fatal(err)
	}
	got := attrs(exp.Records()[0])
	if got[schema.AttrCategory] != schema.CategoryCards || got[schema.AttrSubjectID] != "c-1" {
		t.Errorf("got category %v subject %v, want cards c-1", got[schema.AttrCategory], got[schema.AttrSubjectID])
	}
	// A nil model has no subject, hence no category: an error, not a panic.
	if err := r.Deleted(ctx, instrumentation.Subject{}, (*loyaltyCard)(nil)); !errors.Is(err, instrumentation.ErrInvalidEvent) {
		t.Errorf("got %v, want ErrInvalidEvent", err)
	}
}

// TestRecorderBadInputNeverPanics proves that a nil context records as an
// empty one, and that a nil or zero Recorder records nothing, returns no
// error for a valid event, and never diffs a credential into its changes.
func TestRecorderBadInputNeverPanics(t *testing.T) {
	withProvider, exp := newTestRecorder(t)
	subject := instrumentation.Subject{Category: instrumentation.Rewards, Type: "reward", ID: "r-1"}
	calls := map[string]func(*instrumentation.Recorder, context.Context) error{
		"Login": func(r *instrumentation.Recorder, ctx context.Context) error {
			return r.Login(ctx, instrumentation.Actor{Name: "jane"})
		},
		"LoginFailed": func(r *instrumentation.Recorder, ctx context.Context) error {
			return r.LoginFailed(ctx, instrumentation.Actor{Name: "jane"}, "x")
		},
		"Updated": func(r *instrumentation.Recorder, ctx context.Context) error {
			return r.Updated(ctx, subject, reward{Points: 1}, reward{Points: 2})
		},
		"Viewed": func(r *instrumentation.Recorder, ctx context.Context) error {
			return r.Viewed(ctx, instrumentation.Subject{}, instrumentation.Query{Status: 200})
		},
	}
	recorders := []struct {
		name string
		r    *instrumentation.Recorder
		want int
	}{
		{"recorder with a nil context", withProvider, 1},
		{"nil recorder", nil, 0},
		{"zero recorder", &instrumentation.Recorder{}, 0},
	}
	for _, rc := range recorders {
		for name, call := range calls {
			t.Run(rc.name+"/"+name, func(t *testing.T) {
				exp.Take()
				var err error
				func() {
					defer func() {
						if p := recover(); p != nil {
							t.Fatalf("got panic %v, want none", p)
						}
					}()
					err = call(rc.r, nil) //nolint:staticcheck // a nil context is the bad input under test
				}()
				if err != nil {
					t.Errorf("got error %v, want nil", err)
				}
				if got := len(exp.Take()); got != rc.want {
					t.Errorf("got %d records, want %d", got, rc.want)
				}
			})
		}
		if rc.r == withProvider {
			continue
		}
		t.Run(rc.name+"/Diff", func(t *testing.T) {
			got := rc.r.Diff(reward{Name: "a", Password: "old-secret"}, reward{Name: "b", Password: "new-secret"}).Fields()
			if want := []string{"name", "password"}; !reflect.DeepEqual(got, want) {
				t.Errorf("got changed fields %v, want %v", got, want)
			}
		})
	}
}

// TestRecorderDescriptionCannotBeForged proves that text a client chooses (the
// user name typed at a failed login, a subject's name) cannot make the
// description read as more than one line, or display in another order: line
// breaks, other control characters and bidirectional overrides are written as
// escapes, so the description shows what was typed without acting on it.
func TestRecorderDescriptionCannotBeForged(t *testing.T) {
	tests := []struct {
		name  string
		event instrumentation.Event
		want  string
	}{
		{"new line in a user name", instrumentation.Event{Action: instrumentation.LoginFailed, Outcome: instrumentation.Failure, FailureReason: "unknown_user",
			Actor: instrumentation.Actor{Name: "x\nAda Admin (Admin) deleted partner 'Acme'\r\nmallory", Type: instrumentation.ActorPartner}},
			`"x\nAda Admin (Admin) deleted partner 'Acme'\r\nmallory" (Partner) failed to log in: unknown user`},
		{"parenthesis in a user id", instrumentation.Event{Action: instrumentation.Login,
			Actor: instrumentation.Actor{ID: "x (Admin) deleted member m-1; y", Type: instrumentation.ActorCustomer}},
			`user 'x (Admin) deleted member m-1; y' (Customer) logged in`},
		{"tab, escape and line separator in a subject's name", instrumentation.Event{Action: instrumentation.Updated,
			Actor:   instrumentation.Actor{ID: "7\x1b[2J", Type: instrumentation.ActorStaff},
			Subject: instrumentation.Subject{Category: instrumentation.Rewards, Type: "reward", Name: "Free\tcoffee\u2028"}},
			`user 7\x1b[2J (Staff) updated reward 'Free\tcoffee\u2028'`},
		{"right-to-left override in a subject id", instrumentation.Event{Action: instrumentation.Deleted,
			Subject: instrumentation.Subject{Category: instrumentation.Cards, Type: "card", ID: "c-1\u202egnp.exe"}},
			`Someone deleted card c-1\u202egnp.exe`},
		{"ordinary names are kept as given", instrumentation.Event{Action: instrumentation.Login,
			Actor: instrumentation.Actor{Name: `Zoë "Z" O'Brien – 東京`, Type: instrumentation.ActorCustomer}},
			`Zoë "Z" O'Brien – 東京 (Customer) logged in`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, exp := newTestRecorder(t)
			if err := r.Record(context.Background(), tt.event); err != nil {
				t.Fatal(err)
			}
			if got := exp.Records()[0].Body().AsString(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
