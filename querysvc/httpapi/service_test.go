package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"go.opentelemetry.io/otel/attribute"

	"github.com/activitylog/activitylog/instrumentation/httpmw"
	"github.com/activitylog/activitylog/querysvc/httpapi"
	"github.com/activitylog/activitylog/schema"
)

// closedPort returns the address of a port nothing listens on: a real
// socket that refuses connections.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

func TestElasticsearchDown(t *testing.T) {
	a := start(t, serviceOptions{index: schema.IndexPattern, es: closedPort(t)})
	admin := token(t, "admin-1", "admin", "")
	for _, ep := range []string{
		"/v1/activities", "/v1/activities/x", "/v1/analytics/trends", "/v1/analytics/events",
		"/v1/analytics/categories", "/v1/analytics/users/top", "/v1/analytics/auth",
		"/v1/security/alerts", "/v1/security/bursts",
	} {
		a.wantError(admin, ep, 503, "unavailable")
	}
	a.wantError("", "/readyz", 503, "not ready")
	if st, _ := a.get("", "/healthz"); st != 200 {
		t.Errorf("healthz with Elasticsearch down: got %d, want 200", st)
	}
}

func TestReadyz(t *testing.T) {
	fx := seeded(t)
	a := start(t, serviceOptions{index: schema.DataStream(fx.ns)})
	if st, body := a.get("", "/readyz"); st != 200 {
		t.Errorf("got %d %s, want 200", st, body)
	}
	var log logBuffer
	pattern := "logs-activity.otel-nothing-here-" + fx.ns + "-*"
	none := start(t, serviceOptions{index: pattern, opts: []httpapi.Option{httpapi.WithLogger(log.logger())}})
	none.wantReadyzSaysNoMore(pattern)
	if got := log.String(); !strings.Contains(got, "no index matches") || !strings.Contains(got, pattern) {
		t.Errorf("got log %q, want the reason, naming %s", got, pattern)
	}
}

// wantReadyzSaysNoMore checks that /readyz answers 503 "not ready" and
// nothing of why: it is open to anyone who reaches the port.
func (a *api) wantReadyzSaysNoMore(secrets ...string) {
	a.t.Helper()
	a.wantError("", "/readyz", 503, "not ready")
	_, body := a.get("", "/readyz")
	for _, s := range append(secrets, "index", "Elasticsearch", "time") {
		if strings.Contains(string(body), s) {
			a.t.Errorf("got /readyz body %s, want it not to say %q", body, s)
		}
	}
}

// logBuffer collects a service's log for a test to read; the server writes
// it from its own goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// TestReadyzSlowElasticsearch: an Elasticsearch that does not answer within
// the request timeout makes /readyz 503 unavailable, the one failure the API
// document gives it (a probe reads anything else as the service's own fault).
func TestReadyzSlowElasticsearch(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	var log logBuffer
	a := start(t, serviceOptions{index: schema.IndexPattern, es: slow.URL, opts: []httpapi.Option{
		httpapi.WithRequestTimeout(100 * time.Millisecond), httpapi.WithLogger(log.logger())}})
	a.wantReadyzSaysNoMore()
	if got := log.String(); !strings.Contains(got, "did not answer in time") {
		t.Errorf("got log %q, want the reason", got)
	}
}

// TestInternalError: Elasticsearch refusing the service's own credentials
// is the service's fault, a 500 internal error in the documented shape that
// says nothing of the answer (which names the user). The test node runs
// without security, so the refusal comes from a stand-in that says it is
// Elasticsearch, as the client checks.
func TestInternalError(t *testing.T) {
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":{"root_cause":[{"type":"security_exception","reason":"unable to authenticate user [querysvc]"}],`+
			`"type":"security_exception","reason":"unable to authenticate user [querysvc]"},"status":401}`)
	}))
	defer refusing.Close()
	a := start(t, serviceOptions{index: schema.IndexPattern, es: refusing.URL})
	admin := token(t, "admin-1", "admin", "")
	for _, ep := range []string{
		"/v1/activities", "/v1/activities/x", "/v1/analytics/trends", "/v1/analytics/events",
		"/v1/analytics/categories", "/v1/analytics/users/top", "/v1/analytics/auth",
		"/v1/security/alerts", "/v1/security/bursts",
	} {
		st, body := a.get(admin, ep)
		var e errorBody
		if err := json.Unmarshal(body, &e); err != nil || st != 500 || e.Error.Code != "internal" || strings.Contains(string(body), "querysvc") {
			t.Errorf("GET %s: got %d %s, want 500 internal without the answer's text", ep, st, body)
		}
	}
}

