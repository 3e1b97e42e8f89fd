package httpapi

import (
	"context"
	"crypto/rand"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/querysvc"
)

// OpenAPI is the OpenAPI 3 document describing the API, served at /openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Defaults; each has an option that changes it.
const (
	DefaultRequestTimeout = 10 * time.Second
	DefaultMaxPageSize    = 100
	DefaultPageSize       = 20
	DefaultMaxRange       = 92 * 24 * time.Hour
	DefaultRange          = 7 * 24 * time.Hour
	DefaultRate           = 10 // requests per second per principal
	DefaultBurst          = 40
	DefaultCursorTTL      = 10 * time.Minute
	maxIDLen              = 256
)

// MaxPageSizeLimit is the largest page-size cap: a page asks Elasticsearch
// for one hit more than its size (to know whether another page follows),
// and a search returns at most 10,000 hits (index.max_result_window's
// default).
const MaxPageSizeLimit = 9999

// Authenticator verifies a bearer token into a principal. auth.Verifier is one.
type Authenticator interface {
	Verify(ctx context.Context, token string) (querysvc.Principal, error)
}

type config struct {
	auditor   querysvc.Auditor
	logger    *slog.Logger
	now       func() time.Time
	timeout   time.Duration
	maxPage   int
	maxRange  time.Duration
	rate      float64
	burst     int
	cursorKey []byte
	cursorTTL time.Duration
	maxOpen   int
}

// Option configures a Server.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithAuditor sets where reads of the log are recorded. Default: nowhere,
// which New refuses unless WithoutAudit is given, so the audit trail cannot
// be dropped by forgetting an option.
func WithAuditor(a querysvc.Auditor) Option { return optionFunc(func(c *config) { c.auditor = a }) }

// WithoutAudit explicitly runs without an audit trail (tests of other concerns only).
func WithoutAudit() Option {
	return optionFunc(func(c *config) {
		c.auditor = querysvc.AuditorFunc(func(context.Context, querysvc.Principal, querysvc.View) {})
	})
}

// WithLogger sets the logger for internal errors. Default slog.Default().
func WithLogger(l *slog.Logger) Option { return optionFunc(func(c *config) { c.logger = l }) }

// WithClock sets the clock. Default time.Now.
func WithClock(now func() time.Time) Option { return optionFunc(func(c *config) { c.now = now }) }

// WithRequestTimeout bounds each request. Default DefaultRequestTimeout.
func WithRequestTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.timeout = d })
}

// WithMaxPageSize caps the limit of a search page. Default DefaultMaxPageSize.
func WithMaxPageSize(n int) Option { return optionFunc(func(c *config) { c.maxPage = n }) }

// WithMaxRange caps the time range of analytics queries. Default DefaultMaxRange.
func WithMaxRange(d time.Duration) Option { return optionFunc(func(c *config) { c.maxRange = d }) }

// WithRateLimit allows each principal rate requests per second on average
// and burst at once. Default DefaultRate and DefaultBurst; rate 0 disables.
// With a rate above 0, a burst below 1 is refused by New: every request
// would be refused.
func WithRateLimit(rate float64, burst int) Option {
	return optionFunc(func(c *config) { c.rate, c.burst = rate, burst })
}

// WithCursorKey sets the key from which each cursor's own encryption key is
// derived (at least 32 bytes): cursors are sealed, so a client reads nothing
// in them and cannot alter them.
// Default: a random key, so cursors do not survive a restart and are not
// accepted by other replicas; set the same key on every replica.
func WithCursorKey(key []byte) Option { return optionFunc(func(c *config) { c.cursorKey = key }) }

// WithCursorTTL sets how long a cursor is accepted. Default DefaultCursorTTL.
func WithCursorTTL(d time.Duration) Option { return optionFunc(func(c *config) { c.cursorTTL = d }) }

// WithMaxOpenSearches sets how many of one principal's searches whose
// point in time is too long for a cursor the service keeps at once; a new
// one forgets that principal's least recently paged, whose next page then
// answers "cursor has expired". Set it as store.WithMaxOpenSearches, which
// bounds the points in time themselves. Default
// querysvc.DefaultMaxOpenSearches; below 1 means the default.
func WithMaxOpenSearches(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.maxOpen = n
		}
	})
}

// Server is the HTTP handler of the query service. It is safe for concurrent use.
type Server struct {
	store   querysvc.Store
	authn   Authenticator
	cfg     config
	cursors cursors
	limiter *limiter
	metrics *metrics
	mux     *http.ServeMux
	// buffers holds *[]byte response buffers.
	buffers sync.Pool
}

