package setup_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/activitylog/activitylog/schema"
	"github.com/activitylog/activitylog/setup"
)

// backingIndex is one backing index of a replayed activity data stream.
type backingIndex struct {
	name      string
	policy    string // index.lifecycle.name; "": none
	preferILM string // index.lifecycle.prefer_ilm; "": unset (true)
	// origination is index.lifecycle.origination_date; "": unset.
	origination string
	schema      string // the schema version in its mapping _meta
}

// streamsCluster replays, in front of next (an ilmCluster or a
// lifecycleCluster, whose ilmCluster templates keeps the templates setup
// PUT), one activity data stream and the APIs setup calls on its backing
// indices, in the format Elasticsearch 8.19 answers them: resolve, mappings,
// settings, the template simulation, rollover and a settings update. Neither
// ILM nor the data stream lifecycle runs on the integ-test-zip node, and
// without them setup leaves the backing indices' lifecycle settings alone,
// so only replayed clusters can show what it does to them.
type streamsCluster struct {
	t         *testing.T
	next      http.Handler
	templates *ilmCluster
	stream    string
	mu        sync.Mutex
	indices   []*backingIndex // oldest first; the last is the write index
	puts      []string        // "<index> <settings>" setup PUT
}

func (c *streamsCluster) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reply := func(status int, body any) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if s, ok := body.(string); ok {
			_, _ = io.WriteString(w, s)
			return
		}
		_ = json.NewEncoder(w).Encode(body)
	}
	p := r.URL.Path
	c.mu.Lock()
	defer c.mu.Unlock()
	names := func() (ns []string) {
		for _, ix := range c.indices {
			ns = append(ns, ix.name)
		}
		return ns
	}
	switch {
	case r.Method == http.MethodGet && p == "/_resolve/index/"+schema.IndexPattern:
		reply(http.StatusOK, map[string]any{"indices": []any{}, "aliases": []any{}, "data_streams": []any{
			map[string]any{"name": c.stream, "backing_indices": names(), "timestamp_field": "@timestamp"},
		}})
	case r.Method == http.MethodGet && p == "/"+schema.IndexPattern+"/_mapping":
		out := map[string]any{}
		for _, ix := range c.indices {
			out[ix.name] = map[string]any{"mappings": map[string]any{"_meta": map[string]string{"activitylog_schema": ix.schema}}}
		}
		reply(http.StatusOK, out)
	case r.Method == http.MethodPost && p == "/_index_template/_simulate_index/"+c.stream:
		reply(http.StatusOK, fmt.Sprintf(`{"template":{"settings":{},"mappings":{"_meta":{"activitylog_schema":%q}},"aliases":{}},"overlapping":[]}`, c.installedSchema()))
	case r.Method == http.MethodPost && p == "/"+c.stream+"/_rollover":
		old := c.indices[len(c.indices)-1].name
		next := &backingIndex{name: fmt.Sprintf(".ds-%s-2026.11.26-%06d", c.stream, len(c.indices)+1), policy: c.installedPolicy(), schema: c.installedSchema()}
		c.indices = append(c.indices, next)
		reply(http.StatusOK, fmt.Sprintf(`{"acknowledged":true,"shards_acknowledged":true,"old_index":%q,"new_index":%q,"rolled_over":true,"dry_run":false,"lazy":false,"conditions":{}}`, old, next.name))
	case r.Method == http.MethodGet && p == "/"+schema.IndexPattern+"/_settings/index.lifecycle.*":
		out := map[string]any{}
		for _, ix := range c.indices {
			lifecycle := map[string]string{}
			if ix.policy != "" {
				lifecycle["name"] = ix.policy
			}
			if ix.preferILM != "" {
				lifecycle["prefer_ilm"] = ix.preferILM
			}
			if ix.origination != "" {
				lifecycle["origination_date"] = ix.origination
			}
			settings := map[string]any{}
			if len(lifecycle) > 0 {
				settings["index"] = map[string]any{"lifecycle": lifecycle}
			}
			out[ix.name] = map[string]any{"settings": settings}
		}
		reply(http.StatusOK, out)
	case r.Method == http.MethodPut && strings.HasSuffix(p, "/_settings") && strings.HasPrefix(p, "/.ds-"):
		name := strings.TrimSuffix(strings.TrimPrefix(p, "/"), "/_settings")
		i := slices.IndexFunc(c.indices, func(ix *backingIndex) bool { return ix.name == name })
		var put map[string]any
		if err := json.NewDecoder(r.Body).Decode(&put); err != nil || i < 0 {
			reply(http.StatusBadRequest, `{"error":"bad request","status":400}`)
			return
		}
		for k, v := range put {
			switch k {
			case "index.lifecycle.name":
				c.indices[i].policy = fmt.Sprint(v)
			case "index.lifecycle.prefer_ilm":
				c.indices[i].preferILM = fmt.Sprint(v)
			case "index.lifecycle.origination_date":
				if v != nil {
					c.t.Errorf("PUT %s: got origination date %v, want it removed (null)", p, v)
				}
				c.indices[i].origination = ""
			default:
				c.t.Errorf("PUT %s: unexpected setting %s", p, k)
			}
		}
		b, _ := json.Marshal(put)
		c.puts = append(c.puts, name+" "+string(b))
		reply(http.StatusOK, recordedAck)
	default:
		c.mu.Unlock()
		defer c.mu.Lock()
		c.next.ServeHTTP(w, r)
	}
}

