package redact

import (
	"strings"
	"unicode/utf8"
)

// ruleBit is the candidate bit of a detector rule.
func ruleBit(r Rule) uint32 { return 1 << r }

// Minimum lengths below which a detector cannot match.
const (
	minJWTLen    = 14 // "eyJ" + 7 + "." + 2 + "."
	minAPIKeyLen = 14 // "SG." or "xoxb-" plus the shortest tail
	minCardLen   = minCardDigits
)

// apiSeparators are the bytes that end most well-known API key prefixes.
const apiSeparators = "_-."

// Byte classes of the candidates pre-filter: each marks a byte, or a pair
// of adjacent bytes, without which some detector cannot match. A class that
// is the second byte of a pair sits one bit above the class of the first, so
// that (previous << 1) & current has the second's bit exactly when the pair
// occurs. A class needed on its own ('A', '@') is the second of a pair whose
// first is a class every byte has (classAny, classAny2), and the pass starts
// as if such a byte came first: the pairs then tell whether the byte occurs
// anywhere, without a second accumulator.
const (
	classDigit   uint32 = 1 << iota // '0'-'9': card numbers (must stay bit 0, it is counted)
	classAuthEnd                    // 'r', 'R', 'c', 'C': the last letter of "bearer", "basic"
	classSpace                      // a schemeSeps byte after classAuthEnd: "Bearer x", "Basic x"
	classY                          // 'y'
	classJ                          // 'J' after 'y': "eyJ"
	classKeyEnd0                    // a byte right before '_' in an API key prefix
	classSep0                       // '_' after classKeyEnd0: the end of an API key prefix
	classKeyEnd1                    // a byte right before '-' in an API key prefix
	classSep1                       // '-' after classKeyEnd1
	classKeyEnd2                    // a byte right before '.' in an API key prefix
	classSep2                       // '.' after classKeyEnd2
	classAny                        // every byte
	classUpperA                     // 'A' (after any byte): AKIA, ASIA, AIza
	classDash                       // '-'
	classDash2                      // '-' after '-': "-----BEGIN"
	classColon                      // ':'
	classSlash                      // '/' after ':': "://"
	classAny2                       // every byte
	classAt                         // '@' (after any byte): user info in a URL
	classAny3                       // every byte
	classEq                         // '=', ':', '%' or '>' (after any byte): a pair's separator (also "%3D", "<password>")
	classColon2                     // ':'
	classBslash                     // '\' after ':': ":\/\/", "://" with its slashes escaped in JSON
	classAny4                       // every byte
	classHigh                       // a byte of a non-ASCII character (after any byte): see nonASCIICandidates
	classAny5                       // every byte
	classPct                        // '%' (after any byte): a percent-encoded URL's scheme separator
)

// digitFlag marks the digits again, at the top bit, where they are
// counted by adding up the classes of a round's eight bytes: their other
// classes (bits 0 to 26) add up to less than 1<<30 and never carry into
// it. It pairs with nothing (shifted up, it leaves the 32 bits).
const digitFlag uint32 = 1 << 31

// classStart is the class of the virtual byte before a string's first.
const classStart = classAny | classAny2 | classAny3 | classAny4 | classAny5

// classKeyEnd and classSep return, for the k-th of apiSeparators, the class
// of the bytes that come before it in an API key prefix and its own class
// (the classes of the three separators follow each other in that order).
func classKeyEnd(k int) uint32 { return classKeyEnd0 << (2 * k) }
func classSep(k int) uint32    { return classSep0 << (2 * k) }

// allSeps has the classes of every separator: apiKeyCandidate then looks
// for every separator.
const allSeps = classSep0 | classSep1 | classSep2

