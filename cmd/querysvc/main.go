package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/activitylog/activitylog/instrumentation/httpmw"
	"github.com/activitylog/activitylog/instrumentation/otlp"
	"github.com/activitylog/activitylog/internal/esclient"
	"github.com/activitylog/activitylog/querysvc/audit"
	"github.com/activitylog/activitylog/querysvc/auth"
	"github.com/activitylog/activitylog/querysvc/httpapi"
	"github.com/activitylog/activitylog/querysvc/store"
	"github.com/activitylog/activitylog/schema"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "querysvc:", err)
		os.Exit(1)
	}
}

// Environment variables (each flag's default comes from one).
const (
	envAddr         = "QUERYSVC_ADDR"
	envIndex        = "QUERYSVC_INDEX"
	envNamespace    = "ACTIVITY_NAMESPACE"
	envIssuer       = "QUERYSVC_JWT_ISSUER"
	envAudience     = "QUERYSVC_JWT_AUDIENCE"
	envSecret       = "QUERYSVC_JWT_SECRET"
	envJWKSFile     = "QUERYSVC_JWT_JWKS_FILE"
	envJWKSURL      = "QUERYSVC_JWT_JWKS_URL"
	envRoleClaim    = "QUERYSVC_JWT_ROLE_CLAIM"
	envTenantClaim  = "QUERYSVC_JWT_TENANT_CLAIM"
	envLeeway       = "QUERYSVC_JWT_LEEWAY"
	envCursorKey    = "QUERYSVC_CURSOR_KEY"
	envTimeout      = "QUERYSVC_REQUEST_TIMEOUT"
	envMaxPage      = "QUERYSVC_MAX_PAGE_SIZE"
	envMaxRange     = "QUERYSVC_MAX_RANGE"
	envRate         = "QUERYSVC_RATE_LIMIT"
	envBurst        = "QUERYSVC_RATE_BURST"
	envMaxOpen      = "QUERYSVC_MAX_OPEN_SEARCHES"
	envAuditOff     = "QUERYSVC_AUDIT_INSECURE_DISABLE"
	envProxies      = "QUERYSVC_TRUSTED_PROXIES"
	defaultAddr     = ":8080"
	shutdownTimeout = 10 * time.Second
)

// placeholder starts the example secrets older copies of .env.example held.
const placeholder = "change-me"

