package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/instrumentation/gormlog"
	"github.com/activitylog/activitylog/instrumentation/httpmw"
	"github.com/activitylog/activitylog/instrumentation/otlp"
)

// Version is the service's version, recorded as service.version.
const Version = "1.4.0"

const usage = `loyalty: an example loyalty-platform API instrumented with activitylog.

Usage:
  loyalty [flags]                   serve the API
  loyalty -demo-traffic N [flags]   serve it on a free loopback port, drive N rounds
                                    of realistic platform activity against it, then exit
  loyalty -demo-traffic N -target URL
                                    drive the traffic against a running service instead

Every create, update and delete (through the GORM plugin), login, logout, failed
login, one-time passcode, transaction and redemption becomes an activity record
sent over OTLP to a collector.

Environment:
  OTEL_EXPORTER_OTLP_ENDPOINT   collector OTLP endpoint, e.g. http://localhost:4317
                                (http:// means plaintext; default https://localhost:4317)
  OTEL_EXPORTER_OTLP_PROTOCOL   grpc (default) or http/protobuf
  OTEL_SERVICE_NAME             service.name (default loyalty-api)
  OTEL_RESOURCE_ATTRIBUTES      extra resource attributes
  LOYALTY_ADDR                  listen address (default 127.0.0.1:8080)
  LOYALTY_TRUSTED_PROXIES       comma-separated CIDRs whose X-Forwarded-For header is
                                believed (default none)
  LOYALTY_DEMO_PASSWORD         password of the demo accounts (default: random, printed)

Flags:
`

type config struct {
	addr         string
	dsn          string
	environment  string
	protocol     string
	proxies      []netip.Prefix
	seed         bool
	exposeOTP    bool
	traffic      int
	target       string
	cost         int
	password     string
	drainTimeout time.Duration
}

