package redact

import (
	"encoding/base64"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A finder returns the first secret span [start, end) in s at or after from.
// end > start whenever ok is true.
type finder func(s string, from int) (start, end int, ok bool)

// minScanLen is the length below which no detector can match: the shortest
// secret any detector recognises ("a://b:c@") has 8 bytes.
const minScanLen = 8

func isB64URL(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func isB64Std(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// isTokenChar reports whether c can be part of an opaque token (RFC 6750 b64token plus '_').
func isTokenChar(c byte) bool {
	return isB64URL(c) || c == '.' || c == '~' || c == '+' || c == '/'
}

func spanWhile(s string, i int, ok func(byte) bool) int {
	for i < len(s) && ok(s[i]) {
		i++
	}
	return i
}

// findJWT finds a compact JWS/JWE: "eyJ" (a base64url JSON object) then at
// least two more dot-separated base64url segments. The signature may be
// empty (alg "none"), so header.payload. is a match as well.
func findJWT(s string, from int) (int, int, bool) {
	for from < len(s) {
		i := strings.Index(s[from:], "eyJ")
		if i < 0 {
			return 0, 0, false
		}
		start := from + i
		h := spanWhile(s, start+3, isB64URL)
		if h-start >= 10 && h < len(s) && s[h] == '.' {
			p := spanWhile(s, h+1, isB64URL)
			if p-(h+1) >= 2 && p < len(s) && s[p] == '.' {
				end := spanWhile(s, p+1, isB64URL)
				// JWE has five segments; swallow any further ones.
				for end < len(s) && s[end] == '.' {
					end = spanWhile(s, end+1, isB64URL)
				}
				return start, end, true
			}
		}
		// Every "eyJ" inside the header's run has the same run end, and
		// fails as this one did: a run of "eyJeyJ..." was read once per
		// "eyJ" (14 s for 256 KB).
		from = h
	}
	return 0, 0, false
}

// hasSpace is the cheap pre-check of the authorization-scheme detectors:
// "Bearer x" and "Basic x" need whitespace (see schemeSpace).
func hasSpace(s string) bool {
	return strings.IndexAny(s, " \t\r\n") >= 0 || strings.Contains(s, nbsp)
}

// nbsp is a no-break space in UTF-8.
const nbsp = "\u00a0"

// schemeSpace returns the end of the white space at k that separates an
// authorization scheme from its credential: spaces, tabs, line breaks (a
// header folded onto the next line) and no-break spaces (pasted from a
// document).
func schemeSpace(s string, k int) int {
	for k < len(s) {
		switch {
		case s[k] == ' ' || s[k] == '\t' || s[k] == '\r' || s[k] == '\n':
			k++
		case strings.HasPrefix(s[k:], nbsp):
			k += len(nbsp)
		default:
			return k
		}
	}
	return k
}

// indexFoldWord returns the index at or after from of word (lowercase ASCII)
// in s, compared case-insensitively, followed by white space (see
// schemeSpace), and the index just after that white space.
func indexFoldWord(s string, from int, word string) (int, int) {
	first := word[0]
	for i := from; i+len(word) < len(s); i++ {
		if s[i]|0x20 != first {
			continue
		}
		j := 1
		for j < len(word) && s[i+j]|0x20 == word[j] {
			j++
		}
		if j < len(word) {
			continue
		}
		k := i + len(word)
		if e := schemeSpace(s, k); e > k {
			return i, e
		}
	}
	return -1, -1
}

// minBearerLen keeps "bearer of news" from matching.
const minBearerLen = 8

// findBearer finds the token of a "Bearer <token>" authorization value: up
// to white space, a quote or a backslash (a quote escaped in JSON), and
// without a ',', ';' or ')' at its end; after an opening quote, also one
// escaped ("Bearer \"<token>\""), the token starts after it and the quotes
// stay. A token
// with a byte outside RFC 6750's alphabet ('!', malformed or cut) stopped at
// that byte, and the rest of it went out in clear; a quoted one was empty,
// and went out in clear whole.
func findBearer(s string, from int) (int, int, bool) {
	if !hasSpace(s) {
		return 0, 0, false
	}
	for {
		i, t := indexFoldWord(s, from, "bearer")
		if i < 0 {
			return 0, 0, false
		}
		start := afterOpeningQuote(s, t)
		end := spanWhile(s, start, isBearerByte)
		for end > start && (s[end-1] == ',' || s[end-1] == ';' || s[end-1] == ')') {
			end-- // punctuation of the text around it, in no token
		}
		if end-start >= minBearerLen {
			return start, end, true
		}
		from = t
	}
}

// afterOpeningQuote returns where the text at t starts after a quote, one
// escaped by backslashes (JSON, also inside JSON) included, or t when no
// quote opens it.
func afterOpeningQuote(s string, t int) int {
	k := t
	for k < len(s) && s[k] == '\\' {
		k++
	}
	if k < len(s) && (s[k] == '"' || s[k] == '\'') {
		return k + 1
	}
	return t
}

// isBearerByte reports whether c can be part of a bearer token as
// findBearer reads it.
func isBearerByte(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '"', '\'', '\\':
		return false
	}
	return true
}

// findBasic finds the credentials of a "Basic <base64(user:pass)>" value.
// The token must decode to something with a colon, so "basic membership"
// is left alone.
func findBasic(s string, from int) (int, int, bool) {
	if !hasSpace(s) {
		return 0, 0, false
	}
	for {
		i, t := indexFoldWord(s, from, "basic")
		if i < 0 {
			return 0, 0, false
		}
		end := spanWhile(s, t, isB64Std)
		body := end
		if body-t >= 4 && decodesWithColon(s[t:body]) {
			// To the end of the token: padding, and whatever else a
			// client glued on ("dXNlcjpw-YXNz", URL-safe base64) is
			// part of the credential.
			return t, spanWhile(s, end, func(c byte) bool { return isB64URL(c) || c == '+' || c == '/' || c == '=' }), true
		}
		from = t
	}
}

func decodesWithColon(tok string) bool {
	var buf [96]byte
	if base64.RawStdEncoding.DecodedLen(len(tok)) > len(buf) {
		// Too long for the stack buffer: long enough to be a credential;
		// fail closed.
		return true
	}
	n, err := base64.RawStdEncoding.Decode(buf[:], []byte(tok))
	if err != nil {
		// A truncated or oddly padded credential is still a credential
		// when what decoded so far has a colon.
		return strings.IndexByte(string(buf[:n]), ':') >= 0
	}
	return strings.IndexByte(string(buf[:n]), ':') >= 0
}

// apiKeyPrefix is a well-known API key prefix and how many token characters
// must follow it.
type apiKeyPrefix struct {
	prefix string
	min    int
	// marker, when set, must occur in the token: OpenAI's legacy keys
	// have only "sk-" before them, as do many words ("task-"), but carry
	// "T3BlbkFJ" (base64 of "OpenAI").
	marker string
	// path is the number of '/'-separated segments of letters and digits
	// between the prefix and the secret, which alone is masked: a Slack
	// webhook's team and channel ids (T…/B…/) stay readable.
	path int
}

// apiKeyPrefixes returns the well-known prefixes, grouped by first byte.
func apiKeyPrefixes() [256][]apiKeyPrefix {
	var t [256][]apiKeyPrefix
	for _, p := range []struct {
		prefix string
		min    int
	}{
		{"sk_live_", 10}, {"sk_test_", 10}, {"rk_live_", 10}, {"rk_test_", 10}, {"whsec_", 20}, // Stripe
		{"sk-ant-", 20}, {"sk-proj-", 20}, {"sk-svcacct-", 20}, // Anthropic, OpenAI
		{"ghp_", 30}, {"gho_", 30}, {"ghu_", 30}, {"ghs_", 30}, {"ghr_", 30}, {"github_pat_", 30}, // GitHub
		{"glpat-", 20},                                                                                                         // GitLab
		{"xoxb-", 10}, {"xoxp-", 10}, {"xoxa-", 10}, {"xoxr-", 10}, {"xoxs-", 10}, {"xoxc-", 10}, {"xoxe-", 10}, {"xapp-", 10}, // Slack
		{"AKIA", 16}, {"ASIA", 16}, // AWS access key ids
		{"AIza", 35},                   // Google API keys
		{"npm_", 36},                   // npm
		{"SG.", 20},                    // SendGrid
		{"pypi-", 50},                  // PyPI
		{"dop_v1_", 40},                // DigitalOcean
		{"shpat_", 32}, {"shpss_", 32}, // Shopify
		{"sk-admin-", 20}, {"sk-None-", 20}, // OpenAI admin keys, keys without a project
		{"ya29.", 20}, {"GOCSPX-", 20}, // Google OAuth access tokens, OAuth client secrets
	} {
		t[p.prefix[0]] = append(t[p.prefix[0]], apiKeyPrefix{prefix: p.prefix, min: p.min})
	}
	for _, p := range []apiKeyPrefix{
		{prefix: "sk-", min: 40, marker: "T3BlbkFJ"},            // OpenAI user keys before project keys
		{prefix: "hooks.slack.com/services/", min: 20, path: 2}, // Slack incoming webhooks
	} {
		t[p.prefix[0]] = append(t[p.prefix[0]], p)
	}
	return t
}

func isAPIKeyChar(c byte) bool { return isB64URL(c) || c == '.' }

// findAPIKey finds an API key that starts with a well-known prefix.
func (r *Redactor) findAPIKey(s string, from int) (int, int, bool) {
	// markerMiss is the end of the run of key characters in which a
	// marker was missing: a later prefix inside that run has a token that
	// ends there too and holds no marker either. Without it, every "sk-"
	// of a long run read the rest of it.
	markerMiss := -1
	for i := from; i < len(s); i++ {
		cands := r.apiKeys[s[i]]
		if cands == nil {
			continue
		}
		for _, p := range cands {
			if !strings.HasPrefix(s[i:], p.prefix) {
				continue
			}
			t := i + len(p.prefix)
			start := i
			if p.path > 0 {
				if t = skipSegments(s, t, p.path); t < 0 {
					continue
				}
				start = t
			}
			if p.marker != "" && t <= markerMiss {
				continue
			}
			end := spanWhile(s, t, isAPIKeyChar)
			if end-t < p.min {
				continue
			}
			if p.marker == "" || strings.Contains(s[t:end], p.marker) {
				return start, end, true
			}
			markerMiss = end
		}
	}
	return 0, 0, false
}

// skipSegments returns where the n-th '/' after a non-empty run of letters
// and digits, starting at i of s, ends, or -1.
func skipSegments(s string, i, n int) int {
	for ; n > 0; n-- {
		j := spanWhile(s, i, isAlnum)
		if j == i || j == len(s) || s[j] != '/' {
			return -1
		}
		i = j + 1
	}
	return i
}

// findPEM finds a PEM private key block, from its BEGIN line to the end of
// its END line, or to the end of s when the END line is missing.
func findPEM(s string, from int) (int, int, bool) {
	for from < len(s) {
		i := strings.Index(s[from:], "-----BEGIN ")
		if i < 0 {
			return 0, 0, false
		}
		start := from + i
		labelEnd := strings.Index(s[start+11:], "-----")
		if labelEnd < 0 {
			// A BEGIN line cut short: fail closed if it could be a key.
			if strings.Contains(s[start:], "PRIVATE") {
				return start, len(s), true
			}
			return 0, 0, false
		}
		label := s[start+11 : start+11+labelEnd]
		if !strings.Contains(label, "PRIVATE KEY") {
			from = start + 11
			continue
		}
		end := strings.Index(s[start:], "-----END ")
		if end < 0 {
			return start, len(s), true
		}
		end += start + 9
		if close := strings.Index(s[end:], "-----"); close >= 0 {
			return start, end + close + 5, true
		}
		return start, len(s), true
	}
	return 0, 0, false
}

// schemeSep is what follows a URL's scheme, and how JSON encoders that
// escape slashes (PHP's json_encode by default) write it.
const (
	schemeSep        = "://"
	schemeSepEscaped = `:\/\/`
)

// hasSchemeSep reports whether s holds a URL's scheme separator, plain or
// escaped.
func hasSchemeSep(s string) bool {
	return strings.Contains(s, schemeSep) || strings.Contains(s, schemeSepEscaped)
}

// findURLCredentials finds the password of "scheme://user:password@host",
// or the whole user info when it has no colon (a bare token); also with the
// slashes escaped ("mysql:\/\/app:pw@db", as JSON may write it), and in a
// URL percent-encoded inside another's query ("https%3A%2F%2Fu%3Apw%40h",
// see encodedUserInfo). A
// password may hold '/', '?', '#' and '@' written raw, as people write them
// ("postgres://app:pa/ss@db", "redis://:s3cr?t@cache"): when the authority
// ends at one of the first three after "user:" and what follows the colon is
// no port, the password runs to the last '@' of the URL (see
// rawPasswordEnd); so it does when it ends there after an '@' of the
// password ("https://u:p@s/s@host").
func findURLCredentials(s string, from int) (int, int, bool) {
	// noAt is where the URL that an earlier raw password search read to
	// ends, with no '@' from that search's authority end to it: a later
	// authority ending before it ends a URL without one as well. Without it,
	// every "a://b:c/" of a long string read the rest of the string.
	// noAtEncoded is the same for percent-encoded URLs, kept apart: a plain
	// URL's search sees no encoded '@', and an encoded URL ends at a '&'.
	noAt, noAtEncoded := -1, -1
	for from < len(s) {
		i, n, encoded := nextSchemeSep(s, from)
		if i < 0 {
			return 0, 0, false
		}
		auth := i + n
		if encoded {
			start, end, urlEnd := encodedUserInfo(s, auth, noAtEncoded)
			if end > start {
				return start, end, true
			}
			if urlEnd >= 0 {
				noAtEncoded = urlEnd
			}
			from = auth
			continue
		}
		end := auth
		colon := -1
		for end < len(s) {
			c := s[end]
			if c == '/' || c == '?' || c == '#' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '\'' || c == '<' || c == '>' {
				break
			}
			if c == ':' && colon < 0 {
				colon = end
			}
			end++
		}
		// The user info ends at the last '@' of the authority.
		at := strings.LastIndexByte(s[auth:end], '@')
		if at > 0 {
			at += auth
			if colon >= 0 && colon < at {
				if isAuthorityEnd(s, end) {
					// A raw '/', '?' or '#' after an '@' of the
					// password ("u:p@s/s@host"): it runs to the URL's
					// last '@', as in rawPasswordEnd.
					if later, _ := urlLastAt(s, end); later >= 0 {
						at = later
					}
				}
				if at > colon+1 {
					return colon + 1, at, true
				}
			} else {
				return auth, at, true
			}
		} else if colon >= 0 && end >= noAt {
			at, urlEnd := rawPasswordEnd(s, auth, colon, end)
			if at >= 0 {
				return colon + 1, at, true
			}
			if urlEnd >= 0 {
				noAt = urlEnd
			}
		}
		from = auth
	}
	return 0, 0, false
}

// nextSchemeSep returns the index and length of the first URL scheme
// separator of s at or after from, plain ("://"), escaped (":\/\/") or
// percent-encoded (see encodedSchemeSepLen, which sets encoded), or the
// "//" of a scheme-relative URL (see opensRelativeURL), or -1. Every
// separator starts with a ':', a '%' or a '/', and the search stops at the
// first of them: searching for each form on its own read a string without one of
// them to its end on every call, once for each URL found, so a string of
// many URLs with credentials took time growing with its square.
func nextSchemeSep(s string, from int) (i, n int, encoded bool) {
	for from < len(s) {
		j := strings.IndexAny(s[from:], ":%/")
		if j < 0 {
			break
		}
		j += from
		switch {
		case strings.HasPrefix(s[j:], schemeSep):
			return j, len(schemeSep), false
		case strings.HasPrefix(s[j:], schemeSepEscaped):
			return j, len(schemeSepEscaped), false
		case s[j] == '/':
			if j+1 < len(s) && s[j+1] == '/' && (j == 0 || opensRelativeURL(s[j-1]) || escapedSpaceBefore(s, j)) {
				return j, 2, false
			}
			from = j + 1
			continue
		}
		if n := encodedSchemeSepLen(s, j); n > 0 {
			return j, n, true
		}
		from = j + 1
	}
	return -1, 0, false
}

// opensRelativeURL reports whether a scheme-relative URL ("//user:pw@host",
// as HTML and configuration write a link that takes the page's scheme) can
// start after c: white space, a quote (also Markdown's '`'), or punctuation
// before a value. After a letter, a digit or other punctuation "//" is a
// path's ("a//b") or the rest of a scheme separator.
func opensRelativeURL(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '`', '=', '(', '[', '{', '<', '>', ',', ';', '|':
		return true
	}
	return false
}

// escapedSpaceBefore reports whether a line break or tab as JSON escapes
// it ("\\n", "\\t") ends just before byte j of s: white space to the text
// the string holds, though its last byte is a letter.
func escapedSpaceBefore(s string, j int) bool {
	return j >= 2 && s[j-2] == '\\' && (s[j-1] == 'n' || s[j-1] == 'r' || s[j-1] == 't')
}

// pctByte returns the byte at i of s as a URL percent-encoded into another
// URL's query reads it, and how many bytes of s it takes: "%40" is an '@',
// and so is "%2540", encoded twice (a redirect inside a redirect), or more
// often; anything else is itself.
func pctByte(s string, i int) (byte, int) {
	if s[i] != '%' {
		return s[i], 1
	}
	k := i + 1
	// "%25" is an encoded '%': skip it while an escape follows it.
	for k+4 <= len(s) && s[k] == '2' && s[k+1] == '5' && isHexDigit(s[k+2]) && isHexDigit(s[k+3]) {
		k += 2
	}
	if k+2 > len(s) || !isHexDigit(s[k]) || !isHexDigit(s[k+1]) {
		return '%', 1
	}
	return unhex(s[k])<<4 | unhex(s[k+1]), k + 2 - i
}

// unhex returns the value of the hexadecimal digit c.
func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return (c | 0x20) - 'a' + 10
}

