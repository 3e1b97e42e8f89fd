package setup_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/activitylog/activitylog/internal/esclient"
	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/schema"
	"github.com/activitylog/activitylog/setup"
)

// No ILM-capable Elasticsearch runs here: the integ-test-zip node answers
// GET _ilm/status with 405. The ILM branch of setup is therefore tested
// against replayed responses in the format an Elasticsearch 8.19 cluster
// with ILM returns (bodies below), served with the X-Elastic-Product header
// the client checks. The store behind them keeps what setup PUT, so a
// second run sees its own objects, as on a real cluster.
const (
	// recordedILMStatus is GET _ilm/status on a cluster with ILM running.
	recordedILMStatus = `{"operation_mode":"RUNNING"}`
	// recordedNoILM is GET _ilm/status on the integ-test-zip distribution.
	recordedNoILM = `{"error":"Incorrect HTTP method for uri [/_ilm/status?pretty] and method [GET], allowed: []","status":405}`
	// recordedNotFound is a GET of a missing component or index template.
	recordedNotFound = `{"error":{"root_cause":[{"type":"resource_not_found_exception","reason":"%[1]s matching [%[2]s] not found"}],"type":"resource_not_found_exception","reason":"%[1]s matching [%[2]s] not found"},"status":404}`
	recordedAck      = `{"acknowledged":true}`
	// recordedNoStreams is GET _resolve/index/<pattern> where nothing matches:
	// the replayed clusters hold no data stream for setup to roll over.
	recordedNoStreams = `{"indices":[],"aliases":[],"data_streams":[]}`
)

type ilmCluster struct {
	t     *testing.T
	mu    sync.Mutex
	store map[string]json.RawMessage // path -> body PUT there
	puts  []string
}

func (c *ilmCluster) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	reply := func(status int, body string) {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
	path := r.URL.Path
	if r.Method == http.MethodPut {
		body, err := io.ReadAll(r.Body)
		if err != nil || !json.Valid(body) {
			reply(http.StatusBadRequest, `{"error":"bad body","status":400}`)
			return
		}
		c.store[path] = body
		c.puts = append(c.puts, path)
		reply(http.StatusOK, recordedAck)
		return
	}
	stored, found := c.store[path]
	name := path[strings.LastIndex(path, "/")+1:]
	switch {
	case r.Method == http.MethodGet && path == "/_ilm/status":
		reply(http.StatusOK, recordedILMStatus)
	case r.Method == http.MethodPost && path == "/_security/user/_has_privileges":
		// Security off: the replayed clusters check no privileges.
		reply(http.StatusBadRequest, recordedNoSecurityHandler)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/_resolve/index/"):
		reply(http.StatusOK, recordedNoStreams)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/"+schema.IndexPattern+"/_settings"):
		// A wildcard that matches no index answers an empty object.
		reply(http.StatusOK, `{}`)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/_ilm/policy/"):
		if !found {
			reply(http.StatusNotFound, `{}`)
			return
		}
		var put struct {
			Policy json.RawMessage `json:"policy"`
		}
		_ = json.Unmarshal(stored, &put)
		// Elasticsearch spells out the delete action's default.
		policy := strings.Replace(string(put.Policy), `"delete":{}`, `"delete":{"delete_searchable_snapshot":true}`, 1)
		reply(http.StatusOK, fmt.Sprintf(`{%q:{"version":1,"modified_date":"2026-11-26T09:00:00.000Z","policy":%s,"in_use_by":{"indices":[],"data_streams":[],"composable_templates":[]}}}`, name, policy))
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/_component_template/"):
		if !found {
			reply(http.StatusNotFound, fmt.Sprintf(recordedNotFound, "component template", name))
			return
		}
		reply(http.StatusOK, fmt.Sprintf(`{"component_templates":[{"name":%q,"component_template":%s}]}`, name, normalizeSettings(c.t, stored)))
	case r.Method == http.MethodGet && path == "/_index_template":
		// Every index template: those PUT here.
		var all []string
		for p, body := range c.store {
			if t, ok := strings.CutPrefix(p, "/_index_template/"); ok {
				all = append(all, fmt.Sprintf(`{"name":%q,"index_template":%s}`, t, body))
			}
		}
		reply(http.StatusOK, `{"index_templates":[`+strings.Join(all, ",")+`]}`)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/_index_template/"):
		if !found {
			reply(http.StatusNotFound, fmt.Sprintf(recordedNotFound, "index template", name))
			return
		}
		reply(http.StatusOK, fmt.Sprintf(`{"index_templates":[{"name":%q,"index_template":%s}]}`, name, stored))
	default:
		c.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		reply(http.StatusBadRequest, `{"error":"unexpected","status":400}`)
	}
}

