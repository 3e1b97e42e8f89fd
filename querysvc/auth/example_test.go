package auth_test

import (
	"context"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/activitylog/activitylog/querysvc/auth"
)

func Example() {
	secret := []byte("an-hs256-secret-of-at-least-32-bytes")
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	v, err := auth.New(auth.Config{
		HS256Secret: secret, Issuer: "https://idp.example", Audience: "activitylog",
		TenantClaim: "business_id", Now: func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}
	tok, err := auth.Sign(jose.HS256, secret, auth.Token{
		Subject: "u-42", Role: "partner", Tenant: "t-alpha", TenantClaim: "business_id",
		Issuer: "https://idp.example", Audience: "activitylog", IssuedAt: now, Expiry: now.Add(time.Hour),
	})
	if err != nil {
		panic(err)
	}
	p, err := v.Verify(context.Background(), tok)
	fmt.Println(p.Subject, p.Role, p.Tenant, err)

	_, err = v.Verify(context.Background(), "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	fmt.Println(err != nil)
	// Output:
	// u-42 partner t-alpha <nil>
	// true
}