// encodedSchemeSepLen returns the length of the percent-encoded scheme
// separator at i of s, or 0: an encoded ':' and two slashes, encoded or
// raw ("%3A%2F%2F", "%3a//" as Python's quote leaves them, "%253A%252F%252F").
func encodedSchemeSepLen(s string, i int) int {
	c, n := pctByte(s, i)
	if c != ':' || n == 1 {
		return 0
	}
	k := i + n
	for range 2 {
		if k >= len(s) {
			return 0
		}
		if c, n = pctByte(s, k); c != '/' {
			return 0
		}
		k += n
	}
	return k - i
}

// hasEncodedSchemeSep reports whether s holds a percent-encoded scheme
// separator.
func hasEncodedSchemeSep(s string) bool {
	for from := 0; ; {
		j := strings.IndexByte(s[from:], '%')
		if j < 0 {
			return false
		}
		j += from
		if encodedSchemeSepLen(s, j) > 0 {
			return true
		}
		from = j + 1
	}
}

// isEncodedURLEnd reports whether the raw byte c ends a URL percent-encoded
// in another's query: white space, a quote, an angle bracket, or the '&'
// before the query's next parameter (its own are encoded).
func isEncodedURLEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '<', '>', '&':
		return true
	}
	return false
}

// encodedUserInfo returns the password (or bare token) [start, end) of the
// percent-encoded URL whose authority starts at auth, read as
// findURLCredentials reads a plain one with every byte decoded (see
// pctByte), or end == start; and where the URL ends when it searched it for
// a raw password's last '@' (-1 when not). The authority ends at a '/', '?'
// or '#', encoded or raw, or where the URL ends (see isEncodedURLEnd). As
// in findURLCredentials, a password that a '/', '?' or '#' follows runs to
// the URL's last '@' (one with no '@' in the authority only when it is no
// port and the URL, searched already, did not end at noAt or later with
// none).
func encodedUserInfo(s string, auth, noAt int) (start, end, urlEnd int) {
	colon, colonLen, at := -1, 0, -1
	k := auth
	authEnd := false
	for k < len(s) {
		c, n := pctByte(s, k)
		if n == 1 && isEncodedURLEnd(c) {
			break
		}
		if c == '/' || c == '?' || c == '#' {
			authEnd = true
			break
		}
		switch {
		case c == ':' && colon < 0:
			colon, colonLen = k, n
		case c == '@':
			at = k
		}
		k += n
	}
	if at > auth && (colon < 0 || colon > at) {
		return auth, at, -1 // a bare token
	}
	if colon < 0 {
		return 0, 0, -1
	}
	pw := colon + colonLen
	if at > colon {
		if authEnd {
			if last, _ := encodedLastAt(s, k); last >= 0 {
				at = last
			}
		}
		if at > pw {
			return pw, at, -1
		}
		return 0, 0, -1
	}
	if !authEnd || k < noAt || hasEncodedByte(s, auth, colon, '[') {
		return 0, 0, -1 // no password: an IPv6 literal's colon, or a port
	}
	if port := s[pw:k]; port != "" && strings.Trim(port, "0123456789") == "" {
		return 0, 0, -1
	}
	last, urlEnd := encodedLastAt(s, k)
	if last > pw {
		return pw, last, urlEnd
	}
	return 0, 0, urlEnd
}

