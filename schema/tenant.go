package schema

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxTenantLen is the longest tenant id, in bytes, that NormalizeTenant
// accepts.
const MaxTenantLen = 128

// NormalizeTenant returns t as the collector stores tenant ids: without
// surrounding white space, in lower case and in Unicode's composed form
// (NFC: "café" typed with a combining accent, as macOS and some keyboards
// send it, is the "café" of a precomposed "é"; the two look and mean the
// same, and were two tenants), and without invisible format characters
// (Unicode's Cf: a zero-width space or joiner, a word joiner, a byte order
// mark, a soft hyphen or a left-to-right mark, which chat tools and copying
// bring along, and the bidirectional overrides that would show the id in
// another order than it is stored; "acme" + U+200B looks like "acme" and was
// another tenant). It reports false for a value
// that is empty afterwards, longer than MaxTenantLen bytes (before or after
// lower-casing), not valid UTF-8, or holds control characters (C0, DEL or
// C1, as unicode.IsControl defines them): such a value
// is never a tenant, because partners are scoped by it.
//
// The collector normalizes the tenants it reads from records, and the query
// service the tenant of a partner's token and the tenant filter, with this
// same function, so that a tenant spelled "ACME " by one side finds the
// records the other stored as "acme".
func NormalizeTenant(t string) (string, bool) {
	// The common case in one pass: printable ASCII that starts and ends
	// with a character other than a space. Trimming leaves it as it is
	// (every white space is a space, a control character or non-ASCII),
	// and ASCII is valid UTF-8. Anything else takes the long way.
	if n := len(t); n > 0 && n <= MaxTenantLen && t[0] > ' ' && t[n-1] > ' ' {
		lower := true
		for i := 0; i < n; i++ {
			switch c := t[i]; {
			case c < 0x20 || c >= 0x7f:
				return normalizeTenantSlow(t)
			case c >= 'A' && c <= 'Z':
				lower = false
			}
		}
		if lower {
			return t, true
		}
		return strings.ToLower(t), true
	}
	return normalizeTenantSlow(t)
}

// normalizeTenantSlow is NormalizeTenant for any string, step by step.
func normalizeTenantSlow(t string) (string, bool) {
	t = strings.TrimSpace(t)
	if t == "" || len(t) > MaxTenantLen || !utf8.ValidString(t) || strings.ContainsFunc(t, unicode.IsControl) {
		return "", false
	}
	if strings.ContainsFunc(t, isFormat) {
		// Invisible: white space they separated from the ends is the
		// ends' white space.
		if t = strings.TrimSpace(strings.Map(dropFormat, t)); t == "" {
			return "", false
		}
	}
	lower := true
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c < 0x20 || c == 0x7f {
			return "", false
		}
		if c >= 'A' && c <= 'Z' || c >= 0x80 {
			lower = false
		}
	}
	if lower {
		return t, true
	}
	// Lower case may take more bytes than upper case ("Ⱥ" is 2, "ⱥ" 3),
	// and the composed form than the decomposed one (U+0958 is 3, its
	// canonical form 6): the limit holds for what is stored, so that a
	// stored id normalizes to itself.
	if t = norm.NFC.String(strings.ToLower(t)); len(t) > MaxTenantLen {
		return "", false
	}
	return t, true
}

// isFormat reports whether r is an invisible format character (Unicode's
// general category Cf), which NormalizeTenant removes.
func isFormat(r rune) bool { return unicode.Is(unicode.Cf, r) }

// dropFormat is the strings.Map function that removes format characters.
func dropFormat(r rune) rune {
	if isFormat(r) {
		return -1
	}
	return r
}
