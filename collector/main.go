// Command activitycol is the activitylog OpenTelemetry Collector
// distribution: the OTLP receiver and its ingest token authenticator
// (ingestauth), the memory limiter, the activity processor (routing,
// redaction, tenant tagging, failed-login burst alerts), batch, the
// durable_elasticsearch exporter (the contrib Elasticsearch exporter behind a
// persistent queue on file_storage, retried until Elasticsearch takes each
// batch), the debug exporter and the health check. It is the code the
// OpenTelemetry Collector Builder generates from builder-config.yaml.
//
// Run it with the production configuration:
//
//	activitycol --config otelcol-config.yaml
package main

import (
	"log"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/otelcol"

	"github.com/activitylog/activitylog/collector/envdefault"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0"

// command and description name the binary, as builder-config.yaml's dist
// section does (components_test.go holds them equal).
const (
	command     = "activitycol"
	description = "activitylog collector - OTLP in, redaction, tenant tagging and burst alerts, Elasticsearch out (durably)"
)

func main() {
	info := component.BuildInfo{
		Command:     command,
		Description: description,
		Version:     version,
	}
	set := otelcol.CollectorSettings{
		BuildInfo: info,
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				ProviderFactories: []confmap.ProviderFactory{
					// The collector's env provider, except that a
					// variable set but empty takes its :- default, as in
					// a shell (see collector/envdefault).
					envdefault.NewFactory(),
					fileprovider.NewFactory(),
					yamlprovider.NewFactory(),
				},
			},
		},
	}
	if err := otelcol.NewCommand(set).Execute(); err != nil {
		log.Fatal(err)
	}
}
