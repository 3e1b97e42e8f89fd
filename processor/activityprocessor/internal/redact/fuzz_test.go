package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// alphabet maps fuzz bytes onto a character set, so generated secrets are
// well formed whatever the fuzzer feeds.
func alphabet(b []byte, chars string, minLen int) string {
	var s strings.Builder
	for _, c := range b {
		s.WriteByte(chars[int(c)%len(chars)])
	}
	for s.Len() < minLen {
		s.WriteByte(chars[s.Len()%len(chars)])
	}
	return s.String()
}

const (
	b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b64std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	alnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// luhnComplete returns 15 digits from b plus the Luhn check digit.
func luhnComplete(b []byte) string {
	d := make([]byte, 16)
	for i := 0; i < 15; i++ {
		c := byte(7)
		if i < len(b) {
			c = b[i] % 10
		}
		d[i] = c
	}
	d[0] = 4
	for c := byte(0); c < 10; c++ {
		d[15] = c
		if luhn(d) {
			break
		}
	}
	out := make([]byte, 16)
	for i := range d {
		out[i] = d[i] + '0'
	}
	return string(out)
}

// numPlants is the number of kinds of plant.
const numPlants = 16

// plant returns the secret a detector must find, generated from b, and the
// part of it that must not survive (compared with the output's visible
// characters, see visible).
func plant(kind uint8, b []byte) (planted, core string) {
	switch kind % numPlants {
	case 0:
		sig := alphabet(b, b64url, 16)
		return "eyJhbGciOiJIUzI1NiJ9." + alphabet(b, b64url, 4) + "." + sig, sig
	case 1:
		tok := alphabet(b, alnum, 12)
		if len(b) > 0 {
			// In quotes, as b chooses: none, double, single, or double
			// escaped in JSON.
			q := []string{"", `"`, "'", `\"`}[b[0]%4]
			return "Bearer " + q + tok + q, tok
		}
		return "Bearer " + tok, tok
	case 2:
		tok := "dXNlcjpw" + alphabet(b, b64std, 8) // base64("user:p...")
		return "Basic " + tok, tok
	case 3:
		k := "sk_live_" + alphabet(b, alnum, 24)
		return k, k
	case 4:
		body := alphabet(b, b64std, 40)
		return "-----BEGIN PRIVATE KEY-----\n" + body + "\n-----END PRIVATE KEY-----", body
	case 5:
		c := luhnComplete(b)
		return c, c
	case 6:
		pw := alphabet(b, alnum, 8)
		var pick byte
		if len(b) > 0 {
			pick = b[0]
		}
		switch pick % 3 {
		case 1:
			return `https:\/\/user:` + pw + `@host.example\/path`, pw // slashes escaped, as JSON may write them
		case 2:
			return encodedURL(pw, pick)
		}
		return "https://user:" + pw + "@host.example/path", pw
	case 7:
		k := "ghp_" + alphabet(b, alnum, 36)
		return k, k
	case 8:
		// A password with '/', '?', '#' and '@' written raw. It starts
		// with a letter: digits alone before a '/' read as a port.
		pw := "p" + alphabet(b, alnum+"/?#@", 8)
		if len(b) > 8 && b[8]&1 == 1 {
			// An '@' before the raw '/' ("u:p@s/s@host"): the part
			// after the '/' must not survive either. No 'Z' is in the
			// rest of the URL.
			tail := "Z" + alphabet(b[1:], alnum, 6)
			return "postgres://app:" + pw + "@s/" + tail + "@db.example:5432/loyalty", tail
		}
		return "postgres://app:" + pw + "@db.example:5432/loyalty", pw
	case 9:
		return otherDigitsCard(b)
	case 10:
		// Another kind's secret with invisible characters in it.
		var inner uint8
		if len(b) > 0 {
			inner = b[0] % 8
		}
		planted, core = plant(inner, b)
		return withZeroWidth(planted, b), core
	case 11:
		// A pair whose name is written in full-width letters.
		v := alphabet(b, alnum, 10)
		return "ｐａｓｓｗｏｒｄ=" + v, v
	case 12:
		return fullWidthPair(b)
	case 13:
		return otpPair(b)
	case 14:
		return typographicPair(b)
	default:
		return linePair(b)
	}
}

// encodedURL returns a URL with the password pw, percent-encoded in
// another URL's query as pick chooses (the hex in either case, the slashes
// raw as Python's quote leaves them, encoded twice, an encoded '/' in the
// password), and the password as written there.
func encodedURL(pw string, pick byte) (planted, core string) {
	if pick&4 != 0 {
		// A letter first: digits alone before a '/' read as a port.
		pw = "p" + pw + "%2F" + pw
	}
	sep := []string{"%3A%2F%2F", "%3a%2f%2f", "%3A//"}[int(pick>>3)%3]
	u := "https" + sep + "user%3A" + pw + "%40host.example%2Fpath"
	if pick&0x40 != 0 {
		u, pw = strings.ReplaceAll(u, "%", "%25"), strings.ReplaceAll(pw, "%", "%25")
	}
	return "next=" + u + "&state=1", pw
}

// linePair returns a line of its own, "password: ...", written at a JSON
// string depth b chooses (none, JSON text, JSON inside a string), whose
// value holds the text "\n" (a backslash and an 'n', escaped for that
// depth) or an escaped quote, and the value's part after it: what survived
// when the value was read to there.
func linePair(b []byte) (planted, core string) {
	v := "Z" + alphabet(b, alnum, 10)
	var pick byte
	if len(b) > 0 {
		pick = b[0]
	}
	depth := int(pick) % 3
	inner := `\n`
	if pick&4 != 0 {
		inner = `"`
	}
	value := "correct " + inner + v
	for range depth {
		value = strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(value)
	}
	switch depth {
	case 1:
		return `{"n":"password: ` + value + `"}`, v
	case 2:
		return `{"m":"{\"n\":\"password: ` + value + `\"}"}`, v
	}
	// Outside JSON a line break of its own starts the line, whatever
	// text the fuzzer puts before it.
	if pick&4 != 0 {
		return "\npassword: correct " + `\"` + v, v
	}
	return "\npassword: " + value, v
}

// fullWidthSeps are pair separators as an IME types them: full-width, or
// with ideographic spaces; and with a no-break space (U+00A0, U+202F)
// after them, as a document or a French keyboard layout puts one.
var fullWidthSeps = []string{"＝", "：", "＝＞", "\u3000＝\u3000", ":\u3000", "\u3000：", "：\u3000", ":\u00a0", "=\u00a0", "\u00a0:\u00a0", ":\u202f"}

// fullWidthPair returns a pair whose separator (and, as b chooses, the
// quotes around its name and value) are written full-width, and its value.
func fullWidthPair(b []byte) (planted, core string) {
	v := alphabet(b, alnum, 10)
	var pick byte
	if len(b) > 0 {
		pick = b[0]
	}
	name := []string{"password", "secret", "api_key", "ｔｏｋｅｎ"}[int(pick>>4)%4]
	sep := fullWidthSeps[int(pick)%len(fullWidthSeps)]
	if pick&0x08 != 0 {
		return "＂" + name + "＂" + sep + "＂" + v + "＂", v
	}
	return name + sep + v, v
}

// typographicQuotes are the quotes around a value as word processors, chat
// tools and phones type them: opening, then closing.
var typographicQuotes = [][2]string{{"“", "”"}, {"‘", "’"}, {"„", "“"}, {"„", "”"}, {"«", "»"}, {"»", "«"}, {"‹", "›"}, {"「", "」"}, {"『", "』"}, {"”", "”"}, {"’", "’"}, {`"`, `"`}, {"'", "'"}, {"＂", "＂"}}

// typographicPair returns a pair whose value is in typographic quotes and
// holds a space, its separator and name written as b chooses, and the
// value's last word: what survived when the value was read to its first
// space.
func typographicPair(b []byte) (planted, core string) {
	v := alphabet(b, alnum, 10)
	var pick byte
	if len(b) > 0 {
		pick = b[0]
	}
	q := typographicQuotes[int(pick)%len(typographicQuotes)]
	name := []string{"password", `"password"`, "“secret”", "ｔｏｋｅｎ"}[int(pick>>4)%4]
	sep := []string{"=", ": ", " = ", "＝", "=>"}[int(pick>>6)%5]
	if len(b) > 1 && b[1]&1 == 1 {
		// The quotes as a JSON encoder that escapes non-ASCII writes
		// them, as b chooses: in either case, the backslash doubled
		// (JSON in JSON); or only one of them, as a string put together
		// from pieces encoded apart has them.
		switch b[1] & 0x18 {
		case 0x08:
			q[0] = jsonEscape(q[0], b[1])
		case 0x10:
			q[1] = jsonEscape(q[1], b[1])
		default:
			q = [2]string{jsonEscape(q[0], b[1]), jsonEscape(q[1], b[1])}
		}
	}
	return name + sep + q[0] + "correct " + v + q[1], v
}

// jsonEscape returns the "\uXXXX" escape of the single character q: its
// hex digits upper case when pick has bit 1, its backslash doubled when it
// has bit 2.
func jsonEscape(q string, pick byte) string {
	r, _ := utf8.DecodeRuneInString(q)
	e := fmt.Sprintf(`\u%04x`, r)
	if pick&2 != 0 {
		e = `\u` + strings.ToUpper(e[2:])
	}
	if pick&4 != 0 {
		e = `\` + e
	}
	return e
}

// otpPair returns a one-time code of six digits in a script b chooses,
// written as a pair under an OTP name with an ASCII or full-width
// separator, and the code in ASCII digits (visible reads digits so).
func otpPair(b []byte) (planted, core string) {
	var pick byte
	if len(b) > 0 {
		pick = b[0]
	}
	zero := digitZeros[int(pick>>4)%len(digitZeros)]
	var code, ascii strings.Builder
	for i := range 6 {
		d := byte(7)
		if i+1 < len(b) {
			d = b[i+1] % 10
		}
		code.WriteRune(zero + rune(d))
		ascii.WriteByte('0' + d)
	}
	sep := []string{"=", "＝", ": ", "：", "=\""}[int(pick)%5]
	end := []string{"", "、", "。", "\u3000", "）"}[int(pick>>2)%5]
	if len(b) > 7 && b[7]&1 == 1 {
		// A byte that is no UTF-8 inside the code: what follows it must
		// not survive.
		c := code.String()
		cut := len(c) / 2
		return "otp" + sep + c[:cut] + "\xff" + c[cut:] + end, ascii.String()[3:]
	}
	return "otp" + sep + code.String() + end, ascii.String()
}

// digitZeros are the zeros of some scripts' decimal digits: ASCII,
// full-width (a Japanese IME), Arabic-Indic, Devanagari, Bengali, Thai.
var digitZeros = []rune{'0', '０', '٠', '०', '০', '๐'}

// cardSeps are separators a card's groups may be written with.
var cardSeps = []string{"", " ", "-", "－", "\u2013", "\u3000", "\u00a0"}

// otherDigitsCard returns a Luhn-valid card from b written in other
// scripts' digits (a script per digit, chosen by b), in groups of four, and
// the same card as ASCII digits: the output, its digits read as ASCII,
// must not hold it.
func otherDigitsCard(b []byte) (planted, core string) {
	c := luhnComplete(b)
	var sep string
	if len(b) > 0 {
		sep = cardSeps[int(b[0])%len(cardSeps)]
	}
	var out strings.Builder
	for i := 0; i < len(c); i++ {
		if i > 0 && i%4 == 0 {
			out.WriteString(sep)
		}
		zero := digitZeros[1]
		if i < len(b) {
			zero = digitZeros[int(b[i]>>4)%len(digitZeros)]
		}
		out.WriteRune(zero + rune(c[i]-'0'))
	}
	return out.String(), c
}

// zeroWidths are the invisible characters a copied token may carry.
var zeroWidths = []string{"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"}

// withZeroWidth inserts invisible characters into s after the bytes that b
// chooses, never inside a multi-byte character.
func withZeroWidth(s string, b []byte) string {
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		out.WriteByte(s[i])
		if i+1 < len(s) && utf8.RuneStart(s[i+1]) && i < len(b) && b[i]%3 == 0 {
			out.WriteString(zeroWidths[int(b[i]/3)%len(zeroWidths)])
		}
	}
	return out.String()
}

// visible returns s without invisible characters, with full-width
// characters as their ASCII forms and every decimal digit as its ASCII
// digit: what a reader of s sees.
func visible(s string) string {
	stripped, _ := plainText(s)
	var out strings.Builder
	for i := 0; i < len(stripped); {
		if d, w := digitAt(stripped, i); w > 0 {
			out.WriteByte('0' + d)
			i += w
			continue
		}
		out.WriteByte(stripped[i])
		i++
	}
	return out.String()
}

// fuzzOneDetector fuzzes the detector of one kind of plant: whatever text
// surrounds the secret, it never survives, and nothing panics.
func fuzzOneDetector(f *testing.F, kind uint8) {
	f.Add([]byte("abc"), "prefix ", " suffix")
	f.Add([]byte("0123456789abcdef0123"), "", "")
	f.Add([]byte{0xff, 0x00, 0x80}, "\x00", "\xff")
	r := mustNew(f, testConfig())
	f.Fuzz(func(t *testing.T, b []byte, prefix, suffix string) {
		planted, core := plant(kind, b)
		if strings.Contains(visible(prefix), core) || strings.Contains(visible(suffix), core) {
			t.Skip("the fuzzer's own text contains the secret")
		}
		var rep Report
		out, _ := r.String(prefix+" \n "+planted+" \n "+suffix, &rep)
		if strings.Contains(visible(out), core) {
			t.Errorf("secret survived: got %q", out)
		}
	})
}

func FuzzJWT(f *testing.F)             { fuzzOneDetector(f, 0) }
func FuzzBearer(f *testing.F)          { fuzzOneDetector(f, 1) }
func FuzzBasicAuth(f *testing.F)       { fuzzOneDetector(f, 2) }
func FuzzAPIKey(f *testing.F)          { fuzzOneDetector(f, 3) }
func FuzzPrivateKey(f *testing.F)      { fuzzOneDetector(f, 4) }
func FuzzCardNumber(f *testing.F)      { fuzzOneDetector(f, 5) }
func FuzzURLCredentials(f *testing.F)  { fuzzOneDetector(f, 6) }
func FuzzGitHubToken(f *testing.F)     { fuzzOneDetector(f, 7) }
func FuzzURLRawPassword(f *testing.F)  { fuzzOneDetector(f, 8) }
func FuzzCardOtherDigits(f *testing.F) { fuzzOneDetector(f, 9) }
func FuzzZeroWidth(f *testing.F)       { fuzzOneDetector(f, 10) }
func FuzzFullWidthName(f *testing.F)   { fuzzOneDetector(f, 11) }
func FuzzFullWidthPair(f *testing.F)   { fuzzOneDetector(f, 12) }
func FuzzOTPPair(f *testing.F)         { fuzzOneDetector(f, 13) }
func FuzzTypographicPair(f *testing.F) { fuzzOneDetector(f, 14) }
func FuzzLinePair(f *testing.F)        { fuzzOneDetector(f, 15) }

// FuzzOTP fuzzes the one-time-code rule: a code under an OTP-like key never
// survives, whatever the key looks like around the pattern (a whole word
// of the key, as a short pattern must be: see wordAt), in whatever
// script's digits (the high bits of its first byte choose), also with a
// byte that is no UTF-8 inside it (the high bit of its second).
func FuzzOTP(f *testing.F) {
	f.Add([]byte("123456"), "otp", "")
	f.Add([]byte("9"), "X-", "-Code")
	f.Add([]byte("\x13\x24\x35\x46\x57\x68"), "", "_code")
	r := mustNew(f, testConfig())
	f.Fuzz(func(t *testing.T, b []byte, keyPrefix, keySuffix string) {
		code := alphabet(b, "0123456789", 4)
		if len(code) > 10 {
			code = code[:10]
		}
		if len(b) > 0 {
			zero := digitZeros[int(b[0]>>4)%len(digitZeros)]
			code = strings.Map(func(d rune) rune { return zero + d - '0' }, code)
		}
		if len(b) > 1 && b[1]&0x80 != 0 {
			_, w := utf8.DecodeRuneInString(code)
			code = code[:2*w] + "\xff" + code[2*w:]
		}
		key := keyPrefix + "_otp_" + keySuffix
		if strings.Contains(key, code) {
			t.Skip("the key itself holds the code")
		}
		m := pcommon.NewMap()
		m.PutStr(key, code)
		m.PutEmptyMap("nested").PutStr(key, code)
		var rep Report
		r.Attributes(m, "", false, &rep)
		raw, _ := json.Marshal(m.AsRaw())
		if strings.Contains(string(raw), `"`+code+`"`) {
			t.Errorf("one-time code %q under %q survived: %s", code, key, raw)
		}
		// JSON writes a byte that is no UTF-8 as U+FFFD: compare the
		// values themselves too.
		nested, _ := m.Get("nested")
		for _, in := range []pcommon.Map{m, nested.Map()} {
			if v, ok := in.Get(key); ok && v.Type() == pcommon.ValueTypeStr && v.Str() == code {
				t.Errorf("one-time code %q under %q survived", code, key)
			}
		}
	})
}

func FuzzDetectors(f *testing.F) {
	f.Add(uint8(0), []byte("abc"), "prefix ", " suffix")
	f.Add(uint8(1), []byte("tokentoken"), "Authorization:", "")
	f.Add(uint8(2), []byte("secret"), "", "")
	f.Add(uint8(3), []byte("4eC39HqLyjWDarjtT1zdp7dc"), "key=", "&x=1")
	f.Add(uint8(4), []byte("MIIE"), "pem:", "")
	f.Add(uint8(5), []byte("411111111111111"), "paid 12", " thanks")
	f.Add(uint8(6), []byte("hunter2"), "dsn ", "")
	f.Add(uint8(7), []byte{0xff, 0x00}, "\x00", "\xff")
	f.Add(uint8(8), []byte("pa/ss?w#rd@x"), "dsn ", "")
	f.Add(uint8(9), []byte{0x10, 0x20, 0x30, 0x40, 0x50}, "paid ", " ok")
	f.Add(uint8(10), []byte{3, 0, 6, 0, 9, 0, 12}, "t ", "")
	f.Add(uint8(11), []byte("hunter22"), "login ", "")
	f.Add(uint8(12), []byte("\x09hunter22"), "ログイン ", "")
	f.Add(uint8(13), []byte{0x11, 4, 9, 3, 8, 1, 7}, "コード ", "")
	r := mustNew(f, testConfig())
	f.Fuzz(func(t *testing.T, kind uint8, b []byte, prefix, suffix string) {
		planted, core := plant(kind, b)
		if strings.Contains(visible(prefix), core) || strings.Contains(visible(suffix), core) {
			t.Skip("the fuzzer's own text contains the secret")
		}
		// Separators keep the fuzzer's text from becoming part of the secret
		// (a letter glued to "Bearer" makes a different word).
		in := prefix + " \n " + planted + " \n " + suffix
		var rep Report
		out, drop := r.String(in, &rep)
		if drop {
			t.Fatalf("got drop, want mask")
		}
		if strings.Contains(visible(out), core) {
			t.Errorf("secret survived: in %q, got %q", in, out)
		}
		// Scanning a scanned string must be a no-op or further redaction,
		// never a panic.
		_, _ = r.String(out, &rep)
	})
}

func FuzzWalker(f *testing.F) {
	f.Add([]byte(`{"a":{"password":"x","b":[1,"Bearer abcdefghijk",{"c":null}]},"activity.changes":{"pin":{"old":1,"new":2}}}`), uint8(0), []byte("s"))
	f.Add([]byte(`{"x":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]}`), uint8(5), []byte("1234"))
	f.Add([]byte(`not json`), uint8(3), []byte{})
	r := mustNew(f, testConfig())
	f.Fuzz(func(t *testing.T, doc []byte, kind uint8, b []byte) {
		var raw map[string]any
		if json.Unmarshal(doc, &raw) != nil {
			raw = map[string]any{"text": string(doc)}
		}
		m := pcommon.NewMap()
		if err := m.FromRaw(raw); err != nil {
			t.Skip("not representable")
		}
		planted, core := plant(kind, b)
		// The output is compared as JSON, which escapes a control
		// character as "\u0000": the document's own digits, no secret.
		docJSON, _ := json.Marshal(raw)
		if strings.Contains(visible(string(doc)), core) || strings.Contains(visible(string(docJSON)), core) {
			t.Skip("the fuzzer's own document contains the secret")
		}
		m.PutEmptyMap("deep").PutEmptySlice("list").AppendEmpty().SetStr("x " + planted + " y")
		m.PutStr("body", planted)
		m.PutEmptyBytes("raw").FromRaw(b)
		m.PutEmptyMap("keys").PutStr("k "+planted, "v")
		otp := alphabet(b, "0123456789", 6)[:6]
		m.PutEmptyMap("login").PutStr("otp_code", otp)
		var rep Report
		r.Attributes(m, "", true, &rep)
		out, err := json.Marshal(m.AsRaw())
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if strings.Contains(visible(string(out)), core) {
			t.Errorf("secret %q survived in %s", core, out)
		}
		login, _ := m.Get("login")
		if v, _ := login.Map().Get("otp_code"); v.AsString() == otp {
			t.Errorf("one-time code %q under otp_code survived", otp)
		}
		for _, p := range rep.Paths() {
			if strings.Contains(p, core) {
				t.Errorf("secret %q survived in the redacted path %q", core, p)
			}
		}
		if depth(m.AsRaw()) > r.maxDepth+1 {
			t.Errorf("got depth %d, want at most %d", depth(m.AsRaw()), r.maxDepth+1)
		}
	})
}

func depth(v any) int {
	switch x := v.(type) {
	case map[string]any:
		d := 0
		for _, c := range x {
			d = max(d, depth(c))
		}
		return d + 1
	case []any:
		d := 0
		for _, c := range x {
			d = max(d, depth(c))
		}
		return d + 1
	}
	return 0
}

// FuzzCardInDigitRun plants a card, in groups of four, inside a run of other
// digit groups of any length (order numbers, references), as long as the
// fuzzer likes: no digit of the card's second half survives, wherever the
// detector's buffer ends.
func FuzzCardInDigitRun(f *testing.F) {
	f.Add([]byte("abc"), bytes.Repeat([]byte{3}, 15), []byte{1}, true)
	f.Add([]byte("abc"), []byte{200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, []byte{}, false)
	f.Add([]byte{9}, bytes.Repeat([]byte{1}, 100), bytes.Repeat([]byte{250}, 40), true)
	r := mustNew(f, testConfig())
	f.Fuzz(func(t *testing.T, b, before, after []byte, dashed bool) {
		sep := " "
		if dashed {
			sep = "-"
		}
		c := luhnComplete(b)
		card := c[0:4] + sep + c[4:8] + sep + c[8:12] + sep + c[12:16]
		core := c[8:12] + sep + c[12:16]
		in := "ref " + digitGroups(before) + card + sep + digitGroups(after) + "ok"
		if strings.Count(in, core) > 1 {
			t.Skip("the filler holds the card's digits")
		}
		var rep Report
		out, _ := r.String(in, &rep)
		if strings.Contains(out, core) {
			t.Errorf("card digits survived: got %q", out)
		}
	})
}

// digitGroups turns each byte into a group of 1 to 8 digits, each group
// followed by a space or a dash, so that it joins the card's run.
func digitGroups(b []byte) string {
	var s strings.Builder
	for i, x := range b {
		for n := 0; n <= int(x%8); n++ {
			s.WriteByte('0' + (x/8+byte(n)*7+byte(i))%10)
		}
		if x&0x80 != 0 {
			s.WriteByte('-')
		} else {
			s.WriteByte(' ')
		}
	}
	return s.String()
}

// FuzzKeyValue plants name=value pairs whose name holds a key pattern
// (access_token, db-password, X.secretKey...) between other text: the value
// never survives, and nothing panics.
func FuzzKeyValue(f *testing.F) {
	f.Add([]byte("hunter2-s3cret"), "access_", "", "https://x.example/cb?a=1", "&b=2")
	f.Add([]byte("changeit"), "-Djavax.net.ssl.keyStore", "", "java", " -jar app.jar")
	f.Add([]byte("s3cr3t"), "", "", "Server=db;User Id=app", ";Database=x")
	r := mustNew(f, testConfig())
	names := []string{"password", "token", "secret", "apikey", "api_key", "Authorization", "PASSWORD"}
	f.Fuzz(func(t *testing.T, b []byte, before, after, prefix, suffix string) {
		value := alphabet(b, alnum+"-._~+/", 6)
		name := alphabet([]byte(before), alnum+"_-.", 0) + names[len(b)%len(names)] + alphabet([]byte(after), alnum+"_-.", 0)
		if strings.Contains(prefix, value) || strings.Contains(suffix, value) || strings.Contains(name, value) {
			t.Skip("the fuzzer's own text contains the secret")
		}
		var rep Report
		out, _ := r.String(prefix+"&"+name+"="+value+"&"+suffix, &rep)
		if strings.Contains(out, value) {
			t.Errorf("value survived: got %q", out)
		}
	})
}
