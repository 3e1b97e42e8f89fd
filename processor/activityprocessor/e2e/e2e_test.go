package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/activitylog/activitylog/internal/collectortest"
	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/internal/rawotlp"
	"github.com/activitylog/activitylog/schema"
)

// Secrets planted by the end-to-end test; none may reach Elasticsearch.
var e2eSecrets = []string{
	"hunter2-e2e-password",
	"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJlMmUifQ.c2lnbmF0dXJlLWUyZS10ZXN0LXNpZ25hdHVyZQ",
	"sk_live_e2eE2eE2eE2eE2eE2eE2eE2e",
	"4111 1111 1111 1111",
	"e2e-db-pass",
	"YWxpY2U6ZTJlLXNlY3JldA==",
	"872341",
	"resource-secret-value",
}

// legacyBatch builds what a legacy, non-library emitter sends: secrets in
// resource and record attributes, the changes map and the body; a record
// with neither tenant nor id; and five failed logins from one address.
func legacyBatch(now time.Time, stolenIndex string) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(schema.AttrServiceName, "legacy-php")
	rl.Resource().Attributes().PutStr("db.password", e2eSecrets[7])
	rl.Resource().Attributes().PutStr("\t", "tab key")
	// Exporter knobs an emitter must not turn: its own index, a mapping
	// mode that would make a map body the whole document.
	rl.Resource().Attributes().PutStr(schema.AttrIndex, stolenIndex)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().Attributes().PutStr(schema.AttrMappingMode, "bodymap")
	lrs := sl.LogRecords()

	lr := lrs.AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(now))
	lr.SetEventName(schema.EventName(schema.EventUpdated))
	lr.Body().SetStr("Jane updated member m-1 using token " + e2eSecrets[1])
	a := lr.Attributes()
	a.PutStr(schema.AttrCategory, schema.CategoryMembers)
	a.PutStr(schema.AttrEvent, schema.EventUpdated)
	a.PutStr(schema.AttrIndex, stolenIndex)
	a.PutStr(schema.AttrTenantID, "  ACME ")
	a.PutStr("newPassword", e2eSecrets[0])
	a.PutStr("X-Api-Key", e2eSecrets[2])
	a.PutStr("payment.note", "paid with "+e2eSecrets[3])
	a.PutStr("db.url", "mysql://app:"+e2eSecrets[4]+"@db:3306/loyalty")
	a.PutStr("http.request.header.authorization", "Basic "+e2eSecrets[5])
	a.PutStr("otp_code", e2eSecrets[6])
	ch := a.PutEmptyMap(schema.AttrChanges)
	pw := ch.PutEmptyMap("password")
	pw.PutStr("old", e2eSecrets[0])
	pw.PutStr("new", e2eSecrets[0]+"!")
	em := ch.PutEmptyMap("email")
	em.PutStr("old", "a@example.com")
	em.PutStr("new", "b@example.com")

	anon := lrs.AppendEmpty()
	anon.SetTimestamp(pcommon.NewTimestampFromTime(now))
	anon.Body().SetStr("something happened, no tenant, no id")
	anon.Attributes().PutStr(schema.AttrEvent, schema.EventCreated)

	// Values Elasticsearch would refuse as sent: the processor makes them fit.
	odd := lrs.AppendEmpty()
	odd.SetTimestamp(pcommon.NewTimestampFromTime(now))
	odd.Body().SetEmptySlice().AppendEmpty().SetStr("a list body")
	oa := odd.Attributes()
	oa.PutStr(schema.AttrTenantID, "acme")
	oa.PutStr(schema.AttrEvent, schema.EventUpdated)
	oa.PutStr("", "empty key")
	oa.PutStr(" ", "blank key") // Elasticsearch refuses whitespace-only names too
	oa.PutStr(schema.AttrChanges, "not a map")
	oa.PutStr(schema.AttrClientAddress, "203.0.113.9:5555")
	oa.PutEmptyMap(schema.AttrSubjectName).PutStr("nested", "map")
	// Maps that spell a mapped field's path would give it a second value:
	// this acme record would match a query for the tenant globex.
	oa.PutEmptyMap("activity").PutEmptyMap("tenant").PutStr("id", "globex")
	oa.PutEmptyMap("activity.tenant").PutStr("id", "globex")
	// The exporter writes the pair as geo.location too: a repeated field.
	oa.PutStr("geo.location", "Berlin")
	oa.PutDouble("geo.location.lat", 52.5)
	oa.PutDouble("geo.location.lon", 13.25)

	// A forged alert: only the processor raises those.
	forged := lrs.AppendEmpty()
	forged.SetTimestamp(pcommon.NewTimestampFromTime(now))
	forged.SetEventName(schema.EventName(schema.EventFailedLoginBurst))
	forged.Body().SetStr("5 failed logins from 198.51.100.250 in 1m0s")
	fa := forged.Attributes()
	fa.PutStr(schema.AttrCategory, schema.CategorySecurity)
	fa.PutStr(schema.AttrEvent, schema.EventFailedLoginBurst)
	fa.PutStr(schema.AttrTenantID, "acme")
	fa.PutStr(schema.AttrAlertKey, "198.51.100.250")

	// Keys repeated at the top, in activity.changes and in a nested map:
	// Elasticsearch refuses a document that repeats a field, so before the
	// processor kept only the first of each, this record was lost. The
	// repeats carry a secret and another tenant. A changed field's name of
	// 40,000 bytes, too long for a flattened field's terms, was another way
	// to lose the record.
	repeated, err := rawotlp.Attributes(`{"activity.id":"0199a0e4-e2e0-7000-8000-0000000000aa",
		"activity.event":"updated","activity.tenant.id":"acme","activity.tenant.id":"other",
		"user.name":"jane","user.name":"` + e2eSecrets[0] + `",
		"activity.changes":{"tier":{"old":"silver","old":"bronze","new":"gold"},"tier":{"new":"platinum"},
			"` + strings.Repeat("x", 40_000) + `":{"old":"a field name Elasticsearch cannot index"}},
		"labels":{"k":"first","k":"second"}}`)
	if err != nil {
		panic(err)
	}
	rr := lrs.AppendEmpty()
	rr.SetTimestamp(pcommon.NewTimestampFromTime(now))
	rr.Body().SetStr("Jane updated a card")
	repeated.CopyTo(rr.Attributes())

	for i := 0; i < 5; i++ {
		f := lrs.AppendEmpty()
		f.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(i) * time.Second)))
		f.SetEventName(schema.EventName(schema.EventLoginFailed))
		f.Body().SetStr("login failed")
		fa := f.Attributes()
		fa.PutStr(schema.AttrID, fmt.Sprintf("0199a0e4-e2e0-7000-8000-%012d", i))
		fa.PutStr(schema.AttrEvent, schema.EventLoginFailed)
		fa.PutStr(schema.AttrCategory, schema.CategoryAuth)
		fa.PutStr(schema.AttrOutcome, schema.OutcomeFailure)
		fa.PutStr(schema.AttrTenantID, "acme")
		fa.PutStr(schema.AttrClientAddress, "203.0.113.77")
		fa.PutStr(schema.AttrUserName, "mallory")
	}
	return ld
}