// settings is the parsed configuration.
type settings struct {
	addr, index               string
	issuer, audience          string
	jwksFile, jwksURL         string
	roleClaim, tenantClaim    string
	leeway, timeout, maxRange time.Duration
	maxPage, burst, maxOpen   int
	rate                      float64
	secret, cursorKey         []byte
	auditOff                  bool
	proxies                   []netip.Prefix
	es                        esclient.Config
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (settings, error) {
	var s settings
	fs := flag.NewFlagSet("querysvc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	// A malformed environment value is an error, as a malformed flag is:
	// falling back to the default would, for one, turn QUERYSVC_RATE_LIMIT=10/s
	// into no rate limit at all.
	var envErrs []error
	dur := func(k string, def time.Duration) time.Duration {
		if v := getenv(k); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				envErrs = append(envErrs, fmt.Errorf("%s=%q is not a duration (e.g. 30s)", k, v))
			}
			return d
		}
		return def
	}
	num := func(k string, def int) int {
		if v := getenv(k); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				envErrs = append(envErrs, fmt.Errorf("%s=%q is not an integer", k, v))
			}
			return n
		}
		return def
	}
	float := func(k string, def float64) float64 {
		if v := getenv(k); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				envErrs = append(envErrs, fmt.Errorf("%s=%q is not a number", k, v))
			}
			return f
		}
		return def
	}
	index := schema.IndexPattern
	if ns := getenv(envNamespace); ns != "" {
		// One the collector refuses would leave the service reading a data
		// stream that never exists: /readyz answered 503, with the reason
		// only in the log.
		if err := schema.ValidateNamespace(ns); err != nil {
			envErrs = append(envErrs, fmt.Errorf("%s: %w", envNamespace, err))
		}
		index = schema.DataStream(ns)
	}
	fs.StringVar(&s.addr, "addr", env(envAddr, defaultAddr), "listen address (env "+envAddr+")")
	// Not ES_URL's value as the default: -h would print it, and it may carry
	// credentials (https://user:password@host). Empty falls back to ES_URL.
	esURL := fs.String("es-url", "", "Elasticsearch URL(s), comma-separated (env ES_URL, default "+esclient.DefaultURL+"; credentials from ES_USERNAME/ES_PASSWORD or ES_API_KEY)")
	fs.StringVar(&s.index, "index", env(envIndex, index), "index pattern or data stream read (env "+envIndex+", or "+envNamespace+" for one namespace)")
	fs.StringVar(&s.issuer, "jwt-issuer", getenv(envIssuer), "required token issuer (env "+envIssuer+"; empty accepts any)")
	fs.StringVar(&s.audience, "jwt-audience", getenv(envAudience), "required token audience (env "+envAudience+"; required with a JWKS; empty accepts any with HS256, with a warning)")
	fs.StringVar(&s.jwksFile, "jwt-jwks-file", getenv(envJWKSFile), "JWKS file with RS256/ES256 public keys (env "+envJWKSFile+")")
	fs.StringVar(&s.jwksURL, "jwt-jwks-url", getenv(envJWKSURL), "JWKS URL with RS256/ES256 public keys (env "+envJWKSURL+")")
	fs.StringVar(&s.roleClaim, "jwt-role-claim", env(envRoleClaim, auth.DefaultRoleClaim), "claim holding the role (env "+envRoleClaim+")")
	fs.StringVar(&s.tenantClaim, "jwt-tenant-claim", env(envTenantClaim, auth.DefaultTenantClaim), "claim holding a partner's tenant (env "+envTenantClaim+")")
	fs.DurationVar(&s.leeway, "jwt-leeway", dur(envLeeway, auth.DefaultLeeway), "allowed clock skew on exp, nbf and iat; 0 allows none (env "+envLeeway+")")
	fs.DurationVar(&s.timeout, "request-timeout", dur(envTimeout, httpapi.DefaultRequestTimeout), "per-request timeout (env "+envTimeout+")")
	fs.IntVar(&s.maxPage, "max-page-size", num(envMaxPage, httpapi.DefaultMaxPageSize), "largest search page (env "+envMaxPage+")")
	fs.DurationVar(&s.maxRange, "max-range", dur(envMaxRange, httpapi.DefaultMaxRange), "longest analytics time range (env "+envMaxRange+")")
	fs.Float64Var(&s.rate, "rate-limit", float(envRate, httpapi.DefaultRate), "requests per second per principal, 0 disables (env "+envRate+")")
	fs.IntVar(&s.burst, "rate-burst", num(envBurst, httpapi.DefaultBurst), "requests a principal may make at once (env "+envBurst+")")
	fs.IntVar(&s.maxOpen, "max-open-searches", num(envMaxOpen, store.DefaultMaxOpenSearches), "searches a principal may keep open for a next page; a new one releases its least recently paged (env "+envMaxOpen+")")
	proxies := fs.String("trusted-proxies", getenv(envProxies), "comma-separated CIDRs of proxies whose Forwarded/X-Forwarded-For is believed (env "+envProxies+")")
	if err := errors.Join(envErrs...); err != nil {
		return s, err
	}
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	switch {
	case math.IsNaN(s.rate) || math.IsInf(s.rate, 0):
		// strconv and the flag package read both as numbers; either rate
		// made the limiter refuse every request.
		return s, fmt.Errorf("rate-limit %g: must be a finite number of requests per second (0 disables the limit)", s.rate)
	case s.leeway < 0:
		return s, fmt.Errorf("jwt-leeway %s: must not be negative (0 allows no clock skew)", s.leeway)
	case s.rate < 0:
		return s, fmt.Errorf("rate-limit %g: must not be negative (0 disables the limit)", s.rate)
	case s.maxPage < 1 || s.maxPage > httpapi.MaxPageSizeLimit:
		return s, fmt.Errorf("max-page-size %d: must be between 1 and %d (a page asks Elasticsearch for one hit more than its size, and a search returns at most 10,000)", s.maxPage, httpapi.MaxPageSizeLimit)
	case s.maxOpen < 1:
		return s, fmt.Errorf("max-open-searches %d: must be at least 1", s.maxOpen)
	case s.rate > 0 && s.burst < 1:
		// A bucket that never holds a whole token refuses every request.
		return s, fmt.Errorf("rate-burst %d: must be at least 1 while the rate limit is on (rate-limit 0 disables it)", s.burst)
	}
	for _, p := range strings.Split(*proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return s, fmt.Errorf("trusted proxy %q is not a CIDR prefix", p)
		}
		s.proxies = append(s.proxies, pfx)
	}
	if fs.NArg() > 0 {
		return s, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := auth.CheckJWKSURL(s.jwksURL); err != nil {
		return s, err
	}
	// Secrets come from the environment only: flags show up in ps.
	s.secret = []byte(getenv(envSecret))
	if k := getenv(envCursorKey); k != "" {
		s.cursorKey = []byte(k)
	}
	for _, sec := range []struct {
		name  string
		value []byte
	}{{envSecret, s.secret}, {envCursorKey, s.cursorKey}} {
		// A published example value is a secret everyone knows: with the
		// JWT secret, anyone could mint an admin token.
		if strings.HasPrefix(strings.ToLower(string(sec.value)), placeholder) {
			return s, fmt.Errorf("%s is still a %q placeholder: generate one, e.g. openssl rand -hex 32", sec.name, placeholder)
		}
	}
	s.auditOff = getenv(envAuditOff) == "true"
	s.es = esclient.FromEnv(getenv)
	if *esURL != "" {
		s.es = esclient.FromEnv(func(k string) string {
			if k == "ES_URL" {
				return *esURL
			}
			return getenv(k)
		})
	}
	return s, s.es.Validate()
}

