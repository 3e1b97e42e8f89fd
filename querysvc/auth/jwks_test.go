package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/querysvc/auth"
)

func writeJWKS(t *testing.T, keys ...jose.JSONWebKey) string {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// clock is a settable clock, safe for the verifier's concurrent reads.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// urlVerifier returns a verifier of the keys at url, without its token
// cache, on a settable clock, and a token signed with key as kid ec-1.
func urlVerifier(t *testing.T, url string, key *ecdsa.PrivateKey) (*auth.Verifier, *clock, string) {
	t.Helper()
	clk := &clock{t: now}
	v, err := auth.New(auth.Config{Audience: "activitylog", JWKSURL: url, CacheTTL: -1, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return v, clk, sign(t, jose.ES256, &jose.JSONWebKey{Key: key, KeyID: "ec-1"}, valid("admin", ""))
}

func ecKeys(t *testing.T) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	k := newECKey(t, elliptic.P256())
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: "ec-1", Algorithm: "ES256", Use: "sig"}}})
	return k, set
}

// TestJWKSFileKeyWhileURLDown: a key of the JWKS file verifies its tokens
// whatever the JWKS URL does.
func TestJWKSFileKeyWhileURLDown(t *testing.T) {
	rsaKey := newRSAKey(t, 2048)
	file := writeJWKS(t, jose.JSONWebKey{Key: &rsaKey.PublicKey, KeyID: "file-1", Algorithm: "RS256", Use: "sig"})
	var hits atomic.Int32
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	v, err := auth.New(auth.Config{Audience: "activitylog", JWKSFile: file, JWKSURL: down.URL, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, jose.RS256, &jose.JSONWebKey{Key: rsaKey, KeyID: "file-1"}, valid("admin", ""))
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("token signed by a key of the JWKS file, the URL down: got %v, want verified", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the JWKS URL was fetched %d times for a key the file holds", n)
	}
}

// TestJWKSRefreshFailure: while the key server fails, the last good keys
// stay in use and fetches back off (1 s, then doubling); an answer that is
// not a key set counts as a failure, like a 500.
func TestJWKSRefreshFailure(t *testing.T) {
	ecKey, good := ecKeys(t)
	var mode atomic.Int32 // 0 good, 1 status 500, 2 status 200 that is not a key set
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		switch mode.Load() {
		case 1:
			http.Error(w, "boom", http.StatusInternalServerError)
		case 2:
			_, _ = w.Write([]byte(`<html>maintenance</html>`))
		default:
			_, _ = w.Write(good)
		}
	}))
	defer srv.Close()
	v, clk, tok := urlVerifier(t, srv.URL, ecKey)
	verify := func(what string) {
		t.Helper()
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	verify("first fetch")
	clk.add(6 * time.Minute) // past the refresh interval
	mode.Store(1)
	hits.Store(0)
	for range 50 {
		verify("stale keys while the key server answers 500")
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("50 verifications while the key server answers 500 made %d fetches, want 1", n)
	}
	for _, step := range []struct {
		advance time.Duration
		fetches int32
	}{
		{1500 * time.Millisecond, 2}, // 1 s after the first failure
		{1500 * time.Millisecond, 2}, // 2 s after the second: not yet
		{time.Second, 3},
	} {
		clk.add(step.advance)
		verify("backing off")
		if n := hits.Load(); n != step.fetches {
			t.Errorf("after %s more: %d fetches, want %d", step.advance, n, step.fetches)
		}
	}
	mode.Store(2)
	clk.add(time.Minute)
	verify("the key server answers 200 with something that is not a key set")
	mode.Store(0)
	clk.add(time.Minute)
	verify("the key server is back")
	hits.Store(0)
	clk.add(2 * time.Second)
	verify("fresh keys again")
	if n := hits.Load(); n != 0 {
		t.Errorf("fresh keys were fetched again (%d)", n)
	}
}