// byteClassTable maps every byte to its classes; most bytes have none. The
// bytes before API key separators come from the prefix table, apiKeyEnds.
func byteClassTable(apiKeyEnds *[len(apiSeparators)][256][]apiKeyEnd) (t [256]uint32) {
	for c := range t {
		t[c] = classStart
	}
	for c := utf8.RuneSelf; c < len(t); c++ {
		t[c] |= classHigh
	}
	// A pair's separators: '=', ':' and '%' ("%3D", percent-encoded), and
	// the end of an XML start tag ("<password>").
	t['='] |= classEq
	t[':'] |= classEq
	t['%'] |= classEq
	t['>'] |= classEq
	for c := '0'; c <= '9'; c++ {
		t[c] |= classDigit | digitFlag
	}
	for _, c := range "rRcC" {
		t[c] |= classAuthEnd
	}
	for _, c := range schemeSeps {
		t[c] |= classSpace
	}
	t['y'] |= classY
	t['J'] |= classJ
	for k := range apiKeyEnds {
		t[apiSeparators[k]] |= classSep(k)
		for before, group := range apiKeyEnds[k] {
			if len(group) > 0 {
				t[before] |= classKeyEnd(k)
			}
		}
	}
	t['A'] |= classUpperA
	t['-'] |= classDash | classDash2
	t[':'] |= classColon | classColon2
	t['\\'] |= classBslash
	t['/'] |= classSlash
	t['@'] |= classAt
	t['%'] |= classPct
	return t
}

// candidates returns a bit set of the detectors worth running on s. One
// pass over the bytes collects which byte classes and which pairs of
// adjacent classes occur, and counts the digits; a detector's own, narrower
// check then runs only when the bytes it needs are present. Each of those
// checks is exactly the condition it guards (a vectorised standard-library
// search or a short loop over the few places where a secret could start),
// so the result equals running them all, which candidatesReference in the
// tests does; a value in which nothing can match costs one pass and no
// allocation.
func (r *Redactor) candidates(s string) uint32 {
	t := &r.byteClass
	var pairs uint32
	prev := classStart
	digits := 0
	// Eight bytes a round: fewer loop steps, and the lookups overlap. The
	// digits are counted by adding up the eight classes (see digitFlag),
	// in 64 bits: no separate pass over the word, whose constants the
	// compiler would have to load again every round. Each half is done
	// with before the next is loaded: with all eight classes at once the
	// loop runs out of registers and stores and reloads its variables.
	i := 0
	for ; i+8 <= len(s); i += 8 {
		b := s[i : i+8]
		c0, c1, c2, c3 := t[b[0]], t[b[1]], t[b[2]], t[b[3]]
		pairs |= prev<<1&c0 | c0<<1&c1 | c1<<1&c2 | c2<<1&c3
		sum := uint64(c0) + uint64(c1) + uint64(c2) + uint64(c3)
		c4, c5, c6, c7 := t[b[4]], t[b[5]], t[b[6]], t[b[7]]
		pairs |= c3<<1&c4 | c4<<1&c5 | c5<<1&c6 | c6<<1&c7
		sum += uint64(c4) + uint64(c5) + uint64(c6) + uint64(c7)
		digits += int(sum >> 31)
		prev = c7
	}
	for ; i < len(s); i++ {
		c := t[s[i]]
		pairs |= prev << 1 & c
		digits += int(c & classDigit)
		prev = c
	}
	var m uint32
	n := len(s)
	if pairs&classJ != 0 && n >= minJWTLen && strings.Contains(s, "eyJ") {
		m |= ruleBit(RuleJWT)
	}
	if pairs&classSpace != 0 {
		m |= authSchemeCandidates(s)
	}
	if pairs&classDash2 != 0 && strings.Contains(s, "-----BEGIN") {
		m |= ruleBit(RulePrivateKey)
	}
	if pairs&(allSeps|classUpperA) != 0 && n >= minAPIKeyLen && r.apiKeyCandidate(s, pairs) {
		m |= ruleBit(RuleAPIKey)
	}
	if pairs&classAt != 0 && (pairs&(classSlash|classBslash) != 0 && hasSchemeSep(s) || strings.Contains(s, "//")) ||
		pairs&classPct != 0 && hasEncodedSchemeSep(s) {
		m |= ruleBit(RuleURLCredentials)
	}
	if pairs&classEq != 0 && n >= minKeyValueLen {
		m |= ruleBit(RuleKeyValue)
	}
	if pairs&classDash2 != 0 {
		m |= candFlag
	}
	if digits >= minCardDigits {
		m |= ruleBit(RuleCard)
	}
	if pairs&classHigh != 0 {
		m |= nonASCIICandidates(s, digits)
	}
	return m
}

// candPlain is the candidates bit of a string with an invisible character
// (see zeroWidthLen) or a full-width separator, quote or space (see
// widthTrigger) in it: the detectors then also read its plain form (see
// plainText). It is above every rule's bit.
const candPlain uint32 = 1 << 31

// candFlag is the candidates bit of a string with "--" in it: the flag
// finder (see findFlagValue), which counts under the key_value rule, then
// runs.
const candFlag uint32 = 1 << 30

