package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/activitylog/activitylog/querysvc"
)

// Defaults.
const (
	// DefaultRoleClaim is the claim holding the role when none is configured.
	DefaultRoleClaim = "role"
	// DefaultTenantClaim is the claim holding a partner's tenant when none is configured.
	DefaultTenantClaim = "tenant_id"
	// DefaultLeeway is the clock skew allowed on exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
	// DefaultJWKSRefresh is how long keys fetched from a JWKS URL are reused.
	DefaultJWKSRefresh = 5 * time.Minute
	// DefaultCacheTTL is how long a verified token is remembered.
	DefaultCacheTTL = time.Minute
	// maxCached bounds the verified-token cache.
	maxCached = 10000
	// maxTokenBytes bounds what is parsed at all.
	maxTokenBytes = 8 << 10
	// maxJWKSBytes bounds a JWKS document.
	maxJWKSBytes = 1 << 20
	// MinRSABits is the smallest RSA modulus whose signatures are accepted:
	// RFC 7518 section 3.3 requires 2048 bits or more for RS256, and a
	// 1024-bit modulus is within reach of a well-funded attacker, who could
	// then sign any token. A smaller key of a JWKS is never used.
	MinRSABits = 2048
)

// Sentinel configuration errors.
var (
	ErrNoKeys     = errors.New("no verification key configured: set an HS256 secret, a JWKS file or a JWKS URL")
	ErrWeakSecret = errors.New("HS256 secret must be at least 32 bytes")
	// ErrNoAudience: a JWKS is usually an identity provider's, whose keys
	// sign the tokens of every service it serves; without an audience to
	// check, a token minted for any of them would read the activity log.
	ErrNoAudience = errors.New("a JWKS needs an audience: set the audience the identity provider puts in tokens for this service")
)

// Config configures a Verifier. The zero value is invalid (no keys).
type Config struct {
	// Issuer, when set, must equal the token's iss claim. Empty accepts any issuer.
	Issuer string
	// Audience, when set, must be among the token's aud claim. Empty accepts
	// any audience, which only HS256 allows: with a JWKS file or URL it is
	// an error (ErrNoAudience).
	Audience string
	// HS256Secret enables HS256 with this shared secret (at least 32 bytes).
	// Empty disables HS256.
	HS256Secret []byte
	// JWKSFile enables RS256/ES256 with the public keys in this JWKS file. Empty disables it.
	JWKSFile string
	// JWKSURL enables RS256/ES256 with the public keys served at this URL,
	// refetched every JWKSRefresh. Empty disables it.
	JWKSURL string
	// JWKSRefresh is how long fetched keys are reused; zero means DefaultJWKSRefresh.
	JWKSRefresh time.Duration
	// RoleClaim names the claim holding the role (admin, partner, staff,
	// customer); empty means DefaultRoleClaim. A token without it is rejected.
	RoleClaim string
	// TenantClaim names the claim holding the partner's tenant; empty means
	// DefaultTenantClaim. A partner token without it is rejected.
	TenantClaim string
	// Leeway is the allowed clock skew; zero means DefaultLeeway, negative means none.
	Leeway time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// HTTPClient fetches the JWKS URL; nil means a client with a 10 s timeout.
	// A client without a redirect policy (CheckRedirect nil) gets one that
	// refuses a redirect from https to plain http, and from plain http on a
	// loopback address to plain http elsewhere: whoever can alter the key
	// set on its way can sign any token.
	HTTPClient *http.Client
	// CacheTTL is how long a verified token is remembered (keyed by its
	// SHA-256), never past its expiry; zero means DefaultCacheTTL, negative
	// disables the cache. A key removed from the JWKS stops verifying new
	// tokens at once and cached ones within CacheTTL.
	CacheTTL time.Duration
}

