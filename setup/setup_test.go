package setup_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/schema"
	"github.com/activitylog/activitylog/setup"
)

func TestInstallIsIdempotent(t *testing.T) {
	es := estest.Client(t)
	ctx := context.Background()
	if _, err := setup.Install(ctx, es, setup.Config{}); err != nil {
		t.Fatalf("first install: %v", err)
	}
	report, err := setup.Install(ctx, es, setup.Config{})
	if err != nil {
		t.Fatalf("second install: %v", err)
	}
	if report.Changed() {
		t.Errorf("second install changed something: %v", report.Changes)
	}
	if got, want := len(report.Changes), 3; got != want {
		t.Errorf("got %d objects checked, want %d (2 components + index template)", got, want)
	}
	if report.ILM {
		t.Errorf("got ILM detected on the integ-test-zip node, want none")
	}
}

func TestInstallRetentionChange(t *testing.T) {
	es := estest.Client(t)
	ctx := context.Background()
	restore := func() {
		if _, err := setup.Install(ctx, es, setup.Config{}); err != nil {
			t.Errorf("restore default schema: %v", err)
		}
	}
	defer restore()

	report, err := setup.Install(ctx, es, setup.Config{Schema: schema.Options{Retention: 30 * 24 * time.Hour}})
	if err != nil {
		t.Fatalf("install with 30d: %v", err)
	}
	var updated []string
	for _, c := range report.Changes {
		if c.Action == setup.Updated {
			updated = append(updated, c.Name)
		}
	}
	if fmt.Sprint(updated) != "["+schema.IndexTemplateName+"]" {
		t.Errorf("got updated %v, want only the index template", updated)
	}
	body := getJSON(t, estest.URL(t)+"/_index_template/"+schema.IndexTemplateName)
	var got struct {
		IndexTemplates []struct {
			IndexTemplate struct {
				Template struct {
					Lifecycle struct {
						DataRetention string `json:"data_retention"`
						Enabled       bool   `json:"enabled"`
					} `json:"lifecycle"`
				} `json:"template"`
				IndexPatterns []string `json:"index_patterns"`
				Priority      int      `json:"priority"`
				ComposedOf    []string `json:"composed_of"`
			} `json:"index_template"`
		} `json:"index_templates"`
	}
	if err := json.Unmarshal(body, &got); err != nil || len(got.IndexTemplates) != 1 {
		t.Fatalf("index template response %s: %v", body, err)
	}
	tmpl := got.IndexTemplates[0].IndexTemplate
	if tmpl.Template.Lifecycle.DataRetention != "30d" || !tmpl.Template.Lifecycle.Enabled {
		t.Errorf("got lifecycle %+v, want enabled with data_retention 30d", tmpl.Template.Lifecycle)
	}
	if fmt.Sprint(tmpl.IndexPatterns) != "["+schema.IndexPattern+"]" || tmpl.Priority != schema.TemplatePriority {
		t.Errorf("got patterns %v priority %d, want [%s] %d", tmpl.IndexPatterns, tmpl.Priority, schema.IndexPattern, schema.TemplatePriority)
	}
	if fmt.Sprint(tmpl.ComposedOf) != fmt.Sprint([]string{schema.SettingsComponentName, schema.MappingsComponentName}) {
		t.Errorf("got composed_of %v", tmpl.ComposedOf)
	}
	again, err := setup.Install(ctx, es, setup.Config{Schema: schema.Options{Retention: 30 * 24 * time.Hour}})
	if err != nil || again.Changed() {
		t.Errorf("repeat 30d install: changed=%v err=%v", again.Changed(), err)
	}
}

// TestInstallRestoresEditedIndexTemplate proves that setup puts the index
// template back when what decides the activity streams' retention was
// edited by hand with its _meta (and so setup's checksum) kept: a priority
// under the built-in logs-*-* template's 100 (whose mappings and lifecycle
// would then win) and a one-day retention must not be reported unchanged.
func TestInstallRestoresEditedIndexTemplate(t *testing.T) {
	es := estest.Client(t)
	ctx := context.Background()
	defer func() {
		if _, err := setup.Install(ctx, es, setup.Config{}); err != nil {
			t.Errorf("restore default schema: %v", err)
		}
	}()
	if _, err := setup.Install(ctx, es, setup.Config{}); err != nil {
		t.Fatalf("first install: %v", err)
	}
	url := estest.URL(t) + "/_index_template/" + schema.IndexTemplateName
	var installed struct {
		IndexTemplates []struct {
			IndexTemplate map[string]any `json:"index_template"`
		} `json:"index_templates"`
	}
	if err := json.Unmarshal(getJSON(t, url), &installed); err != nil || len(installed.IndexTemplates) != 1 {
		t.Fatalf("index template response: %v", err)
	}
	edited := installed.IndexTemplates[0].IndexTemplate
	edited["priority"] = 50
	edited["template"] = map[string]any{"lifecycle": map[string]any{"data_retention": "1d"}}
	body, err := json.Marshal(edited)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT edited template: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT edited template: %d %s", resp.StatusCode, b)
	}

	report, err := setup.Install(ctx, es, setup.Config{})
	if err != nil {
		t.Fatalf("second install: %v", err)
	}
	var got setup.Action
	for _, c := range report.Changes {
		if c.Kind == "index template" {
			got = c.Action
		}
	}
	if got != setup.Updated {
		t.Errorf("got index template %q after its priority and retention were edited, want %q", got, setup.Updated)
	}
	restored := string(getJSON(t, url))
	if !strings.Contains(restored, `"data_retention":"365d"`) || !strings.Contains(restored, fmt.Sprintf(`"priority":%d`, schema.TemplatePriority)) {
		t.Errorf("got index template %s, want priority %d and data_retention 365d back", restored, schema.TemplatePriority)
	}
}

