package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/instrumentation/otlp"
	"github.com/activitylog/activitylog/internal/collectortest"
	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/schema"
)

// These tests run the real activitycol binary (built from this folder, with
// the shipped otelcol-config.yaml) against a real Elasticsearch node, and send
// records through the instrumentation library over OTLP/gRPC.

type reward struct {
	Title  string
	Points int
	Active bool
}

// emitBatch records n actions through rec: creates, updates, deletes and
// logins across three tenants, every one from its own client address so that
// no failed-login detector is involved. It returns how many records each
// tenant should hold.
func emitBatch(t *testing.T, rec *instrumentation.Recorder, n int) map[string]int {
	t.Helper()
	perTenant := map[string]int{}
	for i := range n {
		tenant := instrumentation.Tenant{ID: fmt.Sprintf("partner-%d", i%3), Name: fmt.Sprintf("Partner %d", i%3)}
		ctx := instrumentation.WithTenant(context.Background(), tenant)
		ctx = instrumentation.WithActor(ctx, instrumentation.Actor{ID: fmt.Sprintf("u%d", i%7), Name: "Jane Doe", Type: instrumentation.ActorType(schema.ActorPartner)})
		ctx = instrumentation.WithRequest(ctx, instrumentation.Request{
			ClientAddress: fmt.Sprintf("10.0.%d.%d", i/250, i%250+1),
			UserAgent:     "e2e-test/1.0",
			ID:            fmt.Sprintf("req-%d", i),
		})
		subject := instrumentation.Subject{Category: instrumentation.Rewards, Type: "reward", ID: fmt.Sprintf("r%d", i), Name: "Free coffee"}
		var err error
		switch i % 4 {
		case 0:
			err = rec.Created(ctx, subject, reward{Title: "Free coffee", Points: 10, Active: true})
		case 1:
			err = rec.Updated(ctx, subject, reward{Title: "Free coffee", Points: 10, Active: true}, reward{Title: "Free coffee", Points: 12, Active: false})
		case 2:
			err = rec.Deleted(ctx, subject, reward{Title: "Free coffee", Points: 12})
		case 3:
			err = rec.Login(ctx, instrumentation.Actor{ID: fmt.Sprintf("u%d", i%7), Name: "Jane Doe", Type: instrumentation.ActorType(schema.ActorPartner)})
		}
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		perTenant[tenant.ID]++
	}
	return perTenant
}

func newProvider(t *testing.T, col *collectortest.Collector, opts ...otlp.Option) *otlp.Provider {
	t.Helper()
	opts = append([]otlp.Option{
		otlp.WithEndpoint(col.GRPCEndpoint),
		otlp.WithInsecure(),
		otlp.WithHeaders(col.Headers()),
		otlp.WithServiceName("e2e"),
		otlp.WithExportInterval(100 * time.Millisecond),
	}, opts...)
	p, err := otlp.NewProvider(context.Background(), opts...)
	if err != nil {
		t.Fatalf("otlp provider: %v", err)
	}
	return p
}

