package setup_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/typedapi/types"

	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/schema"
	"github.com/activitylog/activitylog/setup"
)

// The integ-test-zip node has no data streams module, so it can neither run
// the data stream lifecycle nor answer GET or PUT _data_stream/<name>/_lifecycle.
// The branch of setup for a cluster without ILM where the lifecycle runs is
// therefore tested against lifecycleCluster: it answers GET _ilm/status as
// the integ-test-zip does (405), GET _lifecycle/stats as a cluster where the
// lifecycle runs (200), and the two lifecycle APIs in the format Elasticsearch
// 8.19 answers them, keeping what setup PUT. Templates go to an ilmCluster.
const (
	recordedLifecycleStats = `{"last_run_duration_in_millis":2,"time_between_starts_in_millis":9998,"data_stream_count":1,"data_streams":[]}`
	// recordedLifecycleForbidden is PUT _data_stream/<name>/_lifecycle by a
	// user with view_index_metadata but not manage on the stream.
	recordedLifecycleForbidden = `{"error":{"root_cause":[{"type":"security_exception","reason":"action [indices:admin/data_stream/lifecycle/put] is unauthorized for user [setup] with effective roles [viewer] on indices [%[1]s], this action is granted by the index privileges [manage_data_stream_lifecycle,manage,all]"}],"type":"security_exception","reason":"action [indices:admin/data_stream/lifecycle/put] is unauthorized for user [setup] with effective roles [viewer] on indices [%[1]s], this action is granted by the index privileges [manage_data_stream_lifecycle,manage,all]"},"status":403}`
	// recordedNoSecurityHandler is POST _security/user/_has_privileges on the
	// integ-test-zip node with security off: it registers no security API.
	recordedNoSecurityHandler = `{"error":"no handler found for uri [/_security/user/_has_privileges] and method [POST]"}`
	// recordedSecurityDisabled is the same request where the security API is
	// registered but security is off (SecurityBaseRestHandler).
	recordedSecurityDisabled = `{"error":{"root_cause":[{"type":"illegal_state_exception","reason":"Security is not enabled but a security rest handler is registered"}],"type":"illegal_state_exception","reason":"Security is not enabled but a security rest handler is registered"},"status":500}`
	// recordedHasPrivileges is its answer on a secured cluster, for a user
	// with view_index_metadata but not manage_data_stream_lifecycle.
	recordedHasPrivileges = `{"username":"setup","has_all_requested":false,"cluster":{},"index":{"logs-activity.otel-*":{"view_index_metadata":true,"manage_data_stream_lifecycle":false}},"application":{}}`
)

// streamLifecycle is a data stream's lifecycle as GET _lifecycle shows it.
type streamLifecycle struct {
	Enabled       bool   `json:"enabled"`
	DataRetention string `json:"data_retention,omitempty"`
}

type lifecycleCluster struct {
	t         *testing.T
	templates *ilmCluster
	mu        sync.Mutex
	streams   map[string]*streamLifecycle // name -> lifecycle; nil: none
	puts      []string                    // streams whose lifecycle setup PUT
	forbidPut bool
	// privileges, when set, answers POST _security/user/_has_privileges;
	// by default it answers as the integ-test-zip node with security off.
	privileges func() (status int, body string)
	// hidden makes GET _data_stream/<wildcard>/_lifecycle list no stream, as
	// Elasticsearch answers a user without view_index_metadata on them.
	hidden bool
	// settings, when set, is GET _cluster/settings' answer; by default
	// data_streams.lifecycle.retention.max is left at its default, -1.
	settings string
}

func newLifecycleCluster(t *testing.T, streams map[string]*streamLifecycle) *lifecycleCluster {
	return &lifecycleCluster{
		t:         t,
		templates: &ilmCluster{t: t, store: map[string]json.RawMessage{}},
		streams:   streams,
	}
}

