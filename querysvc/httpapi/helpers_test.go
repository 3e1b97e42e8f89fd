package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/go-jose/go-jose/v4"
	"go.uber.org/goleak"

	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/internal/logtest"
	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/querysvc/audit"
	"github.com/activitylog/activitylog/querysvc/auth"
	"github.com/activitylog/activitylog/querysvc/httpapi"
	"github.com/activitylog/activitylog/querysvc/internal/seed"
	"github.com/activitylog/activitylog/querysvc/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Idle keep-alive connections of the Elasticsearch client's pooled transport.
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
		// The inline transport's pool closes idle connections from a
		// goroutine that sleeps between rounds.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
	)
}

// Seed parameters: 10,000 records over 30 days before now.
const (
	seedCount = 10000
	seedValue = 20261126
)

var (
	seedStart = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	seedSpan  = 30 * 24 * time.Hour
	testNow   = seedStart.Add(seedSpan)
	secret    = []byte("test-secret-test-secret-test-secret!")
	// cursorKey seals the cursors of the services the tests start, so that
	// a test can read the point in time one carries (httpapi.CursorPIT).
	cursorKey = []byte("test-cursor-key-test-cursor-key!")
)

// fixture is the seeded data stream shared by the tests of this package.
type fixture struct {
	ns   string
	recs []seed.Record
}

var shared struct {
	once sync.Once
	fx   fixture
	err  error
}

func seeded(t *testing.T) fixture {
	t.Helper()
	estest.InstallSchema(t)
	es := estest.Client(t)
	shared.once.Do(func() {
		ns := estest.Namespace(t)
		recs := seed.Generate(seedValue, seedCount, seedStart, seedSpan)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		shared.err = seed.Index(ctx, es, ns, recs, 2)
		shared.fx = fixture{ns: ns, recs: recs}
	})
	if shared.err != nil {
		t.Fatalf("seed: %v", shared.err)
	}
	return shared.fx
}

// api is a running service over real sockets whose every response is
// validated against the OpenAPI document.
type api struct {
	t      *testing.T
	url    string
	client *http.Client
	router routers.Router
	doc    *openapi3.T
	audit  *logtest.Exporter
}

type serviceOptions struct {
	index string
	es    string // Elasticsearch URL; "" means the test node
	opts  []httpapi.Option
	wrap  func(http.Handler) http.Handler
}