// verifierConfig is the token verifier's configuration. A leeway of 0 is
// one the operator set (the flag's default is auth.DefaultLeeway), so it
// means none, which auth.Config spells as a negative one.
func (s settings) verifierConfig() auth.Config {
	leeway := s.leeway
	if leeway == 0 {
		leeway = -1
	}
	return auth.Config{
		Issuer: s.issuer, Audience: s.audience, HS256Secret: s.secret, JWKSFile: s.jwksFile, JWKSURL: s.jwksURL,
		RoleClaim: s.roleClaim, TenantClaim: s.tenantClaim, Leeway: leeway,
	}
}

// run is the whole program, testable in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "token" {
		return mint(args[1:], getenv, stdout)
	}
	s, err := parse(args, getenv, stdout)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stdout, nil))
	verifier, err := auth.New(s.verifierConfig())
	if errors.Is(err, auth.ErrNoAudience) {
		return fmt.Errorf("%w: -jwt-audience or %s", err, envAudience)
	}
	if err != nil {
		return err
	}
	if len(s.secret) > 0 && (s.issuer == "" || s.audience == "") {
		// Allowed, for a secret shared with this service alone, but any
		// other holder of the secret mints tokens this service accepts.
		logger.Warn("HS256 tokens are accepted from any issuer or for any audience: set " + envIssuer + " and " + envAudience +
			" so that a token minted with the same secret for another purpose is refused")
	}
	es, err := s.es.Reader()
	if err != nil {
		return fmt.Errorf("elasticsearch client: %w", err)
	}
	opts := []httpapi.Option{
		httpapi.WithLogger(logger), httpapi.WithRequestTimeout(s.timeout), httpapi.WithMaxPageSize(s.maxPage), httpapi.WithMaxOpenSearches(s.maxOpen),
		httpapi.WithMaxRange(s.maxRange), httpapi.WithRateLimit(s.rate, s.burst),
	}
	if s.cursorKey != nil {
		opts = append(opts, httpapi.WithCursorKey(s.cursorKey))
	}
	if s.auditOff {
		logger.Warn("audit trail disabled by " + envAuditOff + ": reads of the activity log are not recorded")
		opts = append(opts, httpapi.WithoutAudit())
	} else {
		// The endpoint, protocol and headers follow OTEL_EXPORTER_OTLP_*.
		lp, err := otlp.NewProvider(ctx, otlp.WithServiceName("querysvc"))
		if err != nil {
			return fmt.Errorf("audit log provider: %w", err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
			defer cancel()
			_ = lp.Shutdown(sctx)
		}()
		opts = append(opts, httpapi.WithAuditor(audit.New(lp)))
	}
	handler, err := httpapi.New(store.New(es, store.WithIndex(s.index), store.WithMaxOpenSearches(s.maxOpen)), verifier, opts...)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		// httpmw gives every request's context the client address (through
		// trusted proxies only), user agent and request id the audit records.
		Handler:           httpmw.Middleware(handler, httpmw.WithTrustedProxies(s.proxies...)),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      s.timeout + 5*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("querysvc listening", "addr", l.Addr().String(), "index", s.index)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// mint prints an HS256 token signed with QUERYSVC_JWT_SECRET.
func mint(args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("querysvc token", flag.ContinueOnError)
	fs.SetOutput(stdout)
	sub := fs.String("sub", "demo-user", "subject")
	name := fs.String("name", "", "display name")
	role := fs.String("role", "admin", "role: admin, partner, staff or customer")
	tenant := fs.String("tenant", "", "tenant (required for a partner)")
	ttl := fs.Duration("ttl", time.Hour, "validity")
	issuer := fs.String("issuer", getenv(envIssuer), "issuer (env "+envIssuer+")")
	audience := fs.String("audience", getenv(envAudience), "audience (env "+envAudience+")")
	roleClaim := fs.String("role-claim", getenv(envRoleClaim), "role claim name (env "+envRoleClaim+")")
	tenantClaim := fs.String("tenant-claim", getenv(envTenantClaim), "tenant claim name (env "+envTenantClaim+")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	secret := []byte(getenv(envSecret))
	if len(secret) < 32 {
		return fmt.Errorf("%s must hold an HS256 secret of at least 32 bytes", envSecret)
	}
	if *role == "partner" && *tenant == "" {
		return errors.New("a partner token needs -tenant")
	}
	if *ttl <= 0 {
		// It would be expired when printed.
		return fmt.Errorf("ttl %s: must be positive", *ttl)
	}
	now := time.Now()
	tok, err := auth.Sign(jose.HS256, secret, auth.Token{
		Subject: *sub, Name: *name, Role: *role, Tenant: *tenant, Issuer: *issuer, Audience: *audience,
		IssuedAt: now, Expiry: now.Add(*ttl), RoleClaim: *roleClaim, TenantClaim: *tenantClaim,
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}