// hasEncodedByte reports whether s[from:to] holds c, encoded or raw.
func hasEncodedByte(s string, from, to int, c byte) bool {
	for k := from; k < to; {
		d, n := pctByte(s, k)
		if d == c {
			return true
		}
		k += n
	}
	return false
}

// encodedLastAt returns the last '@', encoded or raw, of the
// percent-encoded URL that goes on at byte from of s, or -1, and where the
// URL ends (see isEncodedURLEnd).
func encodedLastAt(s string, from int) (at, urlEnd int) {
	at = -1
	for k := from; k < len(s); {
		c, n := pctByte(s, k)
		if n == 1 && isEncodedURLEnd(c) {
			return at, k
		}
		if c == '@' {
			at = k
		}
		k += n
	}
	return at, len(s)
}

// rawPasswordEnd returns the '@' that ends a password holding a raw '/',
// '?' or '#', or -1, and where the URL it searched ends (-1 when it did not
// search). The authority s[auth:end] has no '@' and its first
// colon at colon; it ended at a '/', '?' or '#' (end). It is a user and
// the start of a password, not a host and its port, when the user is no
// IPv6 literal and the colon is not followed by digits alone
// ("https://app.example:8443/invite?email=jane@example.com" stays). The
// password then ends at the last '@' before the URL ends (white space, a
// quote, an angle bracket): a password with an '@' after its '/' is found
// whole, at the price of masking the host and path too when the query holds
// an e-mail address as well.
func rawPasswordEnd(s string, auth, colon, end int) (at, urlEnd int) {
	if !isAuthorityEnd(s, end) {
		return -1, -1
	}
	if strings.IndexByte(s[auth:colon], '[') >= 0 {
		return -1, -1
	}
	// A port, also before an escaped slash ("host:8443\/x").
	port := strings.TrimSuffix(s[colon+1:end], `\`)
	if port != "" && strings.Trim(port, "0123456789") == "" {
		return -1, -1
	}
	return urlLastAt(s, end)
}

// isAuthorityEnd reports whether a URL's authority ends at byte end of s
// with a '/', '?' or '#', which a password may hold raw.
func isAuthorityEnd(s string, end int) bool {
	return end < len(s) && (s[end] == '/' || s[end] == '?' || s[end] == '#')
}

// urlLastAt returns the last '@' of the URL that goes on at byte from of s
// and ends at white space, a quote or an angle bracket, or -1, and where it
// ends.
func urlLastAt(s string, from int) (at, urlEnd int) {
	urlEnd = from
	for urlEnd < len(s) {
		switch s[urlEnd] {
		case ' ', '\t', '\n', '\r', '"', '\'', '<', '>':
			return lastAt(s, from, urlEnd), urlEnd
		}
		urlEnd++
	}
	return lastAt(s, from, urlEnd), urlEnd
}

// lastAt returns the index of the last '@' in s[from:to], or -1.
func lastAt(s string, from, to int) int {
	if at := strings.LastIndexByte(s[from:to], '@'); at >= 0 {
		return from + at
	}
	return -1
}

// minKeyValueLen is the length of the shortest name=value pair.
const minKeyValueLen = 3

// findKeyValue finds the value of a pair inside a string whose name matches
// a key pattern, as a key of its own would: a URL's query
// ("?access_token=..."), a connection string ("Password=...;"), a command
// line ("--db-password=...", "-Djavax.net.ssl.keyStorePassword=..."), a form
// field ("user[password]=...", also percent-encoded), a query
// percent-encoded inside another ("%3Faccess_token%3D..."), JSON or a Python
// dict written as text ("password":"...", \"password\":\"...\",
// 'password': '...'), logfmt ("password=\"...\""), INI, YAML and header
// lines ("password = ...", "Cookie: ..."). Under an OTP-like name, a value
// that looks like a one-time code is found too ("?otp=493817").
//
// The separator is '=' (also "=>" and "%3D") or ':'; a ':' separates a pair
// only after a quoted name, before white space (a no-break space after the
// separator counts, see noBreakSpaceLen) or before a quote, so
// "File.java:42" and "12:30" are no pairs. The name is the letters, digits, '_', '-', '.', '%',
// '[' and ']' before the separator, quotes and white space aside. The value
// is: a quoted string, to its closing quote (also in typographic quotes,
// “…”, «…», 「…」..., when closed: see typographicOpen; also written as
// JSON escapes, "\u201c…\u201d": see escapedQuoted); a JSON object or
// array, to its closing bracket; after white space in a line that starts
// with the name (YAML, headers, INI), the rest of the line; otherwise up to
// white space or a quote, or a '&', ';' or ',' before another pair or the
// end (see unquotedValueEnd). An HTTP
// authorization scheme before the value ("Token ...") stays. A value that is
// already redacted is left alone.
func (r *Redactor) findKeyValue(s string, from int) (int, int, bool) {
	floor := from // where the name of the next pair may start at the earliest
	for i := from; i < len(s); {
		e := strings.IndexAny(s[i:], "=:%>")
		if e < 0 {
			return 0, 0, false
		}
		e += i
		i = e + 1
		sepEnd := e + 1
		switch s[e] {
		case '%':
			// "%3D", also encoded again ("%253D", a redirect inside a
			// redirect).
			k := encodedAgain(s, e+1, len(s))
			if k+2 > len(s) || s[k] != '3' || s[k+1]|0x20 != 'd' {
				continue
			}
			sepEnd = k + 2
		case '=':
			if sepEnd < len(s) && s[sepEnd] == '>' {
				sepEnd++ // Ruby and PHP: "password" => "...", [password] => ...
			}
		case '>':
			// An XML element: <password>...</password>, named by the
			// local name of its start tag, which may carry a namespace
			// prefix and attributes (a SOAP login's <wsse:Password
			// Type="...">). The tag is read back from '>', not from
			// floor: its attributes are pairs the '=' case has read.
			floor = sepEnd
			ns, ne, ok := startTagName(s, from, e)
			if !ok || sepEnd == len(s) {
				continue
			}
			if vs, ve, ok := r.elementValue(s, ns, ne, sepEnd); ok {
				return vs, ve, true
			}
			continue
		}
		// The name, with quotes and white space between it and the
		// separator.
		ne := e
		for ne > 0 {
			if s[ne-1] == ' ' || s[ne-1] == '\t' {
				ne--
			} else if n := escapedNoBreakSpaceBefore(s, floor, ne); n > 0 {
				ne -= n // "Password\u00a0:", French text as JSON escapes it
			} else {
				break
			}
		}
		quoted := false
		for ne > 0 {
			if s[ne-1] == '"' || s[ne-1] == '\'' || s[ne-1] == '\\' {
				ne--
			} else if n := escapedQuoteBefore(s, floor, ne); n > 0 {
				ne -= n // {\u0022password\u0022:...}, as System.Text.Json writes JSON in a string
			} else {
				break
			}
			quoted = true
		}
		// No further back than the previous separator: '%' is a name byte
		// and starts "%3D" too, so a scan to the start of the name re-read
		// every earlier "%3D" for each one (64 KB of them took seconds).
		ns := ne
		for ns > floor && isNameByte(s[ns-1]) {
			ns--
		}
		ns = afterEncodedDelimiter(s, ns, ne)
		floor = sepEnd
		vs := sepEnd
		for vs < len(s) {
			if s[vs] == ' ' || s[vs] == '\t' {
				vs++
			} else if n := noBreakSpaceLen(s, vs); n > 0 {
				vs += n
			} else {
				break
			}
		}
		spaced := vs > sepEnd
		if ns < ne && vs < len(s) && (s[vs] == '\n' || s[vs] == '\r') {
			// YAML: the value on the lines after the key's.
			if key, _ := r.classifyPair(s[ns:ne]); key {
				if bs, be, ok := indentedValue(s, ns, vs); ok {
					return bs, be, true
				}
			}
			continue
		}
		if ns == ne || vs == len(s) || s[e] == ':' && !quoted && !spaced && !quoteAt(s, vs) {
			continue
		}
		key, otp := r.classifyPair(s[ns:ne])
		if !key && !otp {
			continue
		}
		// "==" is base64 padding, not a pair; a value already redacted is
		// left alone. Checked before the value is read, which may run to
		// the end of s: read for every such pair, that was quadratic.
		if s[vs] == '=' || strings.HasPrefix(s[vs:], Mask) || strings.HasPrefix(s[vs:], hashPrefix) {
			continue
		}
		if !key {
			// Under an OTP-like name only a code is a secret: a short
			// token, perhaps quoted, read without scanning further.
			if cs, ce := otpValue(s, vs); isOTPCode(s[cs:ce]) {
				return cs, ce, true
			}
			continue
		}
		line, unit := startsLine(s, ns)
		if br := blockScalarEnd(s, vs); br >= 0 && spaced && line {
			// YAML's "password: |": the value is on the lines after it.
			if bs, be, ok := indentedValue(s, ns, br); ok {
				return bs, be, true
			}
			continue
		}
		if spaced && line && opensYAMLHeader(s[vs]) {
			// A comment, tag or anchor before the lines of the value
			// ("password:  # db\n  hunter2", "password: !!binary |"):
			// masked with them, as a '#' may as well start a password.
			if br := strings.IndexAny(s[vs:], "\r\n"); br >= 0 {
				if _, be, ok := indentedValue(s, ns, vs+br); ok {
					return vs, be, true
				}
			}
		}
		vs, ve := pairValue(s, vs, spaced && line, unit, s[e] == '%')
		if ve == vs || s[vs:ve] == Mask || strings.HasPrefix(s[vs:ve], hashPrefix) {
			continue
		}
		return vs, ve, true
	}
	return 0, 0, false
}

// blockScalarEnd returns the line break after the YAML block scalar
// indicator at vs ("|", ">-", "|2+"), white space aside, or -1 when none is
// there.
func blockScalarEnd(s string, vs int) int {
	if s[vs] != '|' && s[vs] != '>' {
		return -1
	}
	i := vs + 1
	for i < len(s) && i <= vs+2 && (s[i] == '-' || s[i] == '+' || isDigit(s[i])) {
		i++
	}
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i < len(s) && (s[i] == '\n' || s[i] == '\r') {
		return i
	}
	return -1
}

// opensYAMLHeader reports whether c starts what YAML may write between a
// key and the lines of its value: a comment, a tag, an anchor, or a block
// scalar's indicator with one of those after it.
func opensYAMLHeader(c byte) bool {
	return c == '#' || c == '!' || c == '&' || c == '|' || c == '>'
}

// indentedValue returns the value of the YAML key that starts at ns when
// it is on the lines after the key's, the first of which starts after the
// raw line break at br: every line indented more than the key (blank lines
// among them), from the first one's text to the last one's end, trailing
// white space aside. ok is false when the key does not start its line
// (indentation and a list item's dash aside, see startsLine) or no such
// line follows: "password=" with a sibling pair on the next line, as
// properties and INI files write an empty value, has none.
func indentedValue(s string, ns, br int) (start, end int, ok bool) {
	if line, unit := startsLine(s, ns); !line || unit != 0 {
		return 0, 0, false
	}
	// The key's column: its line's indentation and list dashes skipped.
	ls := ns
	for ls > 0 && s[ls-1] != '\n' && s[ls-1] != '\r' {
		ls--
	}
	col := ls
	for col < ns && (s[col] == ' ' || s[col] == '\t' || s[col] == '-') {
		col++
	}
	col -= ls
	start, end = -1, -1
	for i := br; i < len(s); {
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		j := i + 1
		k := j
		for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
			k++
		}
		le := strings.IndexAny(s[k:], "\r\n")
		if le < 0 {
			le = len(s)
		} else {
			le += k
		}
		if k < le {
			if k-j <= col {
				break
			}
			if start < 0 {
				if strings.HasPrefix(s[k:], Mask) || strings.HasPrefix(s[k:], hashPrefix) {
					// Redacted already: the rest need not be read,
					// which for keys nested ever deeper was slow.
					return 0, 0, false
				}
				start = k
			}
			end = le
			for end > k && (s[end-1] == ' ' || s[end-1] == '\t') {
				end--
			}
		}
		i = le
	}
	if start < 0 {
		return 0, 0, false
	}
	return start, end, true
}

// findFlagValue finds the value of a command-line flag named like a
// credential and given as the next word ("mysqldump --password hunter2",
// also quoted: --password "hunter 2"), as a job runner logs the command it
// ran, or as the next string of a JSON list of arguments
// (["--password", "hunter2"]). The flag is long ("--" at the start of s or
// after white space, a quote, '=', '(', '[' or ','), then white space; under
// an OTP-like name only a code is a value. A word that starts with '-' is
// the next flag, not a value ("--no-password -h db"): argument parsers refuse
// such a value for a flag of its own anyway. "--password=x" is
// findKeyValue's. A single dash is not read: "-p" is as often a port (ssh,
// docker) as a password (mysql), and the word after it ordinary data.
func (r *Redactor) findFlagValue(s string, from int) (int, int, bool) {
	for from < len(s) {
		d := strings.Index(s[from:], "--")
		if d < 0 {
			return 0, 0, false
		}
		d += from
		ns := d + 2
		from = ns
		if d > 0 && !isFlagStart(s[d-1]) {
			continue
		}
		ne := spanWhile(s, ns, isFlagNameByte)
		vs := flagValueStart(s, ne)
		if ne == ns || vs < 0 {
			continue
		}
		key, otp := r.classifyPair(s[ns:ne])
		if !key && !otp {
			continue
		}
		if strings.HasPrefix(s[vs:], Mask) || strings.HasPrefix(s[vs:], hashPrefix) {
			continue
		}
		if !key {
			if cs, ce := otpValue(s, vs); isOTPCode(s[cs:ce]) {
				return cs, ce, true
			}
			continue
		}
		vs, ve := pairValue(s, vs, false, 0, false)
		if ve == vs || s[vs:ve] == Mask || strings.HasPrefix(s[vs:ve], hashPrefix) || quoteAt(s, ne) && namesField(s, ve) {
			continue
		}
		return vs, ve, true
	}
	return 0, 0, false
}

// namesField reports whether the quoted string that ends at ve, its
// closing quote aside, is the name of a JSON object's field: a ':' follows
// it. A flag that ends a JSON string ({"cmd":"run --password","n":1}) is
// followed by the next field's name, no argument of it; only a flag in
// quotes is asked, as a quoted value on a command line may have a ':'
// after it ("--password \"hunter2\": ok").
func namesField(s string, ve int) bool {
	q := ve
	for q < len(s) && (s[q] == '\\' || s[q] == '"' || s[q] == '\'') {
		q++
	}
	if q == ve {
		return false
	}
	q = skipBlanks(s, q)
	return q < len(s) && s[q] == ':'
}

// isFlagStart reports whether a long flag can start after c.
func isFlagStart(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '=', '(', '[', ',':
		return true
	}
	return false
}

// isFlagNameByte reports whether c can be part of a flag's name.
func isFlagNameByte(c byte) bool {
	return isAlnum(c) || c == '-' || c == '_' || c == '.'
}

// flagValueStart returns where the value of the flag whose name ends at ne
// starts: after white space, or after the quote that closes the flag's
// string in a list of arguments, a ',' and white space (a line break too,
// as a pretty-printed JSON list has it); on the next line when the flag is
// followed by a YAML list's next item ("- --password\n  - hunter2", a
// Kubernetes container's args) or by a shell's line continuation
// ("--password \\\n  hunter2"); -1 when no value follows there, or the
// next word is a flag or a shell operator.
func flagValueStart(s string, ne int) int {
	vs := ne
	for vs < len(s) && (s[vs] == '\\' || s[vs] == '"' || s[vs] == '\'') {
		vs++
	}
	quoted := vs > ne
	sp := skipBlanks(s, vs)
	switch {
	case sp == len(s):
		return -1
	case quoted && s[sp] == ',':
		vs = skipSpaces(s, sp+1)
	case s[sp] == '\n' || s[sp] == '\r':
		vs = nextListItem(s, sp)
	case !quoted && sp > ne && s[sp] == '\\' && sp+1 < len(s) && (s[sp+1] == '\n' || s[sp+1] == '\r'):
		vs = skipSpaces(s, sp+1)
	case !quoted && sp > ne:
		vs = sp
	default:
		return -1
	}
	if vs < 0 || vs == len(s) || s[vs] == '\n' || s[vs] == '\r' {
		return -1
	}
	w := vs
	for w < len(s) && (s[w] == '\\' || s[w] == '"' || s[w] == '\'') {
		w++
	}
	if w < len(s) && (s[w] == '-' || s[w] == '<' || s[w] == '>' || s[w] == '|') {
		return -1
	}
	return vs
}

// skipBlanks returns the end of the spaces and tabs at i of s.
func skipBlanks(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// skipSpaces returns the end of the white space, line breaks included, at
// i of s.
func skipSpaces(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// nextListItem returns where the text of the YAML list item on the line
// after the raw line break at br starts ("\n  - hunter2"), or -1 when that
// line holds no list item.
func nextListItem(s string, br int) int {
	i := br + 1
	if s[br] == '\r' && i < len(s) && s[i] == '\n' {
		i++
	}
	i = skipBlanks(s, i)
	if i+1 >= len(s) || s[i] != '-' || (s[i+1] != ' ' && s[i+1] != '\t') {
		return -1
	}
	return skipBlanks(s, i+1)
}

// afterEncodedDelimiter returns where the name s[ns:ne] of a pair starts
// after the last percent-encoded '&', '?', ';' or '#' in it (encoded once
// or more, see encodedAgain): in a query
// encoded inside another's ("%3FX-Amz-Algorithm%3DAWS4%26X-Amz-Signature%3D"),
// that is where the previous pair's value ends. Read from the previous
// separator on, the name was "AWS4%26X-Amz-Signature", no signature's, and
// the signature went out in clear.
func afterEncodedDelimiter(s string, ns, ne int) int {
	for j := ne; j-ns >= 3; {
		i := strings.LastIndexByte(s[ns:j-2], '%')
		if i < 0 {
			break
		}
		i += ns
		k := encodedAgain(s, i+1, ne)
		switch s[k : k+2] {
		case "26", "3F", "3f", "3B", "3b", "23":
			return k + 2
		}
		j = i + 2
	}
	return ns
}

// encodedAgain returns where the hex digits of the percent-encoded byte
// whose '%' ends at i start when the '%' is itself encoded, once or more
// ("%2526" is an '&' encoded twice): after every "25" at i that two bytes
// before end still follow.
func encodedAgain(s string, i, end int) int {
	for i+4 <= end && s[i] == '2' && s[i+1] == '5' {
		i += 2
	}
	return i
}

// maxStartTag bounds how far back from a '>' startTagName looks for the
// '<' of its tag, so that a long text with many '>' is read in linear time.
const maxStartTag = 1024

// startTagName returns the local name s[ns:ne] of the XML start tag that
// ends with the '>' at gt, and whether there is one: '<', a name (its
// namespace prefix, up to a ':', left out), then nothing or white space and
// attributes. An end tag, an empty element ("<password/>": no text), a
// comment or a declaration has none. The tag starts at from or later.
func startTagName(s string, from, gt int) (int, int, bool) {
	lt := -1
	for i := gt - 1; i >= from && i >= gt-maxStartTag; i-- {
		if s[i] == '<' {
			lt = i
			break
		}
		if s[i] == '>' {
			return 0, 0, false
		}
	}
	if lt < 0 || s[gt-1] == '/' {
		return 0, 0, false
	}
	ns := lt + 1
	ne := ns
	for ne < gt && (isNameByte(s[ne]) || s[ne] == ':') {
		if s[ne] == ':' {
			ns = ne + 1
		}
		ne++
	}
	if ns == ne || ne < gt && s[ne] != ' ' && s[ne] != '\t' && s[ne] != '\r' && s[ne] != '\n' {
		return 0, 0, false
	}
	return ns, ne, true
}

// elementValue returns the text of the XML element named s[ns:ne] whose
// start tag ends at vs-1, to the next '<' (or the end of s: fail closed),
// when the name matches a key pattern, or when it matches an OTP key
// pattern and the text is a code.
func (r *Redactor) elementValue(s string, ns, ne, vs int) (int, int, bool) {
	key, otp := r.classifyPair(s[ns:ne])
	if !key && !otp {
		return 0, 0, false
	}
	ve := strings.IndexByte(s[vs:], '<')
	if ve < 0 {
		ve = len(s)
	} else {
		ve += vs
	}
	v := s[vs:ve]
	if v == "" || strings.HasPrefix(v, Mask) || strings.HasPrefix(v, hashPrefix) || !key && !isOTPCode(v) {
		return 0, 0, false
	}
	return vs, ve, true
}

// noBreakSpaceLen returns the length of the no-break space (U+00A0) or
// narrow no-break space (U+202F) at byte i of s, or 0. After a pair's
// separator one stands for the space it looks like ("password:\u00a0...",
// pasted from a document or typed by a French keyboard layout); before a
// colon, where French text puts one, it is part of the name and dropped
// with the name's other non-letters (see normalize).
//
// Written as a JSON escape ("\u00a0", the backslash any number of times),
// as encoders that escape every non-ASCII character write it (Python's
// json.dumps), it counts the same.
func noBreakSpaceLen(s string, i int) int {
	switch {
	case s[i] == '\\':
		j := i
		for j < len(s) && s[j] == '\\' {
			j++
		}
		if q, ok := unicodeEscape(s, j); ok && (q == '\u00a0' || q == '\u202f') {
			return j + 5 - i
		}
		return 0
	case s[i] < utf8.RuneSelf:
		return 0
	case strings.HasPrefix(s[i:], nbsp):
		return len(nbsp)
	case strings.HasPrefix(s[i:], narrowNBSP):
		return len(narrowNBSP)
	}
	return 0
}

// escapedNoBreakSpaceBefore returns the length of the no-break space
// written as a JSON escape (see noBreakSpaceLen) that ends at byte end of
// s, its backslashes read no further back than floor, or 0.
func escapedNoBreakSpaceBefore(s string, floor, end int) int {
	j := end - 5
	if j-1 < floor || s[j-1] != '\\' {
		return 0
	}
	if q, ok := unicodeEscape(s, j); !ok || q != '\u00a0' && q != '\u202f' {
		return 0
	}
	for j > floor && s[j-1] == '\\' {
		j--
	}
	return end - j
}

// escapedQuoteBefore returns the length of the quote written as a JSON
// escape (an ASCII, full-width or typographic one, see escapedCloses) that
// ends at byte end of s, its backslashes read no further back than floor,
// or 0. After a name it quotes the name: read as part of it, the name was
// "u0022" and its value went out in clear.
func escapedQuoteBefore(s string, floor, end int) int {
	j := end - 5
	if j-1 < floor || s[j-1] != '\\' {
		return 0
	}
	q, ok := unicodeEscape(s, j)
	if c, _ := escapedCloses(q); !ok || c == "" && q != '«' && q != '›' && q != '」' && q != '』' {
		return 0
	}
	for j > floor && s[j-1] == '\\' {
		j--
	}
	return end - j
}

// narrowNBSP is a narrow no-break space in UTF-8.
const narrowNBSP = "\u202f"

// otpValue returns the token at vs, after a quote (escaped or not, or a
// typographic one, also as a JSON escape: see typographicOpen and
// escapedQuote), up to
// the next value end or quote or backslash, or a non-ASCII space or
// punctuation mark other than a dash ("４９３８１７、確認": an ideographic
// comma), read at most maxOTPLen+1 characters (enough for isOTPCode to tell
// a longer value from a code).
func otpValue(s string, vs int) (int, int) {
	if n, _, _ := escapedQuote(s, vs); n > 0 {
		vs += n // otp=\u201c493817\u201d, as a JSON encoder escapes “493817”
	}
	for vs < len(s) && (s[vs] == '\\' || s[vs] == '"' || s[vs] == '\'') {
		vs++
	}
	if vs < len(s) && s[vs] >= utf8.RuneSelf {
		n, _, _ := typographicOpen(s, vs) // otp=“493817”: the code ends at its closing quote
		vs += n
	}
	ve := vs
	for n := 0; ve < len(s) && n <= maxOTPLen; n++ {
		if c := s[ve]; c < utf8.RuneSelf {
			if isValueEnd(c) || c == '\\' {
				break
			}
			ve++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[ve:])
		if unicode.IsSpace(r) || unicode.In(r, unicode.Po, unicode.Ps, unicode.Pe, unicode.Pi, unicode.Pf) {
			break
		}
		ve += w
	}
	return vs, ve
}

// startsLine reports whether the name at ns starts a line, indentation
// and a YAML list's dash aside: at the start of s or of a quoted string,
// after a line break, also an escaped one ("\\n"). unit is how many
// backslashes escape a line break in the JSON string the line is written
// in: 1 in a string of JSON text, 2 in one of JSON inside a string, 4 a
// level deeper; 0 when the line is in none that s shows (its start, after a
// raw line break, or after a single quote). A quote's backslashes tell it
// (b before the opening quote of a string at that depth: unit is the lowest
// set bit of b+1), and so do an escaped line break's (the lowest set bit of
// their count).
func startsLine(s string, ns int) (line bool, unit int) {
	for ns > 0 && (s[ns-1] == ' ' || s[ns-1] == '\t' || s[ns-1] == '-') {
		ns--
	}
	if ns == 0 {
		return true, 0
	}
	switch s[ns-1] {
	case '\n', '\r':
		return true, 0
	case '\'':
		// Quoted text in a message may be in a JSON string or in none:
		// unitUnknown (see lineEnd).
		return true, unitUnknown
	case '"':
		b := backslashesBefore(s, ns-1)
		return true, lowestBit(b + 1)
	case 'n', 'r':
		if b := backslashesBefore(s, ns-1); b > 0 {
			return true, lowestBit(b)
		}
	case '\\':
		// The escape's letter read as the name's first ("\npassword: "
		// is "npassword"): the name starts a line all the same.
		if c := s[ns]; c == 'n' || c == 'r' {
			return true, lowestBit(backslashesBefore(s, ns))
		}
	}
	return false, 0
}

// backslashesBefore returns how many backslashes end at byte i of s.
func backslashesBefore(s string, i int) int {
	j := i
	for j > 0 && s[j-1] == '\\' {
		j--
	}
	return i - j
}

// lowestBit returns the lowest set bit of n > 0.
func lowestBit(n int) int { return n & -n }

// pairValue returns the value of a pair that starts at vs (white space
// after the separator skipped). A line of its own ("password = correct
// horse", "Cookie: a=1; b=2": line is true) has it to its end, read as
// lineEnd reads the escapes of the JSON string it is in (unit: see
// startsLine). encoded is unquotedValueEnd's.
func pairValue(s string, vs int, line bool, unit int, encoded bool) (int, int) {
	// A quoted string, its quotes escaped k times over (JSON in JSON):
	// the closing quote has as many backslashes before it.
	k := 0
	for vs+k < len(s) && s[vs+k] == '\\' {
		k++
	}
	if vs+k < len(s) && (s[vs+k] == '"' || s[vs+k] == '\'') {
		q := s[vs+k]
		start := vs + k + 1
		for j := start; j < len(s); j++ {
			if s[j] != q {
				continue
			}
			b := 0
			for j-b > start && s[j-b-1] == '\\' {
				b++
			}
			// Inside a string escaped k times, a backslash is written
			// 2(k+1) times; the closing quote has k.
			if b%(2*(k+1)) != k {
				continue
			}
			if j-b == start && j+1 < len(s) && !isValueEnd(s[j+1]) {
				// Empty quotes with the value right after them
				// (password=""hunter2): the quotes are part of a raw
				// value, masked with it to its end.
				ve := j + 1
				for ve < len(s) && !isValueEnd(s[ve]) && (k == 0 || s[ve] != '\\') {
					ve++
				}
				return vs, ve
			}
			return start, j - b
		}
		return start, len(s) // never closed: fail closed
	}
	if s[vs] >= utf8.RuneSelf {
		if start, end, ok := typographicQuoted(s, vs); ok {
			return start, end
		}
	}
	if k > 0 {
		if start, end, ok := escapedQuoted(s, vs); ok {
			return start, end
		}
	}
	// Backslashes without a quote after them are part of the value
	// (\\share\path, \u00e9...).
	switch s[vs] {
	case '{', '[':
		if strings.HasPrefix(s[vs:], Mask) {
			return vs, vs
		}
		return vs, closingBracket(s, vs)
	}
	if c := skipAuthScheme(s, vs); c != vs {
		if quoteAt(s, c) {
			// A quoted credential after its scheme
			// ("Authorization: Bearer \"...\""): the scheme stays.
			return pairValue(s, c, line, unit, encoded)
		}
		vs = c
	}
	ve := vs
	if line {
		ve = lineEnd(s, ve, unit)
		for ve > vs && (s[ve-1] == ' ' || s[ve-1] == '\t') {
			ve--
		}
		return vs, ve
	}
	return vs, unquotedValueEnd(s, vs, encoded)
}

// unquotedValueEnd returns the end of the unquoted value of a credential's
// pair that starts at vs: white space, or a quote that white space,
// punctuation that follows a string (see closesString) or the end of s
// follows (the end of the JSON or Python string the pair is written in),
// or a '&', ';' or ',' that another pair ("Database=...") or the end of s
// follows. Passwords are made of punctuation too: a value that stopped at
// the first '&', '(', ',', '<', '#' or ';' let the rest of it out
// ("Password=Tr0ub4dor&3"), or all of it when it started with one. A
// bracket after the value is masked with it, which fails closed. A pair
// whose separator is percent-encoded ("%3D", encoded is true) is in a query
// encoded inside another's, and its value also ends at the encoded '&'
// ("%26") of the next pair: an '&' of its own is encoded twice ("%2526").
func unquotedValueEnd(s string, vs int, encoded bool) int {
	for ve := vs; ve < len(s); ve++ {
		switch s[ve] {
		case ' ', '\t', '\n', '\r':
			return ve
		case '%':
			if encoded && ve+2 < len(s) && s[ve+1] == '2' && s[ve+2] == '6' {
				return ve
			}
		case '"', '\'':
			if ve+1 == len(s) || closesString(s[ve+1]) {
				return ve
			}
		case '&', ';', ',':
			if pairFollows(s, ve+1) {
				return ve
			}
		}
	}
	return len(s)
}

// closesString reports whether a quote that c follows can close the string
// a pair is written in: c is white space or punctuation that follows a
// string in JSON, Python, code or markup. Before other bytes (a letter, a
// digit, "$", "!"), the quote is part of a password.
func closesString(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', ';', ':', ')', ']', '}', '<', '>', '&', '\\', '"', '\'':
		return true
	}
	return false
}

// pairFollows reports whether another pair's name and '=' start at byte i
// of s, white space aside, or a quoted name and ':' (JSON: a number's value
// then ',"user":'), or s ends there.
func pairFollows(s string, i int) bool {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i == len(s) {
		return true
	}
	q := i
	for q < len(s) && (s[q] == '"' || s[q] == '\'' || s[q] == '\\') {
		q++
	}
	j := q
	for j < len(s) && isNameByte(s[j]) {
		j++
	}
	if j == q {
		return false
	}
	if q > i {
		for j < len(s) && (s[j] == '"' || s[j] == '\'' || s[j] == '\\') {
			j++
		}
		return j < len(s) && (s[j] == ':' || s[j] == '=')
	}
	return j < len(s) && s[j] == '='
}

// unitUnknown is the unit (see startsLine) of a line that may be in a JSON
// string or in none ("'password: x' ..."): lineEnd reads no escapes, which
// masks more, but a quote with no backslash before it ends the value, as it
// ends a JSON string at any depth. Read as outside JSON, the value ran over
// the end of the string it was in, past the rest of a JSON document.
const unitUnknown = -1

// lineEnd returns the end of the line that goes on at byte i of s: its
// raw line break, or, in a JSON string whose line breaks are escaped with
// unit backslashes (see startsLine), the end of that string or a line
// break escaped at its depth or a shallower one. Other escapes are part of
// the value: stopping at "\u00e9" let the rest of it out, and stopping at
// "\\n" in a JSON string, an escaped backslash and an 'n' (a Windows path,
// a line break written as text), let out the rest of the line. Outside any
// JSON string (unit 0) a backslash escapes nothing and a quote ends
// nothing; inside one, a run of m backslashes before a quote leaves it
// inside the string only when m's low bits (those below 2*unit) are all
// set, and one before an 'n' or 'r' is a line break unless they are all
// clear. When unsure of the depth the reading is the shallower one, which
// masks more.
func lineEnd(s string, i, unit int) int {
	for i < len(s) {
		switch s[i] {
		case '\n', '\r':
			return i
		case '"':
			if unit > 0 || unit == unitUnknown && (i == 0 || s[i-1] != '\\') {
				return i
			}
		case '\\':
			if unit <= 0 {
				break
			}
			j := i
			for j < len(s) && s[j] == '\\' {
				j++
			}
			if j == len(s) {
				return len(s)
			}
			// The escape is the run's last m backslashes (and the byte
			// after them); those before it are escaped backslashes,
			// masked with the value.
			m := (j - i) % (2 * unit)
			switch s[j] {
			case '"':
				if m != 2*unit-1 {
					return j - m
				}
				j++ // an escaped quote, inside the value
			case 'n', 'r':
				if m != 0 {
					return j - m
				}
			}
			i = j
			continue
		}
		i++
	}
	return i
}

// maxTypographicValue bounds the search for a typographic quote's closing
// quote, so that a string of pairs whose quotes never close ("password=“"
// repeated) is read in linear time. No credential is that long.
const maxTypographicValue = 4096

// typographicOpen returns the length of the typographic opening quote at
// byte i of s, as word processors, chat tools and phones type quotes, and
// the quotes that close it, or 0. Smart punctuation types a closing quote
// after a non-space, so ”…” and ’…’ open too; „ closes with “ (German) or ”
// (Polish), » with « (German) or » (Swedish).
// quoteAt reports whether a quote opens at s[i]: ASCII, escaped or
// typographic. A ':' directly before one separates a pair even without a
// quoted name or white space, as in a JavaScript object literal
// ({password:"..."}), while "File.java:42" and "12:30" stay no pairs.
func quoteAt(s string, i int) bool {
	switch c := s[i]; {
	case c == '"' || c == '\'':
		return true
	case c == '\\':
		// Escaped at any depth: {password:\\\"...\\\"} in JSON inside JSON
		// was no pair, and its value went out whole.
		j := i + 1
		for j < len(s) && s[j] == '\\' {
			j++
		}
		if j < len(s) && (s[j] == '"' || s[j] == '\'') {
			return true
		}
		n, _, _ := escapedQuote(s, i)
		return n > 0
	case c >= utf8.RuneSelf:
		n, _, _ := typographicOpen(s, i)
		return n > 0
	}
	return false
}

func typographicOpen(s string, i int) (n int, close1, close2 string) {
	q, n := utf8.DecodeRuneInString(s[i:])
	if close1, close2 = typographicCloses(q); close1 == "" {
		return 0, "", ""
	}
	return n, close1, close2
}

// typographicCloses returns the quotes that close the typographic opening
// quote q (see typographicOpen), or "" when q opens none.
func typographicCloses(q rune) (close1, close2 string) {
	switch q {
	case '“', '”':
		return "”", ""
	case '„':
		return "“", "”"
	case '‘', '’':
		return "’", ""
	case '«':
		return "»", ""
	case '»':
		return "«", "»"
	case '‹':
		return "›", ""
	case '「':
		return "」", ""
	case '『':
		return "』", ""
	}
	return "", ""
}

// escapedQuote returns the length of the JSON escape of a typographic
// opening quote (see typographicOpen) at byte i of s, and the quotes that
// close it, or 0: "\u201c", as encoders that escape every non-ASCII
// character write “, with hex digits in either case and the backslash
// written any number of times (JSON inside JSON). An ASCII or full-width
// quote written as an escape opens too ("\u0022", as .NET's
// System.Text.Json writes '"' inside a string; "\u0027", "\uff02").
func escapedQuote(s string, i int) (n int, close1, close2 string) {
	j := i
	for j < len(s) && s[j] == '\\' {
		j++
	}
	q, ok := unicodeEscape(s, j)
	if j == i || !ok {
		return 0, "", ""
	}
	if close1, close2 = escapedCloses(q); close1 == "" {
		return 0, "", ""
	}
	return j + 5 - i, close1, close2
}

// escapedCloses is typographicCloses for a quote written as a JSON escape,
// which may also be an ASCII or a full-width quote: no apostrophe-like
// reading makes those ambiguous once escaped.
func escapedCloses(q rune) (close1, close2 string) {
	switch q {
	case '"', '\'', '＂', '＇':
		return string(q), ""
	}
	return typographicCloses(q)
}

// unicodeEscape returns the character of the "uXXXX" (the tail of a JSON
// escape) at byte j of s.
func unicodeEscape(s string, j int) (rune, bool) {
	if j+5 > len(s) || s[j] != 'u' {
		return 0, false
	}
	var q rune
	for _, c := range []byte(s[j+1 : j+5]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c|0x20 >= 'a' && c|0x20 <= 'f':
			c = (c | 0x20) - 'a' + 10
		default:
			return 0, false
		}
		q = q<<4 | rune(c)
	}
	return q, true
}

// escapedQuoted is typographicQuoted for a quote written as a JSON escape
// at vs (see escapedQuote). An escaped ASCII or full-width quote is no
// apostrophe: not closed within maxTypographicValue bytes, its value runs to
// the end of s, as one in an ASCII quote does.
func escapedQuoted(s string, vs int) (int, int, bool) {
	n, close1, close2 := escapedQuote(s, vs)
	if n == 0 {
		return 0, 0, false
	}
	start, end, ok := quotedTo(s, vs+n, close1, close2)
	if !ok && (close1 == `"` || close1 == "'" || close1 == "＂" || close1 == "＇") {
		return vs + n, len(s), true
	}
	return start, end, ok
}

