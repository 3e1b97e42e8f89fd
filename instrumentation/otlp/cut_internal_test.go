package otlp

import (
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
)

// TestCutValue: strings are cut to the limit in characters at any depth of a
// body, byte slices to the limit in bytes, and a value with nothing to cut
// comes back as it was.
func TestCutValue(t *testing.T) {
	long := strings.Repeat("ab", 10)
	tests := []struct {
		name string
		in   attribute.Value
		want attribute.Value
		cut  bool
	}{
		{"short string", attribute.StringValue("abc"), attribute.StringValue("abc"), false},
		{"string", attribute.StringValue(long), attribute.StringValue("ababa"), true},
		{"characters, not bytes", attribute.StringValue("ééééééé"), attribute.StringValue("ééééé"), true},
		{"string slice", attribute.StringSliceValue([]string{"x", long}), attribute.StringSliceValue([]string{"x", "ababa"}), true},
		{"bytes", attribute.ByteSliceValue([]byte(long)), attribute.ByteSliceValue([]byte("ababa")), true},
		{"nested", attribute.MapValue(attribute.String("a", "ok"),
			attribute.Slice("b", attribute.IntValue(1), attribute.MapValue(attribute.String("c", long)))),
			attribute.MapValue(attribute.String("a", "ok"),
				attribute.Slice("b", attribute.IntValue(1), attribute.MapValue(attribute.String("c", "ababa")))), true},
		{"nothing to cut", attribute.MapValue(attribute.String("a", "ok"), attribute.Int("n", 7)),
			attribute.MapValue(attribute.String("a", "ok"), attribute.Int("n", 7)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, cut := cutValue(tt.in, 5)
			if cut != tt.cut || got.Emit() != tt.want.Emit() || got.Type() != tt.want.Type() {
				t.Errorf("got %s (cut %t), want %s (cut %t)", got.Emit(), cut, tt.want.Emit(), tt.cut)
			}
		})
	}
}

// FuzzCutString: whatever the text, the cut is a prefix of it of at most
// limit characters, whole when it had no more, and valid UTF-8 when the text
// was: the body is any text a caller passes.
func FuzzCutString(f *testing.F) {
	f.Add("Jane Doe (Partner) updated reward 'Free coffee'", 10)
	f.Add("ééé\xff\xfeabc", 4)
	f.Add("", 0)
	f.Fuzz(func(t *testing.T, s string, limit int) {
		limit = min(max(limit, 0), 1<<16)
		got, cut := cutString(s, limit)
		if !strings.HasPrefix(s, got) {
			t.Fatalf("cutString(%q, %d) = %q, not a prefix", s, limit, got)
		}
		n := utf8.RuneCountInString(got)
		if n > limit {
			t.Fatalf("cutString(%q, %d) = %q: %d characters", s, limit, got, n)
		}
		if cut == (got == s) {
			t.Fatalf("cutString(%q, %d) = %q, cut %t", s, limit, got, cut)
		}
		if !cut && utf8.RuneCountInString(s) > limit {
			t.Fatalf("cutString(%q, %d): %d characters left whole", s, limit, utf8.RuneCountInString(s))
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("cutString(%q, %d) = %q, not valid UTF-8", s, limit, got)
		}
	})
}