// TestInstallAttachesILMPolicyWhereILMAnswers tests the ILM branch against
// replayed responses (see above): setup detects ILM, installs the retention
// policy, names it in the settings component, leaves the data stream
// lifecycle out of the index template, and changes nothing on a second run.
func TestInstallAttachesILMPolicyWhereILMAnswers(t *testing.T) {
	cluster := &ilmCluster{t: t, store: map[string]json.RawMessage{}}
	es := fakeNode(t, cluster)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := setup.Config{Schema: schema.Options{Retention: 400 * 24 * time.Hour}}

	report, err := setup.Install(ctx, es, cfg)
	if err != nil {
		t.Fatalf("install: %v", err)
	}
	if !report.ILM || report.ILMMode != "RUNNING" {
		t.Fatalf("got ILM %v (mode %q), want detected from GET _ilm/status 200, RUNNING", report.ILM, report.ILMMode)
	}
	wantPuts := []string{
		"/_ilm/policy/" + schema.ILMPolicyName,
		"/_component_template/" + schema.SettingsComponentName,
		"/_component_template/" + schema.MappingsComponentName,
		"/_index_template/" + schema.IndexTemplateName,
	}
	if fmt.Sprint(cluster.puts) != fmt.Sprint(wantPuts) {
		t.Fatalf("got PUTs %v, want %v (policy first, so the settings never name a missing policy)", cluster.puts, wantPuts)
	}

	var policy struct {
		Policy struct {
			Phases struct {
				Hot struct {
					MinAge  string `json:"min_age"`
					Actions struct {
						Rollover struct {
							MaxAge              string `json:"max_age"`
							MaxPrimaryShardSize string `json:"max_primary_shard_size"`
						} `json:"rollover"`
					} `json:"actions"`
				} `json:"hot"`
				Delete struct {
					MinAge  string                     `json:"min_age"`
					Actions map[string]json.RawMessage `json:"actions"`
				} `json:"delete"`
			} `json:"phases"`
			Meta map[string]json.RawMessage `json:"_meta"`
		} `json:"policy"`
	}
	mustUnmarshal(t, cluster.store[wantPuts[0]], &policy)
	p := policy.Policy.Phases
	if p.Delete.MinAge != "400d" || p.Delete.Actions["delete"] == nil {
		t.Errorf("got delete phase %+v, want min_age 400d with a delete action", p.Delete)
	}
	if p.Hot.Actions.Rollover.MaxAge != "1d" || p.Hot.Actions.Rollover.MaxPrimaryShardSize != "50gb" {
		t.Errorf("got rollover %+v, want max_age 1d, max_primary_shard_size 50gb", p.Hot.Actions.Rollover)
	}
	if policy.Policy.Meta[schema.MetaChecksum] == nil {
		t.Errorf("policy _meta has no %s", schema.MetaChecksum)
	}

	var settings struct {
		Template struct {
			Settings struct {
				Lifecycle struct {
					Name string `json:"name"`
				} `json:"lifecycle"`
				Index struct {
					Lifecycle struct {
						Name string `json:"name"`
					} `json:"lifecycle"`
				} `json:"index"`
			} `json:"settings"`
		} `json:"template"`
	}
	mustUnmarshal(t, cluster.store[wantPuts[1]], &settings)
	if got := settings.Template.Settings.Lifecycle.Name + settings.Template.Settings.Index.Lifecycle.Name; got != schema.ILMPolicyName {
		t.Errorf("got settings lifecycle name %q, want %q", got, schema.ILMPolicyName)
	}

	var tmpl map[string]json.RawMessage
	mustUnmarshal(t, cluster.store[wantPuts[3]], &tmpl)
	if inner, ok := tmpl["template"]; ok && strings.Contains(string(inner), "lifecycle") {
		t.Errorf("index template carries a data stream lifecycle %s, want none where ILM retains", inner)
	}
	if !strings.Contains(string(tmpl["data_stream"]), "{") {
		t.Errorf("index template: got data_stream %s, want an object", tmpl["data_stream"])
	}

	again, err := setup.Install(ctx, es, cfg)
	if err != nil {
		t.Fatalf("second install: %v", err)
	}
	if again.Changed() {
		t.Errorf("second install changed %v, want nothing", again.Changes)
	}
	if len(cluster.puts) != len(wantPuts) {
		t.Errorf("second install wrote %v, want no writes", cluster.puts[len(wantPuts):])
	}
}

