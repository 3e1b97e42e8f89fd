package envdefault

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"
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
