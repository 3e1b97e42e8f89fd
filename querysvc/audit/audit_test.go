package audit_test

import (
	"context"
	"errors"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/goleak"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/internal/logtest"
	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/querysvc/audit"
	"github.com/activitylog/activitylog/schema"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestViewed(t *testing.T) {
	lp, mem := logtest.NewProvider(t)
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	a := audit.New(lp, audit.WithClock(func() time.Time { return now }),
		audit.WithIDGenerator(func() (string, error) { return "0193-id", nil }))

	a.Viewed(context.Background(),
		querysvc.Principal{Subject: "u-7", Name: "Pat", Role: querysvc.RolePartner, Tenant: "t-1"},
		querysvc.View{Endpoint: "/v1/activities", Params: map[string]string{"category": "auth", "q": "coffee"},
			Status: 200, ClientAddress: "203.0.113.9", UserAgent: "curl/8"})
	a.Viewed(context.Background(),
		querysvc.Principal{Subject: "u-8", Role: querysvc.RoleStaff},
		querysvc.View{Endpoint: "/v1/activities/{id}", ID: "abc", Status: 403})

	recs := mem.Records()
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2", len(recs))
	}
	r := recs[0]
	if got, want := r.EventName(), "activity.viewed"; got != want {
		t.Errorf("got event name %q, want %q", got, want)
	}
	if got, want := r.Body().AsString(), `Pat (Partner) viewed /v1/activities with category="auth", q="coffee"`; got != want {
		t.Errorf("got body %q, want %q", got, want)
	}
	if !r.Timestamp().Equal(now) {
		t.Errorf("got timestamp %v, want %v", r.Timestamp(), now)
	}
	if got, want := r.InstrumentationScope().Name, instrumentation.ScopeName; got != want {
		t.Errorf("got scope %q, want %q (emitted through instrumentation.Recorder)", got, want)
	}
	got := logtest.Attributes(r)
	for k, want := range map[string]string{
		schema.AttrID: "0193-id", schema.AttrCategory: schema.CategoryAudit, schema.AttrEvent: schema.EventViewed,
		schema.AttrOutcome: schema.OutcomeSuccess, schema.AttrUserID: "u-7", schema.AttrUserName: "Pat",
		schema.AttrActorType: schema.ActorPartner, schema.AttrTenantID: "t-1", schema.AttrQueryEndpoint: "/v1/activities",
		schema.AttrClientAddress: "203.0.113.9", schema.AttrUserAgent: "curl/8", schema.AttrSubjectType: audit.SubjectType,
	} {
		if g := got[k].AsString(); g != want {
			t.Errorf("got %s=%q, want %q", k, g, want)
		}
	}
	params := map[string]string{}
	for _, kv := range got[schema.AttrQueryParams].AsMap() {
		params[string(kv.Key)] = kv.Value.AsString()
	}
	if params["category"] != "auth" || params["q"] != "coffee" || len(params) != 2 {
		t.Errorf("got params %v, want category=auth q=coffee", params)
	}
	if g := got[schema.AttrQueryStatus].AsInt64(); g != 200 {
		t.Errorf("got status %d, want 200", g)
	}

	r = recs[1]
	got = logtest.Attributes(r)
	for k, want := range map[string]string{
		schema.AttrOutcome: schema.OutcomeFailure, schema.AttrFailureReason: "http_403",
		schema.AttrActorType: schema.ActorStaff, schema.AttrSubjectID: "abc",
	} {
		if g := got[k].AsString(); g != want {
			t.Errorf("refused view: got %s=%q, want %q", k, g, want)
		}
	}
	if _, ok := got[schema.AttrTenantID]; ok {
		t.Errorf("refused staff view: got a tenant, want none")
	}
}

func newAuditor(t *testing.T, opts ...audit.Option) (*audit.Auditor, *logtest.Exporter) {
	t.Helper()
	lp, mem := logtest.NewProvider(t)
	return audit.New(lp, opts...), mem
}

