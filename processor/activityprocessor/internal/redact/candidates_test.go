package redact

import (
	"strings"
	"testing"
)

func TestCountDigits(t *testing.T) {
	for _, s := range []string{"", "0", "abc", "0123456789", "a1b2c3d4e5f6g7h8i9", "\xff0\x809/:", strings.Repeat("9\xb9", 20)} {
		want := 0
		for i := 0; i < len(s); i++ {
			if s[i] >= '0' && s[i] <= '9' {
				want++
			}
		}
		if got := countDigits(s); got != want {
			t.Errorf("countDigits(%q): got %d, want %d", s, got, want)
		}
	}
}

func FuzzCountDigits(f *testing.F) {
	f.Add("a1b2c3d4e5f6g7h8i9\xff\x80")
	f.Fuzz(func(t *testing.T, s string) {
		want := 0
		for i := 0; i < len(s); i++ {
			if s[i] >= '0' && s[i] <= '9' {
				want++
			}
		}
		if got := countDigits(s); got != want {
			t.Errorf("countDigits(%q): got %d, want %d", s, got, want)
		}
	})
}