func parseFlags(args []string, getenv func(string) string, stdout io.Writer) (config, error) {
	fs := flag.NewFlagSet("loyalty", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprint(stdout, usage)
		fs.PrintDefaults()
	}
	var c config
	addr := getenv("LOYALTY_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	fs.StringVar(&c.addr, "addr", addr, "listen address (env LOYALTY_ADDR)")
	fs.StringVar(&c.dsn, "db", "file::memory:", "SQLite database (default: in memory)")
	fs.StringVar(&c.environment, "environment", "demo", "deployment.environment.name resource attribute")
	fs.StringVar(&c.protocol, "otlp-protocol", "", "grpc or http/protobuf (default: OTEL_EXPORTER_OTLP_PROTOCOL, else grpc)")
	proxies := fs.String("trusted-proxies", getenv("LOYALTY_TRUSTED_PROXIES"), "comma-separated trusted proxy CIDRs (env LOYALTY_TRUSTED_PROXIES)")
	fs.BoolVar(&c.seed, "demo-seed", false, "create demo partners, accounts and programmes at start")
	fs.BoolVar(&c.exposeOTP, "demo-expose-otp", false, "return one-time passcodes in the API response (demo only: there is no SMS gateway)")
	fs.IntVar(&c.traffic, "demo-traffic", 0, "drive N rounds of demo traffic, then exit (implies -demo-seed and -demo-expose-otp)")
	fs.StringVar(&c.target, "target", "", "with -demo-traffic: base URL of a running service to drive instead of an in-process one")
	fs.IntVar(&c.cost, "bcrypt-cost", bcrypt.DefaultCost, "bcrypt cost of stored passwords")
	fs.DurationVar(&c.drainTimeout, "drain-timeout", 15*time.Second, "how long shutdown waits to deliver queued activity records")
	if err := fs.Parse(args[1:]); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.traffic < 0 {
		return c, errors.New("-demo-traffic must not be negative")
	}
	if c.cost < bcrypt.MinCost || c.cost > bcrypt.MaxCost {
		return c, fmt.Errorf("-bcrypt-cost must be between %d and %d", bcrypt.MinCost, bcrypt.MaxCost)
	}
	for p := range strings.SplitSeq(*proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			return c, fmt.Errorf("trusted proxy %q: %w", p, err)
		}
		c.proxies = append(c.proxies, prefix)
	}
	if c.traffic > 0 && c.target == "" {
		// The in-process service sits behind the traffic generator, which
		// plays the proxy reporting each simulated client's address.
		c.seed, c.exposeOTP = true, true
		c.addr = "127.0.0.1:0"
		c.proxies = append(c.proxies, netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128"))
	}
	c.password = getenv("LOYALTY_DEMO_PASSWORD")
	if c.password == "" && (c.seed || c.traffic > 0) {
		if c.target != "" {
			return c, errors.New("-target needs LOYALTY_DEMO_PASSWORD, the demo password of the target service")
		}
		b := make([]byte, 12)
		if _, err := rand.Read(b); err != nil {
			return c, fmt.Errorf("generate demo password: %w", err)
		}
		c.password = hex.EncodeToString(b)
	}
	return c, nil
}

// run is the whole program, testable in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	c, err := parseFlags(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stdout, nil))

	if c.traffic > 0 && c.target != "" {
		return drive(ctx, c.target, c.password, c.traffic, stdout)
	}

	opts := []otlp.Option{otlp.WithGetenv(getenv), otlp.WithServiceVersion(Version), otlp.WithEnvironment(c.environment)}
	if getenv("OTEL_SERVICE_NAME") == "" {
		opts = append(opts, otlp.WithServiceName("loyalty-api"))
	}
	if ep := logsEndpoint(getenv, c.protocol); ep != "" {
		opts = append(opts, otlp.WithEndpoint(ep))
	}
	if c.protocol != "" {
		opts = append(opts, otlp.WithProtocol(otlp.Protocol(c.protocol)))
	}
	provider, err := otlp.NewProvider(ctx, opts...)
	if err != nil {
		return fmt.Errorf("activity log provider: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.drainTimeout)
		defer cancel()
		if err := provider.Shutdown(sctx); err != nil {
			log.Warn("activity records not all delivered", "error", err)
		}
		st := provider.Stats()
		fmt.Fprintf(stdout, "activity records: accepted=%d exported=%d dropped=%d failed=%d reduced=%d\n", st.Accepted, st.Exported, st.Dropped, st.Failed, st.Reduced)
	}()
	rec := instrumentation.New(provider)

	db, err := openDB(c.dsn, rec)
	if err != nil {
		return err
	}
	if sqlDB, err := db.DB(); err == nil {
		defer sqlDB.Close()
	}
	srv, err := newServer(db, rec, log, c.cost, c.exposeOTP)
	if err != nil {
		return err
	}
	if c.seed {
		if err := seed(ctx, db, c.password, c.cost); err != nil {
			return fmt.Errorf("seed demo data: %w", err)
		}
		if getenv("LOYALTY_DEMO_PASSWORD") == "" && c.traffic == 0 {
			fmt.Fprintf(stdout, "demo accounts' password: %s\n", c.password)
		}
	}

	l, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	hs := &http.Server{
		Handler:           httpmw.Middleware(srv.routes(), httpmw.WithTrustedProxies(c.proxies...)),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(l) }()
	base := "http://" + l.Addr().String()
	fmt.Fprintf(stdout, "loyalty API listening on %s\n", base)

	var runErr error
	if c.traffic > 0 {
		runErr = drive(ctx, base, c.password, c.traffic, stdout)
	} else {
		select {
		case <-ctx.Done():
		case runErr = <-serveErr:
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("shut down HTTP server: %w", err))
	}
	if errors.Is(runErr, http.ErrServerClosed) {
		runErr = nil
	}
	return runErr
}

// logsEndpoint is the endpoint the OpenTelemetry specification derives from
// the environment: OTEL_EXPORTER_OTLP_LOGS_ENDPOINT as it is, else
// OTEL_EXPORTER_OTLP_ENDPOINT with, over HTTP, /v1/logs appended to its path
// (a collector behind a proxy at http://host/otlp takes logs at
// /otlp/v1/logs). protocol is the flag's; empty means the environment's.
func logsEndpoint(getenv func(string) string, protocol string) string {
	if ep := getenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"); ep != "" {
		return withScheme(ep, firstNonEmpty(getenv("OTEL_EXPORTER_OTLP_LOGS_INSECURE"), getenv("OTEL_EXPORTER_OTLP_INSECURE")))
	}
	ep := withScheme(getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), getenv("OTEL_EXPORTER_OTLP_INSECURE"))
	if protocol == "" {
		protocol = firstNonEmpty(getenv("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL"), getenv("OTEL_EXPORTER_OTLP_PROTOCOL"))
	}
	if ep == "" || protocol != string(otlp.HTTP) {
		return ep
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" {
		return ep // the provider says what is wrong with it
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/logs"
	return u.String()
}

// withScheme gives a host:port endpoint the scheme its INSECURE variable
// asks for: http when it is true, else https (what the provider assumes for
// an endpoint without one).
func withScheme(ep, insecure string) string {
	if ep == "" || strings.Contains(ep, "://") {
		return ep
	}
	if strings.EqualFold(strings.TrimSpace(insecure), "true") {
		return "http://" + ep
	}
	return "https://" + ep
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// openDB opens the database with the activity plugin and migrates it.
func openDB(dsn string, rec *instrumentation.Recorder) (*gorm.DB, error) {
	db, err := gorm.Open(sqlite.Open(dsn), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.SetMaxOpenConns(1) // SQLite: one writer; also keeps one in-memory database
	}
	if err := db.Use(gormlog.New(rec)); err != nil {
		return nil, fmt.Errorf("install activity plugin: %w", err)
	}
	if err := db.AutoMigrate(models()...); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return db, nil
}