// typographicQuoted returns the inside of the value in typographic quotes
// at vs (see typographicOpen), when its closing quote follows within
// maxTypographicValue bytes. A quote never closed is no quote: the value is
// then read as an unquoted one, since these quotes double as apostrophes
// and in prose may close far away or never.
func typographicQuoted(s string, vs int) (int, int, bool) {
	n, close1, close2 := typographicOpen(s, vs)
	if n == 0 {
		return 0, 0, false
	}
	return quotedTo(s, vs+n, close1, close2)
}

// quotedTo returns the value that starts at byte start of s, inside quotes
// closed by close1 or close2, when one follows within maxTypographicValue
// bytes: written raw or as a JSON escape (its backslashes excluded from the
// value), whichever way the opening quote was written. A string put
// together from pieces encoded apart ("password=\u201c" + "correct horse”")
// mixes the two, and a search for one form only read the value as an
// unquoted one, so that it was masked to its first space and the rest
// leaked. Empty quotes with the value right after them are part of the
// value (see pairValue): then ok is false and the value is read as an
// unquoted one, quotes and all.
func quotedTo(s string, start int, close1, close2 string) (int, int, bool) {
	window := s[start:min(len(s), start+maxTypographicValue)]
	end, after := closingQuote(s, start, window, close1, close2)
	if end < 0 {
		return 0, 0, false
	}
	if end == 0 && after < len(s) && !isValueEnd(s[after]) && !spaceAt(s, after) {
		return 0, 0, false
	}
	return start, start + end, true
}

