// Package ingestauth is the collector's ingest authenticator: the contrib
// bearertokenauth extension (tokens inline or in a file read again when it
// changes, compared in constant time), with weak tokens refused.
//
// The contrib extension takes the first word of every non-blank line of its
// token file as a token, so a comment line ("# ingest tokens") makes "#" a
// token that anyone could send, and it accepts a token of any length. Here a
// token shorter than MinTokenLength is refused when the collector starts
// (inline or in the file) and, whatever the file says later, on every
// request before the contrib extension compares it.
package ingestauth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/bearertokenauthextension"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensionauth"
)

// MinTokenLength is the shortest token accepted: 16 characters. The
// documentation asks for 32 random bytes (64 hex characters).
const MinTokenLength = 16

// Type is the extension's configuration key.
var Type = component.MustNewType("ingestauth")

// errUnauthenticated is what a refused client is told: nothing about why.
var errUnauthenticated = errors.New("unauthenticated: a valid ingest token is required")

// NewFactory returns the factory of the ingestauth extension. Its
// configuration is the contrib bearertokenauth extension's: token, tokens,
// filename, header and scheme.
func NewFactory() extension.Factory {
	base := bearertokenauthextension.NewFactory()
	return extension.NewFactory(Type, base.CreateDefaultConfig,
		func(ctx context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
			c, ok := cfg.(*bearertokenauthextension.Config)
			if !ok {
				return nil, fmt.Errorf("ingestauth: unexpected configuration %T", cfg)
			}
			if err := checkTokens(c); err != nil {
				return nil, err
			}
			set.ID = component.NewIDWithName(base.Type(), set.ID.Name())
			ext, err := base.Create(ctx, set, cfg)
			if err != nil {
				return nil, err
			}
			server, ok := ext.(extensionauth.Server)
			if !ok {
				return nil, fmt.Errorf("ingestauth: %T is not a server authenticator", ext)
			}
			return &guard{Extension: ext, server: server, header: c.Header, scheme: c.Scheme}, nil
		}, base.Stability())
}

// checkTokens refuses the configured tokens that are too short, naming where
// they are, never what they are.
func checkTokens(c *bearertokenauthextension.Config) error {
	if c.Filename != "" {
		f, err := os.Open(c.Filename)
		if err != nil {
			return fmt.Errorf("ingestauth: token file: %w", err)
		}
		defer f.Close()
		s := bufio.NewScanner(f)
		for line := 1; s.Scan(); line++ {
			// As the contrib extension reads it: the first word of a line.
			if w := strings.Fields(s.Text()); len(w) > 0 && len(w[0]) < MinTokenLength {
				return fmt.Errorf("ingestauth: token file %s line %d: a token must be %d characters or more "+
					"(the file has no comments: the first word of every non-blank line is a token)", c.Filename, line, MinTokenLength)
			}
		}
		if err := s.Err(); err != nil {
			return fmt.Errorf("ingestauth: token file: %w", err)
		}
		return nil // the file wins over inline tokens
	}
	if c.BearerToken != "" && len(c.BearerToken) < MinTokenLength {
		return fmt.Errorf("ingestauth: token: must be %d characters or more", MinTokenLength)
	}
	for i, t := range c.Tokens {
		if len(t) < MinTokenLength {
			return fmt.Errorf("ingestauth: tokens[%d]: must be %d characters or more", i, MinTokenLength)
		}
	}
	return nil
}

// guard refuses a request whose token is missing or too short, and hands the
// rest to the contrib extension.
type guard struct {
	extension.Extension
	server         extensionauth.Server
	header, scheme string
}

var _ extensionauth.Server = (*guard)(nil)

// Authenticate implements extensionauth.Server.
func (g *guard) Authenticate(ctx context.Context, headers map[string][]string) (context.Context, error) {
	v, ok := headers[http.CanonicalHeaderKey(g.header)]
	if !ok {
		v = headers[strings.ToLower(g.header)] // gRPC metadata
	}
	if len(v) == 0 {
		return ctx, errUnauthenticated
	}
	token := v[0]
	if g.scheme != "" {
		var found bool
		if token, found = strings.CutPrefix(token, g.scheme+" "); !found {
			return ctx, errUnauthenticated
		}
	}
	if len(token) < MinTokenLength {
		return ctx, errUnauthenticated
	}
	out, err := g.server.Authenticate(ctx, headers)
	if err != nil {
		return ctx, errUnauthenticated
	}
	return out, nil
}
