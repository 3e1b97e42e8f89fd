package audit

import (
	"strings"
	"testing"

	"github.com/activitylog/activitylog/internal/safetext"
)

// FuzzWriteText: the fast path for printable ASCII writes what
// safetext.Write writes, whatever the text.
func FuzzWriteText(f *testing.F) {
	for _, s := range []string{"Pat Admin", "/v1/analytics/events", "x\ny", "\u202enimda", "Café", "\x7f", "~ !", "\xff", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got, want strings.Builder
		writeText(&got, s)
		safetext.Write(&want, s)
		if got.String() != want.String() {
			t.Fatalf("writeText(%q) = %q, want %q", s, got.String(), want.String())
		}
	})
}