// Validate reports whether the configuration can verify anything.
func (c Config) Validate() error {
	if len(c.HS256Secret) == 0 && c.JWKSFile == "" && c.JWKSURL == "" {
		return ErrNoKeys
	}
	if len(c.HS256Secret) > 0 && len(c.HS256Secret) < 32 {
		return ErrWeakSecret
	}
	if (c.JWKSFile != "" || c.JWKSURL != "") && c.Audience == "" {
		return ErrNoAudience
	}
	return CheckJWKSURL(c.JWKSURL)
}

// Verifier verifies bearer tokens. It is safe for concurrent use.
type Verifier struct {
	cfg    Config
	algs   []jose.SignatureAlgorithm
	static *jose.JSONWebKeySet

	// The JWKS URL's keys. One fetch runs at a time, without the lock held;
	// meanwhile other requests use the keys at hand (or, before the first
	// keys, wait for it).
	mu        sync.Mutex
	fetched   *jose.JSONWebKeySet
	fetchedAt time.Time     // of the last good fetch
	attempted time.Time     // of the last fetch, good or not
	failures  int           // fetches failed since the last good one
	lastErr   error         // why the last fetch failed
	fetching  chan struct{} // closed when the running fetch ends; nil when none runs

	cacheMu sync.Mutex
	cache   map[[sha256.Size]byte]cached
}

// cached is a verified token's principal and until when it may be reused.
type cached struct {
	p     querysvc.Principal
	until time.Time
}

// New returns a Verifier for cfg. A JWKS file is read now; a JWKS URL on first use.
func New(cfg Config) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("auth config: %w", err)
	}
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = DefaultRoleClaim
	}
	if cfg.TenantClaim == "" {
		cfg.TenantClaim = DefaultTenantClaim
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = DefaultLeeway
	} else if cfg.Leeway < 0 {
		cfg.Leeway = 0
	}
	if cfg.JWKSRefresh <= 0 {
		cfg.JWKSRefresh = DefaultJWKSRefresh
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.HTTPClient.CheckRedirect == nil {
		c := *cfg.HTTPClient // the caller's client is left as it is
		c.CheckRedirect = refuseDowngrade
		cfg.HTTPClient = &c
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	v := &Verifier{cfg: cfg, cache: map[[sha256.Size]byte]cached{}}
	if len(cfg.HS256Secret) > 0 {
		v.algs = append(v.algs, jose.HS256)
	}
	if cfg.JWKSFile != "" || cfg.JWKSURL != "" {
		v.algs = append(v.algs, jose.RS256, jose.ES256)
	}
	if cfg.JWKSFile != "" {
		b, err := os.ReadFile(cfg.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("auth config: read JWKS file: %w", err)
		}
		set, err := parseJWKS(b)
		if err != nil {
			return nil, fmt.Errorf("auth config: JWKS file %s: %w", cfg.JWKSFile, err)
		}
		v.static = set
	}
	return v, nil
}

func parseJWKS(b []byte) (*jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("parse JWKS: %w", err)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() {
			return nil, fmt.Errorf("JWKS key %q is not a public key", k.KeyID)
		}
	}
	return &set, nil
}

// claims is what the verifier reads from every token besides the registered claims.
type claims map[string]any

// Verify checks a compact JWS token and returns its principal. Every failure
// is a *querysvc.Error whose message says what is wrong without echoing the
// token: CodeUnauthorized, or CodeUnavailable when no key could be had from
// the JWKS URL to check it with. A token verified in the last CacheTTL is
// answered from memory, until its expiry.
func (v *Verifier) Verify(ctx context.Context, token string) (querysvc.Principal, error) {
	if token == "" {
		return querysvc.Principal{}, querysvc.Errorf(querysvc.CodeUnauthorized, "missing bearer token")
	}
	if len(token) > maxTokenBytes {
		return querysvc.Principal{}, querysvc.Errorf(querysvc.CodeUnauthorized, "token too large")
	}
	if v.cfg.CacheTTL < 0 {
		p, _, err := v.verify(ctx, token)
		return p, err
	}
	key := sha256.Sum256([]byte(token))
	now := v.cfg.Now()
	v.cacheMu.Lock()
	c, ok := v.cache[key]
	v.cacheMu.Unlock()
	if ok && now.Before(c.until) {
		return c.p, nil
	}
	p, exp, err := v.verify(ctx, token)
	if err != nil {
		return p, err
	}
	until := now.Add(v.cfg.CacheTTL)
	if limit := exp.Add(v.cfg.Leeway); limit.Before(until) {
		until = limit
	}
	v.cacheMu.Lock()
	if len(v.cache) >= maxCached {
		for k, e := range v.cache {
			if !now.Before(e.until) || len(v.cache) >= maxCached {
				delete(v.cache, k)
			}
		}
	}
	v.cache[key] = cached{p: p, until: until}
	v.cacheMu.Unlock()
	return p, nil
}

