package redact

import (
	"math/bits"
	"regexp"
	"strings"
	"testing"
	"unicode"
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

// candidatesReference is the pre-filter as it was before the single pass:
// every detector's condition checked on its own. candidates must return
// exactly the same bits.
func (r *Redactor) candidatesReference(s string) uint32 {
	var m uint32
	n := len(s)
	if n >= minJWTLen && strings.Contains(s, "eyJ") {
		m |= ruleBit(RuleJWT)
	}
	m |= authSchemeCandidates(s)
	if strings.Contains(s, "-----BEGIN") {
		m |= ruleBit(RulePrivateKey)
	}
	if n >= minAPIKeyLen && r.apiKeyCandidate(s, allSeps|classUpperA) {
		m |= ruleBit(RuleAPIKey)
	}
	if (strings.Contains(s, "://") || strings.Contains(s, `:\/\/`) || strings.Contains(s, "//")) && strings.IndexByte(s, '@') >= 0 ||
		encodedSchemeSepRef.MatchString(s) {
		m |= ruleBit(RuleURLCredentials)
	}
	if n >= minKeyValueLen && strings.IndexAny(s, "=:%>") >= 0 {
		m |= ruleBit(RuleKeyValue)
	}
	if strings.Contains(s, "--") {
		m |= candFlag
	}
	if n >= minCardLen && countDigits(s)+countOtherDigits(s) >= minCardDigits {
		m |= ruleBit(RuleCard)
	}
	if strings.ContainsAny(s, "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad\u3000＂＇：＝") {
		m |= candPlain
	}
	return m
}

// encodedSchemeSepRef is a percent-encoded scheme separator: an encoded
// ':' and two slashes, raw or encoded, each escape encoded once or more.
var encodedSchemeSepRef = regexp.MustCompile(`%(25)*3[aA](/|%(25)*2[fF]){2}`)

// countOtherDigits counts the decimal digits of s that are not ASCII.
func countOtherDigits(s string) int {
	n := 0
	for _, r := range s {
		if r > unicode.MaxASCII && unicode.IsDigit(r) {
			n++
		}
	}
	return n
}

// candidateSeeds are strings on either side of every pre-filter condition.
func candidateSeeds() []string {
	seeds := []string{
		"", "a", "eyJ", "xxxxxxxxxxxeyJ", "xxxxxxxxxxeyJ", "eyJhbGciOiJIUzI1NiJ9.e30.",
		"Bearer abc", "x bearer\tabc", "BASIC dXNlcjpw", "basic", "bearer",
		"-----BEGIN", "----BEGIN", "-----BEGIN PRIVATE KEY-----",
		"-", "--", "a-b", "x --password y", "-\t-",
		"sk_live_0123456789", "sk_live_01234", "xoxb-0123456789", "SG.0123456789ab", "AKIA0123456789AB", "AIza",
		"zzzzzzzzzzAIza", "https://a:b@c", "https://abc", "a@b", ":// @", "://@", "//a:b@c", "a/ /@", "@//",
		"4111 1111 1111 1111", "123456789012", "1234567890123", "rw_100123", "req-0001ab3f",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15",
		"Jane Doe (Partner) updated reward 'Free coffee with any pastry' (rw_100123)",
		"\xff\x00\t\n-_.A@:J", "0199a0e4-0001-7aaa-8bbb-000000000001",
		// 'A' and '@' first, where no byte comes before them; lengths
		// around the pass's four-byte rounds.
		"@x://a:b@c", "AKIA0123456789ABCDEF", "A", "@", "ab", "abc", "12345678901234",
		"=", "a=", "a=b", "==", "=ab", "?password=x&y=1", ":", "a:", "a: b", "%", "a%3Db",
		`mysql:\/\/app:pw@db`, `:\/@`, `:\@`, `\/\/@:`,
		// Percent-encoded scheme separators, also cut short or encoded twice.
		"https%3A%2F%2Fu%3Ap%40h", "%3a//", "%3A%2F", "%3A%2", "%253A%252F%252F", "%25253a/%2f", "%3B%2F%2F", "%%3A//",
		// Prefixes whose separator is not their last byte, or that need a marker.
		"hooks.slack.com/services/T0/B0/abc", "slack.com/", "k.", "task-0123456789", "sk-T3BlbkFJ0123",
		"ya29.0123456789", "GOCSPX-0123456789", "sk-None-0123456789",
		// Other scripts' digits and invisible characters, also cut short.
		"４１１１ １１１１ １１１１ １１１１", "4111 1111 1111 １", "411111111111 １", "٤١١١١١١١١١١١١", "\xef\xbc", "\xef\xbc\x91",
		"ey\u200bJhbGciOiJ9", "a\u00adb", "password＝x", "a：b", "\u3000", "＂", "＇", "＞", "\xef\xbc\x9d", "\xef\xbc\x9a"[:2], "\xe3\x80", "\xe2\x80", "\xe2\x80\x8b", "\ufeff", "\u200a", "José Müller 東京",
	}
	return seeds
}

func TestCandidatesMatchReference(t *testing.T) {
	r := mustNew(t, testConfig())
	for _, s := range candidateSeeds() {
		if got, want := r.candidates(s), r.candidatesReference(s); got != want {
			t.Errorf("candidates(%q): got %b, want %b", s, got, want)
		}
	}
}

// FuzzCandidates is the differential test of the single-pass pre-filter:
// it must agree with candidatesReference on every input.
func FuzzCandidates(f *testing.F) {
	for _, s := range candidateSeeds() {
		f.Add(s)
	}
	r := mustNew(f, testConfig())
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := r.candidates(s), r.candidatesReference(s); got != want {
			t.Errorf("candidates(%q): got %b, want %b", s, got, want)
		}
	})
}

