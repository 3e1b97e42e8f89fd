package instrumentation

import (
	"strings"
	"unicode"
)

// DefaultSecretNames returns the names that mark a struct field or map key as
// a credential whose values are never recorded. Matching ignores case and
// separators, so "password" covers Password, newPassword, new_password and
// X-New-Password. A name of five letters or more matches anywhere in the field
// name (so "token" covers accessToken and refresh_token), and so do "cvv",
// "cvc", "pwd" and "jwt", which occur in no ordinary word; another shorter one
// ("otp", "pin") must be a whole word of it, or its plural (OTPs, pins), so
// that shipping or footprint are not taken for a PIN or an OTP; "otp" may
// also start or end a word ("sendotp", "otpvalue"), as no ordinary word does. The list
// holds the collector's default key patterns too, so that what the collector
// would redact never leaves the process.
func DefaultSecretNames() []string {
	return []string{
		"password", "passwd", "pwd", "passcode", "passphrase", "token", "secret", "otp", "pin", "cvv", "cvc",
		"apikey", "api_key", "accesskey", "authorization", "cookie", "session", "privatekey", "credential",
		"otpcode", "mfacode", "verificationcode", "smscode", "securitycode", "recoverycode", "backupcode", "jwt",
	}
}

// minSubstringRule is the shortest secret name matched anywhere inside a
// field name; shorter names must be a whole word, but for shortSubstrings.
const minSubstringRule = 5

// shortSubstrings are short names distinctive enough to match anywhere.
var shortSubstrings = map[string]bool{"cvv": true, "cvc": true, "pwd": true, "jwt": true}

// edgeWords are short names that also match at the start or the end of a
// word, as the collector matches them: keys written in lowercase glue them
// to another word ("sendotp", "otpvalue", "customerssn"), and no ordinary
// word starts or ends with them. Not "pin": spin, hairpin, pinned.
var edgeWords = map[string]bool{"otp": true, "ssn": true}

// secretRules decides which field names look like credentials.
type secretRules struct {
	substrings []string // normalized, matched anywhere in the normalized name
	words      []string // normalized, matched against whole words
}

func newSecretRules(names []string) secretRules {
	var r secretRules
	for _, n := range names {
		n = normalizeName(n)
		switch {
		case n == "":
		case len(n) >= minSubstringRule || shortSubstrings[n]:
			r.substrings = append(r.substrings, n)
		default:
			r.words = append(r.words, n)
		}
	}
	return r
}

// match reports whether name looks like a credential.
func (r secretRules) match(name string) bool {
	norm := normalizeName(name)
	for _, s := range r.substrings {
		if strings.Contains(norm, s) {
			return true
		}
	}
	if len(r.words) == 0 {
		return false
	}
	for _, w := range splitWords(name) {
		for _, rule := range r.words {
			if w == rule || (len(w) == len(rule)+1 && w[len(rule)] == 's' && w[:len(rule)] == rule) {
				return true
			}
			if edgeWords[rule] && (strings.HasPrefix(w, rule) || strings.HasSuffix(w, rule) || strings.HasSuffix(w, rule+"s")) {
				return true
			}
		}
	}
	return false
}

// normalizeName lowercases name and drops everything but letters and digits.
func normalizeName(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for _, c := range name {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			b.WriteRune(unicode.ToLower(c))
		}
	}
	return b.String()
}

// splitWords splits an identifier into lowercase words at separators and at
// case changes: "userOTPCode" → user, otp, code; "X-Api-Key" → x, api, key.
func splitWords(name string) []string {
	var words []string
	rs := []rune(name)
	start := -1
	flush := func(end int) {
		if start >= 0 && end > start {
			words = append(words, strings.ToLower(string(rs[start:end])))
		}
		start = -1
	}
	for i, c := range rs {
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) {
			flush(i)
			continue
		}
		if start < 0 {
			start = i
			continue
		}
		prev := rs[i-1]
		switch {
		case unicode.IsUpper(c) && unicode.IsLower(prev):
			// fooBar: a new word starts at B.
			flush(i)
			start = i
		case unicode.IsUpper(c) && i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(prev) &&
			(rs[i+1] != 's' || i+2 < len(rs) && unicode.IsLower(rs[i+2])):
			// OTPCode: the last capital of a run starts the next word, but
			// not in a plural (OTPs, backupOTPs).
			flush(i)
			start = i
		case unicode.IsDigit(c) != unicode.IsDigit(prev):
			flush(i)
			start = i
		}
	}
	flush(len(rs))
	return words
}