// verify checks a token and returns its principal and expiry.
func (v *Verifier) verify(ctx context.Context, token string) (querysvc.Principal, time.Time, error) {
	var expiry time.Time
	fail := func(msg string, err error) (querysvc.Principal, time.Time, error) {
		return querysvc.Principal{}, expiry, querysvc.Wrap(querysvc.CodeUnauthorized, msg, err)
	}
	tok, err := jwt.ParseSigned(token, v.algs)
	if err != nil {
		return fail("token is malformed or uses an algorithm that is not accepted", err)
	}
	if len(tok.Headers) != 1 {
		return fail("token must have exactly one signature", nil)
	}
	hdr := tok.Headers[0]
	keys, err := v.keys(ctx, hdr)
	if errors.Is(err, errKeysUnavailable) {
		// Not the token's fault: the service cannot get the keys to check
		// any token of this algorithm.
		return querysvc.Principal{}, expiry, querysvc.Wrap(querysvc.CodeUnavailable, "the keys to verify tokens are unavailable", err)
	}
	if err != nil {
		return fail("no key to verify the token", err)
	}
	var reg jwt.Claims
	var extra claims
	var claimsErr error // a key verified the signature, the claims did not decode
	for _, key := range keys {
		reg, extra = jwt.Claims{}, claims{}
		if err = tok.Claims(key, &reg, &extra); err == nil {
			break
		}
		if !errors.Is(err, jose.ErrCryptoFailure) {
			claimsErr = err
		}
	}
	switch {
	case err == nil:
	case claimsErr != nil:
		// Signed by a trusted key, so the identity provider's: say so,
		// lest its operator rotate keys for a claim of the wrong type.
		return fail("token's claims are not what they must be (a claim of the wrong type, or repeated)", claimsErr)
	default:
		return fail("invalid token signature", err)
	}
	if reg.Expiry == nil {
		return fail("token has no exp claim", nil)
	}
	expiry = reg.Expiry.Time()
	if reg.Subject == "" {
		return fail("token has no sub claim", nil)
	}
	exp := jwt.Expected{Issuer: v.cfg.Issuer, Time: v.cfg.Now()}
	if v.cfg.Audience != "" {
		exp.AnyAudience = jwt.Audience{v.cfg.Audience}
	}
	if err := reg.ValidateWithLeeway(exp, v.cfg.Leeway); err != nil {
		switch {
		case errors.Is(err, jwt.ErrExpired):
			return fail("token has expired", err)
		case errors.Is(err, jwt.ErrNotValidYet):
			return fail("token is not valid yet", err)
		case errors.Is(err, jwt.ErrInvalidIssuer):
			return fail("token issuer is not accepted", err)
		case errors.Is(err, jwt.ErrInvalidAudience):
			return fail("token audience is not accepted", err)
		}
		return fail("token claims are invalid", err)
	}
	roleName, ok := extra[v.cfg.RoleClaim].(string)
	if !ok || roleName == "" {
		return fail(fmt.Sprintf("token has no %s claim", v.cfg.RoleClaim), nil)
	}
	role, ok := parseRole(roleName)
	if !ok {
		return fail(fmt.Sprintf("token %s claim is not a known role", v.cfg.RoleClaim), nil)
	}
	p := querysvc.Principal{Subject: reg.Subject, Role: role}
	if name, ok := extra["name"].(string); ok {
		p.Name = name
	}
	if tenant, ok := extra[v.cfg.TenantClaim].(string); ok {
		p.Tenant = tenant
	}
	if role == querysvc.RolePartner {
		if p.Tenant == "" {
			return fail(fmt.Sprintf("partner token has no %s claim", v.cfg.TenantClaim), nil)
		}
		// Scoped as the collector stores tenants: "ACME " reads "acme";
		// "\u212Acme" (a Kelvin sign) is refused rather than read "kcme".
		t, ok := querysvc.PartnerTenant(p.Tenant)
		if !ok {
			return fail(fmt.Sprintf("partner token's %s claim is not a valid tenant id", v.cfg.TenantClaim), nil)
		}
		p.Tenant = t
	}
	if role == querysvc.RoleAdmin {
		// An admin is never confined, so a tenant claim on an admin token
		// must not be mistaken for a scope; it is simply dropped.
		p.Tenant = ""
	}
	return p, expiry, nil
}

