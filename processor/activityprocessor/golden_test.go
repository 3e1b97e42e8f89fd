package activityprocessor

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/activitylog/activitylog/internal/rawotlp"
	"github.com/activitylog/activitylog/processor/activityprocessor/internal/metadata"
	"github.com/activitylog/activitylog/schema"
)

// -update rewrites testdata/golden/*/input.yaml from goldenInputs and
// expected.yaml from the processor's output. Review the diff before
// committing: expected.yaml is the specification.
var update = flag.Bool("update", false, "rewrite golden files")

// goldenNow is the injected clock of every golden test.
var goldenNow = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

const hashKey = "golden-test-hmac-key-0123456789"

// goldenCases maps a case name to its configuration.
func goldenCases() map[string]func(*Config) {
	return map[string]func(*Config){
		"redaction": func(*Config) {},
		"redaction_hash": func(c *Config) {
			c.Redaction.KeyAction = "hash"
			c.Redaction.HashKey = hashKey
			c.Redaction.Detectors["jwt"] = "drop"
			c.Redaction.Detectors["card_number"] = "hash"
		},
		"tenant": func(c *Config) {
			c.Tenant.ServiceTenants = map[string]string{"acme-pos": "ACME"}
		},
		"tenant_drop": func(c *Config) {
			c.Tenant.Missing = PolicyDrop
			c.Tenant.Conflict = PolicyDrop
			c.Tenant.ServiceTenants = map[string]string{"acme-pos": "ACME"}
		},
		"burst": func(*Config) {},
		// The types case checks the long alert fields, so it trusts alerts.
		"types":         func(c *Config) { c.TrustIncomingAlerts = true },
		"forged_alerts": func(*Config) {},
		"routing":       func(c *Config) { c.Namespace = "prod" },
		"repeated_keys": func(*Config) {},
	}
}

type fixedClock struct{ now time.Time }

func (c *fixedClock) Now() time.Time { return c.now }

// newTestLogs builds the processor with an injected clock, as the factory
// would with time.Now.
func newTestLogs(t testing.TB, cfg *Config, clock func() time.Time, next *consumertest.LogsSink) *activityProcessor {
	t.Helper()
	p, err := newActivityProcessor(cfg, processortest.NewNopSettings(metadata.Type), clock)
	if err != nil {
		t.Fatalf("newActivityProcessor: %v", err)
	}
	t.Cleanup(func() { _ = p.shutdown(context.Background()) })
	return p
}

func TestGolden(t *testing.T) {
	for name, configure := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", "golden", name)
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := golden.WriteLogs(t, filepath.Join(dir, "input.yaml"), goldenInputs()[name]()); err != nil {
					t.Fatal(err)
				}
			}
			input, err := golden.ReadLogs(filepath.Join(dir, "input.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			cfg := createDefaultConfig()
			configure(cfg)
			clk := &fixedClock{now: goldenNow}
			p := newTestLogs(t, cfg, clk.Now, nil)
			got, err := p.processLogs(context.Background(), input)
			if err == processorhelper.ErrSkipProcessingData {
				got = plog.NewLogs()
			} else if err != nil {
				t.Fatal(err)
			}
			expPath := filepath.Join(dir, "expected.yaml")
			if *update {
				if err := golden.WriteLogs(t, expPath, got); err != nil {
					t.Fatal(err)
				}
			}
			want, err := golden.ReadLogs(expPath)
			if err != nil {
				t.Fatal(err)
			}
			if err := plogtest.CompareLogs(want, got); err != nil {
				t.Errorf("got output different from %s: %v", expPath, err)
			}
			// CompareLogs reads maps as Go maps, blind to a repeated key.
			if p := repeatedKeyInLogs(got); p != "" {
				t.Errorf("the output repeats the key %s", p)
			}
			raw, err := os.ReadFile(expPath)
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range plantedSecrets() {
				if strings.Contains(string(raw), secret) {
					t.Errorf("%s holds the planted secret %q", expPath, secret)
				}
			}
		})
	}
}

