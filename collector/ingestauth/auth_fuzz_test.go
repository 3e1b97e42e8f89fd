package ingestauth

import (
	"context"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/client"
)

// FuzzAuthenticate holds, for any header an OTLP client sends (its name and
// value are the client's to choose), that the guard never panics and lets a
// request in exactly when the header is the authorization header (as HTTP or
// gRPC spells it) holding "Bearer " and a token of the token file, and then
// with that token's tenants: the bound token's, or none for the unbound one.
// The real contrib extension checks the token underneath. The seed corpus is
// in testdata/fuzz/FuzzAuthenticate.
func FuzzAuthenticate(f *testing.F) {
	bound, unbound := token, strings.Repeat("u", 32)
	s, _ := startFile(f, bound+" tenants=acme,bean-there\n"+unbound+"\n")
	want := map[string][]string{"Bearer " + bound: {"acme", "bean-there"}, "Bearer " + unbound: nil}
	f.Fuzz(func(t *testing.T, name, value string) {
		ctx, err := s.Authenticate(context.Background(), map[string][]string{name: {value}})
		tenants, valid := want[value]
		valid = valid && (name == "Authorization" || name == "authorization")
		if err != nil {
			if valid {
				t.Fatalf("%s: %q refused: %v", name, value, err)
			}
			return
		}
		if !valid {
			t.Fatalf("%s: %q let in", name, value)
		}
		auth := client.FromContext(ctx).Auth
		if auth == nil {
			t.Fatal("no client.AuthData in the context")
		}
		got, _ := auth.GetAttribute(TenantsAttribute).([]string)
		if !slices.Equal(got, tenants) {
			t.Fatalf("%q: got tenants %v, want %v", value, got, tenants)
		}
	})
}