var _ http.Handler = (*Server)(nil)

// New returns a Server answering from store and verifying tokens with authn.
func New(store querysvc.Store, authn Authenticator, opts ...Option) (*Server, error) {
	cfg := config{
		logger: slog.Default(), now: time.Now, timeout: DefaultRequestTimeout, maxPage: DefaultMaxPageSize,
		maxRange: DefaultMaxRange, rate: DefaultRate, burst: DefaultBurst, cursorTTL: DefaultCursorTTL,
		maxOpen: querysvc.DefaultMaxOpenSearches,
	}
	for _, o := range opts {
		o.apply(&cfg)
	}
	switch {
	case store == nil || authn == nil:
		return nil, errors.New("httpapi: store and authenticator are required")
	case cfg.auditor == nil:
		return nil, errors.New("httpapi: an auditor is required (WithAuditor), or WithoutAudit")
	case cfg.maxPage < 1 || cfg.timeout <= 0 || cfg.maxRange <= 0 || cfg.cursorTTL <= 0:
		return nil, errors.New("httpapi: page size, timeout, range and cursor TTL must be positive")
	case cfg.maxPage > MaxPageSizeLimit:
		return nil, fmt.Errorf("httpapi: page size cap %d: must be at most %d", cfg.maxPage, MaxPageSizeLimit)
	case cfg.rate > 0 && cfg.burst < 1:
		// A bucket that never holds a whole token would refuse every request.
		return nil, errors.New("httpapi: rate burst must be at least 1 while the rate limit is on")
	case cfg.cursorKey != nil && len(cfg.cursorKey) < 32:
		return nil, errors.New("httpapi: cursor key must be at least 32 bytes")
	}
	if cfg.cursorKey == nil {
		cfg.cursorKey = make([]byte, 32)
		if _, err := rand.Read(cfg.cursorKey); err != nil {
			return nil, fmt.Errorf("httpapi: cursor key: %w", err)
		}
	}
	s := &Server{
		store: store, authn: authn, cfg: cfg,
		cursors: cursors{key: cfg.cursorKey, ttl: cfg.cursorTTL, now: cfg.now, pits: newPITStore(maxPITBytes, cfg.maxOpen)},
		limiter: newLimiter(cfg.rate, cfg.burst, cfg.now),
		metrics: newMetrics(),
		mux:     http.NewServeMux(),
		buffers: sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }},
	}
	s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) routes() {
	filters := withFilters()
	// The default page is no larger than the cap: an operator's cap holds
	// for requests without limit too.
	s.v1("/v1/activities", endpoint{params: withFilters("limit", "cursor"), defaultLimit: min(DefaultPageSize, s.cfg.maxPage), maxLimit: s.cfg.maxPage}, false, s.activities)
	s.v1("/v1/activities/{id}", endpoint{params: []string{"tenant"}}, false, s.activity)
	s.v1("/v1/analytics/trends", endpoint{params: withFilters("interval", "split")}, true, s.trends)
	s.v1("/v1/analytics/events", endpoint{params: filters}, true, s.events)
	s.v1("/v1/analytics/categories", endpoint{params: filters}, true, s.categories)
	s.v1("/v1/analytics/users/top", endpoint{params: withFilters("limit"), defaultLimit: 10, maxLimit: 100}, true, s.topUsers)
	s.v1("/v1/analytics/auth", endpoint{params: withFilters("limit"), defaultLimit: 10, maxLimit: 100}, true, s.authStats)
	s.v1("/v1/security/alerts", endpoint{params: []string{"tenant", "from", "to", "limit"}, defaultLimit: 50, maxLimit: 500}, true, s.alerts)
	s.v1("/v1/security/bursts", endpoint{params: []string{"tenant", "from", "to", "window", "threshold", "key", "limit"}, defaultLimit: 100, maxLimit: 1000}, true, s.bursts)

	s.plain("/healthz", func(w http.ResponseWriter, _ *http.Request) int {
		return s.writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.plain("/readyz", func(w http.ResponseWriter, r *http.Request) int {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.timeout)
		defer cancel()
		if err := s.store.Ready(ctx); err != nil {
			// Whatever failed (a timeout, a refusal, a missing template),
			// the answer is 503 "not ready", the one failure a probe and the
			// API document expect here, and says no more: the endpoint is
			// open to anyone who reaches the port, and the reason (an index
			// name, Elasticsearch's own error) is the operator's, in the log.
			s.cfg.logger.Warn("not ready", "err", err)
			var body errorBody
			body.Error.Code, body.Error.Message = querysvc.CodeUnavailable, "not ready"
			return s.writeJSON(w, http.StatusServiceUnavailable, body)
		}
		return s.writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	s.plain("/openapi.yaml", func(w http.ResponseWriter, _ *http.Request) int {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(OpenAPI)
		return http.StatusOK
	})
	s.plain("/metrics", func(w http.ResponseWriter, _ *http.Request) int {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		s.metrics.write(w)
		return http.StatusOK
	})
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		start := s.cfg.now()
		var status int
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			status = s.writeError(w, r, querysvc.Errorf(querysvc.CodeMethod, "the API is read-only: only GET is allowed"))
		} else {
			status = s.writeError(w, r, querysvc.Errorf(querysvc.CodeNotFound, "no such endpoint"))
		}
		s.metrics.observe("other", status, s.cfg.now().Sub(start))
	})
}

