package redact

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
	"unicode"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/activitylog/activitylog/schema"
)

const (
	testJWT    = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
	testPEM    = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END RSA PRIVATE KEY-----"
	testCard   = "4111 1111 1111 1111"
	testStripe = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
	testAWS    = "AKIAIOSFODNN7EXAMPLE"
)

func allDetectors(a Action) map[Rule]Action {
	m := map[Rule]Action{}
	for _, r := range Detectors() {
		m[r] = a
	}
	return m
}

func testConfig() Config {
	return Config{
		KeyPatterns:    []string{"password", "secret", "token", "api-key", "authorization", "cookie"},
		KeyAction:      ActionMask,
		OTPKeyPatterns: []string{"otp", "passcode", "verification_code"},
		Detectors:      allDetectors(ActionMask),
		HashKey:        []byte("0123456789abcdef0123456789abcdef"),
		ExemptKeys:     []string{schema.AttrID, schema.AttrEvent, schema.AttrCategory},
	}
}

func mustNew(t testing.TB, cfg Config) *Redactor {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func TestDetectors(t *testing.T) {
	r := mustNew(t, testConfig())
	tests := []stringCase{
		{"jwt", "token=" + testJWT + " end", "token=" + Mask + " end", RuleJWT},
		{"jwt without signature", "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", Mask, RuleJWT},
		{"bearer", "Authorization: Bearer abcdefgh12345678", "Authorization: Bearer " + Mask, RuleBearer},
		{"bearer lowercase", "bearer   abcdefgh12345678==", "bearer   " + Mask, RuleBearer},
		{"bearer of news is kept", "the bearer of bad news", "the bearer of bad news", NumRules},
		// A header folded onto the next line, or a no-break space pasted
		// from a document, still separates the scheme from the token.
		{"bearer then a line break", "Authorization: Bearer\n  abcdefgh12345678", "Authorization: Bearer\n  " + Mask, RuleBearer},
		{"bearer then a no-break space", "Bearer\u00a0abcdefgh12345678", "Bearer\u00a0" + Mask, RuleBearer},
		{"basic then a line break", "Basic\r\ndXNlcjpwYXNzd29yZA==", "Basic\r\n" + Mask, RuleBasic},
		{"bearer of news on two lines is kept", "the bearer\nof bad news", "the bearer\nof bad news", NumRules},
		{"basic", "Basic dXNlcjpwYXNzd29yZA==", "Basic " + Mask, RuleBasic},
		{"basic membership is kept", "basic membership upgraded", "basic membership upgraded", NumRules},
		{"basic in url-safe base64", "Basic dXNlcjpw-YXNz_d29yZA ok", "Basic " + Mask + " ok", RuleBasic},
		{"slack refresh token", "xoxe.xoxp-1-Mi0yLTEyMzQ1Njc4", "xoxe." + Mask, RuleAPIKey},
		{"slack refresh token, short form", "xoxe-1-Mi0yLTEyMzQ1Njc4", Mask, RuleAPIKey},
		{"slack client token", "t=xoxc-1234567890-abcdef", "t=" + Mask, RuleAPIKey},
		{"stripe key", "key " + testStripe, "key " + Mask, RuleAPIKey},
		{"aws key", testAWS, Mask, RuleAPIKey},
		{"github token", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", Mask, RuleAPIKey},
		{"pem", "key:\n" + testPEM + "\nrest", "key:\n" + Mask + "\nrest", RulePrivateKey},
		{"pem without end fails closed", "-----BEGIN PRIVATE KEY-----\nMIIE", Mask, RulePrivateKey},
		{"public key is kept", "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----", "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----", NumRules},
		{"card spaced", "paid with " + testCard + " ok", "paid with " + Mask + " ok", RuleCard},
		{"card dashed", "4111-1111-1111-1111", Mask, RuleCard},
		{"card after another number", "order 12 " + testCard, "order 12 " + Mask, RuleCard},
		{"order number failing luhn is kept", "order 4111111111111112", "order 4111111111111112", NumRules},
		// A run of digit groups longer than the detector's 64-digit buffer:
		// a card across the buffer's end is still read whole.
		{"card after 60 digits of groups", "ref " + strings.Repeat("1000 ", 15) + testCard + " ok",
			"ref " + strings.Repeat("1000 ", 15) + Mask + " ok", RuleCard},
		{"card after a 62-digit reference", "ref " + strings.Repeat("7", 62) + " " + testCard,
			"ref " + strings.Repeat("7", 62) + " " + Mask, RuleCard},
		// "12 12 12 12 12 12 12 4111" passes Luhn: the mask goes on to the
		// end of the run, so no digit of the card is left.
		{"card after 200 digits of groups", strings.Repeat("12 ", 100) + testCard + " ok", strings.Repeat("12 ", 93) + Mask + " ok", RuleCard},
		{"long digit groups are kept", strings.Repeat("1234567 ", 40), strings.Repeat("1234567 ", 40), NumRules},
		{"url credentials", "postgres://app:s3cr3t@db:5432/x", "postgres://app:" + Mask + "@db:5432/x", RuleURLCredentials},
		{"url token user info", "https://ghtoken123@github.com/x", "https://" + Mask + "@github.com/x", RuleURLCredentials},
		// PHP's json_encode escapes slashes by default.
		{"url credentials, slashes escaped", `{"dsn":"mysql:\/\/app:s3cr3t@db:3306\/loyalty"}`,
			`{"dsn":"mysql:\/\/app:` + Mask + `@db:3306\/loyalty"}`, RuleURLCredentials},
		{"escaped url without user info is kept", `"https:\/\/example.com\/a@b"`, `"https:\/\/example.com\/a@b"`, NumRules},
		{"plain url is kept", "https://example.com/a@b", "https://example.com/a@b", NumRules},
		{"query token", "https://api.example/cb?state=xyz&access_token=ya29.a0AfH6SM&x=1",
			"https://api.example/cb?state=xyz&access_token=" + Mask + "&x=1", RuleKeyValue},
		{"query without url", "page=2&api_key=abcdef123456", "page=2&api_key=" + Mask, RuleKeyValue},
		{"connection string", "Server=db;User Id=app;Password=s3cr3t!;Database=x",
			"Server=db;User Id=app;Password=" + Mask + ";Database=x", RuleKeyValue},
		{"command line", "java -Djavax.net.ssl.keyStorePassword=changeit -jar app.jar --db-secret=hunter2",
			"java -Djavax.net.ssl.keyStorePassword=" + Mask + " -jar app.jar --db-secret=" + Mask, RuleKeyValue},
		{"pairs of other names are kept", "page=2&sort=name&q=coffee", "page=2&sort=name&q=coffee", NumRules},
		{"base64 padding is no pair", "dGVzdA== token", "dGVzdA== token", NumRules},
		{"an empty value is kept", "password=&user=jane", "password=&user=jane", NumRules},
		{"a redacted value stays", "password=" + Mask + "&user=jane", "password=" + Mask + "&user=jane", NumRules},
		// A password with '/', '?', '#' or '@' written raw (not
		// percent-encoded) runs to the last '@' of the URL; a host's port,
		// a path and a query with an e-mail address stay.
		{"url password with a slash", "postgres://app:pa/ss@db:5432/x", "postgres://app:" + Mask + "@db:5432/x", RuleURLCredentials},
		{"url password with a question mark, no user", "redis://:s3cr?t@cache", "redis://:" + Mask + "@cache", RuleURLCredentials},
		{"url password with a hash", "https://u:p#ss@host/x", "https://u:" + Mask + "@host/x", RuleURLCredentials},
		{"url password with an at", "https://u:p@ss@host", "https://u:" + Mask + "@host", RuleURLCredentials},
		{"url password with a slash and an at", "amqp://app:p/a@ss@mq/vhost", "amqp://app:" + Mask + "@mq/vhost", RuleURLCredentials},
		{"url password with a slash, slashes escaped", `"mysql:\/\/app:pa\/ss@db\/x"`, `"mysql:\/\/app:` + Mask + `@db\/x"`, RuleURLCredentials},
		{"colon and at in a query are kept", "https://host/path?x=a:b@c", "https://host/path?x=a:b@c", NumRules},
		{"port then an e-mail address in the query is kept", "https://app.example:8443/invite?email=jane@example.com",
			"https://app.example:8443/invite?email=jane@example.com", NumRules},
		{"ipv6 host then an at in the path is kept", "http://[::1]:8080/u/@jane", "http://[::1]:8080/u/@jane", NumRules},
		{"e-mail address in prose is kept", "mail jane@example.com about https://x.example:443/a", "mail jane@example.com about https://x.example:443/a", NumRules},
		// Cards typed with full-width digits (a Japanese IME) or another
		// script's decimal digits, and grouped by full-width or typographic
		// dashes.
		{"card in full-width digits", "paid ４１１１ １１１１ １１１１ １１１１ ok", "paid " + Mask + " ok", RuleCard},
		{"card in full-width digits, full-width dashes", "４１１１－１１１１－１１１１－１１１１", Mask, RuleCard},
		{"card in arabic-indic digits", "paid ٤١١١١١١١١١١١١١١١ ok", "paid " + Mask + " ok", RuleCard},
		{"card in devanagari digits", "४१११ ११११ ११११ ११११", Mask, RuleCard},
		{"card in mixed digits", "4111 1111 １１１１ ١١١١", Mask, RuleCard},
		{"card grouped by en dashes", "4111–1111–1111–1111", Mask, RuleCard},
		{"full-width order number failing luhn is kept", "order ４１１１１１１１１１１１１１１２", "order ４１１１１１１１１１１１１１１２", NumRules},
		// Zero-width characters pasted into a secret (chat tools put them
		// into long words so they can wrap) do not hide it.
		{"jwt split by a zero-width space", "t " + testJWT[:20] + "\u200b" + testJWT[20:] + " end", "t " + Mask + " end", RuleJWT},
		{"jwt split in eyJ by a zero-width joiner", "ey\u200dJ" + testJWT[3:], Mask, RuleJWT},
		{"jwt split by a word joiner and a bom", testJWT[:30] + "\u2060" + testJWT[30:60] + "\ufeff" + testJWT[60:], Mask, RuleJWT},
		{"api key split by a zero-width non-joiner", "key sk_live_4eC39HqL\u200cyjWDarjtT1zdp7dc", "key " + Mask, RuleAPIKey},
		{"bearer token split by a soft hyphen", "Bearer abcd\u00adefgh12345678", "Bearer " + Mask, RuleBearer},
		{"zero-width space in prose is kept", "hello\u200bworld, nothing here", "hello\u200bworld, nothing here", NumRules},
		{"uuid is kept", "0190f0e4-1111-7aaa-8bbb-123456789abc", "0190f0e4-1111-7aaa-8bbb-123456789abc", NumRules},
		// 4111111111111111 as 8-4-4 groups would pass Luhn: a UUID is never a card.
		{"decimal uuid is kept", "41111111-1111-1111-1234-567890123456", "41111111-1111-1111-1234-567890123456", NumRules},
	}
	checkStrings(t, r, tests)
}

func TestAttributes(t *testing.T) {
	r := mustNew(t, testConfig())
	m := pcommon.NewMap()
	if err := m.FromRaw(map[string]any{
		schema.AttrID:             "0190f0e4-1111-7aaa-8bbb-123456789abc",
		schema.AttrEvent:          "updated",
		"newPassword":             "hunter22",
		"X-Api-Key":               map[string]any{"v": 1},
		"otp_code":                "123 456",
		"otp_channel":             "sms",
		"passcode":                "493817\n",
		"nested":                  map[string]any{"list": []any{"fine", "Bearer abcdefghijklmnop", map[string]any{"client_secret": "x"}}},
		"raw":                     []byte{1, 2, 3},
		"card":                    int64(4111111111111111),
		"Bearer abcdefghijklmnop": "a secret as a key",
		schema.AttrChanges: map[string]any{
			"password": map[string]any{"old": "a", "new": "b"},
			"email":    map[string]any{"old": "a@example.com", "new": "https://u:p4ss@x.example"},
		},
	}); err != nil {
		t.Fatal(err)
	}
	var rep Report
	r.Attributes(m, "", true, &rep)
	got := m.AsRaw()
	want := map[string]any{
		schema.AttrID:    "0190f0e4-1111-7aaa-8bbb-123456789abc",
		schema.AttrEvent: "updated",
		"newPassword":    Mask,
		"X-Api-Key":      Mask,
		"otp_code":       Mask,
		"otp_channel":    "sms",
		"passcode":       Mask,
		"nested":         map[string]any{"list": []any{"fine", "Bearer " + Mask, map[string]any{"client_secret": Mask}}},
		"raw":            Mask,
		"card":           Mask,
		schema.AttrChanges: map[string]any{
			"password": map[string]any{"redacted": true},
			"email":    map[string]any{"old": "a@example.com", "new": "https://u:" + Mask + "@x.example"},
		},
	}
	if !pcommonEqual(t, got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	for _, p := range rep.Paths() {
		if strings.Contains(p, "abcdefghijklmnop") {
			t.Errorf("paths: got %q, want no secret in a path", p)
		}
	}
	wantPaths := []string{"[REDACTED]", "newPassword", "X-Api-Key", "otp_code", "passcode", "nested.list[]", "nested.list[].client_secret", "raw", "card",
		"activity.changes.password", "activity.changes.email.new"}
	for _, p := range wantPaths {
		if !contains(rep.Paths(), p) {
			t.Errorf("paths: got %v, want it to contain %q", rep.Paths(), p)
		}
	}
}

// TestChangeRedactedByEmitter: a credential-named field's change that its
// emitter already recorded without values, as our library does, stays as it
// is and is not reported as redacted here; one that holds anything else is.
func TestChangeRedactedByEmitter(t *testing.T) {
	r := mustNew(t, testConfig())
	for _, tt := range []struct {
		name   string
		change any
		hit    bool
	}{
		{"already redacted", map[string]any{"redacted": true}, false},
		{"redacted false", map[string]any{"redacted": false}, true},
		{"redacted beside a value", map[string]any{"redacted": true, "new": "hunter22"}, true},
		{"values", map[string]any{"old": "a", "new": "b"}, true},
		{"a string", "hunter22", true},
	} {
		m := pcommon.NewMap()
		if err := m.FromRaw(map[string]any{schema.AttrChanges: map[string]any{"password_hash": tt.change}}); err != nil {
			t.Fatal(err)
		}
		var rep Report
		r.Attributes(m, "", true, &rep)
		want := map[string]any{schema.AttrChanges: map[string]any{"password_hash": map[string]any{"redacted": true}}}
		if got := m.AsRaw(); !pcommonEqual(t, got, want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, want)
		}
		if got := contains(rep.Paths(), "activity.changes.password_hash"); got != tt.hit {
			t.Errorf("%s: reported as redacted %v, want %v", tt.name, got, tt.hit)
		}
		rep.Release()
	}
}

// TestNumbers: numbers are written out as digits, so integers and whole
// doubles are checked for card numbers (whatever their sign) and, under
// OTP-like keys, masked; a whole double past 2^53 cannot be read exactly and
// is masked.
func TestNumbers(t *testing.T) {
	r := mustNew(t, testConfig())
	m := pcommon.NewMap()
	m.PutInt("card_int", 4111111111111111)
	m.PutInt("card_negative", -4111111111111111)
	m.PutInt("order", 4111111111111112)
	m.PutInt("min_int", math.MinInt64)
	m.PutDouble("card_double", 4111111111111111)
	m.PutDouble("card_double_negative", -5555555555554444)
	m.PutDouble("order_double", 4111111111111112)
	m.PutDouble("big_double", 6.2123456789012345e18)
	m.PutDouble("amount", 12.5)
	m.PutDouble("nan", math.NaN())
	m.PutDouble("huge", 1e300)
	m.PutDouble("otp_code", 493817)
	m.PutDouble("otp_fraction", 4938.17)
	m.PutEmptyMap(schema.AttrChanges).PutEmptyMap("card_on_file").PutDouble("new", 5555555555554444)
	var rep Report
	r.Attributes(m, "", true, &rep)
	want := map[string]any{
		"card_int": Mask, "card_negative": Mask, "order": int64(4111111111111112), "min_int": int64(math.MinInt64),
		"card_double": Mask, "card_double_negative": Mask, "order_double": float64(4111111111111112),
		"big_double": Mask, "amount": 12.5, "huge": 1e300, "otp_code": Mask, "otp_fraction": 4938.17,
		schema.AttrChanges: map[string]any{"card_on_file": map[string]any{"new": Mask}},
	}
	got := m.AsRaw()
	if n, ok := got["nan"].(float64); !ok || !math.IsNaN(n) {
		t.Errorf("nan: got %v, want it kept", got["nan"])
	}
	delete(got, "nan")
	if !pcommonEqual(t, got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	if rep.Counts[RuleCard] != 5 || rep.Counts[RuleOTP] != 1 || rep.Counts[RuleUninspectable] != 1 {
		t.Errorf("counts: card %d, otp %d, uninspectable %d; want 5, 1, 1",
			rep.Counts[RuleCard], rep.Counts[RuleOTP], rep.Counts[RuleUninspectable])
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func pcommonEqual(t *testing.T, got, want map[string]any) bool {
	t.Helper()
	a, b := pcommon.NewMap(), pcommon.NewMap()
	if err := a.FromRaw(got); err != nil {
		t.Fatal(err)
	}
	if err := b.FromRaw(want); err != nil {
		t.Fatal(err)
	}
	return a.Equal(b)
}

func TestActions(t *testing.T) {
	cfg := testConfig()
	cfg.KeyAction = ActionHash
	cfg.Detectors = allDetectors(ActionDrop)
	r := mustNew(t, cfg)
	m := pcommon.NewMap()
	m.PutStr("password", "hunter22")
	m.PutStr("other_password", "hunter22")
	m.PutStr("note", "Bearer abcdefghijklmnop")
	m.PutStr("keep", "plain value")
	var rep Report
	r.Attributes(m, "", true, &rep)
	h1, _ := m.Get("password")
	h2, _ := m.Get("other_password")
	if !strings.HasPrefix(h1.Str(), hashPrefix) || h1.Str() != h2.Str() {
		t.Errorf("hash: got %q and %q, want equal %s... values", h1.Str(), h2.Str(), hashPrefix)
	}
	if strings.Contains(h1.Str(), "hunter22") {
		t.Errorf("hash: got %q, want no plain secret", h1.Str())
	}
	if _, ok := m.Get("note"); ok {
		t.Errorf("drop: got note present, want removed")
	}
	if v, _ := m.Get("keep"); v.Str() != "plain value" {
		t.Errorf("keep: got %q, want %q", v.Str(), "plain value")
	}
}

func TestTooDeep(t *testing.T) {
	r := mustNew(t, Config{MaxDepth: 3})
	m := pcommon.NewMap()
	inner := m.PutEmptyMap("a")
	for i := 0; i < 10; i++ {
		inner = inner.PutEmptyMap("n")
	}
	inner.PutStr("leaf", "x")
	var rep Report
	r.Attributes(m, "", true, &rep)
	if rep.Counts[RuleTooDeep] != 1 {
		t.Errorf("too deep: got %d, want 1", rep.Counts[RuleTooDeep])
	}
	depth := 0
	v, _ := m.Get("a")
	for v.Type() == pcommon.ValueTypeMap {
		depth++
		v, _ = v.Map().Get("n")
	}
	if depth != 3 || v.Str() != Mask {
		t.Errorf("got %d levels then %q, want 3 levels then %q", depth, v.AsString(), Mask)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{"hash without key", Config{KeyAction: ActionHash}, ErrNoHashKey},
		{"short hash key", Config{Detectors: map[Rule]Action{RuleJWT: ActionHash}, HashKey: []byte("short")}, ErrNoHashKey},
		{"empty pattern", Config{KeyPatterns: []string{"--"}}, ErrEmptyPattern},
		{"depth", Config{MaxDepth: 99}, ErrBadDepth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if !errorsIs(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// TestDetectorsReadTheOriginal: every detector reads the string as it came.
// Run one after another over each other's output, a token masked inside the
// name of a name=value pair left the pair unrecognised and its value in
// clear (FuzzKeyValue found it). Overlapping finds are masked as one, and
// masked rather than hashed if any detector of the overlap masks.
func TestDetectorsReadTheOriginal(t *testing.T) {
	r := mustNew(t, testConfig())
	var rep Report
	in := "0&wtokeneyJwwwwwww.ww.=wBCDEF&0"
	if out, _ := r.String(in, &rep); strings.Contains(out, "wBCDEF") {
		t.Errorf("String(%q) = %q: the value of a token pair survived", in, out)
	}

	cfg := testConfig()
	cfg.Detectors[RuleJWT] = ActionHash
	r = mustNew(t, cfg)
	in = "callback?access_token=" + testJWT + "&next=/home"
	out, _ := r.String(in, &rep)
	if want := "callback?access_token=" + Mask + "&next=/home"; out != want {
		t.Errorf("String(%q) = %q, want %q (a hashed JWT that is also a masked pair's value is masked)", in, out, want)
	}
	in = "jwt " + testJWT + " and access_token=s3cr3t-value"
	out, _ = r.String(in, &rep)
	if !strings.HasPrefix(out, "jwt "+hashPrefix) || !strings.HasSuffix(out, " and access_token="+Mask) {
		t.Errorf("String(%q) = %q, want the JWT hashed and the pair's value masked", in, out)
	}
}

// TestPairsInStructuredText: a string may carry a credential as a pair of
// another syntax than name=value: JSON written into a body as text (also
// JSON-escaped once more), a Python dict, logfmt with a quoted value, a form
// field user[password], a query percent-encoded inside another query, a
// header or YAML line. The value never survives, the pair's name and the
// text around it do.
func TestPairsInStructuredText(t *testing.T) {
	r := mustNew(t, testConfig())
	tests := []struct{ name, in, want string }{
		{"json", `{"user":"bob","password":"hunter2","ok":true}`, `{"user":"bob","password":"` + Mask + `","ok":true}`},
		{"json pretty, value with a space and a quote", `{"password": "hun \"ter\" 2", "user": "bob"}`,
			`{"password": "` + Mask + `", "user": "bob"}`},
		{"json escaped in json", `{"body":"{\"user\":\"bob\",\"password\":\"hunter2\"}"}`,
			`{"body":"{\"user\":\"bob\",\"password\":\"` + Mask + `\"}"}`},
		{"json number", `{"password":12345678,"user":"bob"}`, `{"password":` + Mask + `,"user":"bob"}`},
		{"json object", `{"client_secret":{"k":"hunter2","n":[1,{"x":2}]},"user":"bob"}`, `{"client_secret":` + Mask + `,"user":"bob"}`},
		{"python dict", `{'user': 'bob', 'password': 'hunter2'}`, `{'user': 'bob', 'password': '` + Mask + `'}`},
		{"logfmt quoted", `msg="login" password="hunter two" user=bob`, `msg="login" password="` + Mask + `" user=bob`},
		{"single-quoted", `Password='hunter2';Database=x`, `Password='` + Mask + `';Database=x`},
		{"spaces around equals", "[db]\npassword = correct horse battery\nhost = db", "[db]\npassword = " + Mask + "\nhost = db"},
		{"form field", "user[name]=bob&user[password]=hunter2&x=1", "user[name]=bob&user[password]=" + Mask + "&x=1"},
		{"form field percent-encoded", "user%5Bpassword%5D=hunter2&x=1", "user%5Bpassword%5D=" + Mask + "&x=1"},
		{"query inside a query", "redirect=%2Fcb%3Faccess_token%3Dya29a0AfH6SM&x=1", "redirect=%2Fcb%3Faccess_token%3D" + Mask + "&x=1"},
		{"php print_r", "[password] => hunter2\n[user] => bob", "[password] => " + Mask + "\n[user] => bob"},
		{"yaml", "db:\n  password: hunter2\n  host: db", "db:\n  password: " + Mask + "\n  host: db"},
		{"cookie header", "Cookie: sid=abc123; theme=dark\r\nHost: x", "Cookie: " + Mask + "\r\nHost: x"},
		{"token scheme", "Authorization: Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "Authorization: Token " + Mask},
		{"bearer stays readable", "Authorization: Bearer abcdefgh12345678", "Authorization: Bearer " + Mask},
		{"otp in a query", "GET /verify?otp=493817&next=/home", "GET /verify?otp=" + Mask + "&next=/home"},
		{"line numbers are no pair", "at com.x.TokenService.refresh(TokenService.java:42)", "at com.x.TokenService.refresh(TokenService.java:42)"},
		{"times are no pair", "token refreshed at 12:30:05", "token refreshed at 12:30:05"},
		// Inside a line only the next word goes: an error chain stays readable.
		{"pair inside a line", "created bob with password: hunter2 at 12:30", "created bob with password: " + Mask + " at 12:30"},
		{"error chain", "verify token: signature is invalid", "verify token: " + Mask + " is invalid"},
		{"header dump in json", `{"headers":"Cookie: sid=abc123; theme=dark\r\nHost: x"}`, `{"headers":"Cookie: ` + Mask + `\r\nHost: x"}`},
		{"a masked json value stays", `{"password":"` + Mask + `"}`, `{"password":"` + Mask + `"}`},
		{"an empty json value stays", `{"password":""}`, `{"password":""}`},
	}
	cases := make([]stringCase, len(tests))
	for i, tt := range tests {
		cases[i] = stringCase{tt.name, tt.in, tt.want, NumRules}
	}
	checkStrings(t, r, cases)
}

// TestCardSeparators: a card number grouped by what a locale or a form puts
// between the groups (a no-break space, the narrow one French formatting
// uses, a zero-width joiner, two spaces, " - ") is still found; a digit
// run that fails Luhn is still kept.
func TestCardSeparators(t *testing.T) {
	r := mustNew(t, testConfig())
	for _, sep := range []string{"\u00a0", "\u202f", "\u2009", "\u200d", "\u3000", "  ", " - ", "\t"} {
		in := "paid with 4111" + sep + "1111" + sep + "1111" + sep + "1111 ok"
		var rep Report
		if got, _ := r.String(in, &rep); got != "paid with "+Mask+" ok" {
			t.Errorf("separator %q: got %q, want %q", sep, got, "paid with "+Mask+" ok")
		}
		in = "order 4111" + sep + "1111" + sep + "1111" + sep + "1112"
		if got, _ := r.String(in, &rep); got != in {
			t.Errorf("separator %q: got %q, want %q kept", sep, got, in)
		}
	}
}

// TestKeyValueLinear: the pair finder reads a long string in one pass. A
// name's backward scan and an OTP-named value's forward scan each re-read
// the string for every separator, so 64 KB of "%3D" took 6 s and 64 KB of
// "otp={" 1 s, per string, in the collector's pipeline; a typographic quote
// never closed ("password=“x ", also escaped: "password=\u201cx ") would
// send the search for its closing quote to the end for each pair (also one
// closed raw or escaped, whichever its opening was not, and a run of
// backslashes in its window); a ':' before a run of backslashes, an escaped
// quote before a separator and a line value's escapes are read once each.
// Here 256 KB of each must come back well within the test's time
// (quadratic, it took minutes).
func TestKeyValueLinear(t *testing.T) {
	r := mustNew(t, testConfig())
	for _, unit := range []string{"%3D", "otp={", "a%3Db%26", "otp=\"", "password_x%3D%3D", "otp＝４", "＂password＂：＂", "password=“", "password=“x ", "password=‘a’b ", `password=\u201cx `, `password=\u2018a\u2019b `, "password:\u00a0", `password\u00a0:\u00a0`, `\\u00a0:`, "password=“x\\\\ ", `password=\u201cx\\ `, `a:\\\\`, `\u0022password\u0022:`, `\\u0022:`, "\\npassword: a\\\\n\\\\\"", "<password>", "<otp>1", "<a>b", "password=a,", "password=a;b&", "Bearer a!"} {
		in := strings.Repeat(unit, 256<<10/len(unit))
		answersLinearly(t, r, in, fmt.Sprintf("%q × %d", unit, len(in)/len(unit)))
	}
}

// TestKeyValueBackslashValue: a value that starts with a backslash but no
// quote (a Windows share, an escape sequence) is a value like any other.
func TestKeyValueBackslashValue(t *testing.T) {
	r := mustNew(t, testConfig())
	for _, in := range []string{`password=\secret123`, `-Dkeystore.password=\\winshare\pw`, `password=\u00e9abc`} {
		var rep Report
		if out, _ := r.String(in, &rep); !strings.Contains(out, Mask) {
			t.Errorf("String(%q) = %q, want the value masked", in, out)
		}
	}
}

// TestKeyCompatibilityForms: a key written in full-width letters (as a
// Japanese IME types them) or in other compatibility forms (mathematical
// letters, ligatures, circled letters) matches a key pattern as its ASCII
// form does, at the top level, nested, and as a pair's name in text.
func TestKeyCompatibilityForms(t *testing.T) {
	r := mustNew(t, testConfig())
	for _, k := range []string{"ｐａｓｓｗｏｒｄ", "ＰＡＳＳＷＯＲＤ", "new_ｐａｓｓｗｏｒｄ", "𝐩𝐚𝐬𝐬𝐰𝐨𝐫𝐝", "ⓢⓔⓒⓡⓔⓣ", "client_secret_ﬁle", "ｓｅｃｒｅｔ"} {
		t.Run(k, func(t *testing.T) {
			m := pcommon.NewMap()
			m.PutStr(k, "hunter2")
			m.PutEmptyMap("nested").PutStr(k, "hunter2")
			var rep Report
			r.Attributes(m, "", true, &rep)
			if v, _ := m.Get(k); v.Str() != Mask {
				t.Errorf("got %q, want %q", v.Str(), Mask)
			}
			n, _ := m.Get("nested")
			if v, _ := n.Map().Get(k); v.Str() != Mask {
				t.Errorf("nested: got %q, want %q", v.Str(), Mask)
			}
		})
	}
	for _, k := range []string{"ｕｓｅｒ", "名前", "pässe"} {
		m := pcommon.NewMap()
		m.PutStr(k, "jane")
		var rep Report
		r.Attributes(m, "", true, &rep)
		if v, _ := m.Get(k); v.Str() != "jane" {
			t.Errorf("%s: got %q, want %q", k, v.Str(), "jane")
		}
	}
	var rep Report
	if got, _ := r.String("login ｐａｓｓｗｏｒｄ=hunter22 ok", &rep); got != "login ｐａｓｓｗｏｒｄ="+Mask+" ok" {
		t.Errorf("pair in text: got %q, want the value masked", got)
	}
}

// TestUnicodeDigitValues proves what unicodeDigitValue relies on: every
// range of unicode.Nd is a run of whole blocks of ten digits, zero first,
// so a digit's value is its distance from the range's start, modulo 10.
func TestUnicodeDigitValues(t *testing.T) {
	for _, rg := range unicode.Nd.R16 {
		if rg.Stride != 1 || (rg.Hi-rg.Lo+1)%10 != 0 {
			t.Errorf("range %U-%U stride %d: want stride 1 and whole blocks of ten", rg.Lo, rg.Hi, rg.Stride)
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if rg.Stride != 1 || (rg.Hi-rg.Lo+1)%10 != 0 {
			t.Errorf("range %U-%U stride %d: want stride 1 and whole blocks of ten", rg.Lo, rg.Hi, rg.Stride)
		}
	}
	for _, zero := range []rune{'０', '٠', '۰', '०', '০', '๐', '𝟎', '𝟘'} {
		for v := range rune(10) {
			s := string(zero + v)
			if d, w := digitAt(s, 0); w != len(s) || rune(d) != v {
				t.Errorf("digitAt(%q): got %d (length %d), want %d (length %d)", s, d, w, v, len(s))
			}
		}
	}
	for _, s := range []string{"a", "\u00b2", "Ⅳ", "\xef\xbc", "\xff"} {
		if _, w := digitAt(s, 0); w != 0 {
			t.Errorf("digitAt(%q): got length %d, want 0 (no decimal digit)", s, w)
		}
	}
}

// TestFullWidthSeparators: a pair written with the full-width forms a
// Japanese or Chinese IME types ("password＝...", "password：...", full-width
// quotes, an ideographic space after the separator or after "Bearer") is
// found as its ASCII form is, and only its value is masked. A full-width
// colon separates a pair without white space after it, as ": " does: no
// code or clock time is written with one. Text without a sensitive name
// stays.
func TestFullWidthSeparators(t *testing.T) {
	r := mustNew(t, testConfig())
	tests := []stringCase{
		{"full-width equals", "login password＝hunter22 ok", "login password＝" + Mask + " ok", RuleKeyValue},
		{"full-width colon", "login password：hunter22 ok", "login password：" + Mask + " ok", RuleKeyValue},
		{"quoted name, full-width colon", `{"password"："hunter 22"}`, `{"password"："` + Mask + `"}`, RuleKeyValue},
		{"full-width arrow", "x password＝＞hunter22 ok", "x password＝＞" + Mask + " ok", RuleKeyValue},
		{"full-width name and equals", "login ｐａｓｓｗｏｒｄ＝hunter22 ok", "login ｐａｓｓｗｏｒｄ＝" + Mask + " ok", RuleKeyValue},
		{"full-width quotes", "x ＂password＂：＂correct horse＂ y", "x ＂password＂：＂" + Mask + "＂ y", RuleKeyValue},
		{"ideographic space after a colon", "x password:\u3000hunter22 y", "x password:\u3000" + Mask + " y", RuleKeyValue},
		{"ideographic spaces around equals", "x password\u3000＝\u3000hunter22 y", "x password\u3000＝\u3000" + Mask + " y", RuleKeyValue},
		{"full-width value", "x secret＝ｈｕｎｔｅｒ２２ y", "x secret＝" + Mask + " y", RuleKeyValue},
		{"bearer then an ideographic space", "Bearer\u3000abcdefgh12345678", "Bearer\u3000" + Mask, RuleBearer},
		{"full-width otp pair", "otp＝４９３８１７、確認", "otp＝" + Mask + "、確認", RuleKeyValue},
		{"otp pair in full-width digits", "code otp=４９３８１７ ok", "code otp=" + Mask + " ok", RuleKeyValue},
		{"otp pair in devanagari digits", "otp: ४९३८१७", "otp: " + Mask, RuleKeyValue},
		{"full-width time is kept", "時刻：１２：３０　確認済み", "時刻：１２：３０　確認済み", NumRules},
		{"full-width pair of another name is kept", "ユーザー＝jane　ｐａｇｅ＝２", "ユーザー＝jane　ｐａｇｅ＝２", NumRules},
	}
	checkStrings(t, r, tests)
}

// TestTypographicQuotes: a pair's value in the typographic quotes word
// processors, chat tools and phones type (“…”, ‘…’, „…“, «…», 「…」...,
// also ”…” and ’…’, which smart punctuation types after a non-space) is
// masked whole, to its matching closing quote, as a value in ASCII quotes
// is; before, it was masked to its first space and the rest leaked
// ("password=[REDACTED] horse”"). A quote never closed, or closed by
// another kind, leaves the value read as an unquoted one.
func TestTypographicQuotes(t *testing.T) {
	r := mustNew(t, testConfig())
	tests := []stringCase{
		{"double", "note password=“correct horse” ok", "note password=“" + Mask + "” ok", RuleKeyValue},
		{"single", "note password=‘correct horse’ ok", "note password=‘" + Mask + "’ ok", RuleKeyValue},
		{"low double, left close", "x password=„correct horse“ y", "x password=„" + Mask + "“ y", RuleKeyValue},
		{"low double, right close", "x password=„correct horse” y", "x password=„" + Mask + "” y", RuleKeyValue},
		{"guillemets", "x password=«correct horse» y", "x password=«" + Mask + "» y", RuleKeyValue},
		{"single guillemets", "x password=‹correct horse› y", "x password=‹" + Mask + "› y", RuleKeyValue},
		{"reversed guillemets", "x password=»correct horse« y", "x password=»" + Mask + "« y", RuleKeyValue},
		{"corner brackets", "x password=「correct horse」 y", "x password=「" + Mask + "」 y", RuleKeyValue},
		{"white corner brackets", "x password=『correct horse』 y", "x password=『" + Mask + "』 y", RuleKeyValue},
		{"right double both sides", "x password=”correct horse” y", "x password=”" + Mask + "” y", RuleKeyValue},
		{"right single both sides", "x password=’correct horse’ y", "x password=’" + Mask + "’ y", RuleKeyValue},
		{"colon", "x password: “correct horse” y", "x password: “" + Mask + "” y", RuleKeyValue},
		{"json-like name", `{"password": “correct horse”, "user": "jane"}`, `{"password": “` + Mask + `”, "user": "jane"}`, RuleKeyValue},
		{"typographic name", "x “password”: “correct horse” y", "x “password”: “" + Mask + "” y", RuleKeyValue},
		{"full-width equals", "x password＝“correct horse” y", "x password＝“" + Mask + "” y", RuleKeyValue},
		{"empty", "x password=“” y", "x password=“” y", NumRules},
		{"otp", "code otp=“493817” ok", "code otp=“" + Mask + "” ok", RuleKeyValue},
		{"otp in guillemets", "code otp: «４９３８１７» ok", "code otp: «" + Mask + "» ok", RuleKeyValue},
		{"unclosed", "x password=“correct horse y", "x password=" + Mask + " horse y", RuleKeyValue},
		{"closed by another kind", "x password=“correct horse» y", "x password=" + Mask + " horse» y", RuleKeyValue},
		{"apostrophe in a value", "x password=it’s y", "x password=" + Mask + " y", RuleKeyValue},
		// A right single quote before a letter is an apostrophe: the value
		// ends at the quote after it, as its unquoted reading masked it.
		{"apostrophe in single quotes", "x password=‘it’s-secret’ y", "x password=‘" + Mask + "’ y", RuleKeyValue},
		{"apostrophe in right single quotes", "x password=’it’s-secret’ y", "x password=’" + Mask + "’ y", RuleKeyValue},
		{"apostrophe in a line's value", "password: ‘it’s my secret’", "password: ‘" + Mask + "’", RuleKeyValue},
		{"empty right single quotes", "x password=’’hunter2 y", "x password=" + Mask + " y", RuleKeyValue},
		{"quoted text of another name stays", "x user=“jane doe” y", "x user=“jane doe” y", NumRules},
	}
	checkStrings(t, r, tests)
}

// TestOTPOtherDigits: a one-time code under an OTP-like key, typed in
// full-width digits (a Japanese IME) or another script's decimal digits,
// is a code as its ASCII form is, also grouped by an ideographic space or
// a full-width dash; a value without four digits stays.
func TestOTPOtherDigits(t *testing.T) {
	r := mustNew(t, testConfig())
	for _, tt := range []struct {
		in   string
		want string
	}{
		{"４９３８１７", Mask},
		{"٤٩٣٨١٧", Mask},
		{"४९३८१७", Mask},
		{"４９３\u3000８１７", Mask},
		{"４９３－８１７", Mask},
		{" ４９３８１７\n", Mask},
		{"１２３４５６７８９０１２３４５６", Mask}, // 16 digits, 48 bytes
		{"確認済み", "確認済み"},
		{"４９３", "４９３"},
		{"１２３４５６７８９０１２３４５６７", "１２３４５６７８９０１２３４５６７"}, // 17 characters: no code
	} {
		m := pcommon.NewMap()
		m.PutStr("otp", tt.in)
		m.PutEmptyMap("login").PutStr("passcode", tt.in)
		var rep Report
		r.Attributes(m, "", true, &rep)
		if v, _ := m.Get("otp"); v.Str() != tt.want {
			t.Errorf("otp %q: got %q, want %q", tt.in, v.Str(), tt.want)
		}
		login, _ := m.Get("login")
		if v, _ := login.Map().Get("passcode"); v.Str() != tt.want {
			t.Errorf("login.passcode %q: got %q, want %q", tt.in, v.Str(), tt.want)
		}
	}
}

// TestDetectorsLinear: the detectors read a long string in linear time.
// Each "a://b:c/" of a string with an '@' at its end only after white space
// sent the raw-password search (rawPasswordEnd) to the end of the string
// (the search for a password's last '@' after "a://b:c@d/" must not either),
// and "eyJeyJ..." (also "eyJ" and a zero-width space, read again without
// it) sent the JWT finder to the end of the run for every "eyJ": 256 KB
// took 8 to 16 s, 1 MB minutes. Here 1 MB of each must come back well
// within the test's time.
func TestDetectorsLinear(t *testing.T) {
	r := mustNew(t, testConfig())
	for _, tc := range []struct{ unit, suffix string }{
		{"a://b:c/", " @"},
		{"x://u:p?", " @"},
		{"\u200ba://b:c/", " @"},
		{"a:\\/\\/b:c/", " @"},
		{"a://b:c@d/", " @"},
		{"a://b:c@d/x://y:z/", " @"},
		{"eyJ", ""},
		{"eyJ\u200b", ""},
	} {
		in := strings.Repeat(tc.unit, 1<<20/len(tc.unit)) + tc.suffix
		answersLinearly(t, r, in, fmt.Sprintf("%q × %d + %q", tc.unit, len(in)/len(tc.unit), tc.suffix))
	}
}

// TestColonBeforeQuote: a ':' directly before a quote separates a pair
// without a quoted name or white space, as a JavaScript object literal or
// a log line written from one spells it; a ':' before anything else still
// needs a quoted name or white space, so "File.java:42" and "12:30" stay.
func TestColonBeforeQuote(t *testing.T) {
	r := mustNew(t, testConfig())
	for in, want := range map[string]string{
		`{user:"bob",password:"hunter2"}`:      `{user:"bob",password:"[REDACTED]"}`,
		`{password:'hunter2', retries:3}`:      `{password:'[REDACTED]', retries:3}`,
		`{\"a\":1,password:\"hunter2\"}`:       `{\"a\":1,password:\"[REDACTED]\"}`,
		`note password:“correct horse” ok`:     `note password:“[REDACTED]” ok`,
		`at Login.java:42 and password:hunter`: `at Login.java:42 and password:hunter`,
		`{url:"https://example.com/x"}`:        `{url:"https://example.com/x"}`,
	} {
		var rep Report
		if got, _ := r.String(in, &rep); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

// A stringCase is a string the redactor reads, what it must come back as,
// and the rule that must count it (NumRules: none need).
type stringCase struct {
	name, in, want string
	rule           Rule
}

// checkStrings runs each case through r.String as a subtest.
func checkStrings(t *testing.T, r *Redactor, tests []stringCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rep Report
			got, drop := r.String(tt.in, &rep)
			if drop {
				t.Fatalf("got drop, want a masked string")
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if tt.rule < NumRules && rep.Counts[tt.rule] == 0 {
				t.Errorf("rule %s: got count 0, want > 0 (counts %v)", tt.rule, rep.Counts)
			}
		})
	}
}

// answersLinearly fails the test when r takes more than 20 s over in, which
// a linear scan of a few hundred KB never does and a quadratic one does.
func answersLinearly(t *testing.T, r *Redactor, in, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		var rep Report
		r.String(in, &rep)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no answer in 20 s: the scan is not linear", what)
	}
}

// TestEmptyQuotesBeforeTheValue: empty quotes with the value right after
// them (a template that quoted an empty default, then appended the secret)
// are part of the value, which is masked with them; before, the empty
// quoted value was left alone and the secret after it went out in clear.
// Empty quotes on their own stay as they are.
func TestEmptyQuotesBeforeTheValue(t *testing.T) {
	checkStrings(t, mustNew(t, testConfig()), []stringCase{
		{"ascii", `x password=""hunter2 y`, "x password=" + Mask + " y", RuleKeyValue},
		{"single", `x password=''hunter2 y`, "x password=" + Mask + " y", RuleKeyValue},
		{"escaped", `{\"password\":\"\"hunter2\"}`, `{\"password\":` + Mask + `\"}`, RuleKeyValue},
		{"typographic", "x password=“”hunter2 y", "x password=" + Mask + " y", RuleKeyValue},
		{"empty ascii stays", `x password="" y`, `x password="" y`, NumRules},
		{"empty typographic stays", "x password=“” y", "x password=“” y", NumRules},
	})
}

// TestEscapedTypographicQuotes: a pair's value in typographic quotes that
// a JSON encoder wrote as escapes ("password=\u201ccorrect horse\u201d",
// as encoders that escape non-ASCII write them, either case of hex digits,
// the backslash doubled in JSON inside JSON) is masked whole, as its
// unescaped form is; before, it was masked to its first space and
// "horse\u201d" leaked, and after "password: " at the start of a JSON
// string nothing was masked at all.
func TestEscapedTypographicQuotes(t *testing.T) {
	checkStrings(t, mustNew(t, testConfig()), []stringCase{
		{"double", `{"note":"password=\u201ccorrect horse\u201d"}`, `{"note":"password=\u201c` + Mask + `\u201d"}`, RuleKeyValue},
		{"colon at the start of a string", `{"note":"password: \u201ccorrect horse\u201d"}`, `{"note":"password: \u201c` + Mask + `\u201d"}`, RuleKeyValue},
		{"colon in prose", `{"note":"x password: \u201Ccorrect horse\u201D y"}`, `{"note":"x password: \u201C` + Mask + `\u201D y"}`, RuleKeyValue},
		{"colon before the quote", `{"note":"x password:\u201ccorrect horse\u201d y"}`, `{"note":"x password:\u201c` + Mask + `\u201d y"}`, RuleKeyValue},
		{"single", `{"n":"password=\u2018correct horse\u2019"}`, `{"n":"password=\u2018` + Mask + `\u2019"}`, RuleKeyValue},
		{"apostrophe inside", `{"n":"password=\u2018it\u2019s secret\u2019"}`, `{"n":"password=\u2018` + Mask + `\u2019"}`, RuleKeyValue},
		{"low double, left close", `{"n":"password=\u201ecorrect horse\u201c"}`, `{"n":"password=\u201e` + Mask + `\u201c"}`, RuleKeyValue},
		{"guillemets", `{"n":"password=\u00abcorrect horse\u00bb"}`, `{"n":"password=\u00ab` + Mask + `\u00bb"}`, RuleKeyValue},
		{"single guillemets", `{"n":"password=\u2039correct horse\u203a"}`, `{"n":"password=\u2039` + Mask + `\u203a"}`, RuleKeyValue},
		{"reversed guillemets", `{"n":"password=\u00bbcorrect horse\u00ab"}`, `{"n":"password=\u00bb` + Mask + `\u00ab"}`, RuleKeyValue},
		{"corner brackets", `{"n":"password=\u300ccorrect horse\u300d"}`, `{"n":"password=\u300c` + Mask + `\u300d"}`, RuleKeyValue},
		{"white corner brackets", `{"n":"password=\u300Ecorrect horse\u300F"}`, `{"n":"password=\u300E` + Mask + `\u300F"}`, RuleKeyValue},
		{"json in json", `{"m":"{\"n\":\"password=\\u201ccorrect horse\\u201d\"}"}`, `{"m":"{\"n\":\"password=\\u201c` + Mask + `\\u201d\"}"}`, RuleKeyValue},
		{"otp", `{"n":"otp=\u201c493817\u201d"}`, `{"n":"otp=\u201c` + Mask + `\u201d"}`, RuleKeyValue},
		{"empty quotes then the value", `{"n":"x password=\u201c\u201dhunter2 y"}`, `{"n":"x password=` + Mask + ` y"}`, RuleKeyValue},
		{"another escape is no quote", `{"n":"x password=\u00e9t\u00e9 y"}`, `{"n":"x password=` + Mask + ` y"}`, RuleKeyValue},
		{"quoted text of another name stays", `{"n":"x user=\u201cjane doe\u201d y"}`, `{"n":"x user=\u201cjane doe\u201d y"}`, NumRules},
	})
}

// TestLineValueStartsWithEscape: the value of a line of its own written in
// a JSON string ("password: ..." at its start) runs to the escaped line
// break or the end of the string, not to the first backslash: a value that
// began with an escape ("\u00e9...", "\\share") went out in clear, and one
// with an escape inside leaked from it on.
func TestLineValueStartsWithEscape(t *testing.T) {
	checkStrings(t, mustNew(t, testConfig()), []stringCase{
		{"escape first", `{"n":"password: \u00e9t\u00e9 secret"}`, `{"n":"password: ` + Mask + `"}`, RuleKeyValue},
		{"escape inside", `{"n":"password: caf\u00e9 au lait"}`, `{"n":"password: ` + Mask + `"}`, RuleKeyValue},
		{"backslash first", `{"n":"password: \\\\share\\pw"}`, `{"n":"password: ` + Mask + `"}`, RuleKeyValue},
		{"escaped line break ends it", `{"n":"password: hunter 2\nuser: jane"}`, `{"n":"password: ` + Mask + `\nuser: jane"}`, RuleKeyValue},
	})
}

// TestNoBreakSpaceAfterSeparator: a no-break space (U+00A0, or the narrow
// one, U+202F) after a pair's ':' or '=' stands for the space it looks
// like, so "password:\u00a0hunter2" is a pair as "password: hunter2" is;
// before, the colon was taken for one of "12:30" and the value went out in
// clear. French text puts a no-break space before a colon: a name that is
// not secret-like still masks nothing.
func TestNoBreakSpaceAfterSeparator(t *testing.T) {
	checkStrings(t, mustNew(t, testConfig()), []stringCase{
		{"no-break space after a colon", "password:\u00a0hunter2", "password:\u00a0" + Mask, RuleKeyValue},
		{"in prose", "x password:\u00a0hunter2 y", "x password:\u00a0" + Mask + " y", RuleKeyValue},
		{"narrow no-break space", "x password:\u202fhunter2 y", "x password:\u202f" + Mask + " y", RuleKeyValue},
		{"after equals", "x secret=\u00a0hunter2 y", "x secret=\u00a0" + Mask + " y", RuleKeyValue},
		{"french, both sides", "x Password\u00a0:\u00a0hunter2 y", "x Password\u00a0:\u00a0" + Mask + " y", RuleKeyValue},
		{"otp", "code otp:\u00a0493817 ok", "code otp:\u00a0" + Mask + " ok", RuleKeyValue},
		{"french prose stays", "Remarque\u00a0: texte libre", "Remarque\u00a0: texte libre", NumRules},
		{"french prose after the colon stays", "Remarque\u00a0:\u00a0texte libre", "Remarque\u00a0:\u00a0texte libre", NumRules},
	})
}

// TestOTPInvalidUTF8: a one-time code with a byte that is no UTF-8 in it
// (a code in another script's digits cut inside a character) cannot be
// read, so it is masked: before, the invalid byte made it no code and it
// went out in clear, as a value and in a pair.
func TestOTPInvalidUTF8(t *testing.T) {
	r := mustNew(t, testConfig())
	for _, code := range []string{"٤٩٣\xff٨١٧", "４９３\xef\xbc８１７", "493\xff817", "\xd9٩٣٨١٧"} {
		m := pcommon.NewMap()
		m.PutStr("otp", code)
		m.PutEmptyMap("login").PutStr("passcode", code)
		var rep Report
		r.Attributes(m, "", true, &rep)
		if v, _ := m.Get("otp"); v.Str() != Mask {
			t.Errorf("otp %q: got %q, want %q", code, v.Str(), Mask)
		}
		login, _ := m.Get("login")
		if v, _ := login.Map().Get("passcode"); v.Str() != Mask {
			t.Errorf("login.passcode %q: got %q, want %q", code, v.Str(), Mask)
		}
		in := "code otp=" + code + " ok"
		if got, _ := r.String(in, &rep); got != "code otp="+Mask+" ok" {
			t.Errorf("String(%q) = %q, want the code masked", in, got)
		}
	}
}

// TestURLPasswordAtThenSlash: a URL password holding a raw '@' and then a
// raw '/' ("https://u:p@s/s@host") runs to the last '@' of the URL, as one
// with the '/' first does; before, only the part before its first '@' was
// masked and "s/s" went out in clear.
func TestURLPasswordAtThenSlash(t *testing.T) {
	checkStrings(t, mustNew(t, testConfig()), []stringCase{
		{"at then slash", "https://u:p@s/s@host/x", "https://u:" + Mask + "@host/x", RuleURLCredentials},
		{"at then question mark", "redis://:p@s?s@cache:6379", "redis://:" + Mask + "@cache:6379", RuleURLCredentials},
		{"escaped slashes", `{"u":"https:\/\/u:p@s\/s@host"}`, `{"u":"https:\/\/u:` + Mask + `@host"}`, RuleURLCredentials},
		{"empty password before the at", "https://u:@s/s@host", "https://u:" + Mask + "@host", RuleURLCredentials},
		{"one at", "https://u:pw@host/path", "https://u:" + Mask + "@host/path", RuleURLCredentials},
		{"url ends before the next at", "https://u:pw@host/path mail jane@example.com", "https://u:" + Mask + "@host/path mail jane@example.com", RuleURLCredentials},
	})
}

// TestEscapedNoBreakSpaceAround: a no-break space written as a JSON escape
// ("password:\u00a0hunter2", as Python's json.dumps and other encoders
// that escape every non-ASCII character write it) stands for a space as
// the raw one does, after the separator and, in French text, before it;
// before, the colon was taken for one of "12:30" (after) or the name read
// as "u00a0" (before), and the value went out in clear.
func TestEscapedNoBreakSpaceAround(t *testing.T) {
	checkStrings(t, mustNew(t, testConfig()), []stringCase{
		{"after a colon", `{"n":"x password:\u00a0hunter2 y"}`, `{"n":"x password:\u00a0` + Mask + ` y"}`, RuleKeyValue},
		{"narrow, upper case", `{"n":"x password:\u202Fhunter2 y"}`, `{"n":"x password:\u202F` + Mask + ` y"}`, RuleKeyValue},
		{"line of its own", `{"n":"password:\u00a0hunter two"}`, `{"n":"password:\u00a0` + Mask + `"}`, RuleKeyValue},
		{"json in json", `{"m":"{\"n\":\"x password:\\u00a0hunter2 y\"}"}`, `{"m":"{\"n\":\"x password:\\u00a0` + Mask + ` y\"}"}`, RuleKeyValue},
		{"french, both sides", `{"n":"x Password\u00a0:\u00a0hunter2 y"}`, `{"n":"x Password\u00a0:\u00a0` + Mask + ` y"}`, RuleKeyValue},
		{"french, before", `{"n":"x Password\u00a0: hunter2 y"}`, `{"n":"x Password\u00a0: ` + Mask + ` y"}`, RuleKeyValue},
		{"otp", `{"n":"code otp:\u00a0493817 ok"}`, `{"n":"code otp:\u00a0` + Mask + ` ok"}`, RuleKeyValue},
		{"french prose stays", `{"n":"Remarque\u00a0:\u00a0texte libre"}`, `{"n":"Remarque\u00a0:\u00a0texte libre"}`, NumRules},
		{"other escape stays", `{"n":"at 12:\u00e9t\u00e9"}`, `{"n":"at 12:\u00e9t\u00e9"}`, NumRules},
	})
}

// TestMixedQuoteEscapes: a pair's value whose quote is opened raw and
// closed as a JSON escape, or the reverse (a string put together from
// pieces encoded apart), is masked whole, as one in matching quotes is;
// before, it was read as an unquoted value, masked to its first space, and
// "horse battery" leaked. ASCII and full-width quotes written as escapes
// (.NET's System.Text.Json writes '"' in a string as "\u0022") quote a
// value and a name as the raw ones do: before, the name read as "u0022"
// and the value went out whole. A ':' before a quote escaped at any depth
// separates a pair as one before "\"" does. Quoted text of another name
// stays.
func TestMixedQuoteEscapes(t *testing.T) {
	checkStrings(t, mustNew(t, testConfig()), []stringCase{
		{"escaped open, raw close", `{"n":"x password=\u201ccorrect horse battery” y"}`, `{"n":"x password=\u201c` + Mask + `” y"}`, RuleKeyValue},
		{"raw open, escaped close", `{"n":"x password=“correct horse battery\u201d y"}`, `{"n":"x password=“` + Mask + `\u201d y"}`, RuleKeyValue},
		{"raw open, double-escaped close", `{"m":"{\"n\":\"x password=“correct horse battery\\u201D y\"}"}`, `{"m":"{\"n\":\"x password=“` + Mask + `\\u201D y\"}"}`, RuleKeyValue},
		{"double-escaped open, raw close", `x password=\\u00abcorrect horse battery» y`, `x password=\\u00ab` + Mask + `» y`, RuleKeyValue},
		{"apostrophe, escaped close", `{"n":"x password=‘it’s correct horse\u2019 y"}`, `{"n":"x password=‘` + Mask + `\u2019 y"}`, RuleKeyValue},
		{"apostrophe escaped, raw close", `{"n":"x password=\u2018it\u2019s correct horse’ y"}`, `{"n":"x password=\u2018` + Mask + `’ y"}`, RuleKeyValue},
		{"ascii quote escaped", `{"n":"x password=\u0022correct horse battery\u0022 y"}`, `{"n":"x password=\u0022` + Mask + `\u0022 y"}`, RuleKeyValue},
		{"ascii quote escaped, closed raw and escaped", `{"n":"x password=\u0022correct horse battery\" y"}`, `{"n":"x password=\u0022` + Mask + `\" y"}`, RuleKeyValue},
		{"ascii quote escaped, never closed", `{"n":"x password=\u0022correct horse battery y`, `{"n":"x password=\u0022` + Mask, RuleKeyValue},
		{"single quote escaped", `{"n":"x password=\u0027correct horse battery\u0027 y"}`, `{"n":"x password=\u0027` + Mask + `\u0027 y"}`, RuleKeyValue},
		{"full-width quote escaped", `{"n":"x password=\uff02correct horse battery\uff02 y"}`, `{"n":"x password=\uff02` + Mask + `\uff02 y"}`, RuleKeyValue},
		{"json with escaped quotes", `{"m":"{\u0022user\u0022:\u0022bob\u0022,\u0022password\u0022:\u0022hunter2\u0022}"}`,
			`{"m":"{\u0022user\u0022:\u0022bob\u0022,\u0022password\u0022:\u0022` + Mask + `\u0022}"}`, RuleKeyValue},
		{"json with escaped quotes, in json", `{"m":"{\\u0022password\\u0022: \\u0022correct horse\\u0022}"}`,
			`{"m":"{\\u0022password\\u0022: \\u0022` + Mask + `\\u0022}"}`, RuleKeyValue},
		{"escaped typographic name", `{"m":"x \u201cpassword\u201d: \u201ccorrect horse\u201d y"}`, `{"m":"x \u201cpassword\u201d: \u201c` + Mask + `\u201d y"}`, RuleKeyValue},
		{"colon before a quote in json in json", `{"m":"{\"n\":\"{password:\\\"hunter2\\\"}\"}"}`, `{"m":"{\"n\":\"{password:\\\"` + Mask + `\\\"}\"}"}`, RuleKeyValue},
		{"otp in escaped quotes", `{"n":"otp=\u0022493817\u0022"}`, `{"n":"otp=\u0022` + Mask + `\u0022"}`, RuleKeyValue},
		// Opened and closed by ASCII quotes escaped to other depths: the
		// value runs to a quote of its own depth, or fails closed.
		{"ascii escaped open, raw close", `x password=\"correct horse battery" y`, `x password=\"` + Mask, RuleKeyValue},
		{"ascii raw open, escaped close", `x password="correct horse battery\" y`, `x password="` + Mask, RuleKeyValue},
		{"quoted text of another name stays", `{"n":"x user=\u0022jane doe\u0022 y"}`, `{"n":"x user=\u0022jane doe\u0022 y"}`, NumRules},
		{"escaped quotes of another name stay", `{"m":"{\u0022user\u0022:\u0022jane doe\u0022}"}`, `{"m":"{\u0022user\u0022:\u0022jane doe\u0022}"}`, NumRules},
	})
}

// TestLineValueEscapes: the value of a line of its own ends at a line
// break escaped at the depth of the JSON string it is written in, not at
// an escaped backslash and an 'n' ("\\n" in JSON text: a Windows path, a
// line break written as text), where it ended before and let the rest of
// the line out; nor at an escaped quote inside the value. In JSON inside
// JSON, "\\n" is the line break and "\\\\n" the text. Outside any JSON
// string a backslash escapes nothing: the value runs to the raw line break.
func TestLineValueEscapes(t *testing.T) {
	checkStrings(t, mustNew(t, testConfig()), []stringCase{
		{"backslash and n in json", `{"n":"password: correct horse\\nbattery staple"}`, `{"n":"password: ` + Mask + `"}`, RuleKeyValue},
		{"windows path in json", `{"n":"x\npassword: C:\\new\\secret"}`, `{"n":"x\npassword: ` + Mask + `"}`, RuleKeyValue},
		{"backslash and r in json", `{"n":"password: a\\rbc def"}`, `{"n":"password: ` + Mask + `"}`, RuleKeyValue},
		{"escaped quote in json", `{"n":"password: correct \"horse\" battery"}`, `{"n":"password: ` + Mask + `"}`, RuleKeyValue},
		{"line break in json ends it", `{"n":"password: hunter 2\nuser: jane"}`, `{"n":"password: ` + Mask + `\nuser: jane"}`, RuleKeyValue},
		{"backslash and line break in json", `{"n":"password: hunter 2\\\nuser: jane"}`, `{"n":"password: ` + Mask + `\nuser: jane"}`, RuleKeyValue},
		{"backslash and n in json in json", `{"m":"{\"n\":\"password: correct horse\\\\nbattery\"}"}`, `{"m":"{\"n\":\"password: ` + Mask + `\"}"}`, RuleKeyValue},
		{"line break in json in json ends it", `{"m":"{\"n\":\"password: hunter 2\\nuser: jane\"}"}`, `{"m":"{\"n\":\"password: ` + Mask + `\\nuser: jane\"}"}`, RuleKeyValue},
		{"after an escaped line break in json in json", `{"m":"{\"n\":\"x\\npassword: correct\\\\nhorse\\nuser: jane\"}"}`, `{"m":"{\"n\":\"x\\npassword: ` + Mask + `\\nuser: jane\"}"}`, RuleKeyValue},
		{"outside json", "password: C:\\new\\secret \"x\"\nuser: jane", "password: " + Mask + "\nuser: jane", RuleKeyValue},
		// After a single quote the line may be in a JSON string or in
		// none: it ends at a quote no backslash escapes, which ends the
		// JSON string whatever its depth; before, it ran to the end of
		// the document and swallowed the rest of it.
		{"after a single quote in json", `{"n":"'password: hunter 2' x","u":"bob"}`, `{"n":"'password: ` + Mask + `","u":"bob"}`, RuleKeyValue},
	})
}