// start installs the schema and starts a collector in a namespace of the
// test's own, and returns them with the HTTP client a legacy emitter uses.
func start(t *testing.T) (esURL, ns string, col *collectortest.Collector, client *http.Client) {
	t.Helper()
	// The Elasticsearch helpers use the default transport; its idle
	// keep-alive connections would otherwise outlive the test (goleak).
	t.Cleanup(func() {
		if tr, ok := http.DefaultTransport.(*http.Transport); ok {
			tr.CloseIdleConnections()
		}
	})
	estest.InstallSchema(t)
	esURL = estest.URL(t)
	ns = estest.Namespace(t)
	col = collectortest.Start(t, collectortest.Options{ESURL: esURL, Namespace: ns})
	client = &http.Client{Timeout: 10 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	return esURL, ns, col, client
}

// postOTLP sends ld to col as an OTLP/HTTP protobuf request with a plain
// HTTP client (no OpenTelemetry SDK, no activitylog library), carrying the
// collector's ingest token as any emitter must.
func postOTLP(t *testing.T, client *http.Client, col *collectortest.Collector, ld plog.Logs) {
	t.Helper()
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+col.HTTPEndpoint+"/v1/logs", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Authorization", "Bearer "+col.Token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST /v1/logs: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST /v1/logs: got %d %s, want 200", resp.StatusCode, msg)
	}
}