func TestOperations(t *testing.T) {
	fx := seeded(t)
	a := start(t, serviceOptions{index: schema.DataStream(fx.ns)})
	admin := token(t, "admin-1", "admin", "")
	a.getJSON(admin, "/v1/analytics/events", 200, nil)
	a.wantError(admin, "/v1/nothing", 404, "no such endpoint")
	a.wantError("", "/", 404, "no such endpoint")

	st, body := a.get("", "/openapi.yaml")
	if st != 200 || !strings.HasPrefix(string(body), "openapi: 3") {
		t.Errorf("openapi.yaml: got %d %.40s, want the document", st, body)
	}
	st, body = a.get("", "/metrics")
	for _, want := range []string{
		`querysvc_http_requests_total{route="/v1/analytics/events",code="200"} 1`,
		`querysvc_http_requests_total{route="other",code="404"} 2`,
		`querysvc_http_request_duration_seconds_count{route="/v1/analytics/events"} 1`,
		"querysvc_audit_records_total 1",
	} {
		if st != 200 || !strings.Contains(string(body), want) {
			t.Errorf("metrics: got %d, want a line %q in:\n%s", st, want, body)
		}
	}
}

// TestReadOnly: every method but GET is refused on every path.
func TestReadOnly(t *testing.T) {
	a := start(t, serviceOptions{index: schema.IndexPattern, es: closedPort(t)})
	admin := token(t, "admin-1", "admin", "")
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		for _, path := range []string{"/v1/activities", "/v1/activities/abc", "/v1/analytics/events", "/healthz", "/v1/nothing"} {
			req, _ := http.NewRequest(m, a.url+path, strings.NewReader(`{}`))
			req.Header.Set("Authorization", "Bearer "+admin)
			resp, err := a.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			a.validate(req, resp, body)
			if resp.StatusCode != 405 || !strings.Contains(string(body), "read-only") || resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: got %d %s (Allow %q), want 405 with Allow: GET, HEAD", m, path, resp.StatusCode, body, resp.Header.Get("Allow"))
			}
		}
	}
}

func TestLimits(t *testing.T) {
	fx := seeded(t)
	now := testNow
	clock := func() time.Time { return now }
	a := start(t, serviceOptions{index: schema.DataStream(fx.ns), opts: []httpapi.Option{
		httpapi.WithRateLimit(1, 3), httpapi.WithClock(clock), httpapi.WithMaxPageSize(50),
		httpapi.WithMaxRange(31 * 24 * time.Hour),
	}})
	alpha, beta := token(t, "partner-a", "partner", "t-alpha"), token(t, "partner-b", "partner", "t-beta")
	a.wantError(alpha, "/v1/activities?limit=51", 400, "at most 50")
	a.wantError(alpha, "/v1/analytics/events?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", 400, "longer than the maximum")
	a.getJSON(alpha, "/v1/activities?limit=1", 200, nil)
	a.wantError(alpha, "/v1/activities?limit=1", 429, "rate limit")
	// Another principal has its own bucket.
	a.getJSON(beta, "/v1/activities?limit=1", 200, nil)
	// Roles that may not read are limited too: every refusal is audited.
	for _, tok := range []string{token(t, "staff-1", "staff", "t-alpha"), token(t, "customer-1", "customer", "")} {
		for range 3 {
			a.wantError(tok, "/v1/analytics/events", 403, "may not read")
		}
		a.wantError(tok, "/v1/analytics/events", 429, "rate limit")
	}
	// Tokens come back with time.
	now = now.Add(2 * time.Second)
	a.getJSON(alpha, "/v1/activities?limit=1", 200, nil)

	b := start(t, serviceOptions{index: schema.DataStream(fx.ns), opts: []httpapi.Option{httpapi.WithRequestTimeout(time.Nanosecond)}})
	b.wantError(token(t, "admin-1", "admin", ""), "/v1/analytics/events", 504, "")
}