// TestViewedIgnoresContextAttribution: an actor, tenant or request put in the
// context by other instrumentation never replaces or fills in what the
// principal and the view say.
func TestViewedIgnoresContextAttribution(t *testing.T) {
	a, mem := newAuditor(t)
	ctx := instrumentation.WithActor(context.Background(), instrumentation.Actor{ID: "intruder", Name: "Mallory", Type: instrumentation.ActorAdmin})
	ctx = instrumentation.WithTenant(ctx, instrumentation.Tenant{ID: "t-other", Name: "Other"})
	ctx = instrumentation.WithRequest(ctx, instrumentation.Request{ClientAddress: "198.51.100.1", UserAgent: "evil", ID: "req-ctx"})
	a.Viewed(ctx, querysvc.Principal{Subject: "u-8", Role: querysvc.RoleStaff}, querysvc.View{Endpoint: "/v1/activities", Status: 200})

	recs := mem.Records()
	if len(recs) != 1 {
		t.Fatalf("got %d records, want 1", len(recs))
	}
	got := logtest.Attributes(recs[0])
	if g := got[schema.AttrUserID].AsString(); g != "u-8" {
		t.Errorf("got %s=%q, want u-8", schema.AttrUserID, g)
	}
	for _, k := range []string{schema.AttrUserName, schema.AttrTenantID, schema.AttrTenantName, schema.AttrClientAddress, schema.AttrUserAgent, schema.AttrRequestID} {
		if v, ok := got[k]; ok {
			t.Errorf("got %s=%q from the context, want none", k, v.Emit())
		}
	}
}

// TestViewedIDGeneratorFailure: an audit record is never dropped for want of
// an id; it gets a random one.
func TestViewedIDGeneratorFailure(t *testing.T) {
	a, mem := newAuditor(t, audit.WithIDGenerator(func() (string, error) { return "", errors.New("entropy exhausted") }))
	a.Viewed(context.Background(), querysvc.Principal{Subject: "u-7", Role: querysvc.RoleAdmin}, querysvc.View{Endpoint: "/v1/activities", Status: 200})
	recs := mem.Records()
	if len(recs) != 1 {
		t.Fatalf("got %d records, want 1", len(recs))
	}
	if id := logtest.Attributes(recs[0])[schema.AttrID].AsString(); len(id) != 36 {
		t.Errorf("got id %q, want a random UUID", id)
	}
}

// TestViewedValidUTF8: whatever a request carries (an id, parameters or a
// user agent that are not UTF-8), the record holds only valid UTF-8, which
// OTLP's protobuf strings require: one invalid string fails the export of
// the record's whole batch.
func TestViewedValidUTF8(t *testing.T) {
	a, mem := newAuditor(t)
	a.Viewed(context.Background(),
		querysvc.Principal{Subject: "u-\xff", Name: "P\xfeat", Role: querysvc.RoleAdmin},
		querysvc.View{Endpoint: "/v1/activities/{id}", ID: "id-\xff\xfe", Params: map[string]string{"q\xff": "co\xc3ffee", "tenant": "t-\xff"},
			Status: 404, ClientAddress: "203.0.113.9", UserAgent: "curl/\xff", RequestID: "r-\xff"})
	recs := mem.Records()
	if len(recs) != 1 {
		t.Fatalf("got %d records, want 1", len(recs))
	}
	var check func(where string, v attribute.Value)
	check = func(where string, v attribute.Value) {
		switch v.Type() {
		case attribute.STRING:
			if s := v.AsString(); !utf8.ValidString(s) {
				t.Errorf("%s: got %q, want valid UTF-8", where, s)
			}
		case attribute.MAP:
			for _, kv := range v.AsMap() {
				if !utf8.ValidString(string(kv.Key)) {
					t.Errorf("%s: got key %q, want valid UTF-8", where, kv.Key)
				}
				check(where+"."+string(kv.Key), kv.Value)
			}
		}
	}
	check("body", recs[0].Body())
	for k, v := range logtest.Attributes(recs[0]) {
		check(k, v)
	}
	if got := logtest.Attributes(recs[0])[schema.AttrSubjectID].AsString(); got != "id-\uFFFD" {
		t.Errorf("got subject id %q, want the id with U+FFFD for its invalid bytes", got)
	}
}

