package querysvc

import (
	"strings"
	"testing"
)

func TestScope(t *testing.T) {
	tests := []struct {
		name       string
		p          Principal
		want, code string
	}{
		{"admin", Principal{Role: RoleAdmin, Tenant: "t-1"}, "", ""},
		{"partner", Principal{Role: RolePartner, Tenant: "t-1"}, "t-1", ""},
		{"partner, normalized", Principal{Role: RolePartner, Tenant: " T-1 "}, "t-1", ""},
		{"partner without tenant", Principal{Role: RolePartner}, "", CodeForbidden},
		{"partner with an invalid tenant", Principal{Role: RolePartner, Tenant: "t\x001"}, "", CodeForbidden},
		{"partner with a blank tenant", Principal{Role: RolePartner, Tenant: " \t"}, "", CodeForbidden},
		// The collector's tag for records without a tenant: any business's.
		{"partner of the reserved tenant", Principal{Role: RolePartner, Tenant: "unknown"}, "", CodeForbidden},
		{"partner of the reserved tenant, cased", Principal{Role: RolePartner, Tenant: " UNKNOWN"}, "", CodeForbidden},
		{"staff", Principal{Role: RoleStaff, Tenant: "t-1"}, "", CodeForbidden},
		{"customer", Principal{Role: RoleCustomer, Tenant: "t-1"}, "", CodeForbidden},
		{"no role", Principal{Tenant: "t-1"}, "", CodeForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.Scope()
			if got != tt.want || ErrorCode(err) != tt.code {
				t.Errorf("got %q, %v, want %q, code %q", got, err, tt.want, tt.code)
			}
			if err != nil && strings.Contains(tt.name, "reserved") && !strings.Contains(err.Error(), "reserved") {
				t.Errorf("got %v, want a message saying the tenant is reserved", err)
			}
		})
	}
}