// TestJWKSForcedFetchDoesNotBlock: a token with an unknown kid forces a
// fetch; while it hangs, tokens with known keys verify at once.
func TestJWKSForcedFetchDoesNotBlock(t *testing.T) {
	ecKey, good := ecKeys(t)
	var slow atomic.Bool
	release := make(chan struct{})
	arrived := make(chan struct{}, 1) // a slow request reached the server
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slow.Load() {
			select {
			case arrived <- struct{}{}:
			default:
			}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		_, _ = w.Write(good)
	}))
	defer srv.Close()
	v, clk, tok := urlVerifier(t, srv.URL, ecKey)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	clk.add(2 * time.Second) // a forced fetch is allowed again
	slow.Store(true)
	other := newECKey(t, elliptic.P256())
	bogus := sign(t, jose.ES256, &jose.JSONWebKey{Key: other, KeyID: "random-kid"}, valid("admin", ""))
	done := make(chan error, 1)
	go func() { _, err := v.Verify(context.Background(), bogus); done <- err }()
	// Only once the forced fetch hangs in the server does the next check
	// show that a known kid does not wait behind it.
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the token with an unknown kid did not force a JWKS fetch within 5 s")
	}
	got := make(chan error, 1)
	go func() { _, err := v.Verify(context.Background(), tok); got <- err }()
	select {
	case err := <-got:
		if err != nil {
			t.Errorf("token with a known kid: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Errorf("token with a known kid waited behind a forced JWKS fetch")
		<-got
	}
	close(release)
	if err := <-done; querysvc.ErrorCode(err) != querysvc.CodeUnauthorized {
		t.Errorf("token with an unknown kid: got %v, want 401", err)
	}
}

// TestJWKSDownIsUnavailable: without any key from the JWKS URL, a token is
// not refused as invalid (401) but answered as a service outage (503).
func TestJWKSDownIsUnavailable(t *testing.T) {
	ecKey, _ := ecKeys(t)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer down.Close()
	v, err := auth.New(auth.Config{Audience: "activitylog", JWKSURL: down.URL, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, jose.ES256, &jose.JSONWebKey{Key: ecKey, KeyID: "ec-1"}, valid("admin", ""))
	for range 2 { // the first fetch fails; the second call is inside the back-off
		_, err = v.Verify(context.Background(), tok)
		if code := querysvc.ErrorCode(err); code != querysvc.CodeUnavailable {
			t.Errorf("key server down: got %q (%v), want %q", code, err, querysvc.CodeUnavailable)
		}
	}
	// HS256 needs no key server.
	hs, err := auth.New(auth.Config{Audience: "activitylog", HS256Secret: secret, JWKSURL: down.URL, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hs.Verify(context.Background(), sign(t, jose.HS256, secret, valid("admin", ""))); err != nil {
		t.Errorf("HS256 token with the key server down: %v", err)
	}
}

// TestNoKidTriesEveryKey: a token without kid is checked against every key
// whose type fits its algorithm, as in a key rotation.
func TestNoKidTriesEveryKey(t *testing.T) {
	oldKey, newKey := newRSAKey(t, 2048), newRSAKey(t, 2048)
	ecKey, p384 := newECKey(t, elliptic.P256()), newECKey(t, elliptic.P384())
	for name, keys := range map[string][]jose.JSONWebKey{
		"rotation, two RSA keys": {{Key: &oldKey.PublicKey, Use: "sig"}, {Key: &newKey.PublicKey, Use: "sig"}},
		"EC keys listed first":   {{Key: &p384.PublicKey, Use: "sig"}, {Key: &ecKey.PublicKey, Use: "sig"}, {Key: &newKey.PublicKey, Use: "sig"}},
	} {
		v, err := auth.New(auth.Config{Audience: "activitylog", JWKSFile: writeJWKS(t, keys...), Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(context.Background(), sign(t, jose.RS256, newKey, valid("admin", ""))); err != nil {
			t.Errorf("%s: RS256 token signed by the last key: got %v, want verified", name, err)
		}
		if name == "EC keys listed first" {
			if _, err := v.Verify(context.Background(), sign(t, jose.ES256, ecKey, valid("admin", ""))); err != nil {
				t.Errorf("%s: ES256 token signed by the P-256 key after a P-384 one: got %v, want verified", name, err)
			}
		}
		if _, err := v.Verify(context.Background(), sign(t, jose.RS256, newRSAKey(t, 2048), valid("admin", ""))); err == nil {
			t.Errorf("%s: a token signed by a key not in the set verified", name)
		}
	}
}

// TestJWKSRedirectToHTTPRefused: an https JWKS URL that redirects to plain
// http gives no keys (whoever alters them on the way could sign any token),
// so a token is answered as an outage (503), not verified.
func TestJWKSRedirectToHTTPRefused(t *testing.T) {
	ecKey, set := ecKeys(t)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(set)
	}))
	defer plain.Close()
	secure := httptest.NewTLSServer(http.RedirectHandler(plain.URL+"/jwks", http.StatusFound))
	defer secure.Close()
	// The test server's client trusts its certificate; it has no redirect
	// policy of its own.
	v, err := auth.New(auth.Config{Audience: "activitylog", JWKSURL: secure.URL, HTTPClient: secure.Client(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, jose.ES256, &jose.JSONWebKey{Key: ecKey, KeyID: "ec-1"}, valid("admin", ""))
	if _, err := v.Verify(context.Background(), tok); querysvc.ErrorCode(err) != querysvc.CodeUnavailable {
		t.Errorf("keys redirected to plain http: got %v, want %q", err, querysvc.CodeUnavailable)
	}
	// Redirects that stay on https are followed.
	final := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(set) }))
	defer final.Close()
	moved := httptest.NewTLSServer(http.RedirectHandler(final.URL+"/jwks", http.StatusMovedPermanently))
	defer moved.Close()
	client := moved.Client()
	client.Transport.(*http.Transport).TLSClientConfig.RootCAs.AddCert(final.Certificate())
	v, err = auth.New(auth.Config{Audience: "activitylog", JWKSURL: moved.URL, HTTPClient: client, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Errorf("keys redirected over https: %v", err)
	}
}

// TestJWKSRedirectOffLoopbackRefused: a plain-http JWKS URL to a loopback
// address (a sidecar on the same host, the one http URL the command accepts)
// that redirects to plain http elsewhere gives no keys: they would cross the
// network in clear all the same. A redirect that stays on loopback is
// followed.
func TestJWKSRedirectOffLoopbackRefused(t *testing.T) {
	ecKey, set := ecKeys(t)
	tok := sign(t, jose.ES256, &jose.JSONWebKey{Key: ecKey, KeyID: "ec-1"}, valid("admin", ""))
	for _, tt := range []struct {
		to   string
		want string // the error code; "" for verified
	}{
		{"http://idp.example.com/jwks", querysvc.CodeUnavailable},
		{"http://[::1]/jwks", ""},
		{"http://localhost:9000/jwks", ""},
	} {
		// The transport answers for every host, so that no name needs to
		// resolve: the sidecar redirects, anything else serves the keys.
		var served atomic.Int32
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			w := httptest.NewRecorder()
			if r.URL.Host == "127.0.0.1:8080" {
				http.Redirect(w, r, tt.to, http.StatusFound)
			} else {
				served.Add(1)
				_, _ = w.Write(set)
			}
			return w.Result(), nil
		})}
		v, err := auth.New(auth.Config{Audience: "activitylog", JWKSURL: "http://127.0.0.1:8080/jwks", HTTPClient: client, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Verify(context.Background(), tok)
		if got := querysvc.ErrorCode(err); got != tt.want || (tt.want != "") == (served.Load() > 0) {
			t.Errorf("redirect to %s: got %v (%q, keys served %d times), want %q", tt.to, err, got, served.Load(), tt.want)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestWeakRSAKeyRefused: RFC 7518 requires RS256 keys of 2048 bits or more.
// A JWKS (file or URL) that holds a 1024-bit key, whose factoring would let
// anyone sign an admin token, does not make its tokens valid: they get 401,
// while a 2048-bit key of the same set verifies its own.
func TestWeakRSAKeyRefused(t *testing.T) {
	weak, strong := newRSAKey(t, 1024), newRSAKey(t, 2048)
	keys := []jose.JSONWebKey{
		{Key: &weak.PublicKey, KeyID: "weak", Algorithm: "RS256", Use: "sig"},
		{Key: &strong.PublicKey, KeyID: "strong", Algorithm: "RS256", Use: "sig"},
	}
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(set) }))
	defer srv.Close()
	for name, cfg := range map[string]auth.Config{
		"file": {JWKSFile: writeJWKS(t, keys...)},
		"url":  {JWKSURL: srv.URL},
	} {
		cfg.Now, cfg.Audience = func() time.Time { return now }, "activitylog"
		v, err := auth.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, kid := range []string{"weak", ""} { // named, and tried as one of every key
			tok := sign(t, jose.RS256, &jose.JSONWebKey{Key: weak, KeyID: kid}, valid("admin", ""))
			if p, err := v.Verify(context.Background(), tok); querysvc.ErrorCode(err) != querysvc.CodeUnauthorized {
				t.Errorf("%s: token of the 1024-bit key (kid %q): got %+v, %v; want 401", name, kid, p, err)
			}
		}
		tok := sign(t, jose.RS256, &jose.JSONWebKey{Key: strong, KeyID: "strong"}, valid("admin", ""))
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Errorf("%s: token of the 2048-bit key: got %v, want it verified", name, err)
		}
	}
}
