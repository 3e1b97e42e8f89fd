package schema_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/activitylog/activitylog/schema"
)

var update = flag.Bool("update", false, "rewrite docs/schema.md from the schema")

func TestSchemaDocIsCurrent(t *testing.T) {
	path := filepath.Join("..", "docs", "schema.md")
	want := schema.Markdown()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v (run go generate ./schema)", path, err)
	}
	if string(got) != want {
		t.Errorf("docs/schema.md is out of date: run go generate ./schema")
	}
}

func TestFieldsAreUniqueAndMapped(t *testing.T) {
	paths := map[string]bool{}
	attrs := map[string]bool{}
	for _, f := range schema.Fields() {
		if paths[f.Path] {
			t.Errorf("path %s listed twice", f.Path)
		}
		paths[f.Path] = true
		if f.Attribute != "" {
			if attrs[f.Attribute] {
				t.Errorf("attribute %s listed twice", f.Attribute)
			}
			attrs[f.Attribute] = true
		}
		if f.Description == "" {
			t.Errorf("field %s has no description", f.Path)
		}
	}
	raw, err := json.Marshal(schema.Mappings())
	if err != nil {
		t.Fatal(err)
	}
	var root mappingNode
	if err := json.Unmarshal(raw, &root); err != nil {
		t.Fatal(err)
	}
	mapped := map[string]string{}
	root.leaves("", mapped)
	for _, f := range schema.Fields() {
		if got := mapped[f.Path]; got != string(f.Type) {
			t.Errorf("field %s: got mapped type %q, want %q", f.Path, got, f.Type)
		}
	}
	if len(mapped) != len(schema.Fields()) {
		t.Errorf("got %d mapped leaves, want %d (one per field)", len(mapped), len(schema.Fields()))
	}
}

type mappingNode struct {
	Type       string                 `json:"type"`
	Properties map[string]mappingNode `json:"properties"`
}

// leaves collects the full path and type of every leaf field.
func (n mappingNode) leaves(prefix string, out map[string]string) {
	for name, child := range n.Properties {
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		if len(child.Properties) > 0 {
			child.leaves(path, out)
			continue
		}
		out[path] = child.Type
	}
}

func TestMappingsRejectNothingUnknown(t *testing.T) {
	var m struct {
		Dynamic    string `json:"dynamic"`
		Properties map[string]struct {
			Type       string `json:"type"`
			Dynamic    string `json:"dynamic"`
			Properties map[string]struct {
				Type    string `json:"type"`
				Dynamic string `json:"dynamic"`
			} `json:"properties"`
		} `json:"properties"`
	}
	b, _ := json.Marshal(schema.Mappings())
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Dynamic != "false" {
		t.Errorf("got root dynamic %q, want false", m.Dynamic)
	}
	attrs := m.Properties["attributes"]
	if attrs.Type != "passthrough" || attrs.Dynamic != "false" {
		t.Errorf("got attributes type %q dynamic %q, want passthrough/false", attrs.Type, attrs.Dynamic)
	}
	res := m.Properties["resource"].Properties["attributes"]
	if res.Type != "passthrough" || res.Dynamic != "false" {
		t.Errorf("got resource.attributes type %q dynamic %q, want passthrough/false", res.Type, res.Dynamic)
	}
}

func TestRetentionVariants(t *testing.T) {
	tests := []struct {
		name          string
		opts          schema.Options
		wantLifecycle string
		wantILMName   bool
		wantDeleteAge string
	}{
		{"default without ILM", schema.Options{}, "365d", false, "365d"},
		{"default with ILM", schema.Options{ILM: true}, "", true, "365d"},
		{"30 days without ILM", schema.Options{Retention: 30 * 24 * time.Hour}, "30d", false, "30d"},
		{"400 days with ILM", schema.Options{Retention: 400 * 24 * time.Hour, ILM: true}, "", true, "400d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := schema.Template(tt.opts)
			gotLifecycle := ""
			if tmpl.Template != nil && tmpl.Template.Lifecycle != nil {
				gotLifecycle = tmpl.Template.Lifecycle.DataRetention.(string)
			}
			if gotLifecycle != tt.wantLifecycle {
				t.Errorf("got lifecycle retention %q, want %q", gotLifecycle, tt.wantLifecycle)
			}
			settings := schema.Components(tt.opts)[schema.SettingsComponentName].Template.Settings
			gotILM := settings.Lifecycle != nil && settings.Lifecycle.Name != nil && *settings.Lifecycle.Name == schema.ILMPolicyName
			if gotILM != tt.wantILMName {
				t.Errorf("got ILM policy attached %v, want %v", gotILM, tt.wantILMName)
			}
			p := schema.ILMPolicy(tt.opts)
			if got := p.Phases.Delete.MinAge; got != tt.wantDeleteAge {
				t.Errorf("got delete min_age %v, want %s", got, tt.wantDeleteAge)
			}
			if p.Phases.Delete.Actions == nil || p.Phases.Delete.Actions.Delete == nil {
				t.Errorf("delete phase has no delete action")
			}
			if r := p.Phases.Hot.Actions.Rollover; r == nil || r.MaxAge != "1d" {
				t.Errorf("got hot rollover %+v, want max_age 1d", r)
			}
		})
	}
	if err := (schema.Options{Retention: 36 * time.Hour}).Validate(); err == nil {
		t.Errorf("got no error for a retention of 36h, want one (not whole days)")
	}
}

func TestChecksumChangesWithContent(t *testing.T) {
	a := schema.Checksum(schema.Template(schema.Options{}).Meta)
	b := schema.Checksum(schema.Template(schema.Options{Retention: 30 * 24 * time.Hour}).Meta)
	if a == "" || a == b {
		t.Errorf("got checksums %q and %q, want two different non-empty ones", a, b)
	}
	if again := schema.Checksum(schema.Template(schema.Options{}).Meta); again != a {
		t.Errorf("checksum not stable: %q then %q", a, again)
	}
}
