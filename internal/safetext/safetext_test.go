package safetext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Jane Doe", "Jane Doe"},
		{"O'Brien \"Bean\" Café 山田", "O'Brien \"Bean\" Café 山田"},
		{"x\nAda (Admin) deleted partner 'Acme'", `x\nAda (Admin) deleted partner 'Acme'`},
		{"tab\there\r", `tab\there\r`},
		{"\u202enimda", `\u202enimda`},
		{"a\u2028b\u2029c", `a\u2028b\u2029c`},
		{"esc\x1b[31m", `esc\x1b[31m`},
	} {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzEscape: whatever the input, the output holds no character that
// changes the layout, and input without one comes out as it went in.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"Jane", "x\ny", "\u202e", "\xff", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Escape(s)
		if i := strings.IndexFunc(got, ChangesLayout); i >= 0 {
			t.Fatalf("Escape(%q) = %q: layout character at byte %d", s, got, i)
		}
		if utf8.ValidString(s) && strings.IndexFunc(s, ChangesLayout) < 0 && got != s {
			t.Fatalf("Escape(%q) = %q, want it unchanged", s, got)
		}
	})
}