// parseRole reads a role claim in any ASCII case ("Admin"). Only ASCII
// letters are folded: Unicode case rules would read "ADM\u0130N" (a dotted
// capital I) as admin.
func parseRole(name string) (querysvc.Role, bool) {
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			return "", false
		}
	}
	return querysvc.ParseRole(strings.ToLower(name))
}

// errKeysUnavailable marks a failure to obtain any key set from the JWKS URL.
var errKeysUnavailable = errors.New("JWKS URL unavailable")

// keys returns the keys a token header may have been signed with: the
// HS256 secret, or the public keys of its algorithm's type and its kid (all
// of that type when it has none) from the JWKS file and then the JWKS URL.
// The file is consulted first, so its keys verify whatever the URL does.
func (v *Verifier) keys(ctx context.Context, h jose.Header) ([]any, error) {
	if h.Algorithm == string(jose.HS256) {
		return []any{v.cfg.HS256Secret}, nil
	}
	if v.static != nil {
		if ks := pick(v.static, h); len(ks) > 0 {
			return ks, nil
		}
	}
	if v.cfg.JWKSURL != "" {
		set, err := v.remote(ctx, false)
		if err != nil {
			return nil, err
		}
		if ks := pick(set, h); len(ks) > 0 {
			return ks, nil
		}
		// An unknown kid may be a freshly rotated key: refetch (at most
		// once a second, whatever the tokens say).
		if set, err = v.remote(ctx, true); err == nil {
			if ks := pick(set, h); len(ks) > 0 {
				return ks, nil
			}
		}
	}
	return nil, fmt.Errorf("no %s key with kid %q", h.Algorithm, h.KeyID)
}