func (c *lifecycleCluster) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reply := func(status int, body string) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
	p := r.URL.Path
	switch {
	case r.Method == http.MethodGet && p == "/_ilm/status":
		reply(http.StatusMethodNotAllowed, recordedNoILM)
	case r.Method == http.MethodGet && p == "/_lifecycle/stats":
		reply(http.StatusOK, recordedLifecycleStats)
	case r.Method == http.MethodPost && p == "/_security/user/_has_privileges":
		if c.privileges == nil {
			reply(http.StatusBadRequest, recordedNoSecurityHandler)
			return
		}
		reply(c.privileges())
	case r.Method == http.MethodGet && p == "/_cluster/settings":
		if c.settings == "" {
			reply(http.StatusOK, `{"persistent":{},"transient":{},"defaults":{"data_streams.lifecycle.retention.max":"-1"}}`)
			return
		}
		reply(http.StatusOK, c.settings)
	case strings.HasPrefix(p, "/_data_stream/") && strings.HasSuffix(p, "/_lifecycle"):
		c.serveLifecycle(r, strings.TrimSuffix(strings.TrimPrefix(p, "/_data_stream/"), "/_lifecycle"), reply)
	default:
		c.templates.ServeHTTP(w, r)
	}
}

func (c *lifecycleCluster) serveLifecycle(r *http.Request, target string, reply func(int, string)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var names []string
	for name := range c.streams {
		if c.hidden && strings.Contains(target, "*") {
			break
		}
		if ok, _ := path.Match(target, name); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if len(names) == 0 && !strings.Contains(target, "*") {
		reply(http.StatusNotFound, fmt.Sprintf(`{"error":{"root_cause":[{"type":"index_not_found_exception","reason":"no such index [%[1]s]"}],"type":"index_not_found_exception","reason":"no such index [%[1]s]"},"status":404}`, target))
		return
	}
	switch r.Method {
	case http.MethodGet:
		type entry struct {
			Name      string          `json:"name"`
			Lifecycle json.RawMessage `json:"lifecycle,omitempty"`
		}
		entries := []entry{}
		for _, name := range names {
			e := entry{Name: name}
			if l := c.streams[name]; l != nil {
				e.Lifecycle = fmt.Appendf(nil, `{"enabled":%t,"data_retention":%q,"effective_retention":%[2]q,"retention_determined_by":"data_stream_configuration"}`, l.Enabled, l.DataRetention)
			}
			entries = append(entries, e)
		}
		body, _ := json.Marshal(map[string]any{"global_retention": map[string]any{}, "data_streams": entries})
		reply(http.StatusOK, string(body))
	case http.MethodPut:
		if c.forbidPut {
			reply(http.StatusForbidden, fmt.Sprintf(recordedLifecycleForbidden, target))
			return
		}
		var put struct {
			DataRetention string `json:"data_retention"`
			Enabled       *bool  `json:"enabled"`
		}
		if err := json.NewDecoder(r.Body).Decode(&put); err != nil {
			reply(http.StatusBadRequest, `{"error":"bad body","status":400}`)
			return
		}
		for _, name := range names {
			// PUT replaces the lifecycle; enabled defaults to true.
			c.streams[name] = &streamLifecycle{Enabled: put.Enabled == nil || *put.Enabled, DataRetention: put.DataRetention}
			c.puts = append(c.puts, name)
		}
		reply(http.StatusOK, recordedAck)
	default:
		c.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		reply(http.StatusBadRequest, `{"error":"unexpected","status":400}`)
	}
}

// TestInstallAppliesRetentionToExistingStreams proves that, where the data
// stream lifecycle carries the retention, a retention change reaches the data
// streams that already exist (not only those the template will create): every
// activity stream whose retention differs gets the new one, a stream disabled
// by hand stays disabled, other data streams are not touched, the report
// says how many streams changed, and a second run writes nothing.
func TestInstallAppliesRetentionToExistingStreams(t *testing.T) {
	cluster := newLifecycleCluster(t, map[string]*streamLifecycle{
		schema.DataStream("default"):  {Enabled: true, DataRetention: "365d"},
		schema.DataStream("tenant-a"): {Enabled: true, DataRetention: "365d"},
		schema.DataStream("on-hold"):  {Enabled: false, DataRetention: "365d"},
		schema.DataStream("bare"):     nil,
		schema.DataStream("current"):  {Enabled: true, DataRetention: "400d"},
		"logs-generic-default":        {Enabled: true, DataRetention: "7d"},
	})
	es := fakeNode(t, cluster)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := setup.Config{Schema: schema.Options{Retention: 400 * 24 * time.Hour}}

	report, err := setup.Install(ctx, es, cfg)
	if err != nil {
		t.Fatalf("install: %v", err)
	}
	if report.ILM || !report.Lifecycle {
		t.Fatalf("got ILM %v, lifecycle %v; want the data stream lifecycle detected", report.ILM, report.Lifecycle)
	}
	wantPuts := []string{schema.DataStream("bare"), schema.DataStream("default"), schema.DataStream("on-hold"), schema.DataStream("tenant-a")}
	if fmt.Sprint(cluster.puts) != fmt.Sprint(wantPuts) {
		t.Errorf("got lifecycle PUTs %v, want %v", cluster.puts, wantPuts)
	}
	for name, want := range map[string]streamLifecycle{
		schema.DataStream("default"):  {Enabled: true, DataRetention: "400d"},
		schema.DataStream("tenant-a"): {Enabled: true, DataRetention: "400d"},
		schema.DataStream("on-hold"):  {Enabled: false, DataRetention: "400d"},
		schema.DataStream("bare"):     {Enabled: true, DataRetention: "400d"},
		schema.DataStream("current"):  {Enabled: true, DataRetention: "400d"},
		"logs-generic-default":        {Enabled: true, DataRetention: "7d"},
	} {
		if got := cluster.streams[name]; got == nil || *got != want {
			t.Errorf("%s: got lifecycle %+v, want %+v", name, got, want)
		}
	}
	line, ok := report.Retention(400)
	if want := "retention 400d applied to 4 existing data streams"; !ok || !strings.Contains(line, want) {
		t.Errorf("got retention line %q, %v; want it to contain %q", line, ok, want)
	}
	if !report.Changed() {
		t.Errorf("got Changed false, want true")
	}

	written := len(cluster.puts)
	again, err := setup.Install(ctx, es, cfg)
	if err != nil {
		t.Fatalf("second install: %v", err)
	}
	if again.Changed() {
		t.Errorf("second install changed %v, want nothing", again.Changes)
	}
	if len(cluster.puts) != written {
		t.Errorf("second install wrote %v, want no lifecycle writes", cluster.puts[written:])
	}
	if line, _ := again.Retention(400); strings.Contains(line, "applied to") {
		t.Errorf("second install: got retention line %q, want no streams reported changed", line)
	}
}

// TestInstallWithoutStreamsYet proves that, where the lifecycle runs but no
// activity data stream exists yet, setup installs the templates and neither
// writes a lifecycle nor fails.
func TestInstallWithoutStreamsYet(t *testing.T) {
	cluster := newLifecycleCluster(t, map[string]*streamLifecycle{"logs-generic-default": {Enabled: true, DataRetention: "7d"}})
	report, err := setup.Install(context.Background(), fakeNode(t, cluster), setup.Config{})
	if err != nil {
		t.Fatalf("install: %v", err)
	}
	if len(cluster.puts) != 0 {
		t.Errorf("got lifecycle PUTs %v, want none", cluster.puts)
	}
	if got, want := len(report.Changes), 3; got != want {
		t.Errorf("got %d changes %v, want %d (2 components + index template)", got, report.Changes, want)
	}
}

// TestInstallStreamRetentionForbidden proves that a setup user who may see
// the activity data streams but not manage them gets an error naming the
// privilege it lacks, instead of a retention that silently stays old.
func TestInstallStreamRetentionForbidden(t *testing.T) {
	cluster := newLifecycleCluster(t, map[string]*streamLifecycle{schema.DataStream("default"): {Enabled: true, DataRetention: "365d"}})
	cluster.forbidPut = true
	_, err := setup.Install(context.Background(), fakeNode(t, cluster), setup.Config{Schema: schema.Options{Retention: 400 * 24 * time.Hour}})
	var esErr *types.ElasticsearchError
	if err == nil || !errors.As(err, &esErr) || esErr.Status != http.StatusForbidden {
		t.Fatalf("got error %v, want the 403 wrapped", err)
	}
	for _, want := range []string{"manage index privilege", schema.IndexPattern, schema.DataStream("default")} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("got error %q, want it to name %q", err, want)
		}
	}
}