// TestAudit: every /v1 request, answered or refused, is recorded with who
// asked, the endpoint and the parameters.
func TestAudit(t *testing.T) {
	fx := seeded(t)
	a := start(t, serviceOptions{index: schema.DataStream(fx.ns)})
	admin, alpha, staff := token(t, "admin-1", "admin", ""), token(t, "partner-a", "partner", "t-alpha"), token(t, "staff-1", "staff", "t-alpha")
	a.getJSON(admin, "/v1/analytics/events?tenant=t-beta&category=auth", 200, nil)
	a.getJSON(alpha, "/v1/activities?q=coffee&limit=5", 200, nil)
	a.wantError(alpha, "/v1/activities?tenant=t-beta", 403, "")
	a.wantError(staff, "/v1/activities/"+fx.recs[3].ID, 403, "")
	// A customer without a tenant of its own names t-beta: the refusal is
	// not filed in t-beta's trail, where t-beta's partners would read it.
	a.wantError(token(t, "customer-1", "customer", ""), "/v1/activities?tenant=t-beta&q=hello", 403, "")
	a.wantError("", "/v1/activities", 401, "") // no principal: nothing to attribute
	a.getJSON("", "/healthz", 200, nil)        // not a read of the log

	// Audit records are emitted right after each response is sent.
	recs := a.audit.Await(t, 5, 5*time.Second)
	if len(recs) != 5 {
		t.Fatalf("got %d audit records, want 5", len(recs))
	}
	type row struct{ user, actor, tenant, endpoint, outcome, params, subject string }
	want := []row{
		{"admin-1", "Admin", "t-beta", "/v1/analytics/events", "success", "category=auth,tenant=t-beta", ""},
		{"partner-a", "Partner", "t-alpha", "/v1/activities", "success", "limit=5,q=coffee", ""},
		{"partner-a", "Partner", "t-alpha", "/v1/activities", "failure", "tenant=t-beta", ""},
		{"staff-1", "Staff", "t-alpha", "/v1/activities/{id}", "failure", "", fx.recs[3].ID},
		{"customer-1", "Customer", "", "/v1/activities", "failure", "q=hello,tenant=t-beta", ""},
	}
	for i, r := range recs {
		got := row{}
		r.WalkAttributes(func(kv attribute.KeyValue) bool {
			switch string(kv.Key) {
			case schema.AttrUserID:
				got.user = kv.Value.AsString()
			case schema.AttrActorType:
				got.actor = kv.Value.AsString()
			case schema.AttrTenantID:
				got.tenant = kv.Value.AsString()
			case schema.AttrQueryEndpoint:
				got.endpoint = kv.Value.AsString()
			case schema.AttrOutcome:
				got.outcome = kv.Value.AsString()
			case schema.AttrSubjectID:
				got.subject = kv.Value.AsString()
			case schema.AttrQueryParams:
				var ps []string
				for _, p := range kv.Value.AsMap() {
					ps = append(ps, string(p.Key)+"="+p.Value.AsString())
				}
				got.params = strings.Join(ps, ",")
			}
			return true
		})
		if got != want[i] {
			t.Errorf("audit record %d: got %+v, want %+v", i, got, want[i])
		}
		if r.EventName() != "activity.viewed" {
			t.Errorf("audit record %d: got event name %q, want activity.viewed", i, r.EventName())
		}
	}
}