// pick returns the keys of set that may verify a token with header h: its
// kid's, when it has one, whose algorithm (if stated) is the token's, whose
// use (if stated) is signing, and whose type fits the algorithm; an RSA key
// only with a modulus of at least MinRSABits.
func pick(set *jose.JSONWebKeySet, h jose.Header) []any {
	candidates := set.Keys
	if h.KeyID != "" {
		candidates = set.Key(h.KeyID)
	}
	var out []any
	for _, k := range candidates {
		if k.Algorithm != "" && k.Algorithm != h.Algorithm {
			continue
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		switch pub := k.Key.(type) {
		case *rsa.PublicKey:
			if h.Algorithm != string(jose.RS256) || pub.N.BitLen() < MinRSABits {
				continue
			}
		case *ecdsa.PublicKey:
			if h.Algorithm != string(jose.ES256) || pub.Curve != elliptic.P256() {
				continue
			}
		default:
			continue
		}
		out = append(out, k.Key)
	}
	return out
}

// Fetches of the JWKS URL: a forced one (for an unknown kid) at most once a
// second; after a failure, the next not before minRetry, doubling with each
// failure in a row up to maxRetry. Meanwhile the keys of the last good fetch
// stay in use, however old.
const (
	minRetry = time.Second
	maxRetry = time.Minute
)

// remote returns the keys from the JWKS URL, fetching them when they are
// older than JWKSRefresh, or when force is set, within the limits above. Its
// error wraps errKeysUnavailable when there are no keys at all.
func (v *Verifier) remote(ctx context.Context, force bool) (*jose.JSONWebKeySet, error) {
	for {
		v.mu.Lock()
		now := v.cfg.Now()
		wait := minRetry
		if v.failures > 0 {
			wait = min(maxRetry, minRetry<<min(v.failures-1, 16))
		}
		fresh := v.fetched != nil && now.Sub(v.fetchedAt) < v.cfg.JWKSRefresh && !force
		tooSoon := !v.attempted.IsZero() && now.Sub(v.attempted) < wait
		switch {
		case fresh || (v.fetched != nil && (v.fetching != nil || tooSoon)):
			set := v.fetched
			v.mu.Unlock()
			return set, nil
		case v.fetching != nil:
			// The first keys are being fetched: wait for them.
			ch := v.fetching
			v.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, fmt.Errorf("%w: %w", errKeysUnavailable, ctx.Err())
			}
		case tooSoon:
			err := v.lastErr
			v.mu.Unlock()
			return nil, fmt.Errorf("%w: %w", errKeysUnavailable, err)
		}
		ch := make(chan struct{})
		v.fetching, v.attempted = ch, now
		v.mu.Unlock()

		// The fetch serves every request waiting for it, so it does not
		// end with the request that started it.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		set, err := v.fetch(fctx)
		cancel()

		v.mu.Lock()
		v.fetching = nil
		close(ch)
		if err == nil {
			v.fetched, v.fetchedAt, v.failures, v.lastErr = set, now, 0, nil
		} else {
			v.failures++
			v.lastErr = err
			set = v.fetched
		}
		v.mu.Unlock()
		if set == nil {
			return nil, fmt.Errorf("%w: %w", errKeysUnavailable, err)
		}
		return set, nil
	}
}

// fetchTimeout bounds one fetch of the JWKS URL, whatever the HTTP client's
// own timeout.
const fetchTimeout = 10 * time.Second

// fetch gets and parses the JWKS URL's keys.
func (v *Verifier) fetch(ctx context.Context) (*jose.JSONWebKeySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.JWKSURL, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks request: %w", err)
	}
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch jwks: status %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes))
	if err != nil {
		return nil, fmt.Errorf("read jwks: %w", err)
	}
	return parseJWKS(b)
}

// refuseDowngrade is the JWKS client's redirect policy: Go's own (at most 10
// redirects), and never to plain http from https, nor from plain http on a
// loopback address (a sidecar on the same host) to plain http elsewhere:
// either way the keys would cross the network in clear.
func refuseDowngrade(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if req.URL.Scheme == "https" {
		return nil
	}
	switch first := via[0].URL; {
	case first.Scheme == "https":
		return fmt.Errorf("redirect from https to %s refused: the keys must not travel in clear", req.URL.Scheme)
	case isLoopback(first.Hostname()) && !isLoopback(req.URL.Hostname()):
		return fmt.Errorf("redirect from plain http on loopback to plain http on %q refused: the keys must not travel in clear", req.URL.Hostname())
	}
	return nil
}

// CheckJWKSURL refuses a JWKS URL that cannot work or whose keys could be
// replaced on the way (whoever can alter the key set can sign an admin
// token): it must be https, or plain http to a loopback address (an
// identity provider's sidecar on the same host). Empty is no URL.
func CheckJWKSURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" {
		return fmt.Errorf("JWKS URL %q is not an http(s) URL", raw)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return fmt.Errorf("JWKS URL %q must be https (plain http only to a loopback address): keys fetched in clear can be replaced on the way", raw)
	}
	return nil
}

// isLoopback reports whether host names this machine: "localhost" (in any
// case, with or without the root's dot) or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