// TestInstallRestoresIndexTemplateOverrides proves that settings and mappings
// added by hand to the index template itself, which win over the component
// templates', are taken away again even with the template's _meta kept. With
// ILM an index.lifecycle.name there would send new backing indices to a
// policy that never deletes them (the built-in logs@lifecycle has no delete
// phase); this node has no ILM setting, so a write block, which would hold
// up every record sent to a new stream, stands in for it.
func TestInstallRestoresIndexTemplateOverrides(t *testing.T) {
	es := estest.Client(t)
	ctx := context.Background()
	defer func() {
		if _, err := setup.Install(ctx, es, setup.Config{}); err != nil {
			t.Errorf("restore default schema: %v", err)
		}
	}()
	if _, err := setup.Install(ctx, es, setup.Config{}); err != nil {
		t.Fatalf("first install: %v", err)
	}
	url := estest.URL(t) + "/_index_template/" + schema.IndexTemplateName
	for name, override := range map[string]map[string]any{
		"settings": {"settings": map[string]any{"index.blocks.write": true}},
		"mappings": {"mappings": map[string]any{"properties": map[string]any{"attributes": map[string]any{"type": "object", "enabled": false}}}},
	} {
		t.Run(name, func(t *testing.T) {
			var installed struct {
				IndexTemplates []struct {
					IndexTemplate map[string]any `json:"index_template"`
				} `json:"index_templates"`
			}
			if err := json.Unmarshal(getJSON(t, url), &installed); err != nil || len(installed.IndexTemplates) != 1 {
				t.Fatalf("index template response: %v", err)
			}
			edited := installed.IndexTemplates[0].IndexTemplate
			tmpl, _ := edited["template"].(map[string]any)
			for k, v := range override {
				if m, ok := tmpl[k].(map[string]any); ok {
					// Keep what setup put there (the schema version).
					for mk, mv := range v.(map[string]any) {
						m[mk] = mv
					}
					continue
				}
				tmpl[k] = v
			}
			body, err := json.Marshal(edited)
			if err != nil {
				t.Fatal(err)
			}
			send(t, http.MethodPut, url, string(body))

			report, err := setup.Install(ctx, es, setup.Config{})
			if err != nil {
				t.Fatalf("install: %v", err)
			}
			if got := actionOn(report, schema.IndexTemplateName); got != setup.Updated {
				t.Errorf("got index template %q after %s were added to it, want %q", got, name, setup.Updated)
			}
			restored := string(getJSON(t, url))
			if strings.Contains(restored, `"blocks"`) || strings.Contains(restored, `"enabled":false`) {
				t.Errorf("got index template %s, want the %s taken away", restored, name)
			}
		})
	}
}