// TestInstallChecksStreamRetentionPrivileges proves the wiring of the
// privilege check that precedes the lifecycle update (the check itself runs
// against a real secured node in TestReadOnlyRecordsOnSecuredNode, whose
// integ-test-zip server cannot reach this branch: it has no data stream
// lifecycle). A user who may not view the activity data streams sees an
// empty list, not a 403, so without the check setup reported the retention
// applied to 0 streams while the stored records kept the old one. Where
// security is off the check is skipped; any other failure of it is an error.
func TestInstallChecksStreamRetentionPrivileges(t *testing.T) {
	granted := func(view, manage bool) func() (int, string) {
		return func() (int, string) {
			return http.StatusOK, fmt.Sprintf(`{"username":"setup","has_all_requested":%t,"cluster":{},"index":{%q:{"view_index_metadata":%t,"manage_data_stream_lifecycle":%t}},"application":{}}`,
				view && manage, schema.IndexPattern, view, manage)
		}
	}
	for _, c := range []struct {
		name       string
		privileges func() (int, string)
		hidden     bool
		wantPuts   int
		wantErr    []string // substrings of the error; nil: no error
	}{
		{name: "security off, no handler", wantPuts: 1},
		{name: "security off, handler registered", privileges: func() (int, string) { return http.StatusInternalServerError, recordedSecurityDisabled }, wantPuts: 1},
		{name: "both privileges", privileges: granted(true, true), wantPuts: 1},
		{name: "cannot view the streams", privileges: granted(false, false), hidden: true,
			wantErr: []string{"view_index_metadata", "manage_data_stream_lifecycle", schema.IndexPattern}},
		{name: "cannot manage the streams", privileges: func() (int, string) { return http.StatusOK, recordedHasPrivileges },
			wantErr: []string{"manage_data_stream_lifecycle", schema.IndexPattern}},
		{name: "server error", privileges: func() (int, string) {
			return http.StatusServiceUnavailable, `{"error":{"root_cause":[],"type":"cluster_block_exception","reason":"blocked"},"status":503}`
		}, wantErr: []string{"has_privileges", "cluster_block_exception"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cluster := newLifecycleCluster(t, map[string]*streamLifecycle{schema.DataStream("default"): {Enabled: true, DataRetention: "365d"}})
			cluster.privileges, cluster.hidden = c.privileges, c.hidden
			_, err := setup.Install(context.Background(), fakeNode(t, cluster), setup.Config{Schema: schema.Options{Retention: 400 * 24 * time.Hour}})
			if c.wantErr == nil && err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if c.wantErr != nil && err == nil {
				t.Fatalf("got no error, want one naming %q", c.wantErr)
			}
			for _, want := range c.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("got error %q, want it to name %q", err, want)
				}
			}
			if len(cluster.puts) != c.wantPuts {
				t.Errorf("got lifecycle PUTs %v, want %d", cluster.puts, c.wantPuts)
			}
		})
	}
}