// closingQuote returns the index in window, which starts at byte start of
// s, of the first quote close1 or close2 (close2 may be empty), raw or as a
// JSON escape with any number of backslashes, and the index in s after
// it; or -1. A right single quote with a letter or digit after it is an
// apostrophe inside the value ("‘it’s secret’"), not its end: taken for the
// end, it left the rest of the value unmasked.
func closingQuote(s string, start int, window, close1, close2 string) (end, after int) {
	c1, _ := utf8.DecodeRuneInString(close1)
	c2 := rune(-1)
	if close2 != "" {
		c2, _ = utf8.DecodeRuneInString(close2)
	}
	for i := 0; i < len(window); {
		j := i
		for j < len(window) && window[j] == '\\' {
			j++
		}
		var q rune
		if r, ok := unicodeEscape(window, j); ok && j > i && (r == c1 || r == c2) {
			q, j = r, j+5
		} else if rest := window[j:]; strings.HasPrefix(rest, close1) {
			q, j = c1, j+len(close1)
		} else if close2 != "" && strings.HasPrefix(rest, close2) {
			q, j = c2, j+len(close2)
		} else {
			i = max(j, i+1)
			continue
		}
		n := j - i
		if q == '’' && wordCharAt(s, start+i+n) {
			i += n
			continue
		}
		return i, start + i + n
	}
	return -1, 0
}

