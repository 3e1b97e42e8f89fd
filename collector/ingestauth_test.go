package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/instrumentation/otlp"
	"github.com/activitylog/activitylog/internal/collectortest"
	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/schema"
)

// postEmpty sends an empty OTLP/HTTP export request with the given
// Authorization header ("" sends none) and returns the status code: enough
// to see whether the receiver lets a request through, without writing
// anything.
func postEmpty(t *testing.T, col *collectortest.Collector, authorization string) int {
	t.Helper()
	return postJSON(t, col, authorization, `{"resourceLogs":[]}`)
}

// postJSON sends an OTLP/HTTP JSON export request with the given
// Authorization header ("" sends none) and returns the status code.
func postJSON(t *testing.T, col *collectortest.Collector, authorization, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+col.HTTPEndpoint+"/v1/logs", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST /v1/logs: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestIngestRequiresToken proves that the collector takes records only from
// an emitter that holds its ingest token: over gRPC and HTTP, a request
// without it or with another token is refused, and nothing it carried
// reaches Elasticsearch, while the same records with the token all arrive.
func TestIngestRequiresToken(t *testing.T) {
	estest.InstallSchema(t)
	ns := estest.Namespace(t)
	col := collectortest.Start(t, collectortest.Options{Namespace: ns})

	for _, tt := range []struct{ name, authorization string }{
		{"no header", ""},
		{"another token", "Bearer " + collectortest.NewToken(t)},
		{"token without its scheme", col.Token},
		{"token with another scheme", "Basic " + col.Token},
		{"token with a prefix of it", "Bearer " + col.Token[:len(col.Token)-1]},
	} {
		if got := postEmpty(t, col, tt.authorization); got != http.StatusUnauthorized {
			t.Errorf("HTTP, %s: got status %d, want 401", tt.name, got)
		}
	}
	if got := postEmpty(t, col, "Bearer "+col.Token); got != http.StatusOK {
		t.Fatalf("HTTP with the token: got status %d, want 200", got)
	}

	// Records sent through the library over gRPC: without the token and
	// with another one, every export fails; with it, every record arrives.
	const refused, accepted = 30, 40
	send := func(n int, headers map[string]string) otlp.Stats {
		opts := []otlp.Option{otlp.WithExportTimeout(5 * time.Second)}
		if headers != nil {
			opts = append(opts, otlp.WithHeaders(headers))
		}
		provider := newProvider(t, col, opts...)
		emitBatch(t, instrumentation.New(provider), n)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = provider.Shutdown(ctx)
		return provider.Stats()
	}
	for name, headers := range map[string]map[string]string{
		"no token":      {},
		"another token": {"Authorization": "Bearer " + collectortest.NewToken(t)},
	} {
		if st := send(refused, headers); st.Exported != 0 || st.Failed != refused {
			t.Errorf("gRPC, %s: got stats %+v, want all %d failed", name, st, refused)
		}
	}
	if st := send(accepted, col.Headers()); st.Exported != accepted {
		t.Fatalf("gRPC with the token: got stats %+v, want all %d exported", st, accepted)
	}
	stream := schema.DataStream(ns)
	if got := collectortest.WaitForCount(t, estest.URL(t), stream, accepted, 60*time.Second); got != accepted {
		t.Fatalf("got %d documents in %s, want exactly the %d sent with the token", got, stream, accepted)
	}
}

// startFails runs the collector with otelcol-config.yaml and the further
// configs, on free loopback ports and with env added, expects it to exit
// with a start-up error, and returns what it printed.
func startFails(t *testing.T, env []string, configs ...string) string {
	t.Helper()
	root := estest.RepoRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{"--config", filepath.Join(root, "otelcol-config.yaml")}
	for _, c := range configs {
		args = append(args, "--config", filepath.Join(root, c))
	}
	cmd := exec.CommandContext(ctx, collectortest.Binary(t), args...)
	cmd.Env = append(append(os.Environ(),
		"ACTIVITYCOL_STORAGE_DIR="+t.TempDir(),
		"OTLP_GRPC_ENDPOINT="+collectortest.FreePort(t), "OTLP_HTTP_ENDPOINT="+collectortest.FreePort(t),
		"ACTIVITYCOL_HEALTH_ENDPOINT="+collectortest.FreePort(t), "ACTIVITYCOL_METRICS_HOST=127.0.0.1"), env...)
	out, err := cmd.CombinedOutput()
	if err == nil || ctx.Err() != nil {
		t.Fatalf("got exit %v (context %v), want a start-up error\n%s", err, ctx.Err(), out)
	}
	return string(out)
}

// TestCollectorRefusesToStartWithoutToken proves there is no unauthenticated
// mode: with neither ACTIVITYCOL_INGEST_TOKEN nor ACTIVITYCOL_INGEST_TOKEN_FILE
// set, the collector exits at once and says why.
func TestCollectorRefusesToStartWithoutToken(t *testing.T) {
	out := startFails(t, []string{"ACTIVITYCOL_INGEST_TOKEN=", "ACTIVITYCOL_INGEST_TOKEN_FILE="})
	if !strings.Contains(out, "ingestauth: no bearer token provided") {
		t.Errorf("got output\n%s\nwant it to name the missing ingest token", out)
	}
}

// TestIngestTokenFileRotation proves the rotation the configuration
// documents: ACTIVITYCOL_INGEST_TOKEN_FILE lists the tokens, one per line,
// and is read again when it changes, without a restart; and that a comment
// line written into it later lets nobody in.
func TestIngestTokenFileRotation(t *testing.T) {
	old, next := collectortest.NewToken(t), collectortest.NewToken(t)
	file := filepath.Join(t.TempDir(), "ingest-tokens")
	if err := os.WriteFile(file, []byte(old+" loyalty-api, until the rotation\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	col := collectortest.Start(t, collectortest.Options{Env: map[string]string{
		"ACTIVITYCOL_INGEST_TOKEN": "", "ACTIVITYCOL_INGEST_TOKEN_FILE": file,
	}})
	if got := postEmpty(t, col, "Bearer "+old); got != http.StatusOK {
		t.Fatalf("token from the file: got status %d, want 200", got)
	}
	if got := postEmpty(t, col, "Bearer "+next); got != http.StatusUnauthorized {
		t.Fatalf("token not in the file yet: got status %d, want 401", got)
	}

	// Both during the move, then only the new one.
	for _, step := range []struct {
		content      string
		okOld, okNew bool
	}{
		{old + "\n" + next + "\n", true, true},
		{next + "\n", false, true},
	} {
		if err := os.WriteFile(file, []byte(step.content), 0o600); err != nil {
			t.Fatal(err)
		}
		want := func(ok bool) int {
			if ok {
				return http.StatusOK
			}
			return http.StatusUnauthorized
		}
		var gotOld, gotNew int
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			gotOld, gotNew = postEmpty(t, col, "Bearer "+old), postEmpty(t, col, "Bearer "+next)
			if gotOld == want(step.okOld) && gotNew == want(step.okNew) {
				break
			}
		}
		if gotOld != want(step.okOld) || gotNew != want(step.okNew) {
			t.Fatalf("file %q: got old token %d, new token %d, want %d and %d", step.content, gotOld, gotNew, want(step.okOld), want(step.okNew))
		}
	}

	// A comment line written into the file later: the contrib extension
	// reads its first word, "#", as a token; the collector still refuses it.
	third := collectortest.NewToken(t)
	if err := os.WriteFile(file, []byte("# ingest tokens, one per line\n"+third+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); postEmpty(t, col, "Bearer "+third) != http.StatusOK; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the token file was not read again within 20 s")
		}
	}
	if got := postEmpty(t, col, "Bearer #"); got != http.StatusUnauthorized {
		t.Errorf(`"Bearer #" with a comment line in the token file: got status %d, want 401`, got)
	}
}