// TestHostileDocumentsIndex writes documents whose attribute keys and values
// an attacker chose, and checks that Elasticsearch accepts every one of them
// without growing the mapping.
func TestHostileDocumentsIndex(t *testing.T) {
	estest.InstallSchema(t)
	base := estest.URL(t)
	stream := schema.DataStream(estest.Namespace(t))
	deep := map[string]any{"leaf": "x"}
	for range 60 {
		deep = map[string]any{"d": deep}
	}
	docs := []map[string]any{
		{"user": "plain value where user.id is an object path", "user.id": "u1"},
		{"user.id": map[string]any{"nested": 1}},
		{"client.address": "not-an-ip", "activity.alert.count": "many", "activity.alert.first_seen": "yesterday"},
		{"activity.tenant.id": strings.Repeat("x", 40000)},
		{"unknown.deep": deep, "a.b.c.d.e.f": []any{1, "two", map[string]any{"three": 3}}},
		{"new_key_1": 1, "new_key_2": true, "new_key_3": 1.5, "new_key_4": []string{"a"}, "new_key_5": nil},
	}
	for i := range 2000 {
		docs = append(docs, map[string]any{fmt.Sprintf("spray.key_%d", i): i})
	}
	var bulk bytes.Buffer
	for i, attrs := range docs {
		fmt.Fprintf(&bulk, `{"create":{"_id":"hostile-%d"}}`+"\n", i)
		doc := map[string]any{
			"@timestamp": time.Now().UTC().Format(time.RFC3339Nano),
			"attributes": attrs,
			"body":       map[string]any{"text": "hostile"},
		}
		line, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		bulk.Write(line)
		bulk.WriteByte('\n')
	}
	resp := post(t, base+"/"+stream+"/_bulk?refresh=true", bulk.Bytes())
	var result struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Status int             `json:"status"`
			Error  json.RawMessage `json:"error"`
		} `json:"items"`
	}
	if err := json.Unmarshal(resp, &result); err != nil {
		t.Fatalf("bulk response: %v", err)
	}
	for i, item := range result.Items {
		if st := item["create"]; st.Status != http.StatusCreated {
			t.Errorf("document %d: got status %d (%s), want 201", i, st.Status, st.Error)
		}
	}
	if got, want := len(result.Items), len(docs); got != want {
		t.Errorf("got %d bulk items, want %d", got, want)
	}
	mapping := getJSON(t, base+"/"+stream+"/_mapping")
	if bytes.Contains(mapping, []byte("spray")) || bytes.Contains(mapping, []byte("new_key")) {
		t.Errorf("unknown keys created mappings: %s", mapping)
	}
	// Unknown keys are not indexed, but they are kept in _source.
	src := getJSON(t, base+"/"+stream+"/_search?q=_id:hostile-5")
	if !bytes.Contains(src, []byte("new_key_3")) {
		t.Errorf("unknown key missing from _source: %s", src)
	}
}

func getJSON(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return b
}

func post(t *testing.T, url string, body []byte) []byte {
	t.Helper()
	resp, err := http.Post(url, "application/x-ndjson", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, b)
	}
	return b
}

// TestInstallRestoresEditedComponents proves that setup puts a component
// template back when it was edited by hand with its _meta (and so setup's
// checksum) kept, whatever the edit: before, only the checksum and the ILM
// policy name were compared, so a write block in the settings component
// (which would hold up every record sent to a new activity data stream) or
// a field retyped in the mappings component (a keyword made text, which
// every exact-match query on it would then miss) stayed, reported unchanged.
// A run after the repair changes nothing.
func TestInstallRestoresEditedComponents(t *testing.T) {
	es := estest.Client(t)
	ctx := context.Background()
	defer func() {
		if _, err := setup.Install(ctx, es, setup.Config{}); err != nil {
			t.Errorf("restore default schema: %v", err)
		}
	}()
	event := strings.TrimPrefix(schema.Path(schema.AttrEvent), "attributes.")
	for _, tt := range []struct {
		component string
		edit      func(template map[string]any)
		// restored reports whether the component's template is as setup installs it again.
		restored func(template string) bool
	}{
		{schema.SettingsComponentName, func(tmpl map[string]any) {
			tmpl["settings"].(map[string]any)["index"].(map[string]any)["blocks"] = map[string]any{"write": "true"}
		}, func(tmpl string) bool { return !strings.Contains(tmpl, `"blocks"`) }},
		{schema.MappingsComponentName, func(tmpl map[string]any) {
			props := tmpl["mappings"].(map[string]any)["properties"].(map[string]any)["attributes"].(map[string]any)["properties"].(map[string]any)
			props[event] = map[string]any{"type": "text"}
		}, func(tmpl string) bool { return !strings.Contains(tmpl, fmt.Sprintf(`%q:{"type":"text"}`, event)) }},
	} {
		t.Run(tt.component, func(t *testing.T) {
			if _, err := setup.Install(ctx, es, setup.Config{}); err != nil {
				t.Fatalf("first install: %v", err)
			}
			url := estest.URL(t) + "/_component_template/" + tt.component
			var installed struct {
				ComponentTemplates []struct {
					ComponentTemplate map[string]any `json:"component_template"`
				} `json:"component_templates"`
			}
			if err := json.Unmarshal(getJSON(t, url), &installed); err != nil || len(installed.ComponentTemplates) != 1 {
				t.Fatalf("component template response: %v", err)
			}
			edited := installed.ComponentTemplates[0].ComponentTemplate
			tt.edit(edited["template"].(map[string]any))
			body, err := json.Marshal(edited)
			if err != nil {
				t.Fatal(err)
			}
			send(t, http.MethodPut, url, string(body))

			report, err := setup.Install(ctx, es, setup.Config{})
			if err != nil {
				t.Fatalf("install: %v", err)
			}
			if got := actionOn(report, tt.component); got != setup.Updated {
				t.Errorf("got %q after %s was edited with its _meta kept, want %q", got, tt.component, setup.Updated)
			}
			if got := string(getJSON(t, url)); !tt.restored(got) {
				t.Errorf("got component template %s, want the edit taken away", got)
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