// nonASCIICandidates returns what only non-ASCII characters can add to
// the candidates of s, which has asciiDigits ASCII digits: the card
// detector's bit when other scripts' decimal digits (full-width, Arabic-Indic...)
// make up the count, and candPlain. It is called only for strings with a
// non-ASCII byte, and reads only their lead bytes.
func nonASCIICandidates(s string, asciiDigits int) uint32 {
	var m uint32
	digits := asciiDigits
	for i := 0; i < len(s); i++ {
		if s[i] < 0xc2 {
			continue // ASCII, a continuation byte or never a lead byte
		}
		if zeroWidthLen(s, i) > 0 || widthTrigger(s, i) {
			m |= candPlain
		}
		if digits < minCardDigits && isDigitAt(s, i) {
			digits++
		}
		if m&candPlain != 0 && digits >= minCardDigits {
			break
		}
	}
	if digits >= minCardDigits {
		m |= ruleBit(RuleCard)
	}
	return m
}

// zeroWidthLen returns the length of the invisible character at byte i of
// s, or 0: a zero-width space, non-joiner or joiner, a left-to-right or
// right-to-left mark, a word joiner, a zero-width no-break space (U+FEFF)
// or a soft hyphen. Chat tools put them into long words so they can wrap,
// and they come along when a token is copied from there or from a
// hyphenated page; inside a secret they would hide it from the detectors.
func zeroWidthLen(s string, i int) int {
	switch s[i] {
	case 0xc2: // U+00AD soft hyphen
		if i+1 < len(s) && s[i+1] == 0xad {
			return 2
		}
	case 0xe2: // U+200B – U+200F, U+2060
		if i+2 < len(s) && (s[i+1] == 0x80 && s[i+2] >= 0x8b && s[i+2] <= 0x8f || s[i+1] == 0x81 && s[i+2] == 0xa0) {
			return 3
		}
	case 0xef: // U+FEFF
		if i+2 < len(s) && s[i+1] == 0xbb && s[i+2] == 0xbf {
			return 3
		}
	}
	return 0
}

// widthTrigger reports whether the character at byte i of s is one that
// hides a pair or an authorization scheme from the detectors, which know
// only ASCII punctuation: the ideographic space (U+3000) and the full-width
// quotation mark, apostrophe, colon and equals sign (U+FF02, U+FF07,
// U+FF1A, U+FF1D), as a Japanese or Chinese IME types them ("password＝...",
// "Bearer　..."). Other full-width characters alone hide nothing: names are
// read in their compatibility form (see normalize) and digits in any script
// (see digitAt).
func widthTrigger(s string, i int) bool {
	if i+2 >= len(s) {
		return false
	}
	switch s[i] {
	case 0xe3:
		return s[i+1] == 0x80 && s[i+2] == 0x80
	case 0xef:
		if s[i+1] != 0xbc {
			return false
		}
		switch s[i+2] {
		case 0x82, 0x87, 0x9a, 0x9d:
			return true
		}
	}
	return false
}

// foldWidth returns the ASCII form of the full-width character (U+FF01 –
// U+FF5E) or ideographic space at byte i of s, or 0. Each is three bytes
// long.
func foldWidth(s string, i int) byte {
	if i+2 >= len(s) {
		return 0
	}
	switch {
	case s[i] == 0xe3 && s[i+1] == 0x80 && s[i+2] == 0x80:
		return ' '
	case s[i] == 0xef && s[i+1] == 0xbc && s[i+2] >= 0x81 && s[i+2] <= 0xbf:
		return 0x21 + s[i+2] - 0x81 // U+FF01 – U+FF3F: '!' – '_'
	case s[i] == 0xef && s[i+1] == 0xbd && s[i+2] >= 0x80 && s[i+2] <= 0x9e:
		return 0x60 + s[i+2] - 0x80 // U+FF40 – U+FF5E: '`' – '~'
	}
	return 0
}

