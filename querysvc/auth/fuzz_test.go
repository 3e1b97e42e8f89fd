package auth_test

import (
	"context"
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
