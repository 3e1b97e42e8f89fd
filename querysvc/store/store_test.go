package store_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/refresh"
	"go.uber.org/goleak"

	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/querysvc/store"
	"github.com/activitylog/activitylog/schema"
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

// bodies records the body of every request sent to Elasticsearch.
type bodies struct {
	next http.RoundTripper
	mu   sync.Mutex
	sent []string
}

func (b *bodies) RoundTrip(req *http.Request) (*http.Response, error) {
	body := ""
	if req.Body != nil {
		raw, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(raw))
		body = string(raw)
	}
	b.mu.Lock()
	b.sent = append(b.sent, req.Method+" "+req.URL.Path+" "+body)
	b.mu.Unlock()
	return b.next.RoundTrip(req)
}

func (b *bodies) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.sent
	b.sent = nil
	return out
}

// calls exercises every Store method with a filter.
func calls(s *store.Store, f querysvc.Filter) map[string]func(ctx context.Context) error {
	from, to := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	f.From, f.To = from, to
	return map[string]func(ctx context.Context) error{
		"Search": func(ctx context.Context) error { _, err := s.Search(ctx, f, querysvc.Page{Size: 5}); return err },
		"Get":    func(ctx context.Context) error { _, err := s.Get(ctx, "some-id", f.Tenant); return err },
		"Trends": func(ctx context.Context) error {
			_, err := s.Trends(ctx, f, querysvc.IntervalDay, schema.AttrEvent)
			return err
		},
		"Breakdown": func(ctx context.Context) error { _, err := s.Breakdown(ctx, f, schema.AttrCategory); return err },
		"TopUsers":  func(ctx context.Context) error { _, err := s.TopUsers(ctx, f, 5); return err },
		"Auth":      func(ctx context.Context) error { _, err := s.Auth(ctx, f, 5); return err },
		"Alerts":    func(ctx context.Context) error { _, err := s.Alerts(ctx, f, 5); return err },
		"Bursts": func(ctx context.Context) error {
			_, _, err := s.Bursts(ctx, f, querysvc.BurstQuery{Window: time.Hour, Threshold: 3, KeyField: schema.AttrClientAddress})
			return err
		},
	}
}

