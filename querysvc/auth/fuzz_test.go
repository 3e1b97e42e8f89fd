package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/querysvc/auth"
)

// FuzzVerify: bearer tokens are attacker-controlled; any string is either a
// principal (only when signed with the key) or a 401, never a panic.
func FuzzVerify(f *testing.F) {
	v, err := auth.New(auth.Config{HS256Secret: secret, Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	good, _ := auth.Sign(jose.HS256, secret, valid("partner", "t-1"))
	for _, s := range []string{good, "", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", good + "x", "eyJhbGciOiJIUzI1NiJ9..", "....."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := v.Verify(context.Background(), tok)
		if err != nil {
			if code := querysvc.ErrorCode(err); code != querysvc.CodeUnauthorized {
				t.Fatalf("got code %s, want unauthorized", code)
			}
			return
		}
		if tok != good {
			t.Fatalf("an unsigned or altered token verified: %q -> %+v", tok, p)
		}
	})
}

// FuzzJWKS: a JWKS document comes from a file or from an identity
// provider's URL, and whoever can alter it on its way can try any bytes.
// Whatever it holds, reading it gives a key set or an error that names the
// JWKS file, never a panic; and a key set never lets through a token that
// none of its keys signed. The tokens are signed with keys made in this run,
// which no input can hold, of both accepted types, with and without the kid
// the seeds' keys use, so that a seed's key is picked and its signature
// check runs.
func FuzzJWKS(f *testing.F) {
	rsaKey, ecKey := newRSAKey(f, 2048), newECKey(f, elliptic.P256())
	var tokens []string
	for _, key := range []any{rsaKey, ecKey} {
		alg := jose.RS256
		if _, ok := key.(*ecdsa.PrivateKey); ok {
			alg = jose.ES256
		}
		for _, signing := range []any{key, &jose.JSONWebKey{Key: key, KeyID: "k1"}} {
			tok, err := auth.Sign(alg, signing, valid("admin", ""))
			if err != nil {
				f.Fatal(err)
			}
			tokens = append(tokens, tok)
		}
	}

	// Seeds: other keys of every kind, the accepted ones under the tokens'
	// kid, and a weak RSA key, another curve, a shared secret and a private
	// key, which are never used or refused; documents that are not key sets
	// are in testdata/fuzz/FuzzJWKS.
	otherRSA, weakRSA := newRSAKey(f, 2048), newRSAKey(f, 1024)
	otherEC, p384 := newECKey(f, elliptic.P256()), newECKey(f, elliptic.P384())
	for _, keys := range [][]jose.JSONWebKey{
		{{Key: &otherRSA.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}, {Key: &otherEC.PublicKey, KeyID: "k1"}},
		{{Key: &otherRSA.PublicKey}, {Key: &otherEC.PublicKey, Algorithm: "ES256"}},
		{{Key: &weakRSA.PublicKey, KeyID: "k1"}, {Key: &p384.PublicKey, KeyID: "k1"}},
		{{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "k1", Algorithm: "HS256"}},
		{{Key: otherEC, KeyID: "k1"}},
		{{Key: &otherRSA.PublicKey, KeyID: "k1", Use: "enc"}},
	} {
		b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}

	path := filepath.Join(f.TempDir(), "jwks.json")
	f.Fuzz(func(t *testing.T, doc []byte) {
		if err := os.WriteFile(path, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		v, err := auth.New(auth.Config{Audience: "activitylog", JWKSFile: path, CacheTTL: -1, Now: func() time.Time { return now }})
		if err != nil {
			if !strings.Contains(err.Error(), "JWKS file") {
				t.Fatalf("the error does not say the JWKS file is at fault: %v", err)
			}
			return
		}
		for _, tok := range tokens {
			p, err := v.Verify(context.Background(), tok)
			if err == nil {
				t.Fatalf("a token signed with a key outside the JWKS verified as %+v", p)
			}
			if code := querysvc.ErrorCode(err); code != querysvc.CodeUnauthorized {
				t.Fatalf("got code %s, want unauthorized: %v", code, err)
			}
		}
	})
}
