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

// FuzzNormalizeFastPath holds Normalize's one-pass path to normalizeSlow,
// which follows the definition step by step.
func FuzzNormalizeFastPath(f *testing.F) {
	for _, s := range []string{"acme", "ACME", " acme", "acme ", "a\tb", "a\x7fb", "caf\u00e9", "\u00a0acme", "a\u2028", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, gotOK := Normalize(s)
		want, wantOK := normalizeSlow(s)
		if got != want || gotOK != wantOK {
			t.Errorf("Normalize(%q) = %q, %v; want %q, %v", s, got, gotOK, want, wantOK)
		}
	})
}