// wordCharAt reports whether a letter or digit of any script starts at
// byte i of s.
func wordCharAt(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	if s[i] < utf8.RuneSelf {
		return isAlnum(s[i])
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// closingBracket returns the end of the JSON object or array that starts
// at i, or len(s) when it is not closed.
func closingBracket(s string, i int) int {
	depth := 0
	inString := false
	for j := i; j < len(s); j++ {
		switch c := s[j]; {
		case inString:
			if c == '\\' {
				j++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				return j + 1
			}
		}
	}
	return len(s)
}

// authSchemes are the HTTP authorization schemes kept before a pair's
// value ("Authorization: Token ..."), so the header stays readable.
var authSchemes = [...]string{"bearer", "basic", "token", "digest", "negotiate", "ntlm"}

// skipAuthScheme returns where the credential starts when the value at vs
// begins with an authorization scheme and white space, else vs. The
// credential may be quoted.
func skipAuthScheme(s string, vs int) int {
	w := vs
	for w < len(s) && (s[w]|0x20 >= 'a' && s[w]|0x20 <= 'z') {
		w++
	}
	c := schemeSpace(s, w)
	if c == w || c == len(s) || isValueEnd(s[c]) && !quoteAt(s, c) {
		return vs
	}
	for _, scheme := range authSchemes {
		if w-vs == len(scheme) && foldEqual(s[vs:w], scheme) {
			return c
		}
	}
	return vs
}

// isNameByte reports whether c can be part of a pair's name. A non-ASCII
// byte can: a name in full-width letters ("ｐａｓｓｗｏｒｄ=...") matches as its
// ASCII form does (see normalize).
func isNameByte(c byte) bool {
	return isAlnum(c) || c == '_' || c == '-' || c == '.' || c == '%' || c == '[' || c == ']' || c >= utf8.RuneSelf
}

func isValueEnd(c byte) bool {
	switch c {
	case '&', ';', ',', ' ', '\t', '\n', '\r', '"', '\'', '<', '>', '(', ')', '[', ']', '{', '}', '#':
		return true
	}
	return false
}

// Card numbers: 13 to 19 digits, optionally grouped (see cardSep), that
// pass the Luhn check. The digits may be any script's decimal digits
// (see digitAt).
const (
	minCardDigits = 13
	maxCardDigits = 19
)

func luhn(d []byte) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i])
		if double {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return sum%10 == 0
}