func start(t *testing.T, so serviceOptions) *api {
	t.Helper()
	var s *store.Store
	if so.es != "" {
		es, err := elasticClient(so.es)
		if err != nil {
			t.Fatal(err)
		}
		s = store.New(es, store.WithIndex(so.index))
	} else {
		// The service's own client (esclient.Config.Reader).
		es, err := estest.Config(t).Reader()
		if err != nil {
			t.Fatal(err)
		}
		s = store.New(es, store.WithIndex(so.index))
	}
	v, err := auth.New(auth.Config{HS256Secret: secret, Issuer: "test-idp", Audience: "activitylog",
		Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	lp, mem := logtest.NewProvider(t)
	opts := append([]httpapi.Option{
		httpapi.WithAuditor(audit.New(lp)),
		httpapi.WithClock(func() time.Time { return testNow }),
		httpapi.WithRateLimit(0, 0),
		httpapi.WithLogger(slog.New(slog.DiscardHandler)),
		httpapi.WithCursorKey(cursorKey),
	}, so.opts...)
	h, err := httpapi.New(s, v, opts...)
	if err != nil {
		t.Fatal(err)
	}
	var handler http.Handler = h
	if so.wrap != nil {
		handler = so.wrap(h)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPI)
	if err != nil {
		t.Fatalf("load OpenAPI document: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("OpenAPI document is invalid: %v", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	client := srv.Client()
	t.Cleanup(client.CloseIdleConnections)
	return &api{t: t, url: srv.URL, client: client, router: router, doc: doc, audit: mem}
}

// token mints a token for role (and tenant) valid at testNow.
func token(t testing.TB, sub, role, tenant string) string {
	t.Helper()
	s, err := auth.Sign(jose.HS256, secret, auth.Token{Subject: sub, Role: role, Tenant: tenant,
		Issuer: "test-idp", Audience: "activitylog", IssuedAt: testNow.Add(-time.Minute), Expiry: testNow.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// get calls the service, validates the response against the OpenAPI
// document and returns the status and body.
func (a *api) get(tok, pathQuery string, header ...string) (int, []byte) {
	a.t.Helper()
	req, err := http.NewRequest(http.MethodGet, a.url+pathQuery, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	a.validate(req, resp, body)
	return resp.StatusCode, body
}

func (a *api) validate(req *http.Request, resp *http.Response, body []byte) {
	a.t.Helper()
	// The router matches on the document's server ("/"), so route by path only.
	rreq := req.Clone(context.Background())
	rreq.URL.Scheme, rreq.URL.Host, rreq.Host = "", "", ""
	route, params, err := a.router.FindRoute(rreq)
	if err != nil {
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
			// No operation describes a path or method the API does not
			// have; its answer must still be the document's Error.
			var v any
			schema := a.doc.Components.Schemas["Error"].Value
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				a.t.Errorf("%s %s: got Content-Type %q, want application/json", req.Method, req.URL.Path, ct)
			} else if err := json.Unmarshal(body, &v); err != nil {
				a.t.Errorf("%s %s: got body %s, want the error shape", req.Method, req.URL.Path, body)
			} else if err := schema.VisitJSON(v); err != nil {
				a.t.Errorf("%s %s: body %s does not match the Error schema: %v", req.Method, req.URL.Path, body, err)
			}
			return
		}
		a.t.Fatalf("%s: no route in the OpenAPI document: %v", req.URL.Path, err)
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: rreq, PathParams: params, Route: route, Options: opts},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                opts,
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		a.t.Errorf("%s %d: response does not match the OpenAPI document: %v\nbody: %.500s", req.URL.String(), resp.StatusCode, err, body)
	}
}

// getJSON calls the service, requires status want and decodes the body into v.
func (a *api) getJSON(tok, pathQuery string, want int, v any) {
	a.t.Helper()
	st, body := a.get(tok, pathQuery)
	if st != want {
		a.t.Fatalf("GET %s: got status %d, want %d; body %s", pathQuery, st, want, body)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			a.t.Fatalf("GET %s: decode: %v", pathQuery, err)
		}
	}
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// wantError requires status and an error body whose message contains substr.
func (a *api) wantError(tok, pathQuery string, status int, substr string) {
	a.t.Helper()
	st, body := a.get(tok, pathQuery)
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil {
		a.t.Fatalf("GET %s: got body %s, want an error body", pathQuery, body)
	}
	if st != status || !strings.Contains(e.Error.Message, substr) {
		a.t.Errorf("GET %s: got %d %q, want %d with a message containing %q", pathQuery, st, e.Error.Message, status, substr)
	}
}

// ---- the independent computation over the seeded records ----

// match reports whether r passes f for a principal scoped to scope ("" = all).
func match(r seed.Record, scope string, f querysvc.Filter) bool {
	tenant := scope
	if tenant == "" {
		tenant = f.Tenant
	}
	switch {
	case tenant != "" && r.Tenant != tenant,
		f.Category != "" && r.Category != f.Category,
		f.Event != "" && r.Event != f.Event,
		f.UserType != "" && r.ActorType != f.UserType,
		f.UserID != "" && r.UserID != f.UserID,
		f.SubjectType != "" && r.SubjectType != f.SubjectType,
		f.SubjectID != "" && r.SubjectID != f.SubjectID,
		f.Outcome != "" && r.Outcome != f.Outcome,
		!f.From.IsZero() && r.Time.Before(f.From),
		!f.To.IsZero() && !r.Time.Before(f.To):
		return false
	}
	if f.IP != "" {
		addr, err := netip.ParseAddr(r.IP)
		if err != nil {
			return false
		}
		if p, err := netip.ParsePrefix(f.IP); err == nil {
			if !p.Contains(addr) {
				return false
			}
		} else if r.IP != f.IP {
			return false
		}
	}
	if f.Query != "" {
		words := tokens(r.Description)
		for _, w := range tokens(f.Query) {
			if !slices.Contains(words, w) {
				return false
			}
		}
	}
	return true
}

// tokens splits text the way Elasticsearch's standard analyzer does for the
// plain words used in the seeded descriptions: lowercase letter/digit runs.
func tokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

func selectRecs(recs []seed.Record, scope string, f querysvc.Filter) []seed.Record {
	var out []seed.Record
	for _, r := range recs {
		if match(r, scope, f) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.After(out[j].Time)
		}
		return out[i].ID > out[j].ID
	})
	return out
}

func ids(recs []seed.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

// countBy counts records by key, ordered as a terms aggregation orders its
// buckets (count descending, then key ascending), keeping at most n (0 = all)
// and skipping empty keys. Keys that are all IP addresses (an ip field, such
// as client.address) tie in address order, as Elasticsearch orders them
// (10.0.0.9 before 10.0.0.10), not in text order.
func countBy(recs []seed.Record, key func(seed.Record) string, n int) []querysvc.Count {
	m := map[string]int64{}
	ips := true
	for _, r := range recs {
		if k := key(r); k != "" {
			m[k]++
			if _, err := netip.ParseAddr(k); err != nil {
				ips = false
			}
		}
	}
	out := make([]querysvc.Count, 0, len(m))
	for k, c := range m {
		out = append(out, querysvc.Count{Key: k, Count: c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		if ips {
			a, b := netip.MustParseAddr(out[i].Key).As16(), netip.MustParseAddr(out[j].Key).As16()
			return bytes.Compare(a[:], b[:]) < 0
		}
		return out[i].Key < out[j].Key
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// query renders a filter (and extra parameters) as a query string.
func query(f querysvc.Filter, extra ...string) string {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("tenant", f.Tenant)
	set("q", f.Query)
	set("category", f.Category)
	set("event", f.Event)
	set("user_type", f.UserType)
	set("user_id", f.UserID)
	set("subject_type", f.SubjectType)
	set("subject_id", f.SubjectID)
	set("outcome", f.Outcome)
	set("ip", f.IP)
	if !f.From.IsZero() {
		v.Set("from", f.From.Format(time.RFC3339Nano))
	}
	if !f.To.IsZero() {
		v.Set("to", f.To.Format(time.RFC3339Nano))
	}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

func jsonEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Errorf("%s:\n got %.1500s\nwant %.1500s", what, g, w)
	}
}
