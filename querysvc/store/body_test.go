package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/elastic/go-elasticsearch/v8/typedapi/core/search"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"

	"github.com/activitylog/activitylog/internal/esclient"
	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/schema"
)

// cannedES answers every request in memory the way an empty index does. It
// is a fake on purpose: these tests are about the bytes the store sends, for
// inputs (invalid UTF-8, control characters) that are easier to produce
// without a network; what Elasticsearch makes of the requests is covered by
// the real-node tests in this package and in httpapi.
type cannedES struct{}

func (cannedES) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	body := `{"hits":{"total":{"value":0},"hits":[]}}`
	switch {
	case req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/_pit"):
		body = `{"id":"pit-1"}`
	case req.Method == http.MethodDelete:
		body = `{"succeeded":true,"num_freed":1}`
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Elastic-Product", "Elasticsearch")
	return &http.Response{StatusCode: http.StatusOK, Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
}

// checked is a Store whose every request body is compared with the typed
// API's own encoding of the same request.
type checked struct {
	*Store
	mu       sync.Mutex
	requests int
	problems []string
}

func newChecked(t testing.TB) *checked {
	t.Helper()
	es, err := esclient.Config{URLs: []string{"http://es.invalid:9200"}, Transport: cannedES{}}.Typed()
	if err != nil {
		t.Fatal(err)
	}
	c := &checked{Store: New(es)}
	sh := newShapes()
	c.encode = func(r *search.Request) ([]byte, error) {
		got, err := sh.requestBody(r)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.requests++
		if p := compareBodies(sh, r, got); p != "" {
			c.problems = append(c.problems, p)
		}
		return got, nil
	}
	return c
}

// compareBodies returns "" when got is the typed API's encoding of r up to
// key order and escaping, and was written by the one-pass encoder.
func compareBodies(sh *shapes, r *search.Request, got []byte) string {
	want, err := json.Marshal(r)
	if err != nil {
		return "typed API: " + err.Error()
	}
	g, err := decodeJSON(got)
	if err != nil {
		return "invalid JSON " + string(got) + ": " + err.Error()
	}
	w, _ := decodeJSON(want)
	if !reflect.DeepEqual(g, w) {
		return "got " + string(got) + ", want " + string(want)
	}
	e := bodyEncoder{sh: sh}
	if !e.request(r) {
		return "fell back to json.Marshal for " + string(want)
	}
	return ""
}

// decodeJSON decodes a whole JSON text, keeping numbers as written.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("trailing data")
	}
	return v, nil
}

func (c *checked) report(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.requests == 0 {
		t.Fatal("no request was encoded")
	}
	for _, p := range c.problems {
		t.Error(p)
	}
	c.problems = nil
}

// everyMethod calls every Store method with f (and f's time range, when it
// has none) as the principal in ctx.
func everyMethod(ctx context.Context, s *Store, f querysvc.Filter, after *querysvc.Position) {
	if f.From.IsZero() || f.To.IsZero() {
		f.From, f.To = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	}
	_, _ = s.Search(ctx, f, querysvc.Page{Size: 5, After: after})
	_, _ = s.Get(ctx, f.SubjectID, f.Tenant)
	for _, iv := range []querysvc.Interval{querysvc.IntervalHour, querysvc.IntervalDay, querysvc.IntervalWeek} {
		for _, split := range []string{"", schema.AttrEvent, schema.AttrCategory} {
			_, _ = s.Trends(ctx, f, iv, split)
		}
	}
	_, _ = s.Breakdown(ctx, f, schema.AttrEvent)
	_, _ = s.Breakdown(ctx, f, schema.AttrCategory)
	_, _ = s.TopUsers(ctx, f, 7)
	_, _ = s.Auth(ctx, f, 3)
	_, _ = s.Alerts(ctx, f, 50)
	for _, key := range []string{schema.AttrClientAddress, schema.AttrUserName} {
		_, _, _ = s.Bursts(ctx, f, querysvc.BurstQuery{Window: 90 * time.Second, Threshold: 5, KeyField: key})
	}
}