// TestInstallRestoresEditedObjects proves that setup puts an object back
// when what it does was edited by hand with its _meta (and so setup's
// checksum) kept, and is then settled: kibana_system holds manage_ilm and
// manage_index_templates, and neither a policy that deletes after a day, nor a
// settings component that sends new backing indices to another policy (the
// built-in "logs" deletes nothing) or counts their age from 1970, may be
// reported unchanged.
func TestInstallRestoresEditedObjects(t *testing.T) {
	for _, tt := range []struct {
		name, path, from, to string
	}{
		{"ILM policy", "/_ilm/policy/" + schema.ILMPolicyName, `"min_age":"365d"`, `"min_age":"1d"`},
		{schema.SettingsComponentName, "/_component_template/" + schema.SettingsComponentName,
			fmt.Sprintf(`"name":%q`, schema.ILMPolicyName), `"name":"logs"`},
		// An origination date in 1970 makes every new backing index old
		// enough for the delete phase the moment it rolls over.
		{schema.SettingsComponentName, "/_component_template/" + schema.SettingsComponentName,
			fmt.Sprintf(`{"name":%q}`, schema.ILMPolicyName), fmt.Sprintf(`{"name":%q,"origination_date":1}`, schema.ILMPolicyName)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cluster := &ilmCluster{t: t, store: map[string]json.RawMessage{}}
			es := fakeNode(t, cluster)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := setup.Install(ctx, es, setup.Config{}); err != nil {
				t.Fatalf("install: %v", err)
			}
			edited := strings.Replace(string(cluster.store[tt.path]), tt.from, tt.to, 1)
			if edited == string(cluster.store[tt.path]) {
				t.Fatalf("stored %s has no %s to edit", cluster.store[tt.path], tt.from)
			}
			cluster.store[tt.path] = json.RawMessage(edited)

			report, err := setup.Install(ctx, es, setup.Config{})
			if err != nil {
				t.Fatalf("second install: %v", err)
			}
			var got setup.Action
			for _, c := range report.Changes {
				if c.Kind == tt.name || c.Name == tt.name {
					got = c.Action
				}
			}
			if got != setup.Updated {
				t.Errorf("got %q after %s was edited to %s, want %q", got, tt.from, tt.to, setup.Updated)
			}
			if !strings.Contains(string(cluster.store[tt.path]), tt.from) {
				t.Errorf("got stored %s, want %s back", cluster.store[tt.path], tt.from)
			}
			again, err := setup.Install(ctx, es, setup.Config{})
			if err != nil {
				t.Fatalf("third install: %v", err)
			}
			if again.Changed() {
				t.Errorf("third install changed %v, want nothing", again.Changes)
			}
		})
	}
}