// TestAuditRequest: behind instrumentation/httpmw, the audit record carries
// the request id and the client address seen through trusted proxies only.
func TestAuditRequest(t *testing.T) {
	fx := seeded(t)
	a := start(t, serviceOptions{index: schema.DataStream(fx.ns), wrap: func(h http.Handler) http.Handler {
		return httpmw.Middleware(h, httpmw.WithTrustedProxies(netip.MustParsePrefix("127.0.0.0/8")))
	}})
	admin := token(t, "admin-1", "admin", "")
	if st, body := a.get(admin, "/v1/analytics/events", "X-Request-Id", "req-42", "X-Forwarded-For", "203.0.113.50"); st != 200 {
		t.Fatalf("got %d %s", st, body)
	}
	recs := a.audit.Await(t, 1, 5*time.Second)
	if len(recs) != 1 {
		t.Fatalf("got %d audit records, want 1", len(recs))
	}
	got := map[string]string{}
	recs[0].WalkAttributes(func(kv attribute.KeyValue) bool {
		got[string(kv.Key)] = kv.Value.Emit()
		return true
	})
	if got[schema.AttrRequestID] != "req-42" || got[schema.AttrClientAddress] != "203.0.113.50" {
		t.Errorf("got request id %q and client %q, want req-42 and 203.0.113.50", got[schema.AttrRequestID], got[schema.AttrClientAddress])
	}
}

// TestAuditRefusedParams: a refused request is recorded with the parameters
// it was sent with, whatever refused it (the role, the rate limit or a
// malformed parameter), so the audit trail says what was asked for; the
// cursor and parameters the endpoint does not accept are left out.
func TestAuditRefusedParams(t *testing.T) {
	a := start(t, serviceOptions{index: schema.IndexPattern, es: closedPort(t), opts: []httpapi.Option{httpapi.WithRateLimit(1, 1)}})
	staff, alpha := token(t, "staff-1", "staff", "t-alpha"), token(t, "partner-a", "partner", "t-alpha")
	a.wantError(staff, "/v1/activities?q=salary&user_id=u-7", 403, "may not read")
	a.wantError(staff, "/v1/analytics/events?tenant=t-beta", 429, "rate limit")
	a.wantError(alpha, "/v1/activities?limit=0&q=coffee&tenant=t-alpha&cursor=abc&access_token=secret", 400, "limit")

	recs := a.audit.Await(t, 3, 5*time.Second)
	want := []string{"q=salary,user_id=u-7", "tenant=t-beta", "limit=0,q=coffee,tenant=t-alpha"}
	for i, r := range recs {
		var got []string
		r.WalkAttributes(func(kv attribute.KeyValue) bool {
			if string(kv.Key) == schema.AttrQueryParams {
				for _, p := range kv.Value.AsMap() {
					got = append(got, string(p.Key)+"="+p.Value.AsString())
				}
			}
			return true
		})
		slices.Sort(got)
		if g := strings.Join(got, ","); g != want[i] {
			t.Errorf("audit record %d: got params %q, want %q", i, g, want[i])
		}
	}
}

// TestDefaultPageWithinCap: with a page-size cap below the default page
// (20), a search without limit gets a page of the cap, not of the default.
func TestDefaultPageWithinCap(t *testing.T) {
	fx := seeded(t)
	a := start(t, serviceOptions{index: schema.DataStream(fx.ns), opts: []httpapi.Option{httpapi.WithMaxPageSize(5)}})
	var r struct {
		Activities []json.RawMessage `json:"activities"`
	}
	a.getJSON(token(t, "admin-1", "admin", ""), "/v1/activities", 200, &r)
	if len(r.Activities) != 5 {
		t.Errorf("got a page of %d, want 5 (the cap)", len(r.Activities))
	}
}

// TestErrorHeadersDocumented: the API document describes the headers that
// come with the 401 (WWW-Authenticate) and 429 (Retry-After) of every /v1
// endpoint, so the validation of every response in these tests requires
// the service to send them.
func TestErrorHeadersDocumented(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range doc.Paths.Map() {
		if !strings.HasPrefix(path, "/v1/") {
			continue
		}
		for status, header := range map[int]string{401: "WWW-Authenticate", 429: "Retry-After"} {
			resp := item.Get.Responses.Status(status)
			if resp == nil || resp.Value == nil {
				t.Errorf("%s: no %d response", path, status)
				continue
			}
			if h := resp.Value.Headers[header]; h == nil || h.Value == nil || !h.Value.Required {
				t.Errorf("%s %d: header %s is not described as required", path, status, header)
			}
		}
	}
}

