package tenant

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzNormalize(f *testing.F) {
	f.Add("  ACME ")
	f.Add("a\x00b")
	f.Add("\xff")
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := Normalize(s)
		if !ok {
			if n != "" {
				t.Errorf("rejected %q but returned %q", s, n)
			}
			return
		}
		if n == "" || len(n) > MaxLen*2 || !utf8.ValidString(n) || n != strings.TrimSpace(n) {
			t.Errorf("Normalize(%q) = %q: want trimmed, valid, non-empty", s, n)
		}
		if again, _ := Normalize(n); again != n {
			t.Errorf("Normalize is not idempotent: %q -> %q -> %q", s, n, again)
		}
	})
}
