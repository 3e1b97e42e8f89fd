package querysvc

import (
	"context"

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
// collector stores tenants (schema.NormalizeTenant). A partner gets an error
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
		t, ok := schema.NormalizeTenant(p.Tenant)
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
