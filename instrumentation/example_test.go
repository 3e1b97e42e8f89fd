package instrumentation_test

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/schema"
)

// printer prints each record's event name, severity, body and a few
// attributes, the way a collector's debug exporter would show them.
type printer struct{ keys []string }

func (p printer) Export(_ context.Context, rs []sdklog.Record) error {
	for _, r := range rs {
		fmt.Printf("%s %s %q\n", r.EventName(), r.SeverityText(), r.Body().AsString())
		r.WalkAttributes(func(kv attribute.KeyValue) bool {
			for _, k := range p.keys {
				if string(kv.Key) == k {
					fmt.Printf("  %s=%s\n", kv.Key, kv.Value.Emit())
				}
			}
			return true
		})
	}
	return nil
}
func (printer) Shutdown(context.Context) error   { return nil }
func (printer) ForceFlush(context.Context) error { return nil }

func newPrinter(keys ...string) *sdklog.LoggerProvider {
	return sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(printer{keys})))
}

// A request handler records an update: the actor, tenant and request data
// come from the context (set by authentication and httpmw middleware), and
// only the changed fields are kept.
func Example() {
	type Reward struct {
		Name   string `json:"name"`
		Points int    `json:"points"`
		Active bool   `json:"active"`
	}
	rec := instrumentation.New(newPrinter(schema.AttrTenantID, schema.AttrChanges, schema.AttrChangedFields))

	ctx := instrumentation.WithActor(context.Background(),
		instrumentation.Actor{ID: "u-1", Name: "Jane Doe", Type: instrumentation.ActorPartner})
	ctx = instrumentation.WithTenant(ctx, instrumentation.Tenant{ID: "bean-there", Name: "Bean There"})

	before := Reward{Name: "Free coffee", Points: 100, Active: true}
	after := Reward{Name: "Free coffee", Points: 120, Active: true}
	subject := instrumentation.Subject{Category: instrumentation.Rewards, Type: "reward", ID: "r-1", Name: "Free coffee"}
	if err := rec.Updated(ctx, subject, before, after); err != nil {
		fmt.Println(err)
	}
	// Output:
	// activity.updated INFO "Jane Doe (Partner) updated reward 'Free coffee'"
	//   activity.tenant.id=bean-there
	//   activity.changes={"points":{"new":120,"old":100}}
	//   activity.changed_fields=["points"]
}

// A failed login is recorded with the user name that was tried and a reason
// code, at WARN severity; the password tried is never passed in.
func ExampleRecorder_LoginFailed() {
	rec := instrumentation.New(newPrinter(schema.AttrUserName, schema.AttrOutcome, schema.AttrFailureReason))
	ctx := instrumentation.WithRequest(context.Background(),
		instrumentation.Request{ClientAddress: "203.0.113.7", UserAgent: "Mozilla/5.0", ID: "req-1"})
	_ = rec.LoginFailed(ctx, instrumentation.Actor{Name: "jane@example.com", Type: instrumentation.ActorPartner}, "invalid_password")
	// Output:
	// activity.login_failed WARN "jane@example.com (Partner) failed to log in: invalid password"
	//   activity.outcome=failure
	//   user.name=jane@example.com
	//   activity.failure.reason=invalid_password
}

// A password reset is an authentication event like a login: a user who
// followed a reset link is the actor; an administrator setting a new
// password for someone names that account as the subject. Neither call
// takes the password, so it cannot be recorded.
func ExampleRecorder_PasswordReset() {
	rec := instrumentation.New(newPrinter(schema.AttrCategory, schema.AttrSubjectID))
	ctx := context.Background()
	_ = rec.PasswordReset(ctx, instrumentation.Actor{ID: "c-7", Name: "Sam Lee", Type: instrumentation.ActorCustomer})

	admin := instrumentation.WithActor(ctx, instrumentation.Actor{ID: "a-1", Name: "Ada Admin", Type: instrumentation.ActorAdmin})
	_ = rec.Record(admin, instrumentation.Event{Action: instrumentation.PasswordReset,
		Subject: instrumentation.Subject{Type: "member_account", ID: "c-7", Name: "Sam Lee"}})
	// Output:
	// activity.password_reset INFO "Sam Lee (Customer) reset their password"
	//   activity.category=auth
	// activity.password_reset INFO "Ada Admin (Admin) reset the password of member_account 'Sam Lee'"
	//   activity.category=auth
	//   activity.subject.id=c-7
}