// plainText returns the plain form of s, what the detectors read a second
// time when candPlain is set: s without its invisible characters (see
// zeroWidthLen), its full-width characters and ideographic spaces as their
// ASCII forms (see foldWidth), and a full-width colon as ": ", since it
// separates a pair without white space after it (no code or clock time is
// written with one, and CJK text puts no space after it). It also returns,
// for each byte of the result and one past its end, the offset in s it came
// from; see plainEnd.
func plainText(s string) (string, []int) {
	var b strings.Builder
	b.Grow(len(s))
	pos := make([]int, 0, len(s)+1)
	for i := 0; i < len(s); {
		if n := zeroWidthLen(s, i); n > 0 {
			i += n
			continue
		}
		if c := foldWidth(s, i); c != 0 {
			b.WriteByte(c)
			pos = append(pos, i)
			if c == ':' {
				b.WriteByte(' ')
				pos = append(pos, i)
			}
			i += 3
			continue
		}
		b.WriteByte(s[i])
		pos = append(pos, i)
		i++
	}
	return b.String(), append(pos, len(s))
}

// plainEnd returns the offset in s of the end of a span of plain (see
// plainText) that ends at byte k > 0: just after the character its last
// byte came from, three bytes long when that byte was folded.
func plainEnd(s, plain string, pos []int, k int) int {
	p := pos[k-1]
	if plain[k-1] != s[p] {
		return p + 3
	}
	return p + 1
}

// schemeSeps are the bytes that may follow an authorization scheme: the
// white space schemeSpace takes, and the first byte of a no-break space.
var schemeSeps = [...]byte{' ', '\t', '\r', '\n', nbsp[0]}

// authSchemeCandidates returns the bits of the bearer and basic detectors
// when "bearer" or "basic" (any case) stands right before a byte of
// schemeSeps.
func authSchemeCandidates(s string) uint32 {
	var m uint32
	for _, sep := range schemeSeps {
		for from := 0; from < len(s); {
			j := strings.IndexByte(s[from:], sep)
			if j < 0 {
				break
			}
			j += from
			if j >= 6 && foldEqual(s[j-6:j], "bearer") {
				m |= ruleBit(RuleBearer)
			}
			if j >= 5 && foldEqual(s[j-5:j], "basic") {
				m |= ruleBit(RuleBasic)
			}
			from = j + 1
		}
	}
	return m
}

func foldEqual(s, lower string) bool {
	for i := 0; i < len(lower); i++ {
		if s[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// apiKeyCandidate reports whether s may hold a well-known API key: a known
// prefix ends at one of its separators, or an AWS or Google key starts at
// one of its capital 'A's. Only the separators whose class is in pairs are
// looked for (each must follow a byte that ends some prefix with it), and
// the 'A's only when classUpperA is.
func (r *Redactor) apiKeyCandidate(s string, pairs uint32) bool {
	for k := 0; k < len(apiSeparators); k++ {
		if pairs&classSep(k) == 0 {
			continue
		}
		sep := apiSeparators[k]
		ends := &r.apiKeyEnds[k]
		for from := 0; ; {
			j := strings.IndexByte(s[from:], sep)
			if j < 0 {
				break
			}
			j += from
			if j > 0 {
				for _, p := range ends[s[j-1]] {
					if j >= p.sepAt && strings.HasPrefix(s[j-p.sepAt:], p.prefix) {
						return true
					}
				}
			}
			from = j + 1
		}
	}
	if pairs&classUpperA == 0 {
		return false
	}
	for from := 0; ; {
		j := strings.IndexByte(s[from:], 'A')
		if j < 0 {
			return false
		}
		j += from
		if j+4 <= len(s) {
			switch s[j : j+4] {
			case "AKIA", "ASIA", "AIza":
				return true
			}
		}
		from = j + 1
	}
}

// apiKeyEnd is a prefix as apiKeyCandidate looks it up: by its last
// separator, at byte sepAt of it.
type apiKeyEnd struct {
	apiKeyPrefix
	sepAt int
}

// apiKeyEndTable groups the prefixes that end with each separator by the
// byte before the separator.
func apiKeyEndTable(byFirst *[256][]apiKeyPrefix) [len(apiSeparators)][256][]apiKeyEnd {
	var t [len(apiSeparators)][256][]apiKeyEnd
	for _, group := range byFirst {
		for _, p := range group {
			// The last separator of the prefix: its last byte, but for
			// Slack's webhook host ("hooks.slack.com/services/").
			at := strings.LastIndexAny(p.prefix, apiSeparators)
			if at < 1 {
				continue // AKIA, ASIA, AIza: found by their 'A'
			}
			k := strings.IndexByte(apiSeparators, p.prefix[at])
			before := p.prefix[at-1]
			t[k][before] = append(t[k][before], apiKeyEnd{apiKeyPrefix: p, sepAt: at})
		}
	}
	return t
}
