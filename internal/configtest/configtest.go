// Package configtest loads a collector component's configuration for its
// tests the way the collector does: from the package's testdata/config.yaml,
// under the component's id, then validated.
package configtest

import (
	"path/filepath"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"
)

// Load unmarshals the section typ/name of testdata/config.yaml into cfg
// (which holds the component's defaults) and validates it. It fails tb when
// the file or the section cannot be read, and returns the unmarshalling or
// validation error.
func Load(tb testing.TB, typ component.Type, name string, cfg any) error {
	tb.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	sub, err := cm.Sub(component.NewIDWithName(typ, name).String())
	if err != nil {
		tb.Fatal(err)
	}
	if err := sub.Unmarshal(cfg); err != nil {
		return err
	}
	return xconfmap.Validate(cfg)
}
