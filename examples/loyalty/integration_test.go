package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"

	"github.com/activitylog/activitylog/internal/collectortest"
	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/schema"
)

// notRecordedByActions are the schema fields an ordinary action does not
// carry, so they are not expected in the example service's documents:
//   - the activity.alert.* fields exist only on the security alerts the
//     collector's detectors raise (the alerts themselves are not the
//     service's actions, and are excluded from the counts below);
//   - the activity.query.* fields exist only on the query service's audit
//     records of who read the log (category audit, event viewed);
//   - activity.redacted_keys is written only when the collector redacts a
//     value that looked like a secret; the library sends none;
//   - body.structured holds a map body; the library always sends the
//     plain-English description (body.text);
//   - trace_id and span_id exist only when the request was traced; the
//     example service has no tracing.
func notRecordedByActions(f schema.Field) bool {
	switch f.Attribute {
	case schema.AttrAlertRule, schema.AttrAlertKeyType, schema.AttrAlertKey, schema.AttrAlertCount,
		schema.AttrAlertThreshold, schema.AttrAlertWindowSeconds, schema.AttrAlertFirstSeen, schema.AttrAlertLastSeen,
		schema.AttrQueryEndpoint, schema.AttrQueryParams, schema.AttrQueryStatus,
		schema.AttrRedactedKeys:
		return true
	}
	switch f.Path {
	case schema.FieldBodyStructured, schema.FieldTraceID, schema.FieldSpanID:
		return true
	}
	return false
}

var statsLine = regexp.MustCompile(`activity records: accepted=(\d+) exported=(\d+) dropped=(\d+) failed=(\d+) reduced=(\d+)`)

// TestExampleServiceActionsReachElasticsearch drives the example service's
// demo traffic through the real collector into a real Elasticsearch node and
// checks that every record arrived exactly once and that, together, the
// documents fill every field of the schema an action can carry.
func TestExampleServiceActionsReachElasticsearch(t *testing.T) {
	for _, protocol := range []string{"grpc", "http/protobuf"} {
		t.Run(protocol, func(t *testing.T) { actionsReachElasticsearch(t, protocol) })
	}
}