// countDigits counts the ASCII digits of s, eight bytes at a time. The
// pre-filter now counts them in its one pass; candidatesReference, the former
// filter, still uses this.
func countDigits(s string) int {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
	)
	n := 0
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		y := x &^ high             // low 7 bits of every byte: no carry below
		ge0 := y + (0x80-'0')*ones // high bit set where byte >= '0'
		ge10 := y + (0x80-'9'-1)*ones
		n += bits.OnesCount64(ge0 &^ ge10 &^ x & high)
	}
	for ; i < len(s); i++ {
		if s[i]-'0' < 10 {
			n++
		}
	}
	return n
}

// isUUIDReference is IsUUID as first written, position by position.
func isUUIDReference(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// FuzzIsUUID holds IsUUID to isUUIDReference.
func FuzzIsUUID(f *testing.F) {
	for _, s := range []string{"0199a0e4-0001-7aaa-8bbb-000000000001", "0199A0E4-0001-7AAA-8BBB-00000000000F",
		"0199a0e4-0001-7aaa-8bbb-00000000000g", "0199a0e4x0001-7aaa-8bbb-000000000001", "0199a0e4-0001-7aaa-8bbb-0000000000011",
		"0199a0e4-0001-7aaa-8bbb-00000000000:", "0199a0e4-0001-7aaa-8bbb-00000000000@", "0199a0e4-0001-7aaa-8bbb-00000000000`"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := IsUUID(s), isUUIDReference(s); got != want {
			t.Errorf("IsUUID(%q): got %v, want %v", s, got, want)
		}
	})
}

func TestSeparatorClasses(t *testing.T) {
	ends := []uint32{classKeyEnd0, classKeyEnd1, classKeyEnd2}
	seps := []uint32{classSep0, classSep1, classSep2}
	for k := range len(apiSeparators) {
		if got, want := classKeyEnd(k), ends[k]; got != want {
			t.Errorf("classKeyEnd(%d): got %b, want %b", k, got, want)
		}
		if got, want := classSep(k), seps[k]; got != want {
			t.Errorf("classSep(%d): got %b, want %b", k, got, want)
		}
		if got, want := classSep(k), classKeyEnd(k)<<1; got != want {
			t.Errorf("classSep(%d): got %b, want the bit above classKeyEnd (%b)", k, got, want)
		}
	}
}

// TestDigitFlag checks what candidates' digit count relies on: digitFlag
// marks exactly the ASCII digits, and every other class bit stays below
// 1<<28, so that eight classes added up never carry into digitFlag.
func TestDigitFlag(t *testing.T) {
	r := mustNew(t, testConfig())
	for c, class := range r.byteClass {
		if got, want := class&digitFlag != 0, c >= '0' && c <= '9'; got != want {
			t.Errorf("byte %#x: digitFlag %v, want %v", c, got, want)
		}
		if rest := class &^ digitFlag; rest >= 1<<28 {
			t.Errorf("byte %#x: classes %b reach bit 28, where eight of them added up carry into digitFlag", c, rest)
		}
	}
}