// installedSchema is the schema version in the index template setup PUT.
func (c *streamsCluster) installedSchema() string {
	var tmpl struct {
		Template struct {
			Mappings struct {
				Meta map[string]string `json:"_meta"`
			} `json:"mappings"`
		} `json:"template"`
	}
	c.templates.mu.Lock()
	defer c.templates.mu.Unlock()
	_ = json.Unmarshal(c.templates.store["/_index_template/"+schema.IndexTemplateName], &tmpl)
	return tmpl.Template.Mappings.Meta["activitylog_schema"]
}

// installedPolicy is the ILM policy the settings component setup PUT names.
func (c *streamsCluster) installedPolicy() string {
	var comp struct {
		Template struct {
			Settings struct {
				Lifecycle struct {
					Name string `json:"name"`
				} `json:"lifecycle"`
			} `json:"settings"`
		} `json:"template"`
	}
	c.templates.mu.Lock()
	defer c.templates.mu.Unlock()
	_ = json.Unmarshal(c.templates.store["/_component_template/"+schema.SettingsComponentName], &comp)
	return comp.Template.Settings.Lifecycle.Name
}

// TestInstallAdoptsBackingIndicesFromBeforeSetup proves that records stored
// before setup ran are deleted on schedule too. The collector writing first
// on a cluster with the stack's built-in templates makes the activity data
// stream from them, and its first backing index carries their ILM policy
// "logs", which has no delete phase. setup rolls the stream over onto its
// schema, but before this the older backing index kept "logs", and with it
// its records forever. With ILM setup now gives such an index its own
// policy; where the data stream lifecycle carries the retention, it sets
// prefer_ilm false on it, so the stream's lifecycle, not the "logs" policy,
// manages it. Only replayed clusters can show this (see streamsCluster): the
// integ-test-zip node has neither ILM nor the data stream lifecycle. A
// second run changes nothing.
func TestInstallAdoptsBackingIndicesFromBeforeSetup(t *testing.T) {
	stream := schema.DataStream("default")
	first := ".ds-" + stream + "-2026.11.20-000001"
	for _, tt := range []struct {
		name string
		// node returns the cluster behind the stream and its template store.
		node      func(t *testing.T) (http.Handler, *ilmCluster)
		wantPut   string
		wantFirst backingIndex
	}{
		{"ILM", func(t *testing.T) (http.Handler, *ilmCluster) {
			c := &ilmCluster{t: t, store: map[string]json.RawMessage{}}
			return c, c
		}, fmt.Sprintf(`{"index.lifecycle.name":%q}`, schema.ILMPolicyName),
			backingIndex{name: first, policy: schema.ILMPolicyName}},
		{"data stream lifecycle", func(t *testing.T) (http.Handler, *ilmCluster) {
			c := newLifecycleCluster(t, map[string]*streamLifecycle{stream: {Enabled: true, DataRetention: "365d"}})
			return c, c.templates
		}, `{"index.lifecycle.prefer_ilm":false}`,
			backingIndex{name: first, policy: "logs", preferILM: "false"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			next, templates := tt.node(t)
			cluster := &streamsCluster{t: t, next: next, templates: templates, stream: stream,
				indices: []*backingIndex{{name: first, policy: "logs"}}}
			es := fakeNode(t, cluster)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()

			report, err := setup.Install(ctx, es, setup.Config{})
			if err != nil {
				t.Fatalf("install: %v", err)
			}
			if got := actionOn(report, stream); got != setup.RolledOver {
				t.Errorf("got %q for %s, want %q; changes: %v", got, stream, setup.RolledOver, report.Changes)
			}
			if got := actionOn(report, first); got != setup.Updated {
				t.Errorf("got %q for %s, want %q; changes: %v", got, first, setup.Updated, report.Changes)
			}
			if got, want := fmt.Sprint(cluster.puts), fmt.Sprint([]string{first + " " + tt.wantPut}); got != want {
				t.Errorf("got settings PUTs %s, want %s", got, want)
			}
			if got := *cluster.indices[0]; got != tt.wantFirst {
				t.Errorf("got backing index %+v, want %+v", got, tt.wantFirst)
			}

			written := len(cluster.puts)
			again, err := setup.Install(ctx, es, setup.Config{})
			if err != nil {
				t.Fatalf("second install: %v", err)
			}
			if again.Changed() {
				t.Errorf("second install changed %v, want nothing", again.Changes)
			}
			if len(cluster.puts) != written {
				t.Errorf("second install wrote %v, want no settings writes", cluster.puts[written:])
			}
		})
	}
}