// TestEndToEndLegacyEmitter sends a legacy emitter's records through the
// real activitycol into a real Elasticsearch node and checks what landed.
func TestEndToEndLegacyEmitter(t *testing.T) {
	esURL, ns, col, client := start(t)

	stolen := "stolen-" + ns
	postOTLP(t, client, col, legacyBatch(time.Now().UTC(), stolen))

	ds := schema.DataStream(ns)
	// 9 records (the forged alert is dropped) + 2 alerts: the five failures
	// share a client address and a user name, both burst keys by default.
	const want = 11
	if got := collectortest.WaitForCount(t, esURL, ds, want, 60*time.Second); got != want {
		t.Fatalf("documents in %s: got %d, want %d", ds, got, want)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := estest.Client(t).Search().Index(ds).Size(100).Do(ctx)
	if err != nil {
		t.Fatalf("search %s: %v", ds, err)
	}
	alerts := map[string]int{}
	var unknown, acme, odd, repeated int
	for _, hit := range res.Hits.Hits {
		raw := string(hit.Source_)
		for _, s := range e2eSecrets {
			if strings.Contains(raw, s) {
				t.Errorf("document %s holds the planted secret %q: %s", *hit.Id_, s, raw)
			}
		}
		var doc struct {
			EventName  string         `json:"event_name"`
			Attributes map[string]any `json:"attributes"`
			Resource   struct {
				Attributes map[string]any `json:"attributes"`
			} `json:"resource"`
			Body struct {
				Text string `json:"text"`
			} `json:"body"`
		}
		if err := json.Unmarshal(hit.Source_, &doc); err != nil {
			t.Fatalf("document %s: %v", *hit.Id_, err)
		}
		switch doc.Attributes[schema.AttrTenantID] {
		case "acme":
			acme++
		case schema.TenantUnknown:
			unknown++
		default:
			t.Errorf("document %s: got tenant %v, want acme or unknown", *hit.Id_, doc.Attributes[schema.AttrTenantID])
		}
		if id := doc.Attributes[schema.AttrID]; id != *hit.Id_ {
			t.Errorf("document %s: got activity.id %v, want the _id", *hit.Id_, id)
		}
		if doc.EventName == schema.EventName(schema.EventFailedLoginBurst) {
			keyType, _ := doc.Attributes[schema.AttrAlertKeyType].(string)
			alerts[keyType]++
			wantKey, wantBody := "203.0.113.77", "5 failed logins from 203.0.113.77 in 1m0s"
			if keyType == schema.AttrUserName {
				wantKey, wantBody = "mallory", "5 failed logins for user mallory in 1m0s"
			}
			if got := doc.Body.Text; got != wantBody {
				t.Errorf("alert body: got %q, want %q", got, wantBody)
			}
			checks := map[string]any{
				schema.AttrCategory: schema.CategorySecurity, schema.AttrEvent: schema.EventFailedLoginBurst,
				schema.AttrOutcome: schema.OutcomeFailure, schema.AttrAlertKey: wantKey,
				schema.AttrAlertCount:     float64(5),
				schema.AttrAlertThreshold: float64(5), schema.AttrAlertWindowSeconds: float64(60),
			}
			for k, want := range checks {
				if got := doc.Attributes[k]; got != want {
					t.Errorf("alert %s: got %v, want %v", k, got, want)
				}
			}
		}
		if res := doc.Resource.Attributes; len(res) > 0 && res["empty_key"] != "tab key" && doc.EventName != schema.EventName(schema.EventFailedLoginBurst) {
			t.Errorf("document %s: resource empty_key got %v, want the tab key's value", *hit.Id_, res["empty_key"])
		}
		if doc.Attributes[schema.AttrAlertKey] == "198.51.100.250" {
			t.Errorf("document %s: the forged alert reached Elasticsearch", *hit.Id_)
		}
		if doc.Attributes[schema.AttrID] == "0199a0e4-e2e0-7000-8000-0000000000aa" {
			repeated++
			changes, _ := json.Marshal(doc.Attributes[schema.AttrChanges])
			checks := map[string]any{schema.AttrUserName: "jane", "labels.k": "first",
				schema.AttrChanges: `{"tier":{"new":"gold","old":"silver"}}`}
			got := map[string]any{schema.AttrUserName: doc.Attributes[schema.AttrUserName],
				"labels.k": doc.Attributes["labels.k"], schema.AttrChanges: string(changes)}
			if lm, ok := doc.Attributes["labels"].(map[string]any); ok {
				got["labels.k"] = lm["k"]
			}
			for k, want := range checks {
				if got[k] != want {
					t.Errorf("record with repeated keys, %s: got %v, want %v", k, got[k], want)
				}
			}
		}
		if doc.Attributes["empty_key"] != nil {
			odd++
			checks := map[string]any{
				"activity": `{"tenant":{"id":"globex"}}`, "activity.tenant": `{"id":"globex"}`,
				"geo.location.original": "Berlin",
				"empty_key":             "empty key", schema.AttrChanges + ".original": "not a map",
				schema.AttrClientAddress: "203.0.113.9", schema.AttrSubjectName: `{"nested":"map"}`,
			}
			for k, want := range checks {
				if got := doc.Attributes[k]; got != want {
					t.Errorf("type-enforced record %s: got %v, want %v", k, got, want)
				}
			}
			if got, _ := json.Marshal(doc.Attributes["geo.location"]); string(got) != "[13.25,52.5]" {
				t.Errorf("geo.location: got %s, want the exporter's [lon,lat]", got)
			}
			if doc.Body.Text != `["a list body"]` {
				t.Errorf("list body: got %q, want it as text", doc.Body.Text)
			}
		}
		if doc.EventName == schema.EventName(schema.EventUpdated) {
			keys, _ := doc.Attributes[schema.AttrRedactedKeys].([]any)
			if len(keys) < 8 {
				t.Errorf("redacted keys: got %v, want at least 8 names", keys)
			}
		}
	}
	if len(alerts) != 2 || alerts[schema.AttrClientAddress] != 1 || alerts[schema.AttrUserName] != 1 {
		t.Errorf("alerts by key type: got %v, want one for %s and one for %s", alerts, schema.AttrClientAddress, schema.AttrUserName)
	}
	for _, q := range []string{schema.AttrTenantID + ":globex", schema.Path(schema.AttrTenantID) + ":globex"} {
		if n, err := collectortest.Count(ctx, esURL, ds, q); err != nil || n != 0 {
			t.Errorf("documents matching %s: got %d (err %v), want none", q, n, err)
		}
	}
	if n, err := collectortest.Count(ctx, esURL, ds, schema.AttrTenantID+":acme"); err != nil || n != acme {
		t.Errorf("documents matching tenant acme: got %d (err %v), want %d", n, err, acme)
	}
	if n, err := collectortest.Count(ctx, esURL, stolen, ""); err != nil || n != 0 {
		t.Errorf("index %s chosen by the emitter: got %d documents (err %v), want none", stolen, n, err)
	}
	if odd != 1 {
		t.Errorf("type-enforced records: got %d, want 1", odd)
	}
	if repeated != 1 {
		t.Errorf("records with repeated keys: got %d, want 1", repeated)
	}
	if acme != 10 || unknown != 1 {
		t.Errorf("tenants: got acme=%d unknown=%d, want 10 and 1", acme, unknown)
	}
}

// TestEndToEndEmitterWithoutIDs sends, twice (a resend of the whole
// request), what an emitter that sets no ids and stamps whole seconds sends
// when one client tries one account five times within a second: five
// identical failed logins. It adds a login with neither timestamp, which
// OTLP allows. Elasticsearch must hold the five failures once each, the two
// alerts they raise, and both logins, dated when the collector saw them.
// Before, the five failures were one document and raised no alert, and the
// two logins were one, dated 1970-01-01.
func TestEndToEndEmitterWithoutIDs(t *testing.T) {
	esURL, ns, col, client := start(t)

	second := time.Now().UTC().Truncate(time.Second)
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(schema.AttrServiceName, "legacy-php")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for range 5 {
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(second))
		lr.Body().SetStr("Failed login for eve")
		a := lr.Attributes()
		a.PutStr(schema.AttrCategory, schema.CategoryAuth)
		a.PutStr(schema.AttrEvent, schema.EventLoginFailed)
		a.PutStr(schema.AttrTenantID, "acme")
		a.PutStr(schema.AttrClientAddress, "203.0.113.88")
		a.PutStr(schema.AttrUserName, "eve")
	}
	lr := lrs.AppendEmpty()
	lr.Body().SetStr("Jane logged in")
	lr.Attributes().PutStr(schema.AttrCategory, schema.CategoryAuth)
	lr.Attributes().PutStr(schema.AttrEvent, schema.EventLogin)
	lr.Attributes().PutStr(schema.AttrTenantID, "acme")

	for i := range 2 {
		if i > 0 {
			time.Sleep(1100 * time.Millisecond) // the login's derived id has millisecond time bits
		}
		again := plog.NewLogs()
		ld.CopyTo(again)
		postOTLP(t, client, col, again)
	}

	ds := schema.DataStream(ns)
	const want = 5 + 2 + 2
	got := collectortest.WaitForCount(t, esURL, ds, want, 60*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for q, n := range map[string]int{
		schema.Path(schema.AttrEvent) + ":" + schema.EventLoginFailed:                                   5,
		schema.Path(schema.AttrEvent) + ":" + schema.EventFailedLoginBurst:                              2,
		schema.Path(schema.AttrEvent) + ":" + schema.EventLogin + ` AND @timestamp:[now-10m TO now+1m]`: 2,
	} {
		if c, err := collectortest.Count(ctx, esURL, ds, url.QueryEscape(q)); err != nil || c != n {
			t.Errorf("documents matching %s: got %d (err %v), want %d", q, c, err, n)
		}
	}
	if got != want {
		t.Errorf("documents in %s: got %d, want %d", ds, got, want)
	}
}

// TestEndToEndTenantSequenceIDs sends, twice (the second time a second
// later), what two tenants' emitters that number their records from 1 send:
// each tenant's records 1 to 3. All
// six must land once each, each under its own tenant and its own id. Before,
// the second tenant's records shared the first's document ids and
// Elasticsearch kept only the first three.
func TestEndToEndTenantSequenceIDs(t *testing.T) {
	esURL, ns, col, client := start(t)

	now := time.Now().UTC()
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(schema.AttrServiceName, "legacy-billing")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for _, tenant := range []string{"acme", "bean-there"} {
		for i := 1; i <= 3; i++ {
			lr := lrs.AppendEmpty()
			lr.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(i) * time.Millisecond)))
			lr.Body().SetStr(fmt.Sprintf("Invoice %d paid", i))
			a := lr.Attributes()
			a.PutStr(schema.AttrID, strconv.Itoa(i))
			a.PutStr(schema.AttrCategory, schema.CategoryTransactions)
			a.PutStr(schema.AttrEvent, schema.EventCreated)
			a.PutStr(schema.AttrTenantID, tenant)
		}
	}
	postOTLP(t, client, col, ld)
	// Published again a second later, as an outbox does after a crash: the
	// same ids map onto the same documents.
	again := plog.NewLogs()
	ld.CopyTo(again)
	for i := 0; i < again.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().Len(); i++ {
		lr := again.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(i)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(lr.Timestamp().AsTime().Add(time.Second)))
	}
	postOTLP(t, client, col, again)

	ds := schema.DataStream(ns)
	if got := collectortest.WaitForCount(t, esURL, ds, 6, 60*time.Second); got != 6 {
		t.Fatalf("got %d documents, want the 6 records once each", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tenant := range []string{"acme", "bean-there"} {
		for i := 1; i <= 3; i++ {
			q := fmt.Sprintf("%s:%s AND %s:%d", schema.Path(schema.AttrTenantID), tenant, schema.Path(schema.AttrID), i)
			if n, err := collectortest.Count(ctx, esURL, ds, url.QueryEscape(q)); err != nil || n != 1 {
				t.Errorf("tenant %s, activity.id %d: got %d documents (%v), want 1", tenant, i, n, err)
			}
		}
	}
}