// TestScoping: every request a partner causes carries its tenant filter;
// refused calls send nothing at all.
func TestScoping(t *testing.T) {
	estest.InstallSchema(t)
	cfg := estest.Config(t)
	rec := &bodies{next: cfg.InlineTransport()}
	cfg.Transport = rec
	es, err := cfg.Typed()
	if err != nil {
		t.Fatal(err)
	}
	// Its own, existing data stream: an empty one answers every query.
	ns := estest.Namespace(t)
	if _, err := es.Index(schema.DataStream(ns)).Raw(strings.NewReader(`{"@timestamp":"2026-10-02T00:00:00Z"}`)).Refresh(refresh.True).Do(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := store.New(es, store.WithIndex(schema.DataStream(ns)))
	tenantTerm := `{"term":{"` + schema.Path(schema.AttrTenantID) + `":{"value":"t-alpha"}}}`

	partner := querysvc.NewContext(context.Background(), querysvc.Principal{Subject: "p", Role: querysvc.RolePartner, Tenant: "t-alpha"})
	for name, call := range calls(s, querysvc.Filter{Category: schema.CategoryAuth}) {
		rec.take()
		if err := call(partner); err != nil && querysvc.ErrorCode(err) != querysvc.CodeNotFound {
			t.Fatalf("%s: %v", name, err)
		}
		sent := rec.take()
		searched := false
		for _, req := range sent {
			if strings.Contains(req, "/_search") {
				searched = true
				if !strings.Contains(req, tenantTerm) {
					t.Errorf("%s: got request %s, want the tenant filter %s", name, req, tenantTerm)
				}
			}
		}
		if !searched {
			t.Errorf("%s: got requests %v, want a search", name, sent)
		}
	}

	refused := []struct {
		name string
		ctx  context.Context
		f    querysvc.Filter
		code string
	}{
		{"no principal", context.Background(), querysvc.Filter{}, querysvc.CodeUnauthorized},
		{"partner asks another tenant", partner, querysvc.Filter{Tenant: "t-beta"}, querysvc.CodeForbidden},
		{"partner without tenant", querysvc.NewContext(context.Background(), querysvc.Principal{Subject: "p", Role: querysvc.RolePartner}), querysvc.Filter{}, querysvc.CodeForbidden},
		{"staff", querysvc.NewContext(context.Background(), querysvc.Principal{Subject: "s", Role: querysvc.RoleStaff, Tenant: "t-alpha"}), querysvc.Filter{}, querysvc.CodeForbidden},
		{"customer", querysvc.NewContext(context.Background(), querysvc.Principal{Subject: "c", Role: querysvc.RoleCustomer}), querysvc.Filter{}, querysvc.CodeForbidden},
		{"unknown role", querysvc.NewContext(context.Background(), querysvc.Principal{Subject: "x", Role: "root"}), querysvc.Filter{}, querysvc.CodeForbidden},
	}
	for _, r := range refused {
		for name, call := range calls(s, r.f) {
			if name == "Get" && r.f.Tenant != "" {
				continue // Get takes no filter
			}
			rec.take()
			err := call(r.ctx)
			if got := querysvc.ErrorCode(err); got != r.code {
				t.Errorf("%s %s: got %v (%s), want %s", r.name, name, err, got, r.code)
			}
			if sent := rec.take(); len(sent) != 0 {
				t.Errorf("%s %s: got requests %v, want none", r.name, name, sent)
			}
		}
	}

	// An admin's queries carry no tenant filter unless asked for one.
	admin := querysvc.NewContext(context.Background(), querysvc.Principal{Subject: "a", Role: querysvc.RoleAdmin})
	rec.take()
	if _, err := s.Breakdown(admin, querysvc.Filter{}, schema.AttrEvent); err != nil {
		t.Fatal(err)
	}
	if sent := rec.take(); len(sent) != 1 || strings.Contains(sent[0], schema.Path(schema.AttrTenantID)) {
		t.Errorf("admin: got %v, want one unfiltered search", sent)
	}
	if _, err := s.Breakdown(admin, querysvc.Filter{Tenant: "t-beta"}, schema.AttrEvent); err != nil {
		t.Fatal(err)
	}
	if sent := rec.take(); len(sent) != 1 || !strings.Contains(sent[0], `"value":"t-beta"`) {
		t.Errorf("admin with tenant: got %v, want the t-beta filter", sent)
	}
}

// TestPartialResultsRefused: when some shards fail (here an index another
// writer mapped differently; in production a node down), Elasticsearch
// answers 200 with the counts of the other shards. The store must fail
// rather than return numbers short of records.
func TestPartialResultsRefused(t *testing.T) {
	es := estest.Client(t)
	ctx := context.Background()
	prefix := "partial-" + estest.Namespace(t)
	field := schema.Path(schema.AttrEvent)
	for _, ix := range []struct{ name, typ string }{{prefix + "-keyword", "keyword"}, {prefix + "-text", "text"}} {
		mapping := `{"mappings":{"properties":{"@timestamp":{"type":"date_nanos"},"` + field + `":{"type":"` + ix.typ + `"}}}}`
		if _, err := es.Indices.Create(ix.name).Raw(strings.NewReader(mapping)).Do(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = es.Indices.Delete(ix.name).Do(context.Background()) })
		doc := `{"@timestamp":"2026-10-02T00:00:00Z","` + field + `":"login"}`
		if _, err := es.Index(ix.name).Raw(strings.NewReader(doc)).Refresh(refresh.True).Do(ctx); err != nil {
			t.Fatal(err)
		}
	}
	s := store.New(es, store.WithIndex(prefix+"-*"))
	admin := querysvc.NewContext(ctx, querysvc.Principal{Subject: "a", Role: querysvc.RoleAdmin})
	b, err := s.Breakdown(admin, querysvc.Filter{}, schema.AttrEvent)
	if err == nil {
		t.Errorf("got %+v and no error, want an error (one of the two indices failed)", b)
	}
}
