// Command activityctl administers an activitylog deployment.
//
//	activityctl setup [-retention 365d] [-ilm auto|true|false]
//	activityctl summary [-namespace default]
//
// setup installs the activity schema (component templates, the index template
// for the activity data streams and, where the cluster has ILM, the retention
// policy) and prints what it created, updated or left alone. A second run
// changes nothing. The cluster comes from ES_URL and ES_USERNAME/ES_PASSWORD
// or ES_API_KEY. With ACTIVITYLOG_WRITER_PASSWORD and
// ACTIVITYLOG_READER_PASSWORD set it also creates the read-only roles and the
// collector's and query service's users (with ACTIVITYLOG_ANALYST_PASSWORD
// the security team's read-only Kibana user, and with KIBANA_SYSTEM_PASSWORD
// it sets the kibana_system password); with KIBANA_URL set it imports the
// dashboards into Kibana.
//
// summary prints what has landed in an activity data stream: the number of
// records, the count of each event and the newest record.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/activitylog/activitylog/internal/esclient"
	"github.com/activitylog/activitylog/schema"
	"github.com/activitylog/activitylog/setup"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "activityctl:", err)
		}
		os.Exit(2)
	}
}

const usage = `usage: activityctl <command> [flags]

commands:
  setup   install or update the activity schema in Elasticsearch (idempotent)
  summary show what landed in an activity data stream: counts by event and the newest record

environment:
  ES_URL                  Elasticsearch URL(s), comma-separated (default http://localhost:9200)
  ES_USERNAME/ES_PASSWORD basic auth, or
  ES_API_KEY              an API key
  ES_COMPRESSION          true asks for gzip-compressed answers (default false)
  ACTIVITYLOG_RETENTION   default for -retention (default 365d)
  ACTIVITYLOG_WRITER_PASSWORD/ACTIVITYLOG_READER_PASSWORD
                          setup also creates the read-only roles and the collector
                          and query service users (needs manage_security)
  ACTIVITYLOG_ANALYST_PASSWORD
                          with those, setup also creates activitylog_analyst, the
                          security team's read-only Kibana user
  KIBANA_SYSTEM_PASSWORD  with those, setup also sets the built-in kibana_system user's password
  KIBANA_URL              setup also imports the dashboards into Kibana
  KIBANA_USERNAME/KIBANA_PASSWORD  Kibana credentials (default ES_USERNAME/ES_PASSWORD, or else ES_API_KEY)
  KIBANA_SPACE            Kibana space to import into (default: the default space)
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "setup":
		return runSetup(ctx, args[1:], getenv, stdout, stderr)
	case "summary":
		return runSummary(ctx, args[1:], getenv, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

func runSetup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("activityctl setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	defaultRetention := getenv("ACTIVITYLOG_RETENTION")
	if defaultRetention == "" {
		defaultRetention = "365d"
	}
	retention := fs.String("retention", defaultRetention, "how long records are kept, in days (e.g. 365d); env ACTIVITYLOG_RETENTION")
	ilm := fs.String("ilm", "auto", "auto: use ILM when GET _ilm/status answers; true or false to force")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := noArguments(fs); err != nil {
		return err
	}
	days, err := parseDays(*retention)
	if err != nil {
		return fmt.Errorf("-retention: %w", err)
	}
	cfg := setup.Config{Schema: schema.Options{Retention: time.Duration(days) * 24 * time.Hour}}
	switch *ilm {
	case "auto":
	case "true", "false":
		force := *ilm == "true"
		cfg.ForceILM = &force
	default:
		return fmt.Errorf("-ilm: got %q, want auto, true or false", *ilm)
	}
	// Any of the passwords asks for the security part, so that one given
	// without the writer's and reader's fails validation by name instead
	// of being ignored.
	if security := setup.SecurityConfigFromEnv(getenv); security != (setup.SecurityConfig{}) {
		if err := notSetupPassword(security, getenv("ES_PASSWORD")); err != nil {
			return err
		}
		cfg.Security = &security
	}
	es, err := esclient.FromEnv(getenv).Typed()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	report, err := setup.Install(ctx, es, cfg)
	if err != nil {
		return err
	}
	if kibana := setup.KibanaConfigFromEnv(getenv); kibana.Enabled() {
		changes, err := setup.ImportDashboards(ctx, kibana)
		if err != nil {
			return err
		}
		report.Changes = append(report.Changes, changes...)
	}
	if line, ok := report.Retention(days); ok {
		fmt.Fprintln(stdout, line)
	} else {
		fmt.Fprintln(stderr, line)
	}
	for _, o := range report.Overriding {
		fmt.Fprintln(stderr, "warning:", o)
	}
	for _, c := range report.Changes {
		fmt.Fprintln(stdout, c)
	}
	if report.Changed() {
		fmt.Fprintln(stdout, "schema installed")
	} else {
		fmt.Fprintln(stdout, "schema up to date: nothing changed")
	}
	return nil
}

// noArguments fails when arguments are left after the flags. Flags end at
// the first argument that is not one, so "setup now -retention 30d" would
// otherwise install the default retention and report success.
func noArguments(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q (flags are written -name value)", fs.Name(), fs.Arg(0))
	}
	return nil
}

// maxRetentionDays bounds the retention (a century) so that it always fits
// in a time.Duration.
const maxRetentionDays = 36500

// parseDays parses a whole number of days written "365d" (or "365").
func parseDays(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(s), "d"))
	if err != nil || n <= 0 || n > maxRetentionDays {
		return 0, fmt.Errorf("got %q, want a whole number of days from 1 to %d, such as 365d", s, maxRetentionDays)
	}
	return n, nil
}

// notSetupPassword fails when a managed user would get the setup user's own
// password (the superuser's, in the compose stack): the service holding it
// could then change or delete records.
func notSetupPassword(c setup.SecurityConfig, setupPassword string) error {
	if setupPassword == "" {
		return nil
	}
	for _, p := range []struct{ env, value string }{
		{setup.EnvWriterPassword, c.WriterPassword},
		{setup.EnvReaderPassword, c.ReaderPassword},
		{setup.EnvAnalystPassword, c.AnalystPassword},
		{setup.EnvKibanaSystemPassword, c.KibanaSystemPassword},
	} {
		if p.value == setupPassword {
			return fmt.Errorf("ES_PASSWORD and %s must differ: %w", p.env, setup.ErrWeakPassword)
		}
	}
	return nil
}