// Credentials never leave the process: fields named like credentials are
// left out, `activity:"-"` fields too, and `activity:"redact"` fields are
// recorded as changed without either value.
func ExampleRecorder_Diff() {
	type Staff struct {
		Name         string `json:"name"`
		PasswordHash string `json:"password_hash"`
		APIKey       string `json:"api_key"`
		Notes        string `json:"notes" activity:"-"`
		Phone        string `json:"phone" activity:"redact"`
	}
	rec := instrumentation.New(newPrinter())
	changes := rec.Diff(
		Staff{Name: "Sam", PasswordHash: "old", APIKey: "k1", Notes: "a", Phone: "555-0100"},
		Staff{Name: "Samuel", PasswordHash: "new", APIKey: "k2", Notes: "b", Phone: "555-0199"},
	)
	fmt.Println(changes.Fields())
	fmt.Println(changes.Value().Emit())
	// Output:
	// [name password_hash api_key phone]
	// {"api_key":{"redacted":true},"name":{"new":"Samuel","old":"Sam"},"password_hash":{"redacted":true},"phone":{"redacted":true}}
}

// Anything the helpers do not cover is recorded with Record.
func ExampleRecorder_Record() {
	rec := instrumentation.New(newPrinter(schema.AttrCategory, schema.AttrSubjectID))
	ctx := instrumentation.WithActor(context.Background(),
		instrumentation.Actor{ID: "a-1", Name: "Ops", Type: instrumentation.ActorAdmin})
	_ = rec.Record(ctx, instrumentation.Event{
		Action:  instrumentation.Deleted,
		Subject: instrumentation.Subject{Category: instrumentation.Networks, Type: "network", ID: "n-4", Name: "Downtown"},
	})
	// Output:
	// activity.deleted INFO "Ops (Admin) deleted network 'Downtown'"
	//   activity.category=networks
	//   activity.subject.id=n-4
}

// A read of the activity log is recorded with the endpoint, the parameters
// (sorted by key) and the HTTP status; a refused read is a failure.
func ExampleRecorder_Viewed() {
	rec := instrumentation.New(newPrinter(schema.AttrCategory, schema.AttrQueryParams, schema.AttrQueryStatus, schema.AttrFailureReason))
	ctx := instrumentation.WithActor(context.Background(),
		instrumentation.Actor{ID: "a-1", Name: "Ada Admin", Type: instrumentation.ActorAdmin})
	_ = rec.Viewed(ctx, instrumentation.Subject{Type: "activity_log"}, instrumentation.Query{
		Endpoint: "/v1/activities", Params: map[string]string{"q": "coffee", "category": "rewards"}, Status: 200,
	})
	_ = rec.Viewed(ctx, instrumentation.Subject{Type: "activity_log", ID: "0193-x"}, instrumentation.Query{
		Endpoint: "/v1/activities/{id}", Status: 404,
	})
	// Output:
	// activity.viewed INFO "Ada Admin (Admin) viewed the activity log"
	//   activity.category=audit
	//   activity.query.params={"category":"rewards","q":"coffee"}
	//   activity.query.status=200
	// activity.viewed WARN "Ada Admin (Admin) viewed activity log record 0193-x, which failed: http 404"
	//   activity.category=audit
	//   activity.query.status=404
	//   activity.failure.reason=http_404
}
