package activityprocessor

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/activitylog/activitylog/processor/activityprocessor/internal/redact"
)

// validIDReference is validID as first written, byte by byte.
func validIDReference(id string) bool {
	if id == "" || len(id) > maxIDLen || strings.Contains(id, redact.Mask) || !utf8.ValidString(id) {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] == 0x7f {
			return false
		}
	}
	return true
}

func validIDSeeds() []string {
	return []string{
		"", "a", "0199a0e4-0001-7aaa-8bbb-000000000001", "id with spaces ok", "tab\there", "0123456\x1f",
		"01234567\x7f", "\x7f", "\x80\xff\x7e\x20 héllo wörld", "0123456789abcdef\x00", "\x1f0123456789abcdef",
		strings.Repeat("x", maxIDLen), strings.Repeat("x", maxIDLen+1), "\x21\x20\x1f\x7e\x7f\x80\x9f\xa0",
		"\xff", "\xfe", strings.Repeat("\xff", 200), "0123456789abcdef\xe2\x82", "héllo wörld 12345", "[REDACTED]",
		"Bearer [REDACTED]", "id-[REDACTED]-tail", "[REDACTE]",
	}
}

func TestValidID(t *testing.T) {
	for _, id := range validIDSeeds() {
		if got, want := validID(id), validIDReference(id); got != want {
			t.Errorf("validID(%q): got %v, want %v", id, got, want)
		}
	}
}

// FuzzValidID holds validID, which checks eight bytes at a time, to
// validIDReference.
func FuzzValidID(f *testing.F) {
	for _, id := range validIDSeeds() {
		f.Add(id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if got, want := validID(id), validIDReference(id); got != want {
			t.Errorf("validID(%q): got %v, want %v", id, got, want)
		}
	})
}