// findCard finds a Luhn-valid card number. In a longer run of digit groups
// ("order 12 4111 1111 1111 1111") every window that starts at a group is
// tried, so a card cannot hide behind a neighbouring number; what it returns
// runs from the first such window to the end of the run.
func findCard(s string, from int) (int, int, bool) {
	// Cheap pre-check: enough digits at all. It stops at the card's worth:
	// counted to the end for every card found, a string of many took time
	// growing with its square; the scan below reads that far anyway.
	n := 0
	for i := from; i < len(s) && n < minCardDigits; i++ {
		if c := s[i]; isDigit(c) || c >= utf8.RuneSelf && isDigitAt(s, i) {
			n++
		}
	}
	if n < minCardDigits {
		return 0, 0, false
	}
	var digits [64]byte // digit values of the current run
	var pos [64]int     // byte offset of each digit
	var groupStart [64]bool
	i := from
	for i < len(s) {
		if c := s[i]; !isDigit(c) && (c < utf8.RuneSelf || !isDigitAt(s, i)) {
			i++
			continue
		}
		// A run of digit groups (see cardSep).
		nd := 0
		j := i
		newGroup := true
		for j < len(s) && nd < len(digits) {
			d, w := s[j]-'0', 1 // digitAt, its ASCII case inlined
			if d > 9 {
				d, w = digitAt(s, j)
			}
			if w > 0 {
				digits[nd], pos[nd], groupStart[nd] = d, j, newGroup
				nd++
				newGroup = false
				j += w
				continue
			}
			if n := cardSep(s, j); n > 0 && nd > 0 {
				newGroup = true
				j += n
				continue
			}
			break
		}
		// The buffer may fill before the run ends: then the run goes on
		// from a group start among its last digits (below), and a window
		// that ends where the buffer did is not the end of a group.
		cut := nd == len(digits) && j < len(s) && (isDigitAt(s, j) || cardSep(s, j) > 0)
		// A card whose groups a '.', '_' or '/' separates starts at the
		// last group of a run that such a separator ends (see groupedCard).
		groupedStart, groupedEnd := -1, -1
		if !cut && j < len(s) && groupSepLen(s, j) > 0 && nd >= 4 && groupStart[nd-4] && j-pos[nd-4] == 4 {
			if end, ok := groupedCard(s, pos[nd-4]); ok {
				groupedStart, groupedEnd = pos[nd-4], end
			}
		}
		// A run glued to letters ("ab4111...") is checked too: failing
		// closed beats a leaked card.
		for a := 0; a+minCardDigits <= nd; a++ {
			if !groupStart[a] {
				continue
			}
			for l := min(maxCardDigits, nd-a); l >= minCardDigits; l-- {
				// Windows that end inside a group are only checked for the
				// whole run, so "12345678901234567890" is not scanned for
				// cards at every offset.
				endsGroup := a+l < nd && groupStart[a+l] || a+l == nd && !cut
				if !endsGroup {
					continue
				}
				if luhn(digits[a : a+l]) {
					// The mask runs to the end of the run: a window that
					// passes Luhn by chance may overlap a card that ends
					// later ("12 12 4111 1111 1111 1111"), and no digit
					// of it may be left.
					return pos[a], max(runEnd(s, pos[a+l-1]), groupedEnd), true
				}
			}
		}
		if groupedStart >= 0 {
			return groupedStart, groupedEnd, true
		}
		if cut {
			j = resumeCard(s, j, pos[:nd], groupStart[:nd])
		}
		i = j
	}
	return 0, 0, false
}

