package activityprocessor

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/activitylog/activitylog/internal/configtest"
	"github.com/activitylog/activitylog/processor/activityprocessor/internal/metadata"
	"github.com/activitylog/activitylog/processor/activityprocessor/internal/redact"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cfg := createDefaultConfig()
	return cfg, configtest.Load(t, metadata.Type, name, cfg)
}

func TestLoadConfig(t *testing.T) {
	def, err := loadConfig(t, "")
	if err != nil {
		t.Fatalf("default config: %v", err)
	}
	if got, want := def.Burst.Threshold, 5; got != want {
		t.Errorf("default threshold: got %d, want %d", got, want)
	}
	if got, want := def.Redaction.Detectors["card_number"], "mask"; got != want {
		t.Errorf("default card_number action: got %q, want %q", got, want)
	}
	// Off by default: the processor may run without collector/ingestauth.
	if def.RequireIngestAuth {
		t.Error("default require_ingest_auth: got true, want false")
	}

	cfg, err := loadConfig(t, "custom")
	if err != nil {
		t.Fatalf("custom config: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"namespace", cfg.Namespace, "prod.eu_1"},
		{"require ingest auth", cfg.RequireIngestAuth, true},
		{"key action", cfg.Redaction.KeyAction, "hash"},
		{"key patterns", strings.Join(cfg.Redaction.KeyPatterns, ","), "password,pin_code,X-Api-Key"},
		{"detectors", len(cfg.Redaction.Detectors), len(redact.Detectors())},
		{"bearer off", cfg.Redaction.Detectors["bearer"], DetectorOff},
		{"jwt action", cfg.Redaction.Detectors["jwt"], "drop"},
		{"hash key", string(cfg.Redaction.HashKey), "0123456789abcdef0123456789abcdef"},
		{"max depth", cfg.Redaction.MaxDepth, 8},
		{"record attributes", strings.Join(cfg.Tenant.RecordAttributes, ","), "activity.tenant.id,tenant"},
		{"resource attributes", len(cfg.Tenant.ResourceAttributes), 0},
		{"service tenants", cfg.Tenant.ServiceTenants["acme-pos"], "ACME"},
		{"missing", cfg.Tenant.Missing, PolicyDrop},
		{"conflict", cfg.Tenant.Conflict, PolicyUnknown},
		{"burst keys", strings.Join(cfg.Burst.Keys, ","), "client.address,activity.tenant.id"},
		{"threshold", cfg.Burst.Threshold, 10},
		{"window", cfg.Burst.Window, 30 * time.Second},
		{"cooldown", cfg.Burst.Cooldown, 5 * time.Minute},
		{"max keys", cfg.Burst.MaxKeys, 5000},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestInvalidConfigs(t *testing.T) {
	tests := []struct {
		name    string
		want    error  // sentinel, nil when only the message is checked
		message string // must appear in the error
	}{
		{"bad_namespace", ErrInvalidNamespace, `namespace "Prod-EU" has 'P' at byte 0`},
		{"bad_key_action", ErrInvalidAction, `redaction::key_action: invalid action: action "erase" is not one of mask, hash, drop`},
		{"bad_detector", ErrInvalidDetector, `detector "ssn_number" is not one of`},
		{"bad_detector_action", ErrInvalidAction, `redaction::detectors::jwt`},
		{"hash_without_key", ErrHashKey, "hash key has 0 bytes, at least 16 are needed"},
		{"short_hash_key", ErrHashKey, "hash key has 8 bytes"},
		{"empty_pattern", ErrInvalidPattern, `pattern "--"`},
		{"bad_depth", ErrInvalidDepth, "max depth 50 is not between 1 and 16"},
		{"negative_depth", ErrInvalidDepth, "max depth -1 is not between 1 and 16"},
		{"bad_missing_policy", ErrInvalidPolicy, `tenant::missing "ignore"`},
		{"bad_conflict_policy", ErrInvalidPolicy, `tenant::conflict "last"`},
		{"no_tenant_source", ErrNoTenantSource, "are all empty"},
		{"bad_static_tenant", ErrInvalidTenant, `service "svc" maps to invalid tenant`},
		{"reserved_static_tenant", ErrInvalidTenant, `service "svc" maps to "Unknown", reserved for records without a tenant`},
		{"bad_platform_actor", ErrInvalidActorType, `tenant::platform_actor_types: "Robot" is not one of Admin, Partner, Staff, Customer`},
		{"bad_burst_key", ErrInvalidBurst, `"session.id" is not one of`},
		{"bad_burst_threshold", ErrInvalidBurst, "threshold 5000 is not between 1 and 1000"},
		{"bad_burst_window", ErrInvalidBurst, "window -1s"},
		{"bad_burst_cooldown", ErrInvalidBurst, "cooldown -1m0s"},
		{"bad_burst_max_keys", ErrInvalidBurst, "max keys -5"},
		{"no_burst_events", ErrInvalidBurst, "burst::events is empty"},
		{"unknown_field", nil, "has invalid keys: pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(t, tt.name)
			if err == nil {
				t.Fatalf("got no error, want one containing %q", tt.message)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("got %v, want it to wrap %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("got %q, want it to contain %q", err, tt.message)
			}
		})
	}
}

// TestZeroMeansDefault: an empty key_action, max_depth 0 and cooldown 0 are
// the defaults, as README.md's configuration table says, not errors.
func TestZeroMeansDefault(t *testing.T) {
	cfg, err := loadConfig(t, "zero_means_default")
	if err != nil {
		t.Fatalf("got %v, want the defaults", err)
	}
	rc, err := cfg.redactConfig()
	if err != nil {
		t.Fatal(err)
	}
	if rc.MaxDepth != DefaultMaxDepth || rc.KeyAction != redact.ActionMask {
		t.Errorf("got max depth %d and key action %v, want %d and mask", rc.MaxDepth, rc.KeyAction, DefaultMaxDepth)
	}
}

// TestShippedSnippet resolves testdata/otelcol-snippet.yaml as the
// collector does (with ${env:...} expansion, environment unset) and checks
// the result is valid and equals the defaults.
func TestShippedSnippet(t *testing.T) {
	resolver, err := confmap.NewResolver(confmap.ResolverSettings{
		URIs:              []string{"file:" + filepath.Join("testdata", "otelcol-snippet.yaml")},
		ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory(), envprovider.NewFactory()},
		DefaultScheme:     "env",
	})
	if err != nil {
		t.Fatal(err)
	}
	cm, err := resolver.Resolve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sub, err := cm.Sub("activity")
	if err != nil {
		t.Fatal(err)
	}
	cfg := createDefaultConfig()
	if err := sub.Unmarshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := xconfmap.Validate(cfg); err != nil {
		t.Fatalf("snippet: %v", err)
	}
	def := createDefaultConfig()
	if len(cfg.Tenant.ServiceTenants) == 0 {
		cfg.Tenant.ServiceTenants = nil // "{}" in YAML, nil by default: both mean none
	}
	if !reflect.DeepEqual(cfg, def) {
		t.Errorf("snippet: got %+v, want the defaults %+v", cfg, def)
	}
}

// TestConfiguredShortKeyPatterns: patterns an operator configures are
// matched like the defaults, case- and separator-insensitively ("S.S.N" is
// "ssn"), and a short one only as whole words of a key or their plural,
// while "cvv" still matches anywhere.
func TestConfiguredShortKeyPatterns(t *testing.T) {
	cfg, err := loadConfig(t, "short_patterns")
	if err != nil {
		t.Fatal(err)
	}
	p := newTestLogs(t, cfg, (&fixedClock{now: goldenNow}).Now, nil)
	keep := map[string]any{
		"className":     "Gold",
		"shipping_fee":  int64(4),
		"jackpot_prize": int64(5000),
		"pass":          "gold-2026",
	}
	secret := map[string]any{
		"newPassword": "hunter22",
		"customerSSN": "078-05-1120",
		"ssn_last4":   "1120",
		"cardPin":     "4931",
		"PINs":        "4931 1234",
		"cardcvv":     "123",
		"otp_code":    "493817",
	}
	got := processAttrs(t, p, mergeAttrs(keep, secret))
	checkKeys(t, got, keep, secret)
}