func TestPipelineDeliversEveryRecordOnce(t *testing.T) {
	estest.InstallSchema(t)
	ns := estest.Namespace(t)
	col := collectortest.Start(t, collectortest.Options{Namespace: ns})
	provider := newProvider(t, col)
	rec := instrumentation.New(provider)

	const n = 400
	perTenant := emitBatch(t, rec, n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := provider.Shutdown(ctx); err != nil {
		t.Fatalf("provider shutdown: %v", err)
	}
	if st := provider.Stats(); st.Exported != n || st.Dropped != 0 || st.Failed != 0 {
		t.Fatalf("got provider stats %+v, want %d exported, none dropped or failed", st, n)
	}

	esURL := estest.URL(t)
	stream := schema.DataStream(ns)
	if got := collectortest.WaitForCount(t, esURL, stream, n, 60*time.Second); got != n {
		t.Fatalf("got %d documents in %s, want exactly %d", got, stream, n)
	}
	for tenant, want := range perTenant {
		q := schema.Path(schema.AttrTenantID) + ":" + tenant
		got, err := collectortest.Count(ctx, esURL, stream, url.QueryEscape(q))
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("tenant %s: got %d documents, want %d", tenant, got, want)
		}
	}

	t.Run("fields have the schema's types", func(t *testing.T) {
		mapped := fieldTypes(t, esURL, stream)
		for _, f := range schema.Fields() {
			if got := mapped[f.Path]; got != string(f.Type) {
				t.Errorf("field %s: got type %q in the data stream, want %q", f.Path, got, f.Type)
			}
		}
	})

	t.Run("an update carries the documented fields", func(t *testing.T) {
		doc := searchOne(t, esURL, stream, map[string]any{"term": map[string]any{schema.Path(schema.AttrSubjectID): "r1"}})
		want := map[string]any{
			"event_name":                          schema.EventName(schema.EventUpdated),
			"body.text":                           "Jane Doe (Partner) updated reward 'Free coffee'",
			schema.Path(schema.AttrCategory):      schema.CategoryRewards,
			schema.Path(schema.AttrEvent):         schema.EventUpdated,
			schema.Path(schema.AttrOutcome):       schema.OutcomeSuccess,
			schema.Path(schema.AttrUserID):        "u1",
			schema.Path(schema.AttrUserName):      "Jane Doe",
			schema.Path(schema.AttrActorType):     schema.ActorPartner,
			schema.Path(schema.AttrTenantID):      "partner-1",
			schema.Path(schema.AttrTenantName):    "Partner 1",
			schema.Path(schema.AttrSubjectType):   "reward",
			schema.Path(schema.AttrSubjectName):   "Free coffee",
			schema.Path(schema.AttrClientAddress): "10.0.0.2",
			schema.Path(schema.AttrUserAgent):     "e2e-test/1.0",
			schema.Path(schema.AttrRequestID):     "req-1",
			"resource.attributes.service.name":    "e2e",
			"data_stream.namespace":               ns,
		}
		for path, v := range want {
			if got := lookup(doc.Source, path); fmt.Sprint(got) != fmt.Sprint(v) {
				t.Errorf("%s: got %v, want %v", path, got, v)
			}
		}
		if got := lookup(doc.Source, schema.Path(schema.AttrID)); got != doc.ID {
			t.Errorf("got activity.id %v, want it to equal the document _id %s", got, doc.ID)
		}
		changes, _ := lookup(doc.Source, schema.Path(schema.AttrChanges)).(map[string]any)
		points, _ := changes["Points"].(map[string]any)
		if fmt.Sprint(points["old"]) != "10" || fmt.Sprint(points["new"]) != "12" {
			t.Errorf("got changes %v, want Points 10 -> 12", changes)
		}
		if _, ok := changes["Title"]; ok {
			t.Errorf("got unchanged field Title in changes %v", changes)
		}
		if lookup(doc.Source, "@timestamp") == nil {
			t.Errorf("no @timestamp in %v", doc.Source)
		}
	})

	t.Run("typed queries work", func(t *testing.T) {
		// An ip field answers CIDR queries; a keyword field answers exact terms.
		q := url.QueryEscape(schema.Path(schema.AttrClientAddress) + `:"10.0.1.0/24"`)
		got, err := collectortest.Count(ctx, esURL, stream, q)
		if err != nil {
			t.Fatal(err)
		}
		if want := 150; got != want { // records 250..399 come from 10.0.1.x
			t.Errorf("got %d records from 10.0.1.0/24, want %d", got, want)
		}
		q = url.QueryEscape(schema.Path(schema.AttrEvent) + ":" + schema.EventLogin)
		if got, err := collectortest.Count(ctx, esURL, stream, q); err != nil || got != n/4 {
			t.Errorf("got %d logins (err %v), want %d", got, err, n/4)
		}
	})
}

// exportTwice is an OTLP exporter that sends every batch twice, as a client
// does when it retries after the collector's answer to the first send was lost.
type exportTwice struct{ sdklog.Exporter }

func (e exportTwice) Export(ctx context.Context, records []sdklog.Record) error {
	if err := e.Exporter.Export(ctx, records); err != nil {
		return err
	}
	return e.Exporter.Export(ctx, records)
}