func (s *Server) plain(path string, h func(http.ResponseWriter, *http.Request) int) {
	s.mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
		start := s.cfg.now()
		status := h(w, r)
		s.metrics.observe(path, status, s.cfg.now().Sub(start))
	})
}

// request is what a /v1 handler gets.
type request struct {
	http      *http.Request
	principal querysvc.Principal
	params    Params
}

type handler func(ctx context.Context, req request) (any, error)

// v1 registers an authenticated, audited, rate-limited JSON endpoint.
// analytics endpoints get a default and maximum time range.
func (s *Server) v1(path string, ep endpoint, analytics bool, h handler) {
	s.mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
		start := s.cfg.now()
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.timeout)
		defer cancel()
		var (
			status int
			pr     querysvc.Principal
			authed bool
			params Params
		)
		defer func() {
			if v := recover(); v != nil {
				s.cfg.logger.Error("panic serving request", "route", path, "panic", v)
				status = s.writeError(w, r, querysvc.Errorf(querysvc.CodeInternal, "internal error"))
			}
			s.metrics.observe(path, status, s.cfg.now().Sub(start))
			if authed {
				// The response is complete (writeJSON sets its length):
				// send it before recording the audit record, so the
				// caller does not wait for the record to be built.
				_ = http.NewResponseController(w).Flush()
				s.audit(ctx, r, path, pr, params, status)
			}
		}()
		pr, err := s.authenticate(ctx, r)
		if err != nil {
			status = s.writeError(w, r, err)
			return
		}
		authed = true
		// Parsed first, though a parameter error answers only after the
		// rate limit and the role: the audit record of a request refused for
		// either still says what it asked for (params.Raw).
		params, perr := parseParams(r.URL.RawQuery, ep)
		// Limited before the role is checked: every refused request is
		// audited too, so staff and customers must not send them unbounded.
		if ok, wait := s.limiter.allow(string(pr.Role) + "\x00" + pr.Tenant + "\x00" + pr.Subject); !ok {
			secs := int(wait/time.Second) + 1
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			status = s.writeError(w, r, querysvc.Errorf(querysvc.CodeRateLimited, "rate limit exceeded; retry in %d s", secs))
			return
		}
		if !pr.Role.CanRead() {
			status = s.writeError(w, r, querysvc.Errorf(querysvc.CodeForbidden, "role %s may not read the activity log", pr.Role))
			return
		}
		if perr != nil {
			status = s.writeError(w, r, querysvc.Wrap(querysvc.CodeInvalid, perr.Error(), nil))
			return
		}
		if analytics {
			if err := s.analyticsRange(&params); err != nil {
				status = s.writeError(w, r, err)
				return
			}
		}
		body, err := h(querysvc.NewContext(ctx, pr), request{http: r, principal: pr, params: params})
		if err != nil {
			status = s.writeError(w, r, err)
			return
		}
		status = s.writeJSON(w, http.StatusOK, body)
	})
}

// analyticsRange fills the default range and enforces the maximum.
func (s *Server) analyticsRange(p *Params) error {
	f := &p.Filter
	if f.To.IsZero() {
		f.To = s.cfg.now().UTC()
	}
	if f.From.IsZero() {
		// No earlier than @timestamp's date_nanos holds: Elasticsearch
		// refuses a range that starts before 1970.
		f.From = maxT(f.To.Add(-DefaultRange), minTime)
	}
	if !f.From.Before(f.To) {
		return querysvc.Errorf(querysvc.CodeInvalid, "parameter from: must be before to")
	}
	if f.To.Sub(f.From) > s.cfg.maxRange {
		return querysvc.Errorf(querysvc.CodeInvalid, "time range from..to is longer than the maximum of %s", s.cfg.maxRange)
	}
	return nil
}

