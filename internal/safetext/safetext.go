// Package safetext writes text a user chose (a name typed at a login form, a
// token's display name) into a plain-English description so that it cannot
// change how the description reads: control characters, line and paragraph
// separators and bidirectional formatting characters are written as Go
// escapes (\n, \u202e). Otherwise "Pat\nAdmin (Admin) deleted partner 'Acme'"
// would read as two records, and a right-to-left override would display the
// text in another order than it was typed. Other text, quotes and non-Latin
// scripts included, is written as it is.
package safetext

import (
	"strconv"
	"strings"
	"unicode"
)

// Write writes s to b, escaped as the package says.
func Write(b *strings.Builder, s string) {
	if strings.IndexFunc(s, ChangesLayout) < 0 {
		b.WriteString(s)
		return
	}
	for _, r := range s {
		if !ChangesLayout(r) {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRuneToASCII(r)
		b.WriteString(q[1 : len(q)-1])
	}
}

// Escape returns s escaped as the package says; s itself when nothing needs
// escaping.
func Escape(s string) string {
	if strings.IndexFunc(s, ChangesLayout) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	Write(&b, s)
	return b.String()
}

// ChangesLayout reports whether r changes how the text around it is laid
// out: what Write escapes.
func ChangesLayout(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp, unicode.Bidi_Control)
}
