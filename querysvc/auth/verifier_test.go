package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"go.uber.org/goleak"

	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/querysvc/auth"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	secret = []byte("0123456789abcdef0123456789abcdef")
	now    = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
)

func valid(role, tenant string) auth.Token {
	return auth.Token{Subject: "u-1", Issuer: "https://idp.test", Audience: "activitylog",
		Role: role, Tenant: tenant, IssuedAt: now.Add(-time.Minute), Expiry: now.Add(time.Hour)}
}

func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, tok auth.Token) string {
	t.Helper()
	s, err := auth.Sign(alg, key, tok)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newRSAKey and newECKey make a private key for a test, or fail it.
func newRSAKey(tb testing.TB, bits int) *rsa.PrivateKey {
	tb.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func newECKey(tb testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// unsigned builds an "alg":"none" token by hand: go-jose refuses to make one.
func unsigned(t *testing.T, claims map[string]any) string {
	t.Helper()
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return h + "." + base64.RawURLEncoding.EncodeToString(b) + "."
}

func TestVerify(t *testing.T) {
	rsaKey, ecKey, otherEC := newRSAKey(t, 2048), newECKey(t, elliptic.P256()), newECKey(t, elliptic.P256())
	jwks := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &rsaKey.PublicKey, KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"},
	}}
	dir := t.TempDir()
	file := filepath.Join(dir, "jwks.json")
	b, _ := json.Marshal(jwks)
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	urlSet, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &ecKey.PublicKey, KeyID: "ec-1", Algorithm: "ES256", Use: "sig"},
	}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(urlSet) }))
	defer srv.Close()

	v, err := auth.New(auth.Config{Issuer: "https://idp.test", Audience: "activitylog", HS256Secret: secret,
		JWKSFile: file, JWKSURL: srv.URL, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	rsaSigner := &jose.JSONWebKey{Key: rsaKey, KeyID: "rsa-1"}
	ecSigner := &jose.JSONWebKey{Key: ecKey, KeyID: "ec-1"}
	otherSigner := &jose.JSONWebKey{Key: otherEC, KeyID: "ec-1"}

	mod := func(f func(*auth.Token)) auth.Token { tok := valid("partner", "t-1"); f(&tok); return tok }
	tests := []struct {
		name  string
		token string
		want  querysvc.Principal
		err   bool
	}{
		{"hs256 admin", sign(t, jose.HS256, secret, valid("admin", "")), querysvc.Principal{Subject: "u-1", Role: querysvc.RoleAdmin}, false},
		{"admin tenant claim ignored", sign(t, jose.HS256, secret, valid("admin", "t-9")), querysvc.Principal{Subject: "u-1", Role: querysvc.RoleAdmin}, false},
		{"hs256 partner", sign(t, jose.HS256, secret, valid("partner", "t-1")), querysvc.Principal{Subject: "u-1", Role: querysvc.RolePartner, Tenant: "t-1"}, false},
		{"rs256 from jwks file", sign(t, jose.RS256, rsaSigner, valid("staff", "")), querysvc.Principal{Subject: "u-1", Role: querysvc.RoleStaff}, false},
		{"es256 from jwks url", sign(t, jose.ES256, ecSigner, valid("customer", "")), querysvc.Principal{Subject: "u-1", Role: querysvc.RoleCustomer}, false},
		{"within skew", sign(t, jose.HS256, secret, mod(func(k *auth.Token) { k.Expiry = now.Add(-10 * time.Second) })), querysvc.Principal{Subject: "u-1", Role: querysvc.RolePartner, Tenant: "t-1"}, false},
		{"expired", sign(t, jose.HS256, secret, mod(func(k *auth.Token) { k.Expiry = now.Add(-time.Hour) })), querysvc.Principal{}, true},
		{"not yet valid", sign(t, jose.HS256, secret, mod(func(k *auth.Token) { k.IssuedAt = now.Add(10 * time.Minute) })), querysvc.Principal{}, true},
		{"no exp", sign(t, jose.HS256, secret, mod(func(k *auth.Token) { k.Expiry = time.Time{} })), querysvc.Principal{}, true},
		{"no sub", sign(t, jose.HS256, secret, mod(func(k *auth.Token) { k.Subject = "" })), querysvc.Principal{}, true},
		{"wrong issuer", sign(t, jose.HS256, secret, mod(func(k *auth.Token) { k.Issuer = "https://evil" })), querysvc.Principal{}, true},
		{"wrong audience", sign(t, jose.HS256, secret, mod(func(k *auth.Token) { k.Audience = "other" })), querysvc.Principal{}, true},
		{"no role", sign(t, jose.HS256, secret, mod(func(k *auth.Token) { k.Role = "" })), querysvc.Principal{}, true},
		{"unknown role", sign(t, jose.HS256, secret, mod(func(k *auth.Token) { k.Role = "root" })), querysvc.Principal{}, true},
		{"partner without tenant", sign(t, jose.HS256, secret, mod(func(k *auth.Token) { k.Tenant = "" })), querysvc.Principal{}, true},
		{"partner tenant normalized", sign(t, jose.HS256, secret, valid("partner", " T-1 ")), querysvc.Principal{Subject: "u-1", Role: querysvc.RolePartner, Tenant: "t-1"}, false},
		{"partner tenant with a control character", sign(t, jose.HS256, secret, valid("partner", "t-1\x00")), querysvc.Principal{}, true},
		{"partner tenant with a Kelvin sign", sign(t, jose.HS256, secret, valid("partner", "\u212A-1")), querysvc.Principal{}, true},
		{"partner tenant with a no-break space", sign(t, jose.HS256, secret, valid("partner", "t-1\u00a0")), querysvc.Principal{}, true},
		{"partner tenant blank", sign(t, jose.HS256, secret, valid("partner", "   ")), querysvc.Principal{}, true},
		{"wrong hs256 key", sign(t, jose.HS256, []byte("ffffffffffffffffffffffffffffffff"), valid("admin", "")), querysvc.Principal{}, true},
		{"wrong es256 key", sign(t, jose.ES256, otherSigner, valid("admin", "")), querysvc.Principal{}, true},
		{"unexpected alg hs384", sign(t, jose.HS384, append(secret, secret...), valid("admin", "")), querysvc.Principal{}, true},
		{"alg none", unsigned(t, map[string]any{"sub": "u-1", "role": "admin", "iss": "https://idp.test", "aud": "activitylog", "exp": now.Add(time.Hour).Unix()}), querysvc.Principal{}, true},
		{"garbage", "not.a.token", querysvc.Principal{}, true},
		{"empty", "", querysvc.Principal{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(context.Background(), tt.token)
			if tt.err {
				if err == nil {
					t.Fatalf("got principal %+v, want an error", got)
				}
				if code := querysvc.ErrorCode(err); code != querysvc.CodeUnauthorized {
					t.Errorf("got code %q, want %q", code, querysvc.CodeUnauthorized)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  auth.Config
		ok   bool
	}{
		{"no keys", auth.Config{}, false},
		{"short secret", auth.Config{HS256Secret: []byte("short")}, false},
		{"secret", auth.Config{HS256Secret: secret}, true},
		{"jwks url", auth.Config{JWKSURL: "https://idp.test/jwks", Audience: "activitylog"}, true},
		{"jwks url without audience", auth.Config{JWKSURL: "https://idp.test/jwks"}, false},
		{"jwks file without audience", auth.Config{JWKSFile: "testdata/jwks.json"}, false},
		{"secret and jwks url without audience", auth.Config{HS256Secret: secret, JWKSURL: "https://idp.test/jwks"}, false},
		{"secret without audience", auth.Config{HS256Secret: secret, Issuer: "https://idp.test"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if got := err == nil; got != tt.ok {
				t.Errorf("got valid=%v (%v), want %v", got, err, tt.ok)
			}
		})
	}
}

// TestJWKSNeedsAudience: a JWKS signs the tokens of every service of its
// identity provider, so the verifier refuses to use one without an audience.
func TestJWKSNeedsAudience(t *testing.T) {
	_, err := auth.New(auth.Config{JWKSURL: "https://idp.test/jwks", Issuer: "https://idp.test"})
	if !errors.Is(err, auth.ErrNoAudience) {
		t.Errorf("got %v, want %v", err, auth.ErrNoAudience)
	}
}

// TestVerifyCache: a verified token is remembered, but never past its expiry.
func TestVerifyCache(t *testing.T) {
	clock := now
	v, err := auth.New(auth.Config{HS256Secret: secret, Leeway: -1, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	tok := valid("admin", "")
	tok.Expiry = now.Add(90 * time.Second)
	s := sign(t, jose.HS256, secret, tok)
	steps := []struct {
		at   time.Duration
		want bool
	}{
		{0, true},                 // verified, cached for a minute
		{30 * time.Second, true},  // from the cache
		{70 * time.Second, true},  // cache entry lapsed: verified again, cached until expiry
		{89 * time.Second, true},  // from the cache
		{91 * time.Second, false}, // expired: the cache does not extend it
	}
	for _, st := range steps {
		clock = now.Add(st.at)
		_, err := v.Verify(context.Background(), s)
		if got := err == nil; got != st.want {
			t.Errorf("at +%s: got ok=%v (%v), want %v", st.at, got, err, st.want)
		}
	}
	// A tampered token never hits the cache entry of the genuine one.
	if _, err := v.Verify(context.Background(), s[:len(s)-2]+"xx"); err == nil {
		t.Error("tampered token: got ok, want 401")
	}
}

// TestRoleClaimCase: a role claim is read in any ASCII case, and only ASCII
// letters fold: under Unicode's rules "ADM\u0130N" (a dotted capital I)
// would lower-case to "admin".
func TestRoleClaimCase(t *testing.T) {
	v, err := auth.New(auth.Config{HS256Secret: secret, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for role, want := range map[string]querysvc.Role{"Admin": querysvc.RoleAdmin, "PARTNER": querysvc.RolePartner} {
		p, err := v.Verify(context.Background(), sign(t, jose.HS256, secret, valid(role, "acme")))
		if err != nil || p.Role != want {
			t.Errorf("role claim %q: got %+v, %v; want %s", role, p, err, want)
		}
	}
	for _, role := range []string{"ADM\u0130N", "adm\u0130n"} {
		p, err := v.Verify(context.Background(), sign(t, jose.HS256, secret, valid(role, "")))
		if querysvc.ErrorCode(err) != querysvc.CodeUnauthorized {
			t.Errorf("role claim %q: got %+v, %v; want 401", role, p, err)
		}
	}
}

// TestClaimsOfTheWrongTypeNamed proves that a token a trusted key signed
// whose claims do not decode (a subject given as a number) is refused with a
// message about its claims, not about its signature, which would send the
// identity provider's operator to rotate keys; a token signed with another
// key is still an invalid signature.
func TestClaimsOfTheWrongTypeNamed(t *testing.T) {
	v, err := auth.New(auth.Config{HS256Secret: secret, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	signRaw := func(key []byte, claims map[string]any) string {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: key}, nil)
		if err != nil {
			t.Fatal(err)
		}
		payload, err := json.Marshal(claims)
		if err != nil {
			t.Fatal(err)
		}
		jws, err := signer.Sign(payload)
		if err != nil {
			t.Fatal(err)
		}
		s, err := jws.CompactSerialize()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	claims := map[string]any{"sub": 7, "role": "partner", "tenant_id": "t-1", "exp": now.Add(time.Hour).Unix()}
	for _, c := range []struct {
		name, token, want string
	}{
		{"trusted key, subject a number", signRaw(secret, claims), "claims"},
		{"other key", signRaw([]byte("ffffffffffffffffffffffffffffffff"), claims), "invalid token signature"},
	} {
		_, err := v.Verify(context.Background(), c.token)
		if err == nil || querysvc.ErrorCode(err) != querysvc.CodeUnauthorized || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want a 401 saying %q", c.name, err, c.want)
		}
	}
}

// TestLeewayCoversIssuedAt: the leeway is the clock skew allowed on iat as
// on exp and nbf (querysvc -jwt-leeway): a token issued by a clock a little
// ahead is accepted, one issued further ahead, or any ahead with no leeway,
// is refused.
func TestLeewayCoversIssuedAt(t *testing.T) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: secret}, nil)
	if err != nil {
		t.Fatal(err)
	}
	issuedIn := func(d time.Duration) string {
		s, err := jwt.Signed(signer).Claims(jwt.Claims{Subject: "u-1", Expiry: jwt.NewNumericDate(now.Add(time.Hour)),
			IssuedAt: jwt.NewNumericDate(now.Add(d))}).Claims(map[string]any{"role": "admin"}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, tt := range []struct {
		name     string
		leeway   time.Duration
		issuedIn time.Duration
		ok       bool
	}{
		{"within the default leeway", 0, 20 * time.Second, true},
		{"beyond the default leeway", 0, 2 * time.Minute, false},
		{"no leeway", -1, 20 * time.Second, false},
	} {
		v, err := auth.New(auth.Config{HS256Secret: secret, Leeway: tt.leeway, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Verify(context.Background(), issuedIn(tt.issuedIn))
		if got := err == nil; got != tt.ok {
			t.Errorf("%s: got ok=%v (%v), want %v", tt.name, got, err, tt.ok)
		}
	}
}
