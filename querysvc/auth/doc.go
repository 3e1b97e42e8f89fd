// Package auth verifies the bearer JWTs of the query service and turns them
// into a querysvc.Principal.
//
// Tokens are verified with go-jose: HS256 with a configured shared secret,
// RS256 and ES256 with public keys from a JWKS file or URL. Only the
// algorithms that have a key configured are accepted, so "alg: none" and any
// unexpected algorithm fail before a signature is even looked at. Issuer,
// audience, expiry and not-before are checked with a small clock skew; exp and
// sub are required. The role and tenant come from configurable claims; a
// partner token without a tenant is rejected.
package auth