// TestParametersDocumented: every /v1 operation of the API document lists
// exactly the query parameters its endpoint accepts (the 400 for an unknown
// one names them), and a maximum the document gives is the endpoint's: the
// maximum itself passes the parameter check, one more is a 400.
func TestParametersDocumented(t *testing.T) {
	a := start(t, serviceOptions{index: schema.IndexPattern, es: closedPort(t),
		opts: []httpapi.Option{httpapi.WithRateLimit(0, 0)}})
	admin := token(t, "admin-1", "admin", "")
	for path, item := range a.doc.Paths.Map() {
		if !strings.HasPrefix(path, "/v1/") {
			continue
		}
		url := strings.ReplaceAll(path, "{id}", "0190a6e2-7c8b-7000-8000-000000000001")
		var documented []string
		maxima := map[string]int{}
		for _, p := range append(slices.Clone(item.Parameters), item.Get.Parameters...) {
			if p.Value.In != openapi3.ParameterInQuery {
				continue
			}
			documented = append(documented, p.Value.Name)
			if sch := p.Value.Schema; sch != nil && sch.Value.Max != nil {
				maxima[p.Value.Name] = int(*sch.Value.Max)
			}
		}
		slices.Sort(documented)

		st, body := a.get(admin, url+"?undocumented=1")
		var e errorBody
		if err := json.Unmarshal(body, &e); err != nil || st != http.StatusBadRequest {
			t.Errorf("%s?undocumented=1: got %d %s, want 400", path, st, body)
			continue
		}
		_, list, ok := strings.Cut(e.Error.Message, "accepted: ")
		if !ok {
			t.Errorf("%s: got message %q, want it to list the accepted parameters", path, e.Error.Message)
			continue
		}
		accepted := strings.Split(strings.TrimSuffix(list, ")"), ", ")
		slices.Sort(accepted)
		if !slices.Equal(accepted, documented) {
			t.Errorf("%s: accepts %v, the API document lists %v", path, accepted, documented)
		}

		for name, maximum := range maxima {
			if st, body := a.get(admin, fmt.Sprintf("%s?%s=%d", url, name, maximum)); st == http.StatusBadRequest {
				t.Errorf("%s?%s=%d (the documented maximum): got 400 %s", path, name, maximum, body)
			}
			a.wantError(admin, fmt.Sprintf("%s?%s=%d", url, name, maximum+1), http.StatusBadRequest, "must be at most")
		}
	}
}

// TestAuditBoundsLongID: an id longer than any record's is refused (400),
// and its audit record names its first 256 bytes, not the whole path (up to
// the server's header limit: 32 KB in cmd/querysvc, 1 MB by net/http's
// default), which it held twice, as the subject id and in the description.
func TestAuditBoundsLongID(t *testing.T) {
	a := start(t, serviceOptions{index: schema.IndexPattern, es: closedPort(t)})
	alpha := token(t, "partner-a", "partner", "t-alpha")
	long := strings.Repeat("\u00e9", 32<<10) // 64 KB; a cut must not split a character
	a.wantError(alpha, "/v1/activities/"+long, 400, "id is malformed")
	rec := a.audit.Await(t, 1, 5*time.Second)[0]
	var id string
	rec.WalkAttributes(func(kv attribute.KeyValue) bool {
		if string(kv.Key) == schema.AttrSubjectID {
			id = kv.Value.AsString()
		}
		return true
	})
	if want := strings.Repeat("\u00e9", 128) + "…"; id != want {
		t.Errorf("got a subject id of %d bytes, want the first 256 and an ellipsis (%d bytes)", len(id), len(want))
	}
	if body := rec.Body().AsString(); len(body) > 1<<10 {
		t.Errorf("got a description of %d bytes, want at most 1 KB", len(body))
	}
}
