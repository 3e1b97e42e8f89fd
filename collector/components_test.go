package main

import (
	"os"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestManifestMatchesComponents keeps builder-config.yaml, components.go
// and main.go in step: every module the manifest lists is a component the
// binary has, and nothing else, and the binary's name, description and
// version are the manifest's.
func TestManifestMatchesComponents(t *testing.T) {
	raw, err := os.ReadFile("builder-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type module struct {
		GoMod string `yaml:"gomod"`
	}
	// The dist section is a map, not a list; decode the component lists only.
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("builder-config.yaml: %v", err)
	}
	var dist struct {
		Name        string `yaml:"name"`
		Description string `yaml:"description"`
		Version     string `yaml:"version"`
	}
	if node := doc["dist"]; node.Decode(&dist) != nil {
		t.Fatal("builder-config.yaml: no dist section")
	}
	if dist.Name != command || dist.Description != description || dist.Version != version {
		t.Errorf("builder-config.yaml's dist is %q, %q, %q; main.go has %q, %q, %q",
			dist.Name, dist.Description, dist.Version, command, description, version)
	}
	manifest := map[string][]module{}
	for _, kind := range []string{"receivers", "processors", "exporters", "extensions"} {
		var list []module
		node := doc[kind]
		if err := node.Decode(&list); err != nil {
			t.Fatalf("builder-config.yaml %s: %v", kind, err)
		}
		manifest[kind] = list
	}

	factories, err := components()
	if err != nil {
		t.Fatalf("components: %v", err)
	}
	have := map[string][]string{}
	for _, m := range factories.ReceiverModules {
		have["receivers"] = append(have["receivers"], m)
	}
	for _, m := range factories.ProcessorModules {
		have["processors"] = append(have["processors"], m)
	}
	for _, m := range factories.ExporterModules {
		have["exporters"] = append(have["exporters"], m)
	}
	for _, m := range factories.ExtensionModules {
		have["extensions"] = append(have["extensions"], m)
	}
	for kind, list := range manifest {
		var want []string
		for _, c := range list {
			want = append(want, c.GoMod)
		}
		sort.Strings(want)
		got := have[kind]
		sort.Strings(got)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: components.go has\n%s\nbuilder-config.yaml has\n%s", kind, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	if got, want := len(factories.Processors), len(factories.ProcessorModules); got != want {
		t.Errorf("got %d processor factories, want %d (one per module entry)", got, want)
	}
}