// TestInstallRemovesOriginationDates proves that setup removes an
// index.lifecycle.origination_date set on an activity backing index. Both ILM
// and the data stream lifecycle count the index's age from it instead of from
// its rollover, so one set in the past (kibana_system, which manages every
// logs-* index's settings, may set it) had the index's records deleted at
// once, and setup, which looked only at the policy name and prefer_ilm,
// reported "unchanged". The index already under the retention keeps its
// policy; a second run changes nothing. Replayed clusters (see
// streamsCluster): the integ-test-zip node does not even know the setting.
func TestInstallRemovesOriginationDates(t *testing.T) {
	stream := schema.DataStream("default")
	first := ".ds-" + stream + "-2026.11.20-000001"
	for _, tt := range []struct {
		name string
		node func(t *testing.T) (http.Handler, *ilmCluster)
		// index is the backing index as found: under the retention but
		// for its origination date, set to 1970.
		index     backingIndex
		wantFirst backingIndex
	}{
		{"ILM", func(t *testing.T) (http.Handler, *ilmCluster) {
			c := &ilmCluster{t: t, store: map[string]json.RawMessage{}}
			return c, c
		}, backingIndex{name: first, policy: schema.ILMPolicyName, origination: "0"},
			backingIndex{name: first, policy: schema.ILMPolicyName}},
		{"data stream lifecycle", func(t *testing.T) (http.Handler, *ilmCluster) {
			c := newLifecycleCluster(t, map[string]*streamLifecycle{stream: {Enabled: true, DataRetention: "365d"}})
			return c, c.templates
		}, backingIndex{name: first, origination: "0"},
			backingIndex{name: first}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			next, templates := tt.node(t)
			index := tt.index
			cluster := &streamsCluster{t: t, next: next, templates: templates, stream: stream, indices: []*backingIndex{&index}}
			es := fakeNode(t, cluster)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			// The stream is also rolled over onto the schema; its new write
			// index has no origination date, and only first is looked at.
			report, err := setup.Install(ctx, es, setup.Config{})
			if err != nil {
				t.Fatalf("install: %v", err)
			}
			if got := actionOn(report, first); got != setup.Updated {
				t.Errorf("got %q for %s, want %q; changes: %v", got, first, setup.Updated, report.Changes)
			}
			var puts []string
			for _, p := range cluster.puts {
				if strings.HasPrefix(p, first+" ") {
					puts = append(puts, p)
				}
			}
			if want := []string{first + ` {"index.lifecycle.origination_date":null}`}; fmt.Sprint(puts) != fmt.Sprint(want) {
				t.Errorf("got settings PUTs on %s %v, want %v", first, puts, want)
			}
			if got := *cluster.indices[0]; got.policy != tt.wantFirst.policy || got.origination != "" || got.preferILM != tt.wantFirst.preferILM {
				t.Errorf("got backing index %+v, want %+v", got, tt.wantFirst)
			}

			written := len(cluster.puts)
			again, err := setup.Install(ctx, es, setup.Config{})
			if err != nil {
				t.Fatalf("second install: %v", err)
			}
			if again.Changed() {
				t.Errorf("second install changed %v, want nothing", again.Changes)
			}
			if len(cluster.puts) != written {
				t.Errorf("second install wrote %v, want no settings writes", cluster.puts[written:])
			}
		})
	}
}
