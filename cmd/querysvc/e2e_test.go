package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/activitylog/activitylog/internal/collectortest"
	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/schema"
)

// TestAuditEndToEnd runs the real collector and the real service: a
// partner's read is recorded through instrumentation/otlp, the collector
// writes it to Elasticsearch, and an admin then finds it through the API.
func TestAuditEndToEnd(t *testing.T) {
	estest.InstallSchema(t)
	ns := estest.Namespace(t)
	col := collectortest.Start(t, collectortest.Options{Namespace: ns})
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+col.HTTPEndpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", col.HeadersEnv())
	addr := freeAddr(t)
	env := map[string]string{
		"ES_URL": estest.URL(t), "QUERYSVC_ADDR": addr, "QUERYSVC_JWT_SECRET": testSecret, "ACTIVITY_NAMESPACE": ns,
	}
	getenv := func(k string) string { return env[k] }
	mint := minter(t, getenv)
	partner, admin := mint("-role", "partner", "-tenant", "t-alpha", "-sub", "partner-7", "-name", "Pat"), mint("-role", "admin", "-sub", "admin-1")

	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, getenv, &out) }()
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	get := func(tok, path string) (int, []byte) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			return 0, []byte(err.Error())
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, _ := get(partner, "/healthz"); st == 200 {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server did not come up:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The partner's read (its data stream is still empty: an empty answer or 503 is fine).
	get(partner, "/v1/analytics/events?category=rewards")
	n := collectortest.WaitForCount(t, estest.URL(t), schema.DataStream(ns), 1, 30*time.Second)
	if n < 1 {
		cancel()
		<-done
		t.Fatalf("got %d records in %s, want the audit record", n, schema.DataStream(ns))
	}
	st, body := get(admin, "/v1/activities?category=audit&event=viewed&user_id=partner-7")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	if st != 200 {
		t.Fatalf("admin search: got %d %s", st, body)
	}
	var page struct {
		Activities []struct {
			Description string    `json:"description"`
			Category    string    `json:"category"`
			Timestamp   time.Time `json:"timestamp"`
			Actor       struct{ ID, Type, Name string }
			Tenant      struct{ ID string }
		} `json:"activities"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Activities) != 1 {
		t.Fatalf("got %d audit records, want 1: %s", len(page.Activities), body)
	}
	a := page.Activities[0]
	if a.Actor.ID != "partner-7" || a.Actor.Type != schema.ActorPartner || a.Tenant.ID != "t-alpha" ||
		!strings.Contains(a.Description, "/v1/analytics/events") || !strings.Contains(a.Description, `category="rewards"`) {
		t.Errorf("got audit record %+v, want partner-7 (Partner, t-alpha) viewing /v1/analytics/events with category=rewards", a)
	}
	// The exporter writes @timestamp as epoch milliseconds with a fraction;
	// the service must read it back as the time the read happened.
	if age := time.Since(a.Timestamp); age < 0 || age > 5*time.Minute {
		t.Errorf("got audit record timestamp %v, want within minutes of now", a.Timestamp)
	}
}

// TestAuditSurvivesMalformedID: a record id that is not UTF-8 (sent
// percent-encoded, here by a staff member who is refused anyway) must not
// cost the audit trail anything. OTLP carries strings as protobuf strings,
// which must be UTF-8: a record holding the raw id fails the export of its
// whole batch, so the reads recorded beside it were lost too.
func TestAuditSurvivesMalformedID(t *testing.T) {
	estest.InstallSchema(t)
	var records atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := plogotlp.NewExportRequest()
		if err := req.UnmarshalProto(b); err != nil {
			t.Errorf("OTLP receiver: %v", err)
		}
		records.Add(int64(req.Logs().LogRecordCount()))
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer receiver.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	addr := freeAddr(t)
	env := map[string]string{"ES_URL": estest.URL(t), "QUERYSVC_ADDR": addr, "QUERYSVC_JWT_SECRET": testSecret}
	getenv := func(k string) string { return env[k] }
	mint := minter(t, getenv)
	admin, staff := mint("-role", "admin", "-sub", "admin-1"), mint("-role", "staff", "-sub", "staff-1")

	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, getenv, &out) }()
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	get := func(tok, path string) int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for deadline := time.Now().Add(10 * time.Second); get("", "/healthz") != 200; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server did not come up:\n%s", out.String())
		}
	}
	get(admin, "/v1/analytics/events")
	if st := get(staff, "/v1/activities/%FF%FE"); st != http.StatusForbidden {
		t.Errorf("staff reading a record: got %d, want 403", st)
	}
	get(admin, "/v1/analytics/categories")
	client.CloseIdleConnections()
	cancel() // shutting down flushes the audit records
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if n := records.Load(); n != 3 {
		t.Errorf("got %d audit records at the collector, want 3", n)
	}
}

// minter returns a function that mints a token with "querysvc token" and
// the arguments, under getenv's secret.
func minter(t *testing.T, getenv func(string) string) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		var b bytes.Buffer
		if err := run(context.Background(), append([]string{"token"}, args...), getenv, &b); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(b.String())
	}
}
