package dashboards_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/activitylog/activitylog/dashboards"
	"github.com/activitylog/activitylog/dashboards/internal/build"
	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/instrumentation/otlp"
	"github.com/activitylog/activitylog/internal/collectortest"
	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/schema"
)

// TestBurstAlertsOnSecurityDashboard sends a partner's failed logins through
// the real collector (shipped configuration: five failures in a minute raise
// an alert per client address and per user name) into a real node, and
// proves the security dashboard shows the alerts it is about: every column
// of the "Failed-login burst alerts" search is a field the alerts carry, and
// choosing the partner of the failed logins in the Partner control keeps
// that partner's alerts.
func TestBurstAlertsOnSecurityDashboard(t *testing.T) {
	estest.InstallSchema(t)
	ns := estest.Namespace(t)
	col := collectortest.Start(t, collectortest.Options{Namespace: ns})
	provider, err := otlp.NewProvider(context.Background(),
		otlp.WithEndpoint(col.GRPCEndpoint), otlp.WithInsecure(), otlp.WithHeaders(col.Headers()), otlp.WithServiceName("dashboards-test"),
		otlp.WithExportInterval(100*time.Millisecond))
	if err != nil {
		t.Fatalf("otlp provider: %v", err)
	}
	rec := instrumentation.New(provider)
	ctx := instrumentation.WithTenant(context.Background(), instrumentation.Tenant{ID: "bean-there", Name: "Bean There Coffee"})
	ctx = instrumentation.WithRequest(ctx, instrumentation.Request{ClientAddress: "203.0.113.7", UserAgent: "dashboards-test"})
	const failures = 5
	for range failures {
		tried := instrumentation.Actor{Name: "owner@beanthere.example", Type: instrumentation.ActorPartner}
		if err := rec.LoginFailed(ctx, tried, "invalid_password"); err != nil {
			t.Fatal(err)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := provider.Shutdown(sctx); err != nil {
		t.Fatalf("provider shutdown: %v", err)
	}
	stream := schema.DataStream(ns)
	const alerts = 2 // one per key: the client address and the user name
	if got := collectortest.WaitForCount(t, estest.URL(t), stream, failures+alerts, 60*time.Second); got != failures+alerts {
		t.Fatalf("got %d documents, want %d failed logins and %d alerts", got, failures, alerts)
	}

	objs := objects(t)
	byID := map[string]dashboards.SavedObject{}
	for _, o := range objs {
		byID[o.ID] = o
	}
	alertQuery := termQuery(schema.Path(schema.AttrEvent), schema.EventFailedLoginBurst)

	t.Run("alert search columns", func(t *testing.T) {
		var columns []string
		if err := json.Unmarshal(byID[build.BurstAlertRecordsID].Attributes["columns"], &columns); err != nil {
			t.Fatal(err)
		}
		docs := searchFields(t, stream, alertQuery)
		if len(docs) != alerts {
			t.Fatalf("got %d alerts, want %d", len(docs), alerts)
		}
		for _, doc := range docs {
			for _, c := range columns {
				if _, ok := doc[c]; !ok {
					t.Errorf("alert %v: column %s: the alert has no such field, so the column is always empty", doc[schema.Path(schema.AttrAlertKey)], c)
				}
			}
		}
	})

	t.Run("partner control keeps the partner's alerts", func(t *testing.T) {
		controls, err := controlPanels(byID[build.SecurityDashboardID])
		if err != nil {
			t.Fatal(err)
		}
		var field string
		for _, c := range controls {
			if c.ExplicitInput.Title == "Partner" {
				field = c.ExplicitInput.FieldName
			}
		}
		if field == "" {
			t.Fatal("the security dashboard has no Partner control")
		}
		// The partner an analyst picks is the one the failed logins show.
		failed := searchFields(t, stream, termQuery(schema.Path(schema.AttrEvent), schema.EventLoginFailed))
		if len(failed) == 0 {
			t.Fatal("no failed logins")
		}
		values, _ := failed[0][field].([]any)
		if len(values) != 1 {
			t.Fatalf("failed login: control field %s holds %v, want one value", field, failed[0][field])
		}
		picked := fmt.Sprint(values[0])
		kept := searchFields(t, stream, fmt.Sprintf(`{"bool":{"filter":[%s,%s]}}`, alertQuery, termQuery(field, picked)))
		if len(kept) != alerts {
			t.Errorf("Partner control on %s = %q: got %d of the partner's %d burst alerts, want all", field, picked, len(kept), alerts)
		}
	})
}

func termQuery(field, value string) string {
	f, _ := json.Marshal(field)
	v, _ := json.Marshal(value)
	return fmt.Sprintf(`{"term":{%s:%s}}`, f, v)
}

// searchFields returns the "fields" of every document matching query, by
// full field path, as Kibana reads them.
func searchFields(t *testing.T, index, query string) []map[string]any {
	t.Helper()
	es := estest.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	body := fmt.Sprintf(`{"size":100,"query":%s,"fields":["*"],"_source":false}`, query)
	res, err := es.Search().Index(index).Raw(strings.NewReader(body)).Do(ctx)
	if err != nil {
		t.Fatalf("search %s: %v", index, err)
	}
	var out []map[string]any
	for _, h := range res.Hits.Hits {
		doc := map[string]any{}
		for k, raw := range h.Fields {
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatalf("field %s: %v", k, err)
			}
			doc[k] = v
		}
		out = append(out, doc)
	}
	return out
}
