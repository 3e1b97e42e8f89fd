package activityprocessor

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/activitylog/activitylog/processor/activityprocessor/internal/burst"
	"github.com/activitylog/activitylog/processor/activityprocessor/internal/redact"
	"github.com/activitylog/activitylog/processor/activityprocessor/internal/tenant"
	"github.com/activitylog/activitylog/schema"
)

// Redaction defaults.
const (
	// DefaultKeyAction is the action for keys matching a key pattern.
	DefaultKeyAction = "mask"
	// DefaultDetectorAction is the action of every value detector.
	DefaultDetectorAction = "mask"
	// DefaultMaxDepth is the deepest nesting let through.
	DefaultMaxDepth = schema.MaxChangesDepth
)

// DefaultKeyPatterns returns the default key patterns. They are compared
// with every key with case and separators removed, as substrings; "ssn"
// and "pin", short, only as whole words (see redact.Config.KeyPatterns).
// "pass" is not one: on a loyalty platform a pass is a wallet pass, data.
func DefaultKeyPatterns() []string {
	return []string{
		"password", "passwd", "pwd", "passphrase", "secret", "token", "apikey", "accesskey", "privatekey",
		"authorization", "cookie", "sessionid", "credential", "cvv", "cvc", "cardnumber", "iban", "ssn",
		"pin", "securitycode", "recoverycode", "backupcode", "jwt",
	}
}

// DefaultOTPKeyPatterns returns the default OTP-like key patterns ("otp",
// "totp" and "2fa" only as whole words). Two-factor codes are OTP-like
// rather than key patterns: a two_factor_enabled flag stays.
func DefaultOTPKeyPatterns() []string {
	return []string{
		"otp", "totp", "otpcode", "passcode", "mfacode", "verificationcode", "onetimecode", "2fa", "2facode",
		"twofactor", "smscode",
	}
}

// DetectorOff disables a value detector.
const DetectorOff = "off"

// Tenant policies.
const (
	// PolicyTag tags a record whose tenant is missing with schema.TenantUnknown.
	PolicyTag = "tag"
	// PolicyDrop drops the record.
	PolicyDrop = "drop"
	// PolicyFirst resolves a conflict by the highest-priority source.
	PolicyFirst = "first"
	// PolicyUnknown resolves a conflict by tagging schema.TenantUnknown.
	PolicyUnknown = "unknown"
)

// Sentinel errors returned (wrapped) by Config.Validate.
var (
	ErrInvalidNamespace = schema.ErrInvalidNamespace
	ErrInvalidAction    = errors.New("invalid action")
	ErrInvalidDetector  = errors.New("invalid detector")
	ErrInvalidPattern   = errors.New("invalid key pattern")
	ErrHashKey          = errors.New("hash key missing or too short")
	ErrInvalidDepth     = errors.New("invalid max depth")
	ErrInvalidPolicy    = errors.New("invalid tenant policy")
	ErrNoTenantSource   = errors.New("no tenant source")
	ErrInvalidTenant    = errors.New("invalid tenant")
	ErrInvalidBurst     = errors.New("invalid burst setting")
	ErrInvalidActorType = errors.New("invalid actor type")
)

