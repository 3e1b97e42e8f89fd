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
//
// An empty variable that takes its default is logged once, at Info, by this
// provider ("Configuration references an empty environment variable; its
// default is used", with the variable's name, not the default, which may be
// anything the configuration's author wrote); the collector's provider's own
// line for it ("Configuration references empty environment variable", which
// would read as if the empty value were used) is left out. Everything else the
// collector's provider logs, such as its warning for an unset variable without
// a default, is logged as before.
package envdefault

import (
	"context"
	"errors"
	"os"
	"strings"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// NewFactory returns the factory of the provider of the "env" scheme.
func NewFactory() confmap.ProviderFactory {
	return confmap.NewProviderFactory(func(set confmap.ProviderSettings) confmap.Provider {
		logger := set.Logger
		if logger == nil {
			logger = zap.NewNop()
		}
		// The level of the quiet logger is at least the logger's own, or
		// zap refuses to raise it (and says so on stderr).
		quietLevel := max(zapcore.WarnLevel, zapcore.LevelOf(logger.Core()))
		quiet := set
		quiet.Logger = logger.WithOptions(zap.IncreaseLevel(quietLevel))
		return &provider{
			next:   envprovider.NewFactory().Create(set),
			quiet:  envprovider.NewFactory().Create(quiet),
			logger: logger,
		}
	})
}

type provider struct {
	// next is the collector's provider, logging as the collector does.
	next confmap.Provider
	// quiet is the collector's provider with its Info lines left out, for a
	// variable set but empty that takes its default: this provider logs
	// that one itself.
	quiet  confmap.Provider
	logger *zap.Logger
}

// Retrieve reads the variable as the collector's provider does, which also
// checks its name, and gives the default instead when the variable is set
// but empty and the reference has a non-empty default.
func (p *provider) Retrieve(ctx context.Context, uri string, watcher confmap.WatcherFunc) (*confmap.Retrieved, error) {
	name, def, hasDefault := strings.Cut(strings.TrimPrefix(uri, "env:"), ":-")
	if v, set := os.LookupEnv(name); !hasDefault || def == "" || !set || v != "" {
		return p.next.Retrieve(ctx, uri, watcher)
	}
	// Still read through the collector's provider, for its checks of the
	// URI and the name.
	if _, err := p.quiet.Retrieve(ctx, uri, watcher); err != nil {
		return nil, err
	}
	p.logger.Info("Configuration references an empty environment variable; its default is used",
		zap.String("name", name))
	return confmap.NewRetrievedFromYAML([]byte(def))
}

func (p *provider) Scheme() string { return p.next.Scheme() }

func (p *provider) Shutdown(ctx context.Context) error {
	return errors.Join(p.next.Shutdown(ctx), p.quiet.Shutdown(ctx))
}