func TestRetriedBatchIsWrittenOnce(t *testing.T) {
	estest.InstallSchema(t)
	ns := estest.Namespace(t)
	col := collectortest.Start(t, collectortest.Options{Namespace: ns})
	exp, err := otlploggrpc.New(context.Background(), otlploggrpc.WithEndpoint(col.GRPCEndpoint), otlploggrpc.WithInsecure(),
		otlploggrpc.WithHeaders(col.Headers()))
	if err != nil {
		t.Fatal(err)
	}
	provider := newProvider(t, col, otlp.WithExporter(exportTwice{exp}))
	rec := instrumentation.New(provider)

	const n = 250
	emitBatch(t, rec, n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := provider.Shutdown(ctx); err != nil {
		t.Fatalf("provider shutdown: %v", err)
	}
	stream := schema.DataStream(ns)
	if got := collectortest.WaitForCount(t, estest.URL(t), stream, n, 60*time.Second); got != n {
		t.Fatalf("got %d documents after every batch was sent twice, want exactly %d", got, n)
	}
}

type hit struct {
	ID     string         `json:"_id"`
	Source map[string]any `json:"_source"`
}

// putJSON sends a PUT with a JSON body to Elasticsearch and fails the test
// unless it is answered 200.
func putJSON(t *testing.T, url, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT %s: %d %s", url, resp.StatusCode, answer)
	}
}

func searchOne(t *testing.T, esURL, index string, query map[string]any) hit {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"size": 2, "query": query})
	resp, err := http.Post(esURL+"/"+index+"/_search", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out struct {
		Hits struct {
			Hits []hit `json:"hits"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || len(out.Hits.Hits) != 1 {
		t.Fatalf("search %s: want exactly one hit, got %s (err %v)", index, raw, err)
	}
	return out.Hits.Hits[0]
}

// lookup reads a dotted path from a document, trying the longest literal key
// first at each level (attribute keys contain dots).
func lookup(doc map[string]any, path string) any {
	if v, ok := doc[path]; ok {
		return v
	}
	parts := strings.Split(path, ".")
	for i := len(parts) - 1; i >= 1; i-- {
		head := strings.Join(parts[:i], ".")
		if sub, ok := doc[head].(map[string]any); ok {
			if v := lookup(sub, strings.Join(parts[i:], ".")); v != nil {
				return v
			}
		}
	}
	return nil
}

// fieldTypes returns the type of every field mapped in an index, by full path.
func fieldTypes(t *testing.T, esURL, index string) map[string]string {
	t.Helper()
	resp, err := http.Get(esURL + "/" + index + "/_mapping/field/*")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]struct {
		Mappings map[string]struct {
			FullName string                    `json:"full_name"`
			Mapping  map[string]map[string]any `json:"mapping"`
		} `json:"mappings"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("field mappings: %v: %s", err, raw)
	}
	types := map[string]string{}
	for _, idx := range out {
		for _, m := range idx.Mappings {
			for _, def := range m.Mapping {
				if typ, ok := def["type"].(string); ok {
					types[m.FullName] = typ
				}
			}
		}
	}
	return types
}

// sendAccepted sends n records to col through the library and returns once
// the collector has accepted every one (its OTLP answers, not Elasticsearch's).
func sendAccepted(t *testing.T, col *collectortest.Collector, n int) {
	t.Helper()
	provider := newProvider(t, col)
	emitBatch(t, instrumentation.New(provider), n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := provider.Shutdown(ctx); err != nil {
		t.Fatalf("provider shutdown: %v", err)
	}
	if st := provider.Stats(); st.Exported != uint64(n) {
		t.Fatalf("got %d records accepted by the collector, want %d", st.Exported, n)
	}
}

// waitForFailedAttempts waits until col has failed k whole attempts at a
// batch (a bulk request and the elasticsearch exporter's own retries) and
// kept it for a retry, and fails the test if it dropped data instead.
func waitForFailedAttempts(t *testing.T, col *collectortest.Collector, k int) {
	t.Helper()
	const failed = "Exporting failed. Will retry the request after interval."
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		log := col.Log()
		switch {
		case strings.Contains(log, "Dropping data"):
			t.Fatalf("the collector dropped data; log:\n%s", log)
		case strings.Count(log, failed) >= k:
			return
		case time.Now().After(deadline):
			t.Fatalf("fewer than %d failed attempts within 60s; log:\n%s", k, log)
		}
	}
}

// acceptedWhileUnreachable starts a collector whose Elasticsearch is out of
// reach (a closed port: a real socket nothing listens on, see
// unreachableAddr), in a new namespace and queue directory, and sends it n
// records, which it accepts.
func acceptedWhileUnreachable(t *testing.T, n int) (down *collectortest.Collector, ns, storage string) {
	t.Helper()
	estest.InstallSchema(t)
	ns, storage = estest.Namespace(t), t.TempDir()
	down = collectortest.Start(t, collectortest.Options{
		Namespace:  ns,
		StorageDir: storage,
		ESURL:      "http://" + unreachableAddr(t),
	})
	sendAccepted(t, down, n)
	return down, ns, storage
}

// unreachableAddr returns a loopback host:port that refuses every connection
// until the test ends, as a node that is down does. A TCP socket bound to it
// that never listens holds the port: nothing else can bind it meanwhile (a
// port found free and closed again could be taken by another process and
// answer), and a connection to it is refused, not accepted and then cut.
func unreachableAddr(t *testing.T) string {
	t.Helper()
	// As the net package does: no collector started meanwhile may inherit
	// the socket before it is marked close-on-exec.
	syscall.ForkLock.RLock()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		t.Fatalf("unreachable address: socket: %v", err)
	}
	// Cleanups run last first: this one after the collector has stopped.
	t.Cleanup(func() { _ = syscall.Close(fd) })
	// Port 0: the kernel picks a free port and, bound, keeps it ours.
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("unreachable address: bind: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("unreachable address: getsockname: %v", err)
	}
	in4, ok := sa.(*syscall.SockaddrInet4)
	if !ok {
		t.Fatalf("unreachable address: got socket address %T, want IPv4", sa)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(in4.Port))
}

