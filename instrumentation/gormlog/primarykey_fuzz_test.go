package gormlog

import (
	"strings"
	"testing"
)

// FuzzPrimaryKeyText checks that a key of two columns is written as text
// that no other key of two columns shares (rows are paired before and after
// an update, and across a key change, by that text: two keys written alike
// would pair one row's old values with another's new ones), and that the
// text reads back into the key's columns by splitting at "/" and undoing
// the escapes.
func FuzzPrimaryKeyText(f *testing.F) {
	for _, seed := range [][4]string{
		{"a/b", "c", "a", "b/c"},
		{"a%2Fb", "c", "a/b", "c"},
		{"%", "/", "%25", "%2F"},
		{"", "x", "x", ""},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	f.Fuzz(func(t *testing.T, a1, b1, a2, b2 string) {
		t1, t2 := primaryKeyText([]any{a1, b1}), primaryKeyText([]any{a2, b2})
		if (a1 != a2 || b1 != b2) && t1 == t2 && t1 != "" {
			t.Fatalf("keys (%q, %q) and (%q, %q) are both written %q", a1, b1, a2, b2, t1)
		}
		if t1 == "" {
			if a1 != "" || b1 != "" {
				t.Fatalf("key (%q, %q) written empty", a1, b1)
			}
			return
		}
		parts := strings.Split(t1, "/")
		if len(parts) != 2 {
			t.Fatalf("key (%q, %q) written %q: %d parts, want 2", a1, b1, t1, len(parts))
		}
		unescape := strings.NewReplacer("%2F", "/", "%25", "%")
		if got := [2]string{unescape.Replace(parts[0]), unescape.Replace(parts[1])}; got != [2]string{a1, b1} {
			t.Fatalf("key (%q, %q) written %q reads back as %q", a1, b1, t1, got)
		}
	})
}