// recordsJSON is an OTLP/JSON export request of one record for each tenant.
func recordsJSON(tenants ...string) string {
	var records []string
	for _, tenant := range tenants {
		records = append(records, fmt.Sprintf(`{"timeUnixNano":"%d","eventName":"activity.created","attributes":[`+
			`{"key":"activity.id","value":{"stringValue":%q}},`+
			`{"key":"activity.event","value":{"stringValue":"created"}},`+
			`{"key":"activity.tenant.id","value":{"stringValue":%q}}]}`,
			time.Now().UnixNano(), uuid.NewString(), tenant))
	}
	return `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"loyalty-api"}}]},` +
		`"scopeLogs":[{"logRecords":[` + strings.Join(records, ",") + `]}]}]}`
}

// postRecords sends, over OTLP/HTTP with the token, one record for each
// tenant, and returns the status code.
func postRecords(t *testing.T, col *collectortest.Collector, token string, tenants ...string) int {
	t.Helper()
	return postJSON(t, col, "Bearer "+token, recordsJSON(tenants...))
}

// TestIngestTokenTenants proves that a token bound to a tenant in the token
// file ("<token> tenants=acme") writes only that tenant's records: its
// record for another tenant never reaches Elasticsearch, while a token
// without a binding writes both.
func TestIngestTokenTenants(t *testing.T) {
	estest.InstallSchema(t)
	ns := estest.Namespace(t)
	tokA, tokB := collectortest.NewToken(t), collectortest.NewToken(t)
	file := filepath.Join(t.TempDir(), "ingest-tokens")
	if err := os.WriteFile(file, []byte(tokA+" tenants=acme loyalty-api\n"+tokB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	col := collectortest.Start(t, collectortest.Options{Namespace: ns, Env: map[string]string{
		"ACTIVITYCOL_INGEST_TOKEN": "", "ACTIVITYCOL_INGEST_TOKEN_FILE": file,
	}})
	for _, tok := range []string{tokA, tokB} {
		if got := postRecords(t, col, tok, "acme", "bean-there"); got != http.StatusOK {
			t.Fatalf("POST with a token from the file: got status %d, want 200", got)
		}
	}
	checkBoundAndUnbound(t, ns)
}

// exportRecords sends, over OTLP/gRPC with the token, one record for each
// tenant.
func exportRecords(t *testing.T, col *collectortest.Collector, token string, tenants ...string) error {
	t.Helper()
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalJSON([]byte(recordsJSON(tenants...))); err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(col.GRPCEndpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	_, err = plogotlp.NewGRPCClient(conn).Export(ctx, req)
	return err
}

// TestIngestTokenTenantsGRPC proves that the binding holds over OTLP/gRPC as
// over OTLP/HTTP: the gRPC receiver hands the processor the context the
// authenticator tagged, so a bound token's record for another tenant is
// dropped there too.
func TestIngestTokenTenantsGRPC(t *testing.T) {
	estest.InstallSchema(t)
	ns := estest.Namespace(t)
	tokA, tokB := collectortest.NewToken(t), collectortest.NewToken(t)
	file := filepath.Join(t.TempDir(), "ingest-tokens")
	if err := os.WriteFile(file, []byte(tokA+" tenants=ACME\n"+tokB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	col := collectortest.Start(t, collectortest.Options{Namespace: ns, Env: map[string]string{
		"ACTIVITYCOL_INGEST_TOKEN": "", "ACTIVITYCOL_INGEST_TOKEN_FILE": file,
	}})
	for _, tok := range []string{tokA, tokB} {
		if err := exportRecords(t, col, tok, " Acme ", "bean-there"); err != nil {
			t.Fatalf("gRPC export with a token from the file: %v", err)
		}
	}
	checkBoundAndUnbound(t, ns)
}

// checkBoundAndUnbound checks what a token bound to acme and an unbound one,
// each sending a record for acme and one for bean-there, left in ns: acme's
// from both, bean-there's from the unbound one.
func checkBoundAndUnbound(t *testing.T, ns string) {
	t.Helper()
	stream := schema.DataStream(ns)
	if got := collectortest.WaitForCount(t, estest.URL(t), stream, 3, 60*time.Second); got != 3 {
		t.Fatalf("got %d documents in %s, want 3 (acme's from both tokens, bean-there's from the unbound one)", got, stream)
	}
	for tenant, want := range map[string]int{"acme": 2, "bean-there": 1} {
		got, err := collectortest.Count(context.Background(), estest.URL(t), stream, schema.AttrTenantID+":"+tenant)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("got %d documents of %s, want %d", got, tenant, want)
		}
	}
}

// batchFirst is a configuration overlay that puts the batch processor before
// activity: batch hands activity a context without the request's client.Info.
const batchFirst = `processors:
  batch:
    timeout: 200ms
service:
  pipelines:
    logs:
      processors: [memory_limiter, batch, activity]
`

// droppedUnauthenticated returns the collector's
// records_dropped{reason="unauthenticated"} counter, read from its
// Prometheus endpoint (0 while absent).
func droppedUnauthenticated(t *testing.T, metricsAddr string) float64 {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	s := bufio.NewScanner(resp.Body)
	for s.Scan() {
		line := s.Text()
		if !strings.HasPrefix(line, "otelcol_processor_activity_records_dropped") ||
			!strings.Contains(line, `reason="unauthenticated"`) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		return v
	}
	return 0
}

// TestIngestTokenTenantsBehindBatch proves that the tenant binding fails
// closed when a processor before activity drops the request's client.Info:
// with batch first, a token bound to acme sending a record for acme and one
// for bean-there stores neither (the shipped require_ingest_auth refuses a
// batch that does not carry the authenticator's mark), and the drop is
// counted as unauthenticated and logged with its likely cause. Without the
// mark check, the processor took the batch for an unbound token's and
// stored both.
func TestIngestTokenTenantsBehindBatch(t *testing.T) {
	estest.InstallSchema(t)
	ns := estest.Namespace(t)
	tok := collectortest.NewToken(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "ingest-tokens")
	if err := os.WriteFile(file, []byte(tok+" tenants=acme\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	overlay := filepath.Join(dir, "batch-first.yaml")
	if err := os.WriteFile(overlay, []byte(batchFirst), 0o600); err != nil {
		t.Fatal(err)
	}
	// Options.Configs are relative to the repository root.
	rel, err := filepath.Rel(estest.RepoRoot(t), overlay)
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := collectortest.FreePort(t)
	_, metricsPort, _ := net.SplitHostPort(metricsAddr)
	col := collectortest.Start(t, collectortest.Options{Namespace: ns, Configs: []string{rel}, Env: map[string]string{
		"ACTIVITYCOL_INGEST_TOKEN": "", "ACTIVITYCOL_INGEST_TOKEN_FILE": file, "ACTIVITYCOL_METRICS_PORT": metricsPort,
	}})
	// batch answers the client before activity sees the records.
	if got := postRecords(t, col, tok, "acme", "bean-there"); got != http.StatusOK {
		t.Fatalf("POST with the bound token: got status %d, want 200", got)
	}

	stream := schema.DataStream(ns)
	count := func() int {
		n, err := collectortest.Count(context.Background(), estest.URL(t), stream, "")
		if err != nil {
			return 0 // the data stream does not exist until a record is stored
		}
		return n
	}
	var dropped float64
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if dropped = droppedUnauthenticated(t, metricsAddr); dropped > 0 || count() > 0 {
			break
		}
	}
	// Time for anything let through to reach Elasticsearch (the exporter
	// flushes every 200 ms in tests).
	time.Sleep(2 * time.Second)
	if got := count(); got != 0 {
		t.Errorf("got %d documents in %s, want none (the batch lost the token's binding)", got, stream)
	}
	if dropped != 2 {
		t.Errorf("got records_dropped{reason=\"unauthenticated\"} %v, want 2", dropped)
	}
	if !strings.Contains(col.Log(), "put activity first") {
		t.Errorf("the collector's log does not name the cause (\"put activity first\")")
	}
}