// TestQueueSurvivesOutageAndCrash sends records while Elasticsearch is out of
// reach (a closed port: a real socket that never listens), kills the
// collector, and starts a new one on the same queue directory with the real
// node: every record the collector accepted during the outage arrives, once.
func TestQueueSurvivesOutageAndCrash(t *testing.T) {
	const n = 120
	down, ns, storage := acceptedWhileUnreachable(t, n)
	down.Kill(t)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream := schema.DataStream(ns)
	esURL := estest.URL(t)
	if got, err := collectortest.Count(ctx, esURL, stream, ""); err != nil || got != 0 {
		t.Fatalf("got %d documents (err %v) before Elasticsearch was reachable, want 0", got, err)
	}
	collectortest.Start(t, collectortest.Options{Namespace: ns, StorageDir: storage})
	if got := collectortest.WaitForCount(t, esURL, stream, n, 90*time.Second); got != n {
		t.Fatalf("got %d documents after the restart, want exactly %d", got, n)
	}
}

// TestStopDuringOutage sends records while Elasticsearch is out of reach,
// then stops the collector gracefully (SIGTERM, as an orchestrator does before
// its grace period ends): it exits within 10 s, although the exporter is still
// retrying a batch, and a new collector on the same
// queue directory delivers every accepted record once when the node is back.
func TestStopDuringOutage(t *testing.T) {
	const n = 120
	down, ns, storage := acceptedWhileUnreachable(t, n)
	// The stop meets the batch between its retries.
	waitForFailedAttempts(t, down, 2)
	start := time.Now()
	down.Stop(t)
	took := time.Since(start)
	t.Logf("stopped %s after SIGTERM", took.Round(time.Millisecond))
	// The batch between retries is left in the queue at once; waiting for
	// its next attempt would take up to the 20 s attempt timeout. The bound
	// leaves a slow machine room.
	if took > 10*time.Second {
		t.Errorf("stopped %s after SIGTERM, want well under the 20 s attempt timeout", took.Round(time.Millisecond))
	}
	if t.Failed() {
		t.FailNow()
	}

	stream := schema.DataStream(ns)
	esURL := estest.URL(t)
	collectortest.Start(t, collectortest.Options{Namespace: ns, StorageDir: storage})
	if got := collectortest.WaitForCount(t, esURL, stream, n, 90*time.Second); got != n {
		t.Fatalf("got %d documents after the restart, want exactly %d", got, n)
	}
}

// TestLongOutageLosesNothing keeps Elasticsearch out of reach (a gate: a real
// socket that refuses, then forwards to the real node) for longer than the
// elasticsearch exporter's own retries last, so that whole attempts at the
// batch fail. The collector must keep the batch and retry it, not drop it:
// when the node is reachable again, every accepted record arrives, once.
func TestLongOutageLosesNothing(t *testing.T) {
	refusedThenDelivered(t, false, 3)
}