func maxT(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

func (s *Server) authenticate(ctx context.Context, r *http.Request) (querysvc.Principal, error) {
	hs := r.Header.Values("Authorization")
	if len(hs) == 0 {
		return querysvc.Principal{}, querysvc.Errorf(querysvc.CodeUnauthorized, "missing Authorization: Bearer token")
	}
	if len(hs) > 1 {
		return querysvc.Principal{}, querysvc.Errorf(querysvc.CodeUnauthorized, "more than one Authorization header")
	}
	scheme, token, ok := strings.Cut(hs[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return querysvc.Principal{}, querysvc.Errorf(querysvc.CodeUnauthorized, "Authorization must be a Bearer token")
	}
	return s.authn.Verify(ctx, strings.TrimSpace(token))
}

func (s *Server) audit(ctx context.Context, r *http.Request, route string, pr querysvc.Principal, p Params, status int) {
	v := querysvc.View{Endpoint: route, Params: p.Raw, Status: status, UserAgent: r.UserAgent(), ID: auditedID(r.PathValue("id"))}
	if req, ok := instrumentation.RequestFrom(r.Context()); ok {
		// Set by instrumentation/httpmw, which knows the trusted proxies.
		v.ClientAddress, v.UserAgent, v.RequestID = req.ClientAddress, req.UserAgent, req.ID
	} else if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		v.ClientAddress = host
	}
	s.cfg.auditor.Viewed(context.WithoutCancel(ctx), pr, v)
	s.metrics.audit()
}

// auditedID is the record id an audit record names: id, or its first
// maxIDLen bytes and "…" when it is longer, as no record id is (the lookup
// refuses it). The path is bounded only by the server's header limit (32 KB
// in cmd/querysvc, 1 MB by net/http's default), and the id was recorded
// whole, twice (as the subject id and in the description): every refused
// request of a partner made up to 64 KB (2 MB) of audit record.
func auditedID(id string) string {
	if len(id) <= maxIDLen {
		return id
	}
	cut := maxIDLen
	for cut > 0 && !utf8.RuneStart(id[cut]) {
		cut--
	}
	return id[:cut] + "…"
}

// status maps error codes to HTTP statuses.
func status(code string) int {
	switch code {
	case querysvc.CodeInvalid:
		return http.StatusBadRequest
	case querysvc.CodeUnauthorized:
		return http.StatusUnauthorized
	case querysvc.CodeForbidden:
		return http.StatusForbidden
	case querysvc.CodeNotFound:
		return http.StatusNotFound
	case querysvc.CodeMethod:
		return http.StatusMethodNotAllowed
	case querysvc.CodeRateLimited:
		return http.StatusTooManyRequests
	case querysvc.CodeUnavailable:
		return http.StatusServiceUnavailable
	case querysvc.CodeTimeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// errorBody is the one error shape of the API.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError writes err as {"error":{"code","message"}} and returns the status.
// The message is the caller-safe one; the wrapped detail is only logged.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) int {
	code := querysvc.ErrorCode(err)
	st := status(code)
	var body errorBody
	body.Error.Code, body.Error.Message = code, querysvc.ErrorMessage(err)
	if st >= 500 {
		s.cfg.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "code", code, "err", err)
	}
	if st == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="activitylog"`)
	}
	return s.writeJSON(w, st, body)
}

// writeJSON writes v as the JSON response (see appendResponse), in one
// write with its length, from a pooled buffer.
func (s *Server) writeJSON(w http.ResponseWriter, st int, v any) int {
	buf := s.buffers.Get().(*[]byte)
	defer s.putBuffer(buf)
	b, err := appendResponse((*buf)[:0], v)
	if err != nil {
		s.cfg.logger.Error("encode response", "err", err)
		st, b = http.StatusInternalServerError, append(b[:0], `{"error":{"code":"internal","message":"internal error"}}`...)
	}
	b = append(b, '\n')
	*buf = b
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(st)
	_, _ = w.Write(b)
	return st
}

// maxPooledBuffer bounds the response buffers kept for reuse, so that one
// large answer does not pin its memory.
const maxPooledBuffer = 1 << 20

func (s *Server) putBuffer(b *[]byte) {
	if cap(*b) <= maxPooledBuffer {
		s.buffers.Put(b)
	}
}