// groupSepLen returns the length of the separator at byte j of s that
// separates a card's digit groups in a card's grouping only (see
// groupedCard), or 0: a '.', '_' or '/', also the '/' escaped as PHP's
// json_encode writes it ("\\/").
func groupSepLen(s string, j int) int {
	switch s[j] {
	case '.', '_', '/':
		return 1
	case '\\':
		if j+1 < len(s) && s[j+1] == '/' {
			return 2
		}
	}
	return 0
}

// groupedCard returns the end of the Luhn-valid card number that starts at
// byte p of s with four ASCII digits and a separator (see groupSepLen), when
// its groups are a card's, 4-4-4-4 or American Express's 4-6-5, all
// separated by that separator, and no digit group comes before or after
// them with it. Some forms and exports write a card so
// ("4111.1111.1111.1111"); these separators
// also join IP addresses, dates and version numbers, which never have that
// shape, so they are no card separators elsewhere (see cardSep).
func groupedCard(s string, p int) (int, bool) {
	sep := s[p+4 : p+4+groupSepLen(s, p+4)]
	if p > len(sep) && s[p-len(sep):p] == sep && isDigit(s[p-len(sep)-1]) {
		return 0, false
	}
	var digits [maxCardDigits]byte
	var lens [4]int
	n, g, k := 0, 0, p
	for {
		start := k
		for k < len(s) && isDigit(s[k]) && n < len(digits) {
			digits[n] = s[k] - '0'
			n++
			k++
		}
		if g == len(lens) {
			return 0, false
		}
		lens[g] = k - start
		g++
		if k+len(sep) < len(s) && strings.HasPrefix(s[k:], sep) && isDigit(s[k+len(sep)]) {
			k += len(sep)
			continue
		}
		break
	}
	if k < len(s) && isDigit(s[k]) {
		return 0, false
	}
	if lens != [4]int{4, 4, 4, 4} && lens != [4]int{4, 6, 5, 0} || !luhn(digits[:n]) {
		return 0, false
	}
	return k, true
}

// runEnd returns the end of the run of digit groups (digits, and the
// separators between them, see cardSep) that goes on at byte j.
func runEnd(s string, j int) int {
	for j < len(s) {
		if isDigit(s[j]) {
			j++
			continue
		}
		if _, w := digitAt(s, j); w > 0 {
			j += w
			continue
		}
		n := cardSep(s, j)
		if n == 0 {
			return j
		}
		j += n
	}
	return j
}

// digitAt returns the value and length of the decimal digit at byte j of
// s, or a length of 0. Besides ASCII, any script's decimal digits count
// (full-width ones, as a Japanese IME types them; Arabic-Indic,
// Devanagari...): a card written in them is as much a card.
func digitAt(s string, j int) (byte, int) {
	c := s[j]
	if c < utf8.RuneSelf {
		if isDigit(c) {
			return c - '0', 1
		}
		return 0, 0
	}
	return otherDigitAt(s, j)
}

// otherDigitAt is digitAt for a non-ASCII byte at j.
func otherDigitAt(s string, j int) (byte, int) {
	r, w := utf8.DecodeRuneInString(s[j:])
	if r < utf8.RuneSelf || !unicode.IsDigit(r) {
		return 0, 0
	}
	return unicodeDigitValue(r), w
}

func isDigitAt(s string, j int) bool {
	_, w := digitAt(s, j)
	return w > 0
}

// unicodeDigitValue returns the value of r, a decimal digit (unicode.Nd).
// Unicode assigns them in blocks of ten from zero, and unicode.Nd's ranges
// are runs of such blocks (TestUnicodeDigitValues checks both).
func unicodeDigitValue(r rune) byte {
	if r <= 0xffff {
		for _, rg := range unicode.Nd.R16 {
			if rune(rg.Lo) <= r && r <= rune(rg.Hi) {
				return byte((r - rune(rg.Lo)) % 10)
			}
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if rune(rg.Lo) <= r && r <= rune(rg.Hi) {
			return byte((r - rune(rg.Lo)) % 10)
		}
	}
	return 0
}

// maxCardSepUnits bounds the separators between two groups of a card
// number ("4111 - 1111" has three).
const maxCardSepUnits = 3

// cardSep returns the length of the separator between two groups of a card
// number at byte j, 0 when no digit follows one there: up to
// maxCardSepUnits spaces, tabs, dashes, and the Unicode spaces, dashes and
// zero-width characters a locale, a word processor or a form puts between
// digit groups (a no-break space, the narrow one of French number
// formatting, a zero-width joiner, an ideographic space, an en dash, a
// full-width hyphen-minus).
func cardSep(s string, j int) int {
	i := j
	for range maxCardSepUnits {
		n := cardSepUnit(s, i)
		if n == 0 {
			break
		}
		i += n
		if i < len(s) && isDigitAt(s, i) {
			return i - j
		}
	}
	return 0
}

// cardSepUnit returns the length of the separator character at byte i, or 0.
func cardSepUnit(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	switch s[i] {
	case ' ', '-', '\t', '+': // '+': a space in a form-encoded body
		return 1
	case '%': // "%20": a space percent-encoded
		if i+2 < len(s) && s[i+1] == '2' && s[i+2] == '0' {
			return 3
		}
	case 0xc2: // U+00A0 no-break space
		if i+1 < len(s) && s[i+1] == 0xa0 {
			return 2
		}
	case 0xe2: // U+2000 – U+200D spaces and zero-width characters, U+2010 – U+2015 dashes, U+202F, U+205F, U+2060, U+2212 minus
		if i+2 < len(s) && (s[i+1] == 0x80 && (s[i+2] >= 0x80 && s[i+2] <= 0x8d || s[i+2] >= 0x90 && s[i+2] <= 0x95 || s[i+2] == 0xaf) ||
			s[i+1] == 0x81 && (s[i+2] == 0x9f || s[i+2] == 0xa0) || s[i+1] == 0x88 && s[i+2] == 0x92) {
			return 3
		}
	case 0xe3: // U+3000 ideographic space
		if i+2 < len(s) && s[i+1] == 0x80 && s[i+2] == 0x80 {
			return 3
		}
	case 0xef: // U+FEFF zero-width no-break space, U+FF0D full-width hyphen-minus
		if i+2 < len(s) && (s[i+1] == 0xbb && s[i+2] == 0xbf || s[i+1] == 0xbc && s[i+2] == 0x8d) {
			return 3
		}
	}
	return 0
}

// resumeCard returns where findCard goes on after a run of digit groups
// filled its buffer at byte j. A card that began in the buffer's last
// maxCardDigits-1 digits, at a group start, is read again whole from there
// (a later one than the first, so the scan always moves on). Without such a
// group start no card window begins there, so the scan skips to the end of
// the group it stopped in.
func resumeCard(s string, j int, pos []int, groupStart []bool) int {
	for a := max(1, len(pos)-maxCardDigits+1); a < len(pos); a++ {
		if groupStart[a] {
			return pos[a]
		}
	}
	for j < len(s) {
		_, w := digitAt(s, j)
		if w == 0 {
			break
		}
		j += w
	}
	return j
}

// isOTPCode reports whether a value under an OTP-like key looks like a
// one-time code: at most maxOTPLen letters, digits, spaces or dashes, with
// at least four digits, once surrounding white space is trimmed
// ("493817\n"). The digits may be any script's decimal digits, the letters,
// spaces and dashes any script's (see isOTPCodeOther): a code typed with a
// Japanese IME ("４９３８１７") is as much a code.
func isOTPCode(s string) bool {
	s = strings.TrimSpace(s)
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= utf8.RuneSelf:
			return isOTPCodeOther(s)
		case i >= maxOTPLen:
			return false // an ASCII character past the longest code
		case isDigit(c):
			digits++
		case isAlnum(c) || c == ' ' || c == '-':
		default:
			return false
		}
	}
	return digits >= 4
}

// maxOTPLen is the most characters a one-time code has.
const maxOTPLen = 16

// isOTPCodeOther is isOTPCode for a value with a non-ASCII character,
// counted in characters rather than bytes (a full-width digit has three).
// A byte that is no UTF-8 (a code cut inside a character) cannot be read:
// it counts as a digit, so the value fails closed.
func isOTPCodeOther(s string) bool {
	digits, n := 0, 0
	for _, r := range s {
		if n++; n > maxOTPLen {
			return false
		}
		switch {
		case unicode.IsDigit(r) || r == utf8.RuneError:
			digits++
		case unicode.IsLetter(r) || unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) || r == '\u2212':
		default:
			return false
		}
	}
	return digits >= 4
}

// spaceAt reports whether white space of any script starts at byte i of s.
func spaceAt(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsSpace(r)
}