// Config is the activity processor's configuration. createDefaultConfig
// gives every field its production default (see README.md).
type Config struct {
	// Namespace is the data_stream.namespace every record is routed to.
	// Empty means schema.DefaultNamespace ("default"). It must be lowercase
	// letters, digits, "_" or "." and at most 100 characters, otherwise the
	// collector refuses to start.
	Namespace string `mapstructure:"namespace"`
	// Redaction configures secret removal.
	Redaction RedactionConfig `mapstructure:"redaction"`
	// Tenant configures tenant tagging.
	Tenant TenantConfig `mapstructure:"tenant"`
	// Burst configures failed-login burst detection.
	Burst BurstConfig `mapstructure:"burst"`
	// TrustIncomingAlerts lets records that look like this processor's
	// alerts (an activity.alert.* attribute, category security, or event
	// failed_login_burst) through. False (the default) drops them as
	// forgeries and counts them. Set it to true only on a collector whose
	// every sender is another activitycol running this processor.
	TrustIncomingAlerts bool `mapstructure:"trust_incoming_alerts"`
	// RequireIngestAuth refuses, as a whole, a batch whose context does not
	// carry the collector's ingest authenticator's mark
	// (schema.AuthIngest): its records are dropped, counted
	// (records_dropped{reason="unauthenticated"}) and the batch is answered
	// with a permanent error. Without the mark the processor cannot tell an
	// unbound token from a pipeline that lost the request's client.Info (a
	// batch processor before this one does), and would let a token bound to
	// tenants write every tenant. False (the default, for a collector
	// without collector/ingestauth) treats such a batch as from an unbound
	// token; the shipped otelcol-config.yaml sets it true.
	RequireIngestAuth bool `mapstructure:"require_ingest_auth"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// RedactionConfig configures secret removal.
type RedactionConfig struct {
	// KeyPatterns are matched, case- and separator-insensitively and as
	// substrings, against every key at any depth; a pattern of fewer than
	// five letters and digits only as whole words of the key or their
	// plural ("pin" matches cardPin, not shipping), but cvv, cvc, pwd, jwt
	// and iban anywhere. The whole value of a matching key is redacted.
	// Empty list: no key rule (value detectors still run). A pattern with
	// no letter or digit is rejected.
	KeyPatterns []string `mapstructure:"key_patterns"`
	// KeyAction is mask, hash or drop for keys matching KeyPatterns; empty
	// means DefaultKeyAction. Anything else is rejected.
	KeyAction string `mapstructure:"key_action"`
	// OTPKeyPatterns mark keys whose values are one-time codes (matched like
	// KeyPatterns); used by the "otp" detector.
	OTPKeyPatterns []string `mapstructure:"otp_key_patterns"`
	// Detectors maps value detector names (jwt, bearer, basic_auth,
	// api_key, private_key, card_number, url_credentials, key_value, otp) to an action
	// (mask, hash, drop, or off to disable it). Every detector is on (mask)
	// by default and a configured map is merged into the defaults, so a
	// detector is only disabled by "off". An unknown name or action is
	// rejected.
	Detectors map[string]string `mapstructure:"detectors"`
	// HashKey is the HMAC-SHA256 key of the hash action, at least 16 bytes.
	// Required when any action is hash; the collector refuses to start
	// without it rather than hash without a key.
	HashKey configopaque.String `mapstructure:"hash_key"`
	// MaxDepth is the deepest nesting of maps and slices let through (1 to
	// schema.MaxChangesDepth; 0 means DefaultMaxDepth, anything else is
	// rejected); deeper values are replaced by "[REDACTED]".
	MaxDepth int `mapstructure:"max_depth"`
}

// TenantConfig configures tenant tagging.
type TenantConfig struct {
	// RecordAttributes are record attribute keys tried first, in order.
	RecordAttributes []string `mapstructure:"record_attributes"`
	// ResourceAttributes are resource attribute keys tried next.
	ResourceAttributes []string `mapstructure:"resource_attributes"`
	// ServiceTenants maps service.name to a tenant, tried last.
	ServiceTenants map[string]string `mapstructure:"service_tenants"`
	// Missing is the policy for a record without a tenant: "tag" (tag it
	// "unknown") or "drop". Both are counted.
	Missing string `mapstructure:"missing"`
	// Conflict is the policy for a record whose sources disagree: "first"
	// (highest-priority source wins), "unknown" (tag it "unknown") or
	// "drop". All are counted.
	Conflict string `mapstructure:"conflict"`
	// PlatformActorTypes are the activity.actor.type values (any case) of
	// records that have no tenant by design: an admin acting on the
	// platform itself, or reading across tenants. Such a record is tagged
	// "unknown" like any record without a tenant, so only admins read it,
	// but Missing never drops it and it is not counted as missing: an
	// audit trail must keep its most privileged actors' records. Default:
	// Admin. Empty: every record without a tenant is treated alike. A value
	// that is not an actor type: start-up fails.
	PlatformActorTypes []string `mapstructure:"platform_actor_types"`
}

// BurstConfig configures failed-login burst detection.
type BurstConfig struct {
	// Enabled turns detection on.
	Enabled bool `mapstructure:"enabled"`
	// Events are the activity.event values that count as a failed login.
	Events []string `mapstructure:"events"`
	// Keys are what failures are counted by: any of client.address,
	// user.name, activity.tenant.id. One alert per key value.
	Keys []string `mapstructure:"keys"`
	// Threshold is the failures inside Window that raise an alert (1 to 1000).
	Threshold int `mapstructure:"threshold"`
	// Window is the sliding window (positive).
	Window time.Duration `mapstructure:"window"`
	// Cooldown is how long one key stays quiet after an alert; 0 means
	// burst.DefaultCooldown, a negative one is rejected.
	Cooldown time.Duration `mapstructure:"cooldown"`
	// MaxKeys is the most keys tracked at once; beyond it the least
	// recently seen key is evicted and counted. Memory is at most about
	// MaxKeys * (672 + 64 * Threshold) bytes (burst.BytesPerKey).
	MaxKeys int `mapstructure:"max_keys"`
}

func defaultDetectors() map[string]string {
	m := map[string]string{}
	for _, r := range redact.Detectors() {
		m[r.String()] = DefaultDetectorAction
	}
	return m
}

func createDefaultConfig() *Config {
	return &Config{
		Namespace: schema.DefaultNamespace,
		Redaction: RedactionConfig{
			KeyPatterns:    DefaultKeyPatterns(),
			KeyAction:      DefaultKeyAction,
			OTPKeyPatterns: DefaultOTPKeyPatterns(),
			Detectors:      defaultDetectors(),
			MaxDepth:       DefaultMaxDepth,
		},
		Tenant: TenantConfig{
			RecordAttributes:   []string{schema.AttrTenantID},
			ResourceAttributes: []string{schema.AttrTenantID},
			Missing:            PolicyTag,
			Conflict:           PolicyFirst,
			PlatformActorTypes: []string{schema.ActorAdmin},
		},
		Burst: BurstConfig{
			Enabled:   true,
			Events:    []string{schema.EventLoginFailed, schema.EventOTPFailed},
			Keys:      []string{schema.AttrClientAddress, schema.AttrUserName},
			Threshold: burst.DefaultThreshold,
			Window:    burst.DefaultWindow,
			Cooldown:  burst.DefaultCooldown,
			MaxKeys:   burst.DefaultMaxKeys,
		},
	}
}

// Validate checks the configuration and returns an error wrapping one of
// the Err* sentinels for the first problem found.
func (c *Config) Validate() error {
	if err := schema.ValidateNamespace(c.Namespace); err != nil {
		return err
	}
	if _, err := c.redactConfig(); err != nil {
		return err
	}
	if err := c.Tenant.validate(); err != nil {
		return err
	}
	return c.Burst.validate()
}

// namespace returns the configured namespace or the schema default.
func (c *Config) namespace() string {
	if c.Namespace == "" {
		return schema.DefaultNamespace
	}
	return c.Namespace
}

// exemptKeys are the record attributes that carry the record's structure:
// key patterns never remove them (value detectors still look inside).
func exemptKeys() []string {
	return []string{
		schema.AttrID, schema.AttrCategory, schema.AttrEvent, schema.AttrOutcome, schema.AttrActorType,
		schema.AttrTenantID, schema.AttrTenantName, schema.AttrSubjectType, schema.AttrSubjectID, schema.AttrSubjectName,
		schema.AttrRequestID, schema.AttrChangedFields, schema.AttrRedactedKeys, schema.AttrFailureReason,
		schema.AttrUserID, schema.AttrUserName, schema.AttrUserRoles, schema.AttrClientAddress, schema.AttrUserAgent,
		schema.AttrAlertRule, schema.AttrAlertKeyType, schema.AttrAlertKey, schema.AttrAlertCount, schema.AttrAlertThreshold,
		schema.AttrAlertWindowSeconds, schema.AttrAlertFirstSeen, schema.AttrAlertLastSeen,
		schema.AttrDataStreamType, schema.AttrDataStreamDataset, schema.AttrDataStreamNamespace, schema.AttrDocumentID,
	}
}

// redactConfig translates and checks the redaction settings.
func (c *Config) redactConfig() (redact.Config, error) {
	r := c.Redaction
	keyAction := r.KeyAction
	if keyAction == "" {
		keyAction = DefaultKeyAction
	}
	ka, err := redact.ParseAction(keyAction)
	if err != nil {
		return redact.Config{}, fmt.Errorf("redaction::key_action: %w: %w", ErrInvalidAction, err)
	}
	names := make([]string, 0, len(r.Detectors))
	for n := range r.Detectors {
		names = append(names, n)
	}
	sort.Strings(names) // report the first problem deterministically
	dets := make(map[redact.Rule]redact.Action, len(names))
	for _, n := range names {
		rule, err := redact.ParseDetector(n)
		if err != nil {
			return redact.Config{}, fmt.Errorf("redaction::detectors: %w: %w", ErrInvalidDetector, err)
		}
		if r.Detectors[n] == DetectorOff {
			continue
		}
		a, err := redact.ParseAction(r.Detectors[n])
		if err != nil {
			return redact.Config{}, fmt.Errorf("redaction::detectors::%s: %w: %w", n, ErrInvalidAction, err)
		}
		dets[rule] = a
	}
	depth := r.MaxDepth
	if depth == 0 {
		depth = DefaultMaxDepth
	}
	rc := redact.Config{
		KeyPatterns: r.KeyPatterns, KeyAction: ka, OTPKeyPatterns: r.OTPKeyPatterns, Detectors: dets,
		HashKey: []byte(string(r.HashKey)), MaxDepth: depth, ExemptKeys: exemptKeys(),
	}
	if _, err := redact.New(rc); err != nil {
		switch {
		case errors.Is(err, redact.ErrNoHashKey):
			return redact.Config{}, fmt.Errorf("redaction::hash_key: %w: %w", ErrHashKey, err)
		case errors.Is(err, redact.ErrBadDepth):
			return redact.Config{}, fmt.Errorf("redaction::max_depth: %w: %w", ErrInvalidDepth, err)
		case errors.Is(err, redact.ErrEmptyPattern):
			return redact.Config{}, fmt.Errorf("redaction: %w: %w", ErrInvalidPattern, err)
		}
		return redact.Config{}, fmt.Errorf("redaction: %w", err)
	}
	return rc, nil
}

func (t TenantConfig) validate() error {
	switch t.Missing {
	case "", PolicyTag, PolicyDrop:
	default:
		return fmt.Errorf("tenant::missing %q is not one of %s, %s: %w", t.Missing, PolicyTag, PolicyDrop, ErrInvalidPolicy)
	}
	switch t.Conflict {
	case "", PolicyFirst, PolicyUnknown, PolicyDrop:
	default:
		return fmt.Errorf("tenant::conflict %q is not one of %s, %s, %s: %w", t.Conflict, PolicyFirst, PolicyUnknown, PolicyDrop, ErrInvalidPolicy)
	}
	for _, a := range t.PlatformActorTypes {
		if !slices.ContainsFunc(schema.ActorTypes(), func(known string) bool { return strings.EqualFold(a, known) }) {
			return fmt.Errorf("tenant::platform_actor_types: %q is not one of %s: %w", a, strings.Join(schema.ActorTypes(), ", "), ErrInvalidActorType)
		}
	}
	if _, err := tenant.New(t.resolverConfig()); err != nil {
		if errors.Is(err, tenant.ErrNoSources) {
			return fmt.Errorf("tenant: record_attributes, resource_attributes and service_tenants are all empty: %w", ErrNoTenantSource)
		}
		return fmt.Errorf("tenant::service_tenants: %w: %w", ErrInvalidTenant, err)
	}
	return nil
}

func (t TenantConfig) resolverConfig() tenant.Config {
	return tenant.Config{
		RecordAttributes: t.RecordAttributes, ResourceAttributes: t.ResourceAttributes,
		ServiceTenants: t.ServiceTenants, ServiceNameAttribute: schema.AttrServiceName,
	}
}

func (b BurstConfig) detectorConfig() burst.Config {
	return burst.Config{Threshold: b.Threshold, Window: b.Window, Cooldown: b.Cooldown, MaxKeys: b.MaxKeys}
}

func (b BurstConfig) validate() error {
	if !b.Enabled {
		return nil
	}
	if len(b.Events) == 0 {
		return fmt.Errorf("burst::events is empty while burst detection is enabled: %w", ErrInvalidBurst)
	}
	if len(b.Keys) == 0 {
		return fmt.Errorf("burst::keys is empty while burst detection is enabled: %w", ErrInvalidBurst)
	}
	for _, k := range b.Keys {
		switch k {
		case schema.AttrClientAddress, schema.AttrUserName, schema.AttrTenantID:
		default:
			return fmt.Errorf("burst::keys: %q is not one of %s, %s, %s: %w", k, schema.AttrClientAddress, schema.AttrUserName, schema.AttrTenantID, ErrInvalidBurst)
		}
	}
	if b.Window == 0 || b.Threshold == 0 || b.MaxKeys == 0 {
		return fmt.Errorf("burst: threshold, window and max_keys must be set (got %d, %s, %d): %w", b.Threshold, b.Window, b.MaxKeys, ErrInvalidBurst)
	}
	if err := b.detectorConfig().Validate(); err != nil {
		return fmt.Errorf("burst: %w: %w", ErrInvalidBurst, err)
	}
	return nil
}
