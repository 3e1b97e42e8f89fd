package schema

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestNormalizeTenant(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"acme", "acme", true},
		{"  ACME Coffee ", "acme coffee", true},
		{"", "", false},
		{"   ", "", false},
		{"a\nb", "", false},
		// C1 control characters are control characters too: the query
		// service refuses them in a tenant filter, so a tenant holding one
		// could be stored but never asked for by an admin.
		{"ac\u0085me", "", false},
		{"acme\u009b", "", false},
		{"\xff", "", false},
		{strings.Repeat("a", MaxTenantLen), strings.Repeat("a", MaxTenantLen), true},
		{strings.Repeat("a", MaxTenantLen+1), "", false},
		{"Ünïcode", "ünïcode", true},
		// Canonically equivalent spellings are one tenant: a combining
		// accent composes with its letter, before and after lower-casing.
		{"Cafe\u0301", "caf\u00e9", true},
		{"CAF\u00c9", "caf\u00e9", true},
		{"CAFE\u0301", "caf\u00e9", true},
		// Invisible format characters are no part of a tenant: a zero-width
		// space after it, a soft hyphen or a joiner inside, a byte order mark
		// before the white space, a right-to-left override.
		{"acme\u200b", "acme", true},
		{"ac\u00adme", "acme", true},
		{"ac\u200dme", "acme", true},
		{"\ufeff ACME ", "acme", true},
		{"\u202eemca", "emca", true},
		{"\u200b\u2060", "", false},
		{" Unknown ", TenantUnknown, true},
	}
	for _, tt := range tests {
		got, ok := NormalizeTenant(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeTenant(%q): got %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzNormalizeTenant(f *testing.F) {
	f.Add("  ACME ")
	f.Add("a\x00b")
	f.Add("\xff")
	f.Add(strings.Repeat("\u023a", MaxTenantLen/2)) // 128 bytes, 192 once lower-cased
	f.Add(" \u200b Acme\u00ad\u202e ")
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := NormalizeTenant(s)
		if !ok {
			if n != "" {
				t.Errorf("rejected %q but returned %q", s, n)
			}
			return
		}
		if n == "" || len(n) > MaxTenantLen || !utf8.ValidString(n) || n != strings.TrimSpace(n) || strings.ContainsFunc(n, unicode.IsControl) ||
			strings.ContainsFunc(n, isFormat) {
			t.Errorf("NormalizeTenant(%q) = %q: want trimmed, valid, non-empty, without format characters", s, n)
		}
		if again, _ := NormalizeTenant(n); again != n {
			t.Errorf("NormalizeTenant is not idempotent: %q -> %q -> %q", s, n, again)
		}
	})
}

// FuzzNormalizeTenantFastPath holds NormalizeTenant's one-pass path to
// normalizeTenantSlow, which follows the definition step by step.
func FuzzNormalizeTenantFastPath(f *testing.F) {
	for _, s := range []string{"acme", "ACME", " acme", "acme ", "a\tb", "a\x7fb", "caf\u00e9", "\u00a0acme", "a\u2028", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, gotOK := NormalizeTenant(s)
		want, wantOK := normalizeTenantSlow(s)
		if got != want || gotOK != wantOK {
			t.Errorf("NormalizeTenant(%q) = %q, %v; want %q, %v", s, got, gotOK, want, wantOK)
		}
	})
}
