package auth

import (
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Token describes a token to sign with Sign.
type Token struct {
	Subject  string
	Name     string
	Issuer   string
	Audience string
	Role     string
	Tenant   string
	// IssuedAt is when the token starts being valid; Expiry when it stops.
	IssuedAt time.Time
	Expiry   time.Time
	// RoleClaim and TenantClaim name the claims; empty means the defaults.
	RoleClaim   string
	TenantClaim string
}

// Sign returns t as a compact JWS signed with key using alg. It exists for
// `querysvc token` (demo and operator use) and for tests; production tokens
// come from the identity provider. key is a []byte secret for HS256 or a
// private key (or *jose.JSONWebKey carrying a kid) for RS256/ES256.
func Sign(alg jose.SignatureAlgorithm, key any, t Token) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("signer: %w", err)
	}
	roleClaim, tenantClaim := t.RoleClaim, t.TenantClaim
	if roleClaim == "" {
		roleClaim = DefaultRoleClaim
	}
	if tenantClaim == "" {
		tenantClaim = DefaultTenantClaim
	}
	reg := jwt.Claims{Subject: t.Subject, Issuer: t.Issuer}
	if t.Audience != "" {
		reg.Audience = jwt.Audience{t.Audience}
	}
	if !t.IssuedAt.IsZero() {
		reg.IssuedAt = jwt.NewNumericDate(t.IssuedAt)
		reg.NotBefore = jwt.NewNumericDate(t.IssuedAt)
	}
	if !t.Expiry.IsZero() {
		reg.Expiry = jwt.NewNumericDate(t.Expiry)
	}
	extra := map[string]any{roleClaim: t.Role}
	if t.Tenant != "" {
		extra[tenantClaim] = t.Tenant
	}
	if t.Name != "" {
		extra["name"] = t.Name
	}
	s, err := jwt.Signed(signer).Claims(reg).Claims(extra).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}
