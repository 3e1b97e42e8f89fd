package activityprocessor

import (
	"errors"
	"fmt"
	"strings"

	"github.com/activitylog/activitylog/schema"
)

// maxNamespaceLen is Elasticsearch's limit on a data stream namespace.
const maxNamespaceLen = 100

// Sentinel errors returned (wrapped) by Config.Validate.
var (
	// ErrInvalidNamespace reports a data stream namespace Elasticsearch would refuse.
	ErrInvalidNamespace = errors.New("invalid namespace")
)

// Config is the activity processor's configuration. Every field has a
// production default (see createDefaultConfig and README.md).
type Config struct {
	// Namespace is the data_stream.namespace every record is routed to.
	// Empty means schema.DefaultNamespace ("default"). It must be lowercase
	// letters, digits, "_" or "." and at most 100 characters, otherwise the
	// configuration is rejected at start-up.
	Namespace string `mapstructure:"namespace"`

	// prevent unkeyed literal initialisation
	_ struct{}
}

// Validate checks the configuration and returns an error wrapping one of
// the Err* sentinels for the first problem found.
func (c *Config) Validate() error {
	if err := validateNamespace(c.Namespace); err != nil {
		return err
	}
	return nil
}

// namespace returns the configured namespace or the schema default.
func (c *Config) namespace() string {
	if c.Namespace == "" {
		return schema.DefaultNamespace
	}
	return c.Namespace
}

func validateNamespace(ns string) error {
	if ns == "" {
		return nil
	}
	if len(ns) > maxNamespaceLen {
		return fmt.Errorf("namespace is %d characters, the maximum is %d: %w", len(ns), maxNamespaceLen, ErrInvalidNamespace)
	}
	if i := strings.IndexFunc(ns, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.')
	}); i >= 0 {
		return fmt.Errorf("namespace %q has %q at byte %d; only lowercase letters, digits, '_' and '.' are allowed: %w", ns, ns[i], i, ErrInvalidNamespace)
	}
	return nil
}