func actionsReachElasticsearch(t *testing.T, protocol string) {
	estest.InstallSchema(t)
	es := estest.Client(t)
	ns := estest.Namespace(t)
	col := collectortest.Start(t, collectortest.Options{Namespace: ns})

	endpoint := col.GRPCEndpoint
	if protocol != "grpc" {
		endpoint = col.HTTPEndpoint
	}
	env := map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + endpoint,
		"OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
		"OTEL_EXPORTER_OTLP_HEADERS":  col.HeadersEnv(),
		"LOYALTY_DEMO_PASSWORD":       "integration-demo-password",
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"loyalty", "-demo-traffic", "1", "-bcrypt-cost", "4", "-environment", "integration"},
		func(k string) string { return env[k] }, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	m := statsLine.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no record statistics in the output:\n%s", out.String())
	}
	exported, _ := strconv.Atoi(m[2])
	if m[3] != "0" || m[4] != "0" || m[5] != "0" || m[1] != m[2] {
		t.Fatalf("got %s, want every accepted record exported whole", m[0])
	}
	if exported < 100 {
		t.Fatalf("got %d records exported, want a realistic burst of at least 100", exported)
	}

	ds := schema.DataStream(ns)
	actions := types.Query{Bool: &types.BoolQuery{MustNot: []types.Query{term(schema.Path(schema.AttrCategory), schema.CategorySecurity)}}}
	deadline := time.Now().Add(90 * time.Second)
	got := 0
	for {
		got = count(t, es, ds, actions)
		if got >= exported || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(time.Second) // let any duplicate land before the exact count
	if got = count(t, es, ds, actions); got != exported {
		t.Fatalf("got %d action documents in %s, want exactly %d", got, ds, exported)
	}

	for _, f := range schema.Fields() {
		if notRecordedByActions(f) {
			continue
		}
		t.Run(f.Path, func(t *testing.T) {
			q := types.Query{Bool: &types.BoolQuery{
				Must:    []types.Query{{Exists: &types.ExistsQuery{Field: f.Path}}},
				MustNot: actions.Bool.MustNot,
			}}
			if n := count(t, es, ds, q); n == 0 {
				t.Errorf("got no action document with %s, want some", f.Path)
			}
		})
	}

	// One known action, field by field: the owner raising a reward's price,
	// from the partner portal, in Bean There's tenant.
	t.Run("reward update", func(t *testing.T) {
		q := types.Query{Bool: &types.BoolQuery{Filter: []types.Query{
			term(schema.FieldEventName, schema.EventName(schema.EventUpdated)),
			term(schema.Path(schema.AttrSubjectName), "Free coffee"),
			term(schema.Path(schema.AttrTenantID), "bean-there"),
			term(schema.Path(schema.AttrTenantName), "Bean There Coffee"),
			term(schema.Path(schema.AttrActorType), schema.ActorPartner),
			term(schema.Path(schema.AttrClientAddress), ownerIP),
			term(schema.Path(schema.AttrUserAgent), ownerUA),
			term(schema.Path(schema.AttrChangedFields), "points"),
			term(schema.Path(schema.AttrChanges)+".points.old", "100"),
			term(schema.Path(schema.AttrChanges)+".points.new", "120"),
			term(schema.ResourcePath(schema.AttrServiceName), "loyalty-api"),
			term(schema.ResourcePath("deployment.environment.name"), "integration"),
			{Match: map[string]types.MatchQuery{schema.FieldBodyText: {Query: "Owner of Bean There Coffee updated reward"}}},
		}}}
		if n := count(t, es, ds, q); n != 1 {
			t.Errorf("got %d matching documents, want 1", n)
		}
	})
	t.Run("failed login burst from one address", func(t *testing.T) {
		q := types.Query{Bool: &types.BoolQuery{Filter: []types.Query{
			term(schema.Path(schema.AttrEvent), schema.EventLoginFailed),
			term(schema.Path(schema.AttrClientAddress), attackerIP),
			term(schema.Path(schema.AttrFailureReason), "invalid_password"),
			term(schema.FieldSeverityText, "WARN"),
		}}}
		if n, want := count(t, es, ds, q), 2*failedBurst; n != want {
			t.Errorf("got %d failed logins from %s, want %d", n, attackerIP, want)
		}
	})
	t.Run("phone changes are redacted", func(t *testing.T) {
		q := types.Query{Bool: &types.BoolQuery{Filter: []types.Query{
			term(schema.Path(schema.AttrChanges)+".phone.redacted", "true"),
		}}}
		if n := count(t, es, ds, q); n == 0 {
			t.Error("got no redacted phone change, want some")
		}
		q = types.Query{QueryString: &types.QueryStringQuery{Query: `"+15550108888" OR "+15550107777" OR "integration-demo-password"`}}
		if n := count(t, es, ds, q); n != 0 {
			t.Errorf("got %d documents containing a phone number or the password, want 0", n)
		}
	})
}

func term(field, value string) types.Query {
	return types.Query{Term: map[string]types.TermQuery{field: {Value: value}}}
}

func count(t *testing.T, es *elasticsearch.TypedClient, index string, q types.Query) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := es.Indices.Refresh().Index(index).IgnoreUnavailable(true).AllowNoIndices(true).Do(ctx); err != nil {
		t.Fatalf("refresh %s: %v", index, err)
	}
	res, err := es.Count().Index(index).IgnoreUnavailable(true).AllowNoIndices(true).Query(&q).Do(ctx)
	if err != nil {
		t.Fatalf("count %s: %v", index, fmt.Errorf("%w", err))
	}
	return int(res.Count)
}