// TestStreamRetentionPrivilegesSecurityOff proves, against the development
// node (security off, so it registers no security API), that the privilege
// check recognises that answer and passes instead of failing setup.
func TestStreamRetentionPrivilegesSecurityOff(t *testing.T) {
	if err := setup.CheckStreamRetentionPrivileges(context.Background(), estest.Client(t)); err != nil {
		t.Fatalf("got %v, want the check skipped where security is off", err)
	}
}

// TestInstallReportsCappedRetention proves that, where the data stream
// lifecycle carries the retention, setup reads the cluster's
// data_streams.lifecycle.retention.max and warns when it is below the
// configured retention: Elasticsearch then deletes records at the cap, yet
// setup reported the configured retention as applied. A cap at or above
// the retention, or none, leaves the report as it was; a transient setting
// wins over a persistent one, which wins over elasticsearch.yml's. The
// integ-test-zip node runs no data stream lifecycle, so this replays the
// cluster's answers.
func TestInstallReportsCappedRetention(t *testing.T) {
	tests := []struct {
		name     string
		settings string
		want     time.Duration
		warn     bool
	}{
		{"no cap", "", 0, false},
		{"cap below the retention", `{"persistent":{"data_streams.lifecycle.retention.max":"90d"},"transient":{},"defaults":{}}`, 90 * 24 * time.Hour, true},
		{"cap in hours", `{"persistent":{},"transient":{},"defaults":{"data_streams.lifecycle.retention.max":"720h"}}`, 30 * 24 * time.Hour, true},
		{"cap above the retention", `{"persistent":{"data_streams.lifecycle.retention.max":"400d"},"transient":{},"defaults":{}}`, 400 * 24 * time.Hour, false},
		{"cap equal to the retention", `{"persistent":{"data_streams.lifecycle.retention.max":"365d"},"transient":{},"defaults":{}}`, 365 * 24 * time.Hour, false},
		{"transient wins", `{"persistent":{"data_streams.lifecycle.retention.max":"400d"},"transient":{"data_streams.lifecycle.retention.max":"7d"},"defaults":{"data_streams.lifecycle.retention.max":"-1"}}`, 7 * 24 * time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cluster := newLifecycleCluster(t, map[string]*streamLifecycle{schema.DataStream("default"): {Enabled: true, DataRetention: "365d"}})
			cluster.settings = tt.settings
			report, err := setup.Install(context.Background(), fakeNode(t, cluster), setup.Config{})
			if err != nil {
				t.Fatalf("install: %v", err)
			}
			if report.MaxRetention != tt.want {
				t.Errorf("got MaxRetention %s, want %s", report.MaxRetention, tt.want)
			}
			line, ok := report.Retention(365)
			capped := strings.Contains(line, "caps data stream retention at")
			if capped != tt.warn || ok == tt.warn {
				t.Errorf("got retention line %q (ok %v), want a warning about the cap: %v", line, ok, tt.warn)
			}
			if tt.warn && !strings.Contains(line, "data_streams.lifecycle.retention.max") {
				t.Errorf("got retention line %q, want it to name the setting", line)
			}
		})
	}

	t.Run("unreadable cap", func(t *testing.T) {
		cluster := newLifecycleCluster(t, map[string]*streamLifecycle{})
		cluster.settings = `{"persistent":{"data_streams.lifecycle.retention.max":"ninety days"},"transient":{},"defaults":{}}`
		_, err := setup.Install(context.Background(), fakeNode(t, cluster), setup.Config{})
		if err == nil || !strings.Contains(err.Error(), "data_streams.lifecycle.retention.max") {
			t.Errorf("got error %v, want one naming data_streams.lifecycle.retention.max", err)
		}
	})
}