// Planted secrets; none may appear in any expected output.
const (
	secretJWT      = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
	secretPassword = "hunter2-correct-horse"
	secretStripe   = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
	secretCard     = "4111111111111111"
	secretURLPass  = "dbpassw0rd"
	secretOTP      = "493817"
	secretBasic    = "YWxpY2U6b3BlbnNlc2FtZQ=="
	secretPEMBody  = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo"
	secretCookie   = "session=abc123def456"
)

func plantedSecrets() []string {
	return []string{secretJWT, secretPassword, secretStripe, secretCard, secretURLPass, secretOTP, secretBasic, secretPEMBody, secretCookie}
}

var goldenTS = pcommon.NewTimestampFromTime(time.Date(2026, 11, 26, 9, 59, 0, 0, time.UTC))

type recordSpec struct {
	event string
	ts    time.Duration // offset from goldenTS
	attrs map[string]any
	body  any
}

func buildLogs(resource map[string]any, scopeAttrs map[string]any, recs ...recordSpec) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	putSorted(rl.Resource().Attributes(), resource)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("legacy-emitter")
	putSorted(sl.Scope().Attributes(), scopeAttrs)
	for i, r := range recs {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(goldenTS + pcommon.Timestamp(r.ts))
		if r.event != "" {
			lr.SetEventName(schema.EventName(r.event))
		}
		putSorted(lr.Attributes(), r.attrs)
		if r.event != "" {
			lr.Attributes().PutStr(schema.AttrEvent, r.event)
		}
		if _, ok := r.attrs[schema.AttrID]; !ok && i%2 == 0 {
			lr.Attributes().PutStr(schema.AttrID, "0199a0e4-0000-7000-8000-00000000000"+string(rune('a'+i%6)))
		}
		switch b := r.body.(type) {
		case string:
			lr.Body().SetStr(b)
		case []byte:
			lr.Body().SetEmptyBytes().FromRaw(b)
		case map[string]any:
			_ = lr.Body().SetEmptyMap().FromRaw(b)
		case []any:
			_ = lr.Body().SetEmptySlice().FromRaw(b)
		case int64:
			lr.Body().SetInt(b)
		}
	}
	return ld
}

// mustRaw returns the JSON object doc as attributes, repeated keys kept.
func mustRaw(doc string) pcommon.Map {
	m, err := rawotlp.Attributes(doc)
	if err != nil {
		panic(err)
	}
	return m
}

// putSorted puts raw into m in key order, so regenerated inputs are stable.
func putSorted(m pcommon.Map, raw map[string]any) {
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		_ = m.PutEmpty(k).FromRaw(raw[k])
	}
}

