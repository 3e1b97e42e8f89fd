// Package envdefault is the env provider of activitycol's configuration: the
// collector's own (confmap/provider/envprovider), except that the default of
// ${env:NAME:-default} also replaces a variable that is set but empty, as a
// shell and Docker Compose read ${NAME:-default}.
//
// With the collector's provider an empty variable is taken as given: a line
// ACTIVITYCOL_METRICS_HOST= in an env file served the collector's metrics
// on every interface instead of the default 127.0.0.1, an empty
// ACTIVITYCOL_ES_TIMEOUT left bulk requests without a timeout, and an empty
// endpoint or queue size failed the start with an error far from its cause.
// A reference without a default, ${env:NAME}, and a default that is itself
// empty, ${env:NAME:-}, read as before.
package envdefault

import (
	"context"
	"os"
	"strings"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.uber.org/zap"
)

// NewFactory returns the factory of the provider of the "env" scheme.
func NewFactory() confmap.ProviderFactory {
	return confmap.NewProviderFactory(func(set confmap.ProviderSettings) confmap.Provider {
		logger := set.Logger
		if logger == nil {
			logger = zap.NewNop()
		}
		return &provider{next: envprovider.NewFactory().Create(set), logger: logger}
	})
}

type provider struct {
	next   confmap.Provider
	logger *zap.Logger
}

// Retrieve reads the variable as the collector's provider does, which also
// checks its name, and gives the default instead when the variable is set
// but empty and the reference has a non-empty default.
func (p *provider) Retrieve(ctx context.Context, uri string, watcher confmap.WatcherFunc) (*confmap.Retrieved, error) {
	got, err := p.next.Retrieve(ctx, uri, watcher)
	if err != nil {
		return nil, err
	}
	name, def, hasDefault := strings.Cut(strings.TrimPrefix(uri, "env:"), ":-")
	if !hasDefault || def == "" {
		return got, nil
	}
	if v, set := os.LookupEnv(name); !set || v != "" {
		return got, nil
	}
	p.logger.Info("Configuration references an empty environment variable; its default is used",
		zap.String("name", name))
	return confmap.NewRetrievedFromYAML([]byte(def))
}

func (p *provider) Scheme() string { return p.next.Scheme() }

func (p *provider) Shutdown(ctx context.Context) error { return p.next.Shutdown(ctx) }
