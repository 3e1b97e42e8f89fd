package querysvc_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/activitylog/activitylog/querysvc"
)

func ExamplePrincipal_Scope() {
	for _, p := range []querysvc.Principal{
		{Subject: "a", Role: querysvc.RoleAdmin},
		{Subject: "p", Role: querysvc.RolePartner, Tenant: "t-alpha"},
		{Subject: "s", Role: querysvc.RoleStaff, Tenant: "t-alpha"},
	} {
		tenant, err := p.Scope()
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s: %q %s", p.Role, tenant, querysvc.ErrorCode(err))))
	}
	ctx := querysvc.NewContext(context.Background(), querysvc.Principal{Subject: "p", Role: querysvc.RolePartner, Tenant: "t-alpha"})
	p, _ := querysvc.FromContext(ctx)
	fmt.Println(p.Tenant)
	// Output:
	// admin: ""
	// partner: "t-alpha"
	// staff: "" forbidden
	// t-alpha
}