// TestViewedDescription pins the description's text: the reader's name (or
// subject) escaped, the endpoint, the record id and parameter values quoted
// as Go quotes them, parameters in name order, and a refusal's status.
func TestViewedDescription(t *testing.T) {
	many := map[string]string{}
	for _, k := range []string{"to", "from", "user_id", "subject_type", "subject_id", "outcome", "ip", "limit",
		"event", "category", "cursor", "q", "tenant", "user_type", "split", "interval", "window", "threshold"} {
		many[k] = k[:1]
	}
	for _, tt := range []struct {
		name string
		p    querysvc.Principal
		v    querysvc.View
		want string
	}{
		{"subject when no name", querysvc.Principal{Subject: "u-1", Role: querysvc.RoleAdmin},
			querysvc.View{Endpoint: "/v1/analytics/events", Status: 200},
			`u-1 (Admin) viewed /v1/analytics/events`},
		{"id and refusal", querysvc.Principal{Subject: "u-8", Name: "Sam", Role: querysvc.RoleStaff},
			querysvc.View{Endpoint: "/v1/activities/{id}", ID: "a\"b\n", Status: 403},
			`Sam (Staff) viewed /v1/activities/{id} for "a\"b\n" (refused: HTTP 403)`},
		{"escaped name and values", querysvc.Principal{Subject: "u-2", Name: "Pat\nAdmin\u202e", Role: querysvc.RolePartner},
			querysvc.View{Endpoint: "/v1/activities", Params: map[string]string{"q": "caf\u00e9 \"x\"\t", "b\u2028": "\xff"}, Status: 429},
			`Pat\nAdmin\u202e (Partner) viewed /v1/activities with b\u2028="\xff", q="café \"x\"\t" (refused: HTTP 429)`},
		{"more parameters than the stack buffer", querysvc.Principal{Subject: "u-3", Name: "Ada", Role: querysvc.RoleAdmin},
			querysvc.View{Endpoint: "/v1/activities", Params: many, Status: 200},
			`Ada (Admin) viewed /v1/activities with category="c", cursor="c", event="e", from="f", interval="i", ip="i", ` +
				`limit="l", outcome="o", q="q", split="s", subject_id="s", subject_type="s", tenant="t", threshold="t", ` +
				`to="t", user_id="u", user_type="u", window="w"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, mem := newAuditor(t)
			a.Viewed(context.Background(), tt.p, tt.v)
			recs := mem.Records()
			if len(recs) != 1 {
				t.Fatalf("got %d records, want 1", len(recs))
			}
			if got := recs[0].Body().AsString(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestViewedTenant: a read is filed under the reader's own tenant, or, for an
// admin (whom no tenant confines), under the tenant the admin asked for, as
// the collector stores tenants. A staff or customer token without a tenant
// names no tenant by its parameters: its refused request would otherwise be
// filed in any business's trail it names, where that business's partners
// read it.
func TestViewedTenant(t *testing.T) {
	for _, tt := range []struct {
		name   string
		p      querysvc.Principal
		tenant string // the request's tenant parameter, as given
		want   string // "" for no tenant attribute
	}{
		{"partner", querysvc.Principal{Subject: "p", Role: querysvc.RolePartner, Tenant: "t-alpha"}, "t-beta", "t-alpha"},
		{"admin naming a tenant", querysvc.Principal{Subject: "a", Role: querysvc.RoleAdmin}, "t-beta", "t-beta"},
		{"admin naming a tenant as given", querysvc.Principal{Subject: "a", Role: querysvc.RoleAdmin}, " T-Beta ", "t-beta"},
		{"admin naming no valid tenant", querysvc.Principal{Subject: "a", Role: querysvc.RoleAdmin}, "t-\xff", ""},
		{"admin naming none", querysvc.Principal{Subject: "a", Role: querysvc.RoleAdmin}, "", ""},
		{"staff without a tenant", querysvc.Principal{Subject: "s", Role: querysvc.RoleStaff}, "t-beta", ""},
		{"customer without a tenant", querysvc.Principal{Subject: "c", Role: querysvc.RoleCustomer}, "t-beta", ""},
		{"staff of its tenant", querysvc.Principal{Subject: "s", Role: querysvc.RoleStaff, Tenant: "t-alpha"}, "t-beta", "t-alpha"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, mem := newAuditor(t)
			v := querysvc.View{Endpoint: "/v1/activities", Status: 403}
			if tt.tenant != "" {
				v.Params = map[string]string{"tenant": tt.tenant}
			}
			a.Viewed(context.Background(), tt.p, v)
			recs := mem.Records()
			if len(recs) != 1 {
				t.Fatalf("got %d records, want 1", len(recs))
			}
			got, ok := logtest.Attributes(recs[0])[schema.AttrTenantID]
			switch {
			case tt.want == "" && ok:
				t.Errorf("got tenant %q, want none", got.AsString())
			case tt.want != "" && got.AsString() != tt.want:
				t.Errorf("got tenant %q, want %q", got.AsString(), tt.want)
			}
		})
	}
}