// TestUnauthorizedLosesNothing: Elasticsearch refuses the collector's
// credentials (a gate answers 401, as a node with security does to a wrong or
// revoked password; the test node runs without security). The collector
// keeps the records and retries them; once the credentials work again,
// every accepted record arrives, once.
func TestUnauthorizedLosesNothing(t *testing.T) {
	refusedThenDelivered(t, true, 2)
}

// TestOversizedRequestLosesNothing: Elasticsearch refuses a bulk request
// over its http.max_content_length with 413, which the elasticsearch
// exporter takes as permanent, so the whole batch was dropped. Here the
// limit is 256 KB (a gate in front of the node answers 413 past it, as the
// node does past its own) and one batch of 60 records of 36 KB each is
// about 2 MB: the exporter sends it again in halves until each request fits,
// and every record arrives, once. One more record, of 300 KB, cannot fit:
// it alone is refused for good, and the records after it still arrive.
func TestOversizedRequestLosesNothing(t *testing.T) {
	ns, esURL, gate := gatedNode(t)
	refused := gate.Limit(t, 256<<10)
	col := collectortest.Start(t, collectortest.Options{Namespace: ns, ESURL: "http://" + gate.Addr})
	// Values uncut: our library cuts them to 32 KiB, other emitters need not,
	// and the collector must cope with what they send.
	provider := newProvider(t, col, otlp.WithGetenv(func(k string) string {
		if k == "OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT" {
			return "-1"
		}
		return ""
	}))
	rec := instrumentation.New(provider)
	ctx := instrumentation.WithTenant(context.Background(), instrumentation.Tenant{ID: "partner-1"})
	ctx = instrumentation.WithActor(ctx, instrumentation.Actor{ID: "u1", Name: "Jane Doe", Type: instrumentation.ActorType(schema.ActorPartner)})
	terms := strings.Repeat("Earn one stamp per coffee. ", 1334) // 36 KB
	const n = 60
	for i := range n {
		subject := instrumentation.Subject{Category: instrumentation.Rewards, Type: "reward", ID: fmt.Sprintf("r%d", i), Name: "Free coffee"}
		if err := rec.Created(ctx, subject, reward{Title: terms, Points: i}); err != nil {
			t.Fatal(err)
		}
		if i == n/2 {
			huge := instrumentation.Subject{Category: instrumentation.Rewards, Type: "reward", ID: "huge", Name: "Free coffee"}
			if err := rec.Created(ctx, huge, reward{Title: strings.Repeat(terms, 9)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := provider.Shutdown(sctx); err != nil {
		t.Fatalf("provider shutdown: %v", err)
	}
	if st := provider.Stats(); st.Exported != n+1 {
		t.Fatalf("got %d records accepted by the collector, want %d", st.Exported, n+1)
	}
	if got := collectortest.WaitForCount(t, esURL, schema.DataStream(ns), n, 90*time.Second); got != n {
		t.Fatalf("got %d documents, want exactly the %d that fit; log:\n%s", got, n, col.Log())
	}
	if refused() == 0 {
		t.Errorf("no request was over the limit: the test did not try what it claims")
	}
	if log := col.Log(); !strings.Contains(log, "1 record(s) larger than Elasticsearch takes") {
		t.Errorf("the log does not say one record was too large; log:\n%s", log)
	}
}

// gatedNode installs the schema on the test node and returns a namespace of
// the test's own, the node's URL and a shut gate in front of the node.
func gatedNode(t *testing.T) (ns, esURL string, gate *collectortest.Gate) {
	t.Helper()
	estest.InstallSchema(t)
	esURL = estest.URL(t)
	u, err := url.Parse(esURL)
	if err != nil {
		t.Fatal(err)
	}
	return estest.Namespace(t), esURL, collectortest.NewGate(t, u.Host)
}

// refusedThenDelivered sends records to a collector whose Elasticsearch is
// behind a gate that refuses connections (or, with deny, answers 401), waits
// for attempts failed whole, then opens the gate: every record must arrive,
// once.
func refusedThenDelivered(t *testing.T, deny bool, attempts int) {
	ns, esURL, gate := gatedNode(t)
	if deny {
		gate.Deny(t)
	}
	col := collectortest.Start(t, collectortest.Options{Namespace: ns, ESURL: "http://" + gate.Addr})
	const n = 120
	sendAccepted(t, col, n)
	waitForFailedAttempts(t, col, attempts)
	if deny && !strings.Contains(col.Log(), "401") {
		t.Errorf("the log does not say Elasticsearch answered 401:\n%s", col.Log())
	}
	gate.Open(t)
	if got := collectortest.WaitForCount(t, esURL, schema.DataStream(ns), n, 90*time.Second); got != n {
		t.Fatalf("got %d documents once Elasticsearch took them, want exactly %d", got, n)
	}
}

// TestRefusedDocumentsLoseNothing: Elasticsearch answers the bulk requests
// but refuses every document in them, as a node past its flood-stage disk
// watermark does (it blocks writes to its indices and answers each document
// 429; the test sets that block itself). The collector keeps retrying the
// documents, and the batch, until they are taken: when the block is lifted,
// every accepted record arrives, once.
func TestRefusedDocumentsLoseNothing(t *testing.T) {
	estest.InstallSchema(t)
	ns := estest.Namespace(t)
	esURL := estest.URL(t)
	stream := schema.DataStream(ns)
	col := collectortest.Start(t, collectortest.Options{Namespace: ns})
	sendAccepted(t, col, 4) // creates the data stream
	if got := collectortest.WaitForCount(t, esURL, stream, 4, 60*time.Second); got != 4 {
		t.Fatalf("got %d documents before the block, want 4", got)
	}
	block := func(on bool) {
		t.Helper()
		v := "null"
		if on {
			v = "true"
		}
		putJSON(t, esURL+"/"+stream+"/_settings", `{"index.blocks.read_only_allow_delete":`+v+`}`)
	}
	block(true)
	blocked := true
	defer func() {
		if blocked {
			block(false)
		}
	}()

	const n = 120
	sendAccepted(t, col, n)
	// Two attempts fail whole while every document is refused.
	waitForFailedAttempts(t, col, 2)
	block(false)
	blocked = false
	if got := collectortest.WaitForCount(t, esURL, stream, 4+n, 90*time.Second); got != 4+n {
		t.Fatalf("got %d documents after the block was lifted, want exactly %d; log:\n%s", got, 4+n, col.Log())
	}
	if log := col.Log(); strings.Contains(log, "Dropping data") {
		t.Errorf("the collector dropped data; log:\n%s", log)
	}
}

// TestUntemplatedIndexLosesNothing: Elasticsearch answers the bulk requests
// but refuses every document with 404, as it does when no index template
// makes a data stream of the target (the collector started before
// `activityctl setup`, or the template was removed; here an overlay routes
// the records to an index that no template covers, on the real node). The
// collector keeps the batch and retries it; once a template covers the
// index, every accepted record arrives, once. Without 404 in
// retry_on_status, all of them were dropped at the first attempt.
func TestUntemplatedIndexLosesNothing(t *testing.T) {
	estest.InstallSchema(t)
	esURL := estest.URL(t)
	index := "logs-untemplated.otel-" + estest.Namespace(t)
	overlay := filepath.Join(t.TempDir(), "untemplated.yaml")
	if err := os.WriteFile(overlay, []byte("exporters:\n  durable_elasticsearch:\n    elasticsearch:\n      logs_index: "+index+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Options.Configs are relative to the repository root.
	rel, err := filepath.Rel(estest.RepoRoot(t), overlay)
	if err != nil {
		t.Fatal(err)
	}
	col := collectortest.Start(t, collectortest.Options{Configs: []string{rel}})
	const n = 40
	sendAccepted(t, col, n)
	waitForFailedAttempts(t, col, 2)
	if log := col.Log(); !strings.Contains(log, "index_not_found_exception") {
		t.Errorf("the log does not say Elasticsearch found no index:\n%s", log)
	}

	// The template this index lacked; it matches this test's index only.
	tmpl := `{"index_patterns":["` + index + `"],"data_stream":{},"priority":1000}`
	putJSON(t, esURL+"/_index_template/"+strings.TrimPrefix(index, "logs-"), tmpl)
	if got := collectortest.WaitForCount(t, esURL, index, n, 90*time.Second); got != n {
		t.Fatalf("got %d documents once a template covered the index, want exactly %d; log:\n%s", got, n, col.Log())
	}
}
