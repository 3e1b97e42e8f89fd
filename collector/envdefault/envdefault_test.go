package envdefault

import (
	"context"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestRetrieve: a default replaces an unset or an empty variable, not a set
// one; without a default, or with an empty one, an empty variable reads
// empty; a bad name is the collector's provider's error.
func TestRetrieve(t *testing.T) {
	t.Setenv("ENVDEFAULT_EMPTY", "")
	t.Setenv("ENVDEFAULT_SET", "10s")
	p := NewFactory().Create(confmap.ProviderSettings{Logger: zap.NewNop()})
	tests := []struct {
		uri  string
		want any
	}{
		{"env:ENVDEFAULT_EMPTY:-20s", "20s"},
		{"env:ENVDEFAULT_UNSET:-20s", "20s"},
		{"env:ENVDEFAULT_SET:-20s", "10s"},
		{"env:ENVDEFAULT_EMPTY:-127.0.0.1", "127.0.0.1"},
		{"env:ENVDEFAULT_EMPTY:-100000", 100000},
		{"env:ENVDEFAULT_EMPTY:-", nil}, // as the collector's provider reads it
		{"env:ENVDEFAULT_EMPTY", nil},
		{"env:ENVDEFAULT_SET", "10s"},
	}
	for _, tt := range tests {
		got, err := p.Retrieve(context.Background(), tt.uri, nil)
		if err != nil {
			t.Errorf("%s: got error %v", tt.uri, err)
			continue
		}
		raw, err := got.AsRaw()
		if err != nil {
			t.Errorf("%s: got error %v", tt.uri, err)
			continue
		}
		if raw != tt.want {
			t.Errorf("%s: got %#v, want %#v", tt.uri, raw, tt.want)
		}
	}
	if _, err := p.Retrieve(context.Background(), "env:BAD-NAME:-x", nil); err == nil || !strings.Contains(err.Error(), "invalid name") {
		t.Errorf("got %v, want the invalid name error", err)
	}
	if p.Scheme() != "env" {
		t.Errorf("got scheme %q, want env", p.Scheme())
	}
}

// TestLogged: a variable set but empty that takes its default is logged
// once, by this provider, naming the variable; what the collector's provider
// logs in the other cases (its warning for an unset variable without a
// default, its line for an empty variable read as empty) is logged as
// before; a variable set, or unset with a default, is not logged.
func TestLogged(t *testing.T) {
	t.Setenv("ENVDEFAULT_EMPTY", "")
	t.Setenv("ENVDEFAULT_SET", "10s")
	const (
		ours     = "Configuration references an empty environment variable; its default is used"
		theirs   = "Configuration references empty environment variable"
		unsetRef = "Configuration references unset environment variable"
	)
	type line struct { // exported fields, so that %v prints the level's name
		Level   zapcore.Level
		Message string
		Name    string
	}
	tests := []struct {
		uri  string
		want []line
	}{
		{"env:ENVDEFAULT_EMPTY:-20s", []line{{zapcore.InfoLevel, ours, "ENVDEFAULT_EMPTY"}}},
		{"env:ENVDEFAULT_EMPTY:-", []line{{zapcore.InfoLevel, theirs, "ENVDEFAULT_EMPTY"}}},
		{"env:ENVDEFAULT_EMPTY", []line{{zapcore.InfoLevel, theirs, "ENVDEFAULT_EMPTY"}}},
		{"env:ENVDEFAULT_UNSET", []line{{zapcore.WarnLevel, unsetRef, "ENVDEFAULT_UNSET"}}},
		{"env:ENVDEFAULT_UNSET:-20s", nil},
		{"env:ENVDEFAULT_SET:-20s", nil},
		{"env:ENVDEFAULT_SET", nil},
	}
	for _, tt := range tests {
		core, logs := observer.New(zapcore.DebugLevel)
		p := NewFactory().Create(confmap.ProviderSettings{Logger: zap.New(core)})
		if _, err := p.Retrieve(context.Background(), tt.uri, nil); err != nil {
			t.Errorf("%s: got error %v", tt.uri, err)
			continue
		}
		var got []line
		for _, e := range logs.All() {
			got = append(got, line{e.Level, e.Message, e.ContextMap()["name"].(string)})
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got logged %v, want %v", tt.uri, got, tt.want)
		}
	}
}

// TestEmptyWithDefaultChecksName: a variable set but empty with a default
// still gets the collector's provider's check of its name.
func TestEmptyWithDefaultChecksName(t *testing.T) {
	t.Setenv("BAD-NAME", "")
	p := NewFactory().Create(confmap.ProviderSettings{Logger: zap.NewNop()})
	if _, err := p.Retrieve(context.Background(), "env:BAD-NAME:-x", nil); err == nil || !strings.Contains(err.Error(), "invalid name") {
		t.Errorf("got %v, want the invalid name error", err)
	}
}

// TestQuietLoggerAboveWarn: a logger above Warn is taken as it is, without
// zap's complaint about lowering its level.
func TestQuietLoggerAboveWarn(t *testing.T) {
	var errOut strings.Builder
	core, logs := observer.New(zapcore.ErrorLevel)
	logger := zap.New(core, zap.ErrorOutput(zapcore.AddSync(&errOut)))
	t.Setenv("ENVDEFAULT_EMPTY", "")
	p := NewFactory().Create(confmap.ProviderSettings{Logger: logger})
	if _, err := p.Retrieve(context.Background(), "env:ENVDEFAULT_EMPTY:-20s", nil); err != nil {
		t.Fatal(err)
	}
	if errOut.Len() > 0 || logs.Len() > 0 {
		t.Errorf("got %q on the error output and %d entries, want neither", errOut.String(), logs.Len())
	}
}
