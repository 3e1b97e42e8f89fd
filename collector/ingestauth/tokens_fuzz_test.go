package ingestauth

import (
	"bufio"
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/activitylog/activitylog/schema"
)

// FuzzParseTokens holds, for any token file, that parsing never panics, and
// that when it succeeds, the map it gives agrees with the file line by line:
// every token of MinTokenLength or more is in it (so the guard never refuses
// a token the contrib extension takes, nor lets one in unbound that a line
// binds), no shorter one is, nor a comment's first word, and a bound token's tenants are exactly the
// normalized ids its line lists, sorted and without repeats, never the
// reserved "unknown". The seed corpus is in testdata/fuzz/FuzzParseTokens.
func FuzzParseTokens(f *testing.F) {
	for _, s := range []string{
		token + "\n",
		token + " tenants=acme,bean-there\n" + token + "x\n",
		token + " tenants=Acme,acme comment\n",
		token + " note tenants=acme\n",
		token + " tenants=\n",
		token + " tenants=acme,,bean\n",
		token + " tenants=unknown\n",
		token + " tenants=acme\n" + token + " tenants=bean\n",
		"\n\t \r\nshort tenants=acme\n",
		token + "\u00a0tenants=acme\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		bound, err := parseTokens("tokens", data)
		if err != nil {
			if bound != nil {
				t.Fatalf("got tokens %v with error %v, want none", bound, err)
			}
			return
		}
		want := map[string]bool{}
		s := bufio.NewScanner(bytes.NewReader(data))
		for s.Scan() {
			w := strings.Fields(s.Text())
			if len(w) == 0 {
				continue
			}
			if len(w[0]) < MinTokenLength || strings.HasPrefix(w[0], "#") {
				if _, ok := bound[w[0]]; ok && !want[w[0]] {
					t.Fatalf("short token %q in %v", w[0], bound)
				}
				continue
			}
			want[w[0]] = true
			tenants, ok := bound[w[0]]
			if !ok {
				t.Fatalf("token %q of line %q missing from %v", w[0], s.Text(), bound)
			}
			var listed []string
			if len(w) > 1 {
				if list, ok := strings.CutPrefix(w[1], tenantsPrefix); ok {
					for _, raw := range strings.Split(list, ",") {
						id, ok := schema.NormalizeTenant(raw)
						if !ok || id == schema.TenantUnknown {
							t.Fatalf("line %q parsed, with an invalid tenant %q", s.Text(), raw)
						}
						if !slices.Contains(listed, id) {
							listed = append(listed, id)
						}
					}
				}
			}
			slices.Sort(listed)
			if !slices.Equal(tenants, listed) {
				t.Fatalf("token of line %q bound to %q, want %q", s.Text(), tenants, listed)
			}
		}
		if len(bound) != len(want) {
			t.Fatalf("got %d tokens %v, want the %d of the file", len(bound), bound, len(want))
		}
	})
}