// answering returns a client of a server that answers GET path with status
// and body, as Elasticsearch would.
func answering(t *testing.T, path string, status int, body string) *elasticsearch.TypedClient {
	t.Helper()
	return fakeNode(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != path {
			t.Errorf("got %s %s, want GET %s", r.Method, r.URL.Path, path)
		}
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
}

// detection is one answer of a cluster to a detection request.
type detection struct {
	name    string
	status  int
	body    string
	want    bool
	wantErr bool
}

// checkDetection asks detect of a cluster answering GET path as each case
// says.
func checkDetection(t *testing.T, path string, cases []detection, detect func(context.Context, *elasticsearch.TypedClient) (bool, error)) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := detect(context.Background(), answering(t, path, tt.status, tt.body))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("got %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestHasILM checks ILM detection against the status codes clusters answer.
func TestHasILM(t *testing.T) {
	checkDetection(t, "/_ilm/status", []detection{
		{"ILM running", http.StatusOK, recordedILMStatus, true, false},
		{"integ-test-zip", http.StatusMethodNotAllowed, recordedNoILM, false, false},
		{"no such API", http.StatusNotFound, `{"error":"no handler","status":404}`, false, false},
		{"not allowed", http.StatusForbidden, `{"error":{"type":"security_exception","reason":"action [cluster:monitor/xpack/ilm/operation_mode/get] is unauthorized"},"status":403}`, false, true},
		{"server error", http.StatusInternalServerError, `{"error":{"type":"exception","reason":"boom"},"status":500}`, false, true},
	}, setup.HasILM)
}

// normalizeSettings returns a component template as Elasticsearch returns
// it: settings given at the top level come back under "index".
func normalizeSettings(t *testing.T, stored json.RawMessage) json.RawMessage {
	var ct map[string]map[string]json.RawMessage
	if err := json.Unmarshal(stored, &ct); err != nil {
		t.Errorf("stored component template %s: %v", stored, err)
		return stored
	}
	tmpl := ct["template"]
	if settings, ok := tmpl["settings"]; ok && !strings.HasPrefix(string(settings), `{"index"`) {
		tmpl["settings"] = json.RawMessage(`{"index":` + string(settings) + `}`)
	}
	out, err := json.Marshal(ct)
	if err != nil {
		t.Errorf("marshal component template: %v", err)
		return stored
	}
	return out
}

func mustUnmarshal(t *testing.T, raw []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("unmarshal %s: %v", raw, err)
	}
}

// TestHasDataStreamLifecycle checks the detection of the data stream
// lifecycle against the status codes clusters answer, and against the real
// node, whose server has no data streams module.
func TestHasDataStreamLifecycle(t *testing.T) {
	checkDetection(t, "/_lifecycle/stats", []detection{
		{"lifecycle running", http.StatusOK, `{"last_run_duration_in_millis":2,"time_between_starts_in_millis":9998,"data_stream_count":0,"data_streams":[]}`, true, false},
		{"no such API", http.StatusMethodNotAllowed, `{"error":"Incorrect HTTP method for uri [/_lifecycle/stats] and method [GET], allowed: [POST]","status":405}`, false, false},
		{"not allowed", http.StatusForbidden, `{"error":{"type":"security_exception","reason":"unauthorized"},"status":403}`, false, true},
	}, setup.HasDataStreamLifecycle)
	got, err := setup.HasDataStreamLifecycle(context.Background(), estest.Client(t))
	if err != nil || got {
		t.Errorf("the integ-test-zip node: got %v, %v; want no lifecycle", got, err)
	}
}

// TestReportRetention: what setup says deletes old records, and whether
// anything does.
func TestReportRetention(t *testing.T) {
	for _, tt := range []struct {
		report setup.Report
		want   string
		ok     bool
	}{
		{setup.Report{ILM: true, ILMMode: "RUNNING"}, "retention 365d by ILM policy " + schema.ILMPolicyName, true},
		{setup.Report{ILM: true}, "retention 365d by ILM policy", true},
		{setup.Report{ILM: true, ILMMode: "STOPPED"}, "ILM is STOPPED", false},
		{setup.Report{Lifecycle: true}, "retention 365d by data stream lifecycle", true},
		{setup.Report{}, "records are never deleted here", false},
	} {
		line, ok := tt.report.Retention(365)
		if ok != tt.ok || !strings.Contains(line, tt.want) {
			t.Errorf("%+v: got %q, %v; want %q, %v", tt.report, line, ok, tt.want, tt.ok)
		}
	}
}

// fakeNode serves h as an Elasticsearch node on a local port until the test
// ends and returns a typed client for it (a stand-in only for what a real
// node cannot be made to answer).
func fakeNode(t *testing.T, h http.Handler) *elasticsearch.TypedClient {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	es, err := esclient.Config{URLs: []string{srv.URL}}.Typed()
	if err != nil {
		t.Fatal(err)
	}
	return es
}