// TestRequestBodyMatchesTypedAPI: every request every Store method sends,
// with awkward filter values, is what the typed API would have sent, and
// none needed the slow path.
func TestRequestBodyMatchesTypedAPI(t *testing.T) {
	c := newChecked(t)
	admin := querysvc.NewContext(context.Background(), querysvc.Principal{Subject: "a", Role: querysvc.RoleAdmin})
	partner := querysvc.NewContext(context.Background(), querysvc.Principal{Subject: "p", Role: querysvc.RolePartner, Tenant: `t-"alpha"\`})
	filters := []querysvc.Filter{
		{},
		{Tenant: "t-alpha", Category: schema.CategoryAuth, Event: schema.EventLoginFailed, UserType: schema.ActorPartner,
			UserID: "usr_1", SubjectType: "reward", SubjectID: "rw_1", Outcome: schema.OutcomeFailure, IP: "198.51.100.0/24",
			Query: "free coffee"},
		{Query: `tenant.id:other OR {"match_all":{}} "quoted" \back\slash`, SubjectID: "\x00\x1f\u2028<script>&"},
		{UserID: "caf\xc3\xa9 \xff\xfe invalid", Query: "日本語 ünïcödé 🎉", IP: "2001:db8::1"},
		{From: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), To: time.Date(2026, 2, 3, 4, 5, 6, 7, time.FixedZone("x", 3600))},
	}
	after := &querysvc.Position{PIT: "pit-\"x\"", SearchAfter: []json.RawMessage{
		json.RawMessage(`"2026-10-01T00:00:00.123456789Z"`), json.RawMessage(` "id-\u00e9" `), json.RawMessage(`1.5e3`),
	}}
	for _, f := range filters {
		everyMethod(admin, c.Store, f, nil)
		everyMethod(admin, c.Store, f, after)
		f.Tenant = ""
		everyMethod(partner, c.Store, f, nil)
	}
	c.report(t)
}

// TestRequestBodyFallsBack: a request holding anything the one-pass encoder
// does not write is encoded by json.Marshal, losing nothing.
func TestRequestBodyFallsBack(t *testing.T) {
	name := "named"
	boost := float32(2)
	tests := map[string]*search.Request{
		"term with a name": {Query: &types.Query{Term: map[string]types.TermQuery{"f": {Value: "v", QueryName_: &name}}}},
		"bool with must":   {Query: &types.Query{Bool: &types.BoolQuery{Must: []types.Query{term("f", "v")}}}},
		"query kind":       {Query: &types.Query{MatchAll: &types.MatchAllQuery{Boost: &boost}}},
		"request field":    {Query: boolQuery(nil), From: ptr(10)},
		"aggregation kind": {Aggregations: map[string]types.Aggregations{"a": {Cardinality: &types.CardinalityAggregation{Field: ptr("f")}}}},
		"search after":     {SearchAfter: []types.FieldValue{struct{ X int }{1}}},
	}
	sh := newShapes()
	for name, r := range tests {
		got, err := sh.requestBody(r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, _ := json.Marshal(r)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: got %s, want %s", name, got, want)
		}
	}
}

// TestShapes: every field the encoder writes exists in the typed API (a
// renamed field would silently disable the fast path), and a set field the
// encoder does not write is seen, wherever it sits in the struct.
func TestShapes(t *testing.T) {
	sh := newShapes()
	for name, s := range map[string]shape{
		"request": sh.request, "query": sh.query, "bool": sh.boolQuery, "term": sh.term, "terms": sh.terms,
		"date range": sh.dateRange, "match": sh.match, "aggregation": sh.aggregation, "terms aggregation": sh.termsAgg,
		"date histogram": sh.dateHistogram, "sort options": sh.sortOptions, "field sort": sh.fieldSort,
	} {
		if s.broken || len(s.keep) == 0 {
			t.Errorf("%s: got a broken shape %+v", name, s)
		}
	}
	// Every other field of types.Query, set alone, is seen.
	qt := reflect.TypeFor[types.Query]()
	for i := 0; i < qt.NumField(); i++ {
		f := qt.Field(i)
		switch f.Name {
		case "Bool", "Term", "Terms", "Range", "Match":
			continue
		}
		var q types.Query
		v := reflect.ValueOf(&q).Elem().Field(i)
		switch v.Kind() {
		case reflect.Pointer:
			v.Set(reflect.New(v.Type().Elem()))
		case reflect.Map:
			v.Set(reflect.MakeMap(v.Type()))
		case reflect.Slice:
			v.Set(reflect.MakeSlice(v.Type(), 0, 1))
		case reflect.Interface:
			v.Set(reflect.ValueOf(1))
		case reflect.String:
			v.SetString("x")
		default:
			t.Fatalf("types.Query.%s: kind %s not covered by this test", f.Name, v.Kind())
		}
		if sh.query.only(unsafe.Pointer(&q)) {
			t.Errorf("types.Query with %s set: got only-written-fields, want a fall-back", f.Name)
		}
	}
	if !sh.query.only(unsafe.Pointer(&types.Query{Term: map[string]types.TermQuery{}})) {
		t.Error("types.Query with Term set: got a fall-back, want the fast path")
	}
}

// FuzzRequestBody: whatever the filter values and cursor positions, the
// store sends what the typed API would have sent, through the fast path.
func FuzzRequestBody(f *testing.F) {
	f.Add("t-alpha", "auth", "free coffee", "usr_1", "rw_1", `"2026-10-01T00:00:00Z"`, int64(0), int64(3600))
	f.Add(`t"x\`, "\x00", "tenant.id:other", "\xff", "\u2028", `1e400`, int64(-1), int64(1))
	f.Add("", "", `{"query":{"match_all":{}}}`, "", "", `[1,{"a":null}]`, int64(1<<62), int64(-1<<62))
	f.Fuzz(func(t *testing.T, tenant, category, q, user, subject, after string, from, to int64) {
		c := newChecked(t)
		ctx := querysvc.NewContext(context.Background(), querysvc.Principal{Subject: "p", Role: querysvc.RolePartner, Tenant: tenant})
		if tenant == "" {
			ctx = querysvc.NewContext(context.Background(), querysvc.Principal{Subject: "a", Role: querysvc.RoleAdmin})
		}
		f := querysvc.Filter{Category: category, Query: q, UserID: user, SubjectID: subject,
			From: time.Unix(0, from).UTC(), To: time.Unix(0, to).UTC()}
		var pos *querysvc.Position
		if json.Valid([]byte(after)) {
			pos = &querysvc.Position{PIT: tenant, SearchAfter: []json.RawMessage{json.RawMessage(after)}}
		}
		everyMethod(ctx, c.Store, f, pos)
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, p := range c.problems {
			t.Error(p)
		}
	})
}

// BenchmarkRequestBody compares the one-pass encoder with the typed API's
// json.Marshal on the requests of a listing page and of the auth summary.
func BenchmarkRequestBody(b *testing.B) {
	ctx := querysvc.NewContext(context.Background(), querysvc.Principal{Subject: "p", Role: querysvc.RolePartner, Tenant: "t-alpha"})
	filters, err := scope(ctx, querysvc.Filter{Category: schema.CategoryRewards, Query: "free coffee",
		From: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}, 0)
	if err != nil {
		b.Fatal(err)
	}
	failed := term(schema.Path(schema.AttrEvent), schema.EventLoginFailed)
	requests := map[string]*search.Request{
		"search": searchRequest(filters, "pit-id", DefaultKeepAlive, querysvc.Page{Size: 20,
			After: &querysvc.Position{PIT: "pit-id", SearchAfter: []json.RawMessage{json.RawMessage(`"2026-10-01T00:00:00Z"`), json.RawMessage(`"id-1"`)}}}),
		"auth": aggRequest(append(filters, terms(schema.Path(schema.AttrEvent), authEvents()...)), map[string]types.Aggregations{
			"events": termsAgg(schema.Path(schema.AttrEvent), termsSize, nil),
			"failed": {Filter: &failed, Aggregations: map[string]types.Aggregations{
				"ips":   termsAgg(schema.Path(schema.AttrClientAddress), 10, nil),
				"users": termsAgg(schema.Path(schema.AttrUserName), 10, nil),
			}},
		}),
	}
	sh := newShapes()
	for _, name := range []string{"search", "auth"} {
		r := requests[name]
		var typed, ours float64
		b.Run(name+"/typed", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := json.Marshal(r); err != nil {
					b.Fatal(err)
				}
			}
			typed = float64(b.Elapsed()) / float64(b.N)
		})
		b.Run(name+"/store", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := sh.requestBody(r); err != nil {
					b.Fatal(err)
				}
			}
			ours = float64(b.Elapsed()) / float64(b.N)
			if ours > 0 {
				b.ReportMetric(typed/ours, "x-faster")
			}
		})
	}
}