// TestMaxStreamRetentionOnRealNode proves that the cap is read from the real
// node's answer to GET _cluster/settings (flat names, filtered), both at its
// default (-1: no cap) and when set, which the replayed answers of
// TestInstallReportsCappedRetention cannot: a filter that dropped the setting
// would read "no cap" everywhere. The cap set here, a century, is above any
// retention and the node runs no data stream lifecycle; it is removed again.
func TestMaxStreamRetentionOnRealNode(t *testing.T) {
	es := estest.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := estest.URL(t) + "/_cluster/settings"
	put := func(value string) {
		send(t, http.MethodPut, url, `{"persistent":{"data_streams.lifecycle.retention.max":`+value+`}}`)
	}
	got, err := setup.MaxStreamRetention(ctx, es)
	if err != nil {
		t.Fatalf("read the default cap: %v", err)
	}
	if got != 0 {
		t.Skipf("the node already caps data stream retention at %s; not changing it", got)
	}
	put(`"36500d"`)
	t.Cleanup(func() { put("null") })
	got, err = setup.MaxStreamRetention(ctx, es)
	if err != nil {
		t.Fatalf("read the cap: %v", err)
	}
	if want := 36500 * 24 * time.Hour; got != want {
		t.Errorf("got cap %s, want %s", got, want)
	}
}
