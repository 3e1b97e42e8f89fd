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
		// Unicode lower-cases these to another character's small letter:
		// "kroger" and "\u03c9mega" are other businesses.
		{"partner of a Kelvin sign", Principal{Role: RolePartner, Tenant: "\u212Aroger"}, "", CodeForbidden},
		{"partner of a dotted capital I", Principal{Role: RolePartner, Tenant: "\u0130bm"}, "", CodeForbidden},
		{"partner of an Ohm sign", Principal{Role: RolePartner, Tenant: "\u2126mega"}, "", CodeForbidden},
		{"partner of a no-break space", Principal{Role: RolePartner, Tenant: "kroger\u00a0"}, "", CodeForbidden},
		{"partner of an ideographic space", Principal{Role: RolePartner, Tenant: "\u3000kroger"}, "", CodeForbidden},
		// The collector drops invisible characters and composes accents;
		// an identity provider tells these apart from "acme" and "café",
		// other businesses.
		{"partner of a zero-width space", Principal{Role: RolePartner, Tenant: "acme\u200b"}, "", CodeForbidden},
		{"partner of a soft hyphen", Principal{Role: RolePartner, Tenant: "ac\u00adme"}, "", CodeForbidden},
		{"partner of a combining accent", Principal{Role: RolePartner, Tenant: "cafe\u0301"}, "", CodeForbidden},
		{"partner of a composed accent", Principal{Role: RolePartner, Tenant: "caf\u00e9"}, "caf\u00e9", ""},
		// Case other than ASCII folds as the collector folds it.
		{"partner of a capital A umlaut", Principal{Role: RolePartner, Tenant: " \u00c4CME"}, "\u00e4cme", ""},
		{"partner of a capital omega", Principal{Role: RolePartner, Tenant: "\u03a9MEGA"}, "\u03c9mega", ""},
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
