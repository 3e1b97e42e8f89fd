package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/schema"
)

func TestSetupTwiceReportsNoChange(t *testing.T) {
	env := map[string]string{"ES_URL": estest.URL(t)}
	getenv := func(k string) string { return env[k] }
	var first, second, stderr bytes.Buffer
	if err := run(context.Background(), []string{"setup"}, getenv, &first, &stderr); err != nil {
		t.Fatalf("first setup: %v\n%s", err, stderr.String())
	}
	if err := run(context.Background(), []string{"setup"}, getenv, &second, &stderr); err != nil {
		t.Fatalf("second setup: %v\n%s", err, stderr.String())
	}
	out := second.String()
	if !strings.Contains(out, "nothing changed") || strings.Contains(out, "created") || strings.Contains(out, "updated ") {
		t.Errorf("second run reported a change:\n%s", out)
	}
	// The integ-test-zip node has neither ILM nor the data stream
	// lifecycle: nothing deletes old records there, and setup says so.
	if warn := stderr.String(); !strings.Contains(warn, "neither ILM nor the data stream lifecycle runs on this cluster") {
		t.Errorf("got stderr %q, want the missing retention reported", warn)
	}
}

func TestSummaryShowsEventCounts(t *testing.T) {
	estest.InstallSchema(t)
	ns := estest.Namespace(t)
	env := map[string]string{"ES_URL": estest.URL(t), "ACTIVITY_NAMESPACE": ns}
	getenv := func(k string) string { return env[k] }
	var out, stderr bytes.Buffer
	if err := run(context.Background(), []string{"summary"}, getenv, &out, &stderr); err != nil {
		t.Fatalf("summary of an empty namespace: %v\n%s", err, stderr.String())
	}
	if got, want := out.String(), "0 records in logs-activity.otel-"+ns+"\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}

	var bulk strings.Builder
	for i, event := range []string{"login", "login", "created"} {
		fmt.Fprintf(&bulk, "{\"create\":{}}\n{\"@timestamp\":\"2026-01-01T00:00:0%dZ\",\"attributes\":{\"activity.event\":%q}}\n", i, event)
	}
	resp, err := http.Post(estest.URL(t)+"/"+schema.DataStream(ns)+"/_bulk?refresh=true", "application/x-ndjson", strings.NewReader(bulk.String()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	out.Reset()
	if err := run(context.Background(), []string{"summary"}, getenv, &out, &stderr); err != nil {
		t.Fatalf("summary: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"3 records in", "2    login", "1  created", `"activity.event": "created"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestSummaryCountsOtherEvents: the list of events is bounded (the known
// events and ten more), and the records of the events beyond it are counted
// on a line of their own rather than left out without a word.
func TestSummaryCountsOtherEvents(t *testing.T) {
	estest.InstallSchema(t)
	ns := estest.Namespace(t)
	env := map[string]string{"ES_URL": estest.URL(t), "ACTIVITY_NAMESPACE": ns}
	getenv := func(k string) string { return env[k] }
	n := len(schema.Events()) + 13
	var bulk strings.Builder
	for i := range n {
		fmt.Fprintf(&bulk, "{\"create\":{}}\n{\"@timestamp\":\"2026-01-01T00:00:00Z\",\"attributes\":{\"activity.event\":\"custom_%03d\"}}\n", i)
	}
	resp, err := http.Post(estest.URL(t)+"/"+schema.DataStream(ns)+"/_bulk?refresh=true", "application/x-ndjson", strings.NewReader(bulk.String()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var out, stderr bytes.Buffer
	if err := run(context.Background(), []string{"summary"}, getenv, &out, &stderr); err != nil {
		t.Fatalf("summary: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{fmt.Sprintf("%d records in", n), "3  (other events)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestBadArguments also proves that a password for the analyst or for
// kibana_system given without the writer's and reader's is refused, not
// silently ignored (setup would otherwise report success and create no
// analyst, or leave Kibana unable to connect).
func TestBadArguments(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, nil, "no command"},
		{[]string{"frobnicate"}, nil, "unknown command"},
		{[]string{"setup", "-retention", "12h"}, nil, "whole number of days"},
		{[]string{"setup", "-ilm", "maybe"}, nil, "want auto, true or false"},
		// Flags end at the first argument that is not one: the -retention
		// after it was silently dropped, and setup installed 365 days.
		{[]string{"setup", "now", "-retention", "30d"}, map[string]string{"ES_URL": "http://127.0.0.1:1"}, `unexpected argument "now"`},
		{[]string{"setup", "retention=30d"}, map[string]string{"ES_URL": "http://127.0.0.1:1"}, `unexpected argument "retention=30d"`},
		{[]string{"summary", "tenant-a"}, map[string]string{"ES_URL": "http://127.0.0.1:1"}, `unexpected argument "tenant-a"`},
		// A namespace the collector refuses names no data stream: the summary
		// said "no records" of one that cannot exist.
		{[]string{"summary"}, map[string]string{"ES_URL": "http://127.0.0.1:1", "ACTIVITY_NAMESPACE": "Prod EU"}, `namespace "Prod EU" has 'P' at byte 0`},
		{[]string{"summary", "-namespace", "eu/prod"}, map[string]string{"ES_URL": "http://127.0.0.1:1"}, `namespace "eu/prod" has '/' at byte 2`},
		{[]string{"setup"}, map[string]string{"ES_URL": estest.URL(t), "KIBANA_SYSTEM_PASSWORD": "kibana-password-1"}, "ACTIVITYLOG_WRITER_PASSWORD"},
		{[]string{"setup"}, map[string]string{"ES_URL": estest.URL(t), "ACTIVITYLOG_ANALYST_PASSWORD": "analyst-password-1"}, "ACTIVITYLOG_WRITER_PASSWORD"},
		// The setup user (the superuser in the compose stack) sharing its
		// password with a service's user would hand that service the power
		// to delete records: refused before anything is installed.
		{[]string{"setup"}, map[string]string{"ES_URL": "http://127.0.0.1:1", "ES_USERNAME": "elastic", "ES_PASSWORD": "shared-password-1",
			"ACTIVITYLOG_WRITER_PASSWORD": "shared-password-1", "ACTIVITYLOG_READER_PASSWORD": "reader-password-1"}, "ES_PASSWORD"},
		{[]string{"setup"}, map[string]string{"ES_URL": "http://127.0.0.1:1", "ES_USERNAME": "elastic", "ES_PASSWORD": "shared-password-1",
			"ACTIVITYLOG_WRITER_PASSWORD": "writer-password-1", "ACTIVITYLOG_READER_PASSWORD": "reader-password-1", "KIBANA_SYSTEM_PASSWORD": "shared-password-1"}, "ES_PASSWORD"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(append(tt.args, slices.Sorted(maps.Keys(tt.env))...), " "), func(t *testing.T) {
			var out, stderr bytes.Buffer
			getenv := func(k string) string { return tt.env[k] }
			err := run(context.Background(), tt.args, getenv, &out, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func FuzzParseDays(f *testing.F) {
	for _, s := range []string{"365d", "365", "0d", "-1d", "12h", "", "d", "99999999999999999999d", " 30d "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseDays(s)
		if err == nil && (n <= 0 || n > maxRetentionDays) {
			t.Errorf("parseDays(%q) = %d with no error, want 1 to %d days or an error", s, n, maxRetentionDays)
		}
		if err == nil && time.Duration(n)*24*time.Hour <= 0 {
			t.Errorf("parseDays(%q) = %d overflows a time.Duration", s, n)
		}
		if err != nil && !strings.Contains(err.Error(), "whole number of days") {
			t.Errorf("parseDays(%q): error %q does not say what is wanted", s, err)
		}
	})
}

// TestSetupWarnsAboutOverridingTemplate proves that activityctl setup warns
// on stderr, naming it, about an index template that takes precedence over
// the activity schema's for some activity data streams (here with a
// one-day retention), instead of reporting only "nothing changed".
func TestSetupWarnsAboutOverridingTemplate(t *testing.T) {
	base := estest.URL(t)
	env := map[string]string{"ES_URL": base}
	getenv := func(k string) string { return env[k] }
	name := "activitylog-override-" + estest.Namespace(t)
	url := base + "/_index_template/" + name
	body := fmt.Sprintf(`{"index_patterns":[%q],"data_stream":{},"priority":%d,"template":{"lifecycle":{"data_retention":"1d"}}}`,
		schema.DataStream(estest.Namespace(t))+"*", schema.TemplatePriority+1)
	do := func(method, body string) {
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: got %s, want 200 OK", method, url, resp.Status)
		}
	}
	do(http.MethodPut, body)
	t.Cleanup(func() { do(http.MethodDelete, "") })

	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"setup"}, getenv, &stdout, &stderr); err != nil {
		t.Fatalf("setup: %v\n%s", err, stderr.String())
	}
	want := fmt.Sprintf("warning: index template %s (priority %d", name, schema.TemplatePriority+1)
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("got stderr %q, want a line with %q", stderr.String(), want)
	}
}