func goldenInputs() map[string]func() plog.Logs {
	svc := map[string]any{schema.AttrServiceName: "legacy-php", schema.AttrTenantID: "acme"}
	return map[string]func() plog.Logs{
		"redaction": func() plog.Logs {
			ld := buildLogs(
				map[string]any{schema.AttrServiceName: "legacy-php", schema.AttrTenantID: "acme", "db.password": secretPassword},
				map[string]any{"auth.token": secretJWT},
				recordSpec{event: schema.EventUpdated, attrs: map[string]any{
					schema.AttrCategory: schema.CategoryMembers, schema.AttrOutcome: schema.OutcomeSuccess,
					schema.AttrUserID: "u-1", schema.AttrSubjectID: "m-9",
					"http.request.header.authorization": "Bearer " + secretJWT,
					"newPassword":                       secretPassword,
					"X-Api-Key":                         secretStripe,
					"http.request.header.cookie":        secretCookie,
					"payment.note":                      "paid with card " + secretCard + ", order 4111111111111112",
					"db.url":                            "postgres://app:" + secretURLPass + "@db.internal:5432/loyalty",
					"otp_code":                          secretOTP,
					"headers":                           map[string]any{"Authorization": "Basic " + secretBasic, "accept": "json"},
					"tls.key":                           "-----BEGIN PRIVATE KEY-----\n" + secretPEMBody + "\n-----END PRIVATE KEY-----",
					"raw_payload":                       []byte("opaque"),
					"payment.pan":                       float64(4111111111111111), // a double is written out as digits
					"sms_otp":                           float64(493817),
					"url.full":                          "https://api.example/cb?code=1&access_token=" + secretURLPass + "&state=x",
					"db.connection_string":              "Server=db;User Id=app;Password=" + secretPassword + ";Database=loyalty",
					schema.AttrChanges: map[string]any{
						"password": map[string]any{"old": secretPassword, "new": secretPassword + "!"},
						"email":    map[string]any{"old": "jane@example.com", "new": "jane.doe@example.com"},
						"api":      map[string]any{"old": "none", "new": "using " + secretStripe},
					},
					schema.AttrChangedFields: []any{"password", "email", "api"},
				}, body: "Jane updated member m-9 with token " + secretJWT},
				recordSpec{event: schema.EventLogin, attrs: map[string]any{schema.AttrCategory: schema.CategoryAuth},
					body: map[string]any{"user": "jane", "credentials": map[string]any{"password": secretPassword}, "note": "card " + secretCard}},
				recordSpec{event: schema.EventLogin, attrs: map[string]any{schema.AttrCategory: schema.CategoryAuth}, body: []byte("binary body")},
			)
			lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty()
			lr.SetTimestamp(goldenTS)
			lr.SetEventName("login with " + secretJWT)
			lr.SetSeverityText("Basic " + secretBasic)
			ld.ResourceLogs().At(0).ScopeLogs().At(0).Scope().SetVersion("1.0 " + secretStripe)
			// The exporter stores both schema URLs.
			ld.ResourceLogs().At(0).SetSchemaUrl("https://deploy:" + secretURLPass + "@schemas.example.com/1.26.0")
			ld.ResourceLogs().At(0).ScopeLogs().At(0).SetSchemaUrl("https://schemas.example.com/1.26.0?t=" + secretJWT)
			return ld
		},
		"redaction_hash": func() plog.Logs {
			return buildLogs(svc, nil,
				recordSpec{event: schema.EventUpdated, attrs: map[string]any{
					schema.AttrCategory: schema.CategoryStaff,
					"password":          secretPassword,
					"previous_password": secretPassword,
					"session":           secretJWT,
					"card":              int64(4111111111111111),
					schema.AttrChanges:  map[string]any{"pin_secret": map[string]any{"old": "1234", "new": "9876"}},
				}, body: "card " + secretCard + " charged"},
			)
		},
		"tenant": func() plog.Logs {
			ld := buildLogs(map[string]any{schema.AttrServiceName: "acme-pos"}, nil,
				recordSpec{event: schema.EventStampAdded, attrs: map[string]any{schema.AttrTenantID: "  ACME  "}},
				recordSpec{event: schema.EventStampAdded, attrs: map[string]any{}},
				recordSpec{event: schema.EventStampAdded, attrs: map[string]any{schema.AttrTenantID: "beta"}},
			)
			rl := ld.ResourceLogs().AppendEmpty()
			rl.Resource().Attributes().PutStr(schema.AttrServiceName, "unmapped-svc")
			rl.Resource().Attributes().PutStr(schema.AttrTenantID, "Gamma")
			lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
			lr.SetTimestamp(goldenTS)
			lr.Attributes().PutStr(schema.AttrEvent, schema.EventCreated)
			rl2 := ld.ResourceLogs().AppendEmpty()
			rl2.Resource().Attributes().PutStr(schema.AttrServiceName, "unmapped-svc")
			lr2 := rl2.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
			lr2.SetTimestamp(goldenTS)
			lr2.Attributes().PutStr(schema.AttrEvent, schema.EventCreated)
			// The reserved tenant is no tenant: tagged as missing, counted.
			lr3 := rl2.ScopeLogs().At(0).LogRecords().AppendEmpty()
			lr3.SetTimestamp(goldenTS)
			lr3.Attributes().PutStr(schema.AttrEvent, schema.EventCreated)
			lr3.Attributes().PutStr(schema.AttrTenantID, " Unknown ")
			return ld
		},
		"tenant_drop": func() plog.Logs {
			return buildLogs(map[string]any{schema.AttrServiceName: "acme-pos"}, nil,
				recordSpec{event: schema.EventStampAdded, attrs: map[string]any{schema.AttrTenantID: "acme"}},
				recordSpec{event: schema.EventStampAdded, attrs: map[string]any{schema.AttrTenantID: "beta"}},
				// The reserved tenant never conflicts: the service's tenant
				// stands.
				recordSpec{event: schema.EventStampAdded, attrs: map[string]any{schema.AttrTenantID: "UNKNOWN"}},
			)
		},
		"burst": func() plog.Logs {
			var recs []recordSpec
			for i := 0; i < 6; i++ {
				recs = append(recs, recordSpec{event: schema.EventLoginFailed, ts: time.Duration(i) * time.Second, attrs: map[string]any{
					schema.AttrCategory: schema.CategoryAuth, schema.AttrOutcome: schema.OutcomeFailure,
					schema.AttrClientAddress: "203.0.113.7", schema.AttrUserName: "user" + string(rune('a'+i)),
					schema.AttrFailureReason: "invalid_password",
				}, body: "Failed login"})
			}
			return buildLogs(svc, nil, recs...)
		},
		"types": func() plog.Logs {
			ld := buildLogs(svc, nil,
				recordSpec{event: schema.EventUpdated, attrs: map[string]any{
					schema.AttrClientAddress:  "203.0.113.7:51234",
					schema.AttrSubjectName:    map[string]any{"first": "Free", "second": "coffee"},
					schema.AttrChangedFields:  []any{"a", map[string]any{"b": 1}},
					schema.AttrChanges:        "name changed",
					schema.AttrAlertCount:     "7",
					schema.AttrAlertThreshold: 5.5,
				}, body: []any{"a", "b"}},
				recordSpec{event: schema.EventUpdated, attrs: map[string]any{
					"":                       "value under an empty key",
					schema.AttrClientAddress: "not-an-ip",
					schema.AttrUserRoles:     []any{schema.ActorStaff},
				}, body: int64(42)},
				// Maps under dotted prefixes of mapped fields would give
				// those fields more values: they become JSON strings.
				recordSpec{event: schema.EventUpdated, attrs: map[string]any{
					schema.AttrTenantID: "acme",
					"activity":          map[string]any{"tenant": map[string]any{"id": "globex"}},
					"activity.tenant":   map[string]any{"id": "globex"},
					"user":              []any{"plain", map[string]any{"name": "mallory"}},
					"client":            "a string under a prefix stays",
				}},
			)
			res := ld.ResourceLogs().At(0).Resource().Attributes()
			_ = res.PutEmptyMap("service").FromRaw(map[string]any{"name": "another-service"})
			return ld
		},
		"forged_alerts": func() plog.Logs {
			return buildLogs(svc, nil,
				recordSpec{event: schema.EventFailedLoginBurst, attrs: map[string]any{
					schema.AttrCategory: schema.CategorySecurity, schema.AttrAlertKey: "198.51.100.1",
				}, body: "5 failed logins from 198.51.100.1 in 1m0s"},
				recordSpec{event: schema.EventUpdated, attrs: map[string]any{schema.AttrCategory: schema.CategorySecurity}},
				recordSpec{event: schema.EventUpdated, attrs: map[string]any{schema.AttrAlertRule: "mine"}},
				recordSpec{event: schema.EventUpdated, attrs: map[string]any{schema.AttrCategory: schema.CategoryRewards}, body: "kept"},
			)
		},
		// An emitter that repeats keys, at every level a map can sit:
		// Elasticsearch would refuse each of these documents whole. The
		// first entry of a key stays; the repeats carry a secret, a tenant
		// and a value of the wrong type that must not matter.
		"repeated_keys": func() plog.Logs {
			ld := buildLogs(nil, nil,
				recordSpec{event: schema.EventUpdated},
				recordSpec{event: schema.EventLogin, ts: time.Second})
			rl := ld.ResourceLogs().At(0)
			mustRaw(`{"service.name":"legacy-php","activity.tenant.id":"acme","activity.tenant.id":"evil"}`).
				CopyTo(rl.Resource().Attributes())
			sl := rl.ScopeLogs().At(0)
			mustRaw(`{"library":"a","library":"b"}`).CopyTo(sl.Scope().Attributes())
			lr := sl.LogRecords().At(0)
			mustRaw(`{"activity.event":"updated","activity.category":"members","activity.tenant.id":"acme",
				"activity.tenant.id":"evil","user.name":"jane","user.name":"Bearer ` + secretJWT + `",
				"client.address":"203.0.113.5","client.address":{"not":"an address"},
				"activity.changes":{"email":{"old":"a@example.com","old":"b@example.com","new":"c@example.com"},
					"email":{"new":"d@example.com"},"password":{"old":"` + secretPassword + `"},"password":{"new":"x"}},
				"labels":[{"k":"1","k":"2"}]}`).CopyTo(lr.Attributes())
			lr.Body().SetEmptyMap()
			mustRaw(`{"note":"first","note":"second","deep":{"x":1,"x":2}}`).CopyTo(lr.Body().Map())
			second := sl.LogRecords().At(1)
			mustRaw(`{"activity.event":"login","activity.event":"login_failed","activity.category":"auth",
				"activity.tenant.id":"acme"}`).CopyTo(second.Attributes())
			return ld
		},
		"routing": func() plog.Logs {
			return buildLogs(
				map[string]any{schema.AttrServiceName: "legacy-php", schema.AttrTenantID: "acme",
					schema.AttrIngestPipeline: "drop-everything", schema.AttrDataStreamNamespace: "victim"},
				map[string]any{schema.AttrMappingMode: "bodymap", schema.AttrIndex: "stolen"},
				recordSpec{event: schema.EventDeleted, attrs: map[string]any{
					schema.AttrID:                  "0199a0e4-1111-7aaa-8bbb-123456789abc",
					schema.AttrDataStreamNamespace: "victim",
					schema.AttrDataStreamDataset:   "other",
					schema.AttrDocumentID:          "someone-elses-doc",
					schema.AttrIndex:               "stolen",
					schema.AttrMappingHints:        []any{"_doc_count"},
				}},
				recordSpec{event: schema.EventDeleted, attrs: map[string]any{"note": "no id from this emitter"}},
			)
		},
	}
}

// repeatedKeyInLogs returns the path of a key repeated in some map of ld
// (attributes of resources, scopes and records, and bodies), or "".
func repeatedKeyInLogs(ld plog.Logs) string {
	for i, rl := range ld.ResourceLogs().All() {
		if p := rawotlp.RepeatedKey(rl.Resource().Attributes(), fmt.Sprintf("resource[%d]", i)); p != "" {
			return p
		}
		for j, sl := range rl.ScopeLogs().All() {
			if p := rawotlp.RepeatedKey(sl.Scope().Attributes(), fmt.Sprintf("scope[%d]", j)); p != "" {
				return p
			}
			for k, lr := range sl.LogRecords().All() {
				if p := rawotlp.RepeatedKey(lr.Attributes(), fmt.Sprintf("record[%d]", k)); p != "" {
					return p
				}
				if p := rawotlp.RepeatedKeyIn(lr.Body(), fmt.Sprintf("record[%d].body", k)); p != "" {
					return p
				}
			}
		}
	}
	return ""
}
