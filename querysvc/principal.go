package querysvc

import (
	"context"
	"strings"
	"unicode"

	"github.com/activitylog/activitylog/schema"
)

// Role is what a verified caller may do. Only admins and partners may read
// the activity log; staff and customers are known roles that are refused.
type Role string

// Roles, as they appear in the role claim of a token.
const (
	RoleAdmin    Role = "admin"
	RolePartner  Role = "partner"
	RoleStaff    Role = "staff"
	RoleCustomer Role = "customer"
)

// ParseRole returns the Role named by s, or false when s names none.
func ParseRole(s string) (Role, bool) {
	switch r := Role(s); r {
	case RoleAdmin, RolePartner, RoleStaff, RoleCustomer:
		return r, true
	}
	return "", false
}

// CanRead reports whether the role may read activity records at all.
func (r Role) CanRead() bool { return r == RoleAdmin || r == RolePartner }

// ActorType returns the schema actor type for the role (schema.ActorAdmin...).
func (r Role) ActorType() string {
	switch r {
	case RoleAdmin:
		return schema.ActorAdmin
	case RolePartner:
		return schema.ActorPartner
	case RoleStaff:
		return schema.ActorStaff
	case RoleCustomer:
		return schema.ActorCustomer
	}
	return ""
}

// Principal is a verified caller: the subject of its token, its role and, for
// a partner, the tenant it is confined to.
type Principal struct {
	// Subject is the token's sub claim.
	Subject string
	// Name is the caller's display name, when the token carries one.
	Name string
	// Role is the caller's role.
	Role Role
	// Tenant is the tenant a partner is confined to; empty for an admin.
	Tenant string
}

// Scope returns the tenant every query of the principal is confined to, or ""
// for an admin, who may see every tenant. The tenant is normalized as the
// collector stores tenants (schema.NormalizeTenant), and refused when that
// would turn a character other than ASCII into ASCII (PartnerTenant). A partner gets an error
// rather than an unscoped query when it has no tenant or one that is not a
// valid tenant id, and rather than the records of no business when its
// tenant is the reserved schema.TenantUnknown: the collector tags with it the
// records whose tenant it could not tell, which may be any business's.
func (p Principal) Scope() (string, error) {
	switch p.Role {
	case RoleAdmin:
		return "", nil
	case RolePartner:
		if p.Tenant == "" {
			return "", Errorf(CodeForbidden, "partner token has no tenant")
		}
		t, ok := PartnerTenant(p.Tenant)
		switch {
		case !ok:
			return "", Errorf(CodeForbidden, "partner token's tenant is not a valid tenant id")
		case t == schema.TenantUnknown:
			return "", Errorf(CodeForbidden, "tenant %q is reserved for records whose tenant the collector could not tell; only admins may read them", t)
		}
		return t, nil
	}
	return "", Errorf(CodeForbidden, "role %q may not read the activity log", p.Role)
}

// PartnerTenant returns the tenant a partner whose token names claim is
// confined to: claim as the collector stores tenants
// (schema.NormalizeTenant: trimmed, lower case). It reports false when
// NormalizeTenant refuses claim, and when normalizing would make it another
// tenant's id rather than its own in another case: a character other than
// ASCII that lower-cases to the lower case of a different character (the
// Kelvin sign U+212A to "k", the dotted capital I U+0130 to "i", the Ohm
// sign U+2126 to "ω"), white space other than ASCII around it (U+00A0),
// or characters NormalizeTenant removes or composes (U+200B, U+0301).
// A token of "\u212Aroger" would otherwise read the records of "kroger", a
// different business to an identity provider that tells tenant ids apart
// byte by byte; such a token is refused rather than scoped to someone
// else's records. A capital letter still folds to its own small letter
// ("ÄCME" reads "äcme"), as the collector folds it.
func PartnerTenant(claim string) (string, bool) {
	t, ok := schema.NormalizeTenant(claim)
	if !ok {
		return "", false
	}
	for i := 0; i < len(claim); i++ {
		if claim[i] >= 0x80 {
			// Lower case is all normalizing may have changed: not
			// characters removed (a zero-width space) or composed
			// ("e" and a combining accent), which would make
			// "acme\u200b" read "acme".
			inner := strings.Trim(claim, " \t\n\v\f\r")
			return t, foldsToItself(claim) && t == strings.ToLower(inner)
		}
	}
	return t, true // ASCII: only ASCII white space and case can have changed
}

// foldsToItself reports whether trimming and lower-casing s, as
// schema.NormalizeTenant does, changes nothing but ASCII white space around
// it and capital letters into their own small letters: every character
// that lower-cases to another is that one's upper case.
func foldsToItself(s string) bool {
	inner := strings.Trim(s, " \t\n\v\f\r")
	if strings.TrimSpace(inner) != inner {
		return false // white space other than ASCII around it
	}
	for _, r := range inner {
		if l := unicode.ToLower(r); r >= 0x80 && l != r && unicode.ToUpper(l) != r {
			return false
		}
	}
	return true
}

type principalKey struct{}

// NewContext returns a context carrying the principal.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal carried by ctx, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
