package setup_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/schema"
	"github.com/activitylog/activitylog/setup"
)

// TestInstallReportsTemplatesThatOverrideIt proves, on the real node, that
// Install reports an index template of higher priority whose pattern
// covers activity data stream names, here one that would keep their records
// a single day, and that Elasticsearch does create such a stream from it.
// Before, setup answered "unchanged index template activitylog" and its
// retention line as if every activity stream followed the schema, while the
// streams of that namespace got another template's mappings and retention
// (kibana_system, with manage_index_templates, may put such a template).
// Once the template is gone, Install reports nothing, so an unrelated
// template of higher priority (another test's, for another dataset) is not
// mistaken for one.
func TestInstallReportsTemplatesThatOverrideIt(t *testing.T) {
	es := estest.Client(t)
	base := estest.URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	ns := estest.Namespace(t)
	name := "activitylog-override-" + ns
	pattern := schema.DataStream(ns) + "*"
	url := base + "/_index_template/" + name
	send(t, http.MethodPut, url, fmt.Sprintf(`{"index_patterns":[%q],"data_stream":{},"priority":%d,
		"template":{"lifecycle":{"data_retention":"1d"}}}`, pattern, schema.TemplatePriority+100))
	removed := false
	t.Cleanup(func() {
		if !removed {
			send(t, http.MethodDelete, url, "")
		}
	})
	find := func(r setup.Report) (setup.OverridingTemplate, bool) {
		i := slices.IndexFunc(r.Overriding, func(o setup.OverridingTemplate) bool { return o.Name == name })
		if i < 0 {
			return setup.OverridingTemplate{}, false
		}
		return r.Overriding[i], true
	}

	report, err := setup.Install(ctx, es, setup.Config{})
	if err != nil {
		t.Fatalf("install: %v", err)
	}
	got, ok := find(report)
	if !ok {
		t.Fatalf("got overriding templates %v, want %s reported", report.Overriding, name)
	}
	if got.Priority != schema.TemplatePriority+100 || !slices.Equal(got.Patterns, []string{pattern}) {
		t.Errorf("got %+v, want priority %d and patterns [%s]", got, schema.TemplatePriority+100, pattern)
	}
	if report.Changed() {
		t.Errorf("got changes %v, want the other template left alone and nothing changed", report.Changes)
	}
	// The report is about what Elasticsearch does: a stream of that
	// namespace is created from the other template, not from ours.
	sim := send(t, http.MethodPost, base+"/_index_template/_simulate_index/"+schema.DataStream(ns), "")
	var simulated struct {
		Template struct {
			Lifecycle struct {
				DataRetention string `json:"data_retention"`
			} `json:"lifecycle"`
		} `json:"template"`
	}
	mustUnmarshal(t, sim, &simulated)
	if simulated.Template.Lifecycle.DataRetention != "1d" {
		t.Errorf("simulated %s: got retention %q, want the overriding template's 1d", schema.DataStream(ns), simulated.Template.Lifecycle.DataRetention)
	}

	send(t, http.MethodDelete, url, "")
	removed = true
	report, err = setup.Install(ctx, es, setup.Config{})
	if err != nil {
		t.Fatalf("install after removing %s: %v", name, err)
	}
	if got, ok := find(report); ok {
		t.Errorf("got %v reported after it was deleted, want nothing", got)
	}
}
