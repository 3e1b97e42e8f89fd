package redact

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestPairValueWithPunctuation: a password policy demands punctuation, and
// an unquoted pair's value stopped at the first '&', '(', ',', '<', '#' or
// ';' in it, so the rest of the password went out in clear, or all of it
// when the password starts with one. A byte ends such a value only where the
// syntax of the text ends a value: at white space or a quote, or at a '&',
// ';' or ',' that another pair ("Database=...") or the end of the string
// follows. Query strings, connection strings and log lines of several pairs
// keep their other pairs.
func TestPairValueWithPunctuation(t *testing.T) {
	r := mustNew(t, testConfig())
	checkStrings(t, r, []stringCase{
		{"ampersand in a connection string", "Server=db;User Id=app;Password=Tr0ub4dor&3;Database=loyalty",
			"Server=db;User Id=app;Password=" + Mask + ";Database=loyalty", RuleKeyValue},
		{"parenthesis", "login password=Summer(2024) user=bob", "login password=" + Mask + " user=bob", RuleKeyValue},
		{"comma", "login password=abc,42 user=bob", "login password=" + Mask + " user=bob", RuleKeyValue},
		{"semicolon not before a pair", "Password=Pa;ss;w0rd", "Password=" + Mask, RuleKeyValue},
		{"starts with a hash", "run --db-password=#Pa55w0rd --port 5", "run --db-password=" + Mask + " --port 5", RuleKeyValue},
		{"starts with an angle bracket", "password=<Pa55> user=bob", "password=" + Mask + " user=bob", RuleKeyValue},
		{"query string", "/cb?a=1&password=x&b=2", "/cb?a=1&password=" + Mask + "&b=2", RuleKeyValue},
		{"query string ending in a separator", "/cb?password=x&", "/cb?password=" + Mask + "&", RuleKeyValue},
		{"connection string ending in a separator", "Password=Pa;ss;", "Password=" + Mask + ";", RuleKeyValue},
		{"separator then white space then a pair", "Server=db; Password=Pa&ss; Database=x",
			"Server=db; Password=" + Mask + "; Database=x", RuleKeyValue},
		{"comma then a pair", "password=abc,user=bob", "password=" + Mask + ",user=bob", RuleKeyValue},
		{"inside a JSON string", `{"msg":"login password=Pa(ss)","n":1}`, `{"msg":"login password=` + Mask + `","n":1}`, RuleKeyValue},
	})
}

// TestWellKnownKeysMissing: keys of the providers the README names (OpenAI,
// Google, Slack) in forms the prefix table did not know, and the
// signatures that make a presigned URL a credential.
func TestWellKnownKeysMissing(t *testing.T) {
	r := mustNew(t, testConfig())
	checkStrings(t, r, []stringCase{
		// OpenAI's user keys before project keys: "sk-", 48 characters
		// with "T3BlbkFJ" (base64 of "OpenAI") in the middle.
		{"openai legacy key", "key sk-abcdefghijklmnopqrstT3BlbkFJuvwxyzABCDEFGHIJKLMN", "key " + Mask, RuleAPIKey},
		{"openai admin key", "key sk-admin-abcdefghijklmnopqrstuvwxyz0123456789", "key " + Mask, RuleAPIKey},
		{"openai key without a project", "key sk-None-abcdefghijklmnopqrstuvwxyz0123456789", "key " + Mask, RuleAPIKey},
		// A task id is no key: "sk-" without OpenAI's marker.
		{"task id kept", "task-abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmn done",
			"task-abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmn done", NumRules},
		// Google OAuth 2.0 access token and OAuth client secret.
		{"google access token", "token ya29.a0AfH6SMCabcdefghijklmnopqrstuvwxyz0123456789", "token " + Mask, RuleAPIKey},
		{"google client secret", "client GOCSPX-abcdefghijklmnopqrstuvwx", "client " + Mask, RuleAPIKey},
		// Anyone holding an incoming-webhook URL can post to the channel.
		{"slack webhook", "hook https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
			"hook https://hooks.slack.com/services/T00000000/B00000000/" + Mask, RuleAPIKey},
		{"slack webhook docs link kept", "see https://hooks.slack.com/services/ for setup",
			"see https://hooks.slack.com/services/ for setup", NumRules},
		// Anyone holding a presigned URL can read the object until it
		// expires: its signature is the credential.
		{"s3 presigned url", "GET https://b.s3.amazonaws.com/r.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024&x=1",
			"GET https://b.s3.amazonaws.com/r.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=" + Mask + "&x=1", RuleKeyValue},
		{"gcs signed url", "https://storage.googleapis.com/b/o?X-Goog-Signature=0a1b2c3d4e5f",
			"https://storage.googleapis.com/b/o?X-Goog-Signature=" + Mask, RuleKeyValue},
		{"azure sas", "https://a.blob.core.windows.net/c/b?sv=2022-11-02&se=2026-12-01&sp=r&sig=AbCd%2Bef%3D&x=1",
			"https://a.blob.core.windows.net/c/b?sv=2022-11-02&se=2026-12-01&sp=r&sig=" + Mask + "&x=1", RuleKeyValue},
		{"cloudfront signed url", "https://d1.cloudfront.net/a.mp4?Expires=1767225600&Signature=Ab~Cd-Ef__&Key-Pair-Id=K2",
			"https://d1.cloudfront.net/a.mp4?Expires=1767225600&Signature=" + Mask + "&Key-Pair-Id=K2", RuleKeyValue},
		{"signature field kept", "signatureRequired=true", "signatureRequired=true", NumRules},
	})
}

// TestLessCommonForms: credentials in forms the detectors did not read: an
// XML element named like a credential, a bearer token with a byte outside
// RFC 6750's alphabet (masked to white space), and a card number in a
// form-encoded body, whose spaces are '+' or "%20".
func TestLessCommonForms(t *testing.T) {
	r := mustNew(t, testConfig())
	checkStrings(t, r, []stringCase{
		{"xml element", "<login><user>bob</user><password>hunter22</password></login>",
			"<login><user>bob</user><password>" + Mask + "</password></login>", RuleKeyValue},
		{"xml element never closed", "<password>hunter22", "<password>" + Mask, RuleKeyValue},
		{"xml one-time code", "<otp>493817</otp>", "<otp>" + Mask + "</otp>", RuleKeyValue},
		{"html kept", `<a href="/x">password reset</a> <b>done</b>`, `<a href="/x">password reset</a> <b>done</b>`, NumRules},
		{"bearer token with a byte outside b64token", "Bearer abcdefgh12345678!wxyz", "Bearer " + Mask, RuleBearer},
		{"bearer token with such a byte early", "Bearer ab!cdefgh12345678wxyz", "Bearer " + Mask, RuleBearer},
		{"bearer token in json", `{"auth":"Bearer abcdefgh1234!5678","n":1}`, `{"auth":"Bearer ` + Mask + `","n":1}`, RuleBearer},
		{"form-encoded card", "cc=4111+1111+1111+1111&x=1", "cc=" + Mask + "&x=1", RuleCard},
		{"percent-encoded card", "cc=4111%201111%201111%201111&x=1", "cc=" + Mask + "&x=1", RuleCard},
	})
}

// TestAPIKeyMarkerLinear: a prefix that needs a marker in its token
// ("sk-" and "T3BlbkFJ") reads a run of key characters without the marker
// once, not once for every "sk-" in it.
func TestAPIKeyMarkerLinear(t *testing.T) {
	r := mustNew(t, testConfig())
	for _, unit := range []string{"sk-", "task-", "sk-a"} {
		in := strings.Repeat(unit, 256<<10/len(unit))
		answersLinearly(t, r, in, fmt.Sprintf("%q × %d", unit, len(in)/len(unit)))
	}
}

// TestXMLElementWithPrefixOrAttributes: an XML element named like a
// credential was masked only when its start tag held the bare name
// ("<password>"), so a SOAP login's WS-Security password, written with a
// namespace prefix and a Type attribute, and any element with an attribute
// or a space before its '>', went out in clear. The element's local name is
// what names it.
func TestXMLElementWithPrefixOrAttributes(t *testing.T) {
	r := mustNew(t, testConfig())
	checkStrings(t, r, []stringCase{
		{"ws-security password", `<wsse:UsernameToken><wsse:Username>bob</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">hunter22</wsse:Password></wsse:UsernameToken>`,
			`<wsse:UsernameToken><wsse:Username>bob</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">` + Mask + `</wsse:Password></wsse:UsernameToken>`, RuleKeyValue},
		{"namespace prefix", "<ns:password>hunter22</ns:password>", "<ns:password>" + Mask + "</ns:password>", RuleKeyValue},
		{"attribute", `<password type="plain">hunter22</password>`, `<password type="plain">` + Mask + `</password>`, RuleKeyValue},
		{"space before the bracket", "<Password >hunter22</Password>", "<Password >" + Mask + "</Password>", RuleKeyValue},
		{"prefixed one-time code", `<m:otp format="digits">493817</m:otp>`, `<m:otp format="digits">` + Mask + `</m:otp>`, RuleKeyValue},
		{"empty element kept", `<password/> <b>x</b>`, `<password/> <b>x</b>`, NumRules},
		{"end tag kept", `</password>next`, `</password>next`, NumRules},
		{"other element with an attribute named like a credential kept", `<input name="password" type="x">text</input>`,
			`<input name="password" type="x">text</input>`, NumRules},
	})
}

// TestPairValueQuoteInside: a quote ended an unquoted value unless a letter
// or digit followed it, so a password with a quote before other punctuation
// ("Pa'$$w0rd", `Tr0ub"!dor`) went out in clear from the quote on. Only a
// quote that can close the string the pair is written in (one before white
// space, punctuation that follows a string, or the end) ends the value.
func TestPairValueQuoteInside(t *testing.T) {
	r := mustNew(t, testConfig())
	checkStrings(t, r, []stringCase{
		{"single quote then punctuation", "login password=Pa'$$w0rd user=bob", "login password=" + Mask + " user=bob", RuleKeyValue},
		{"double quote then punctuation", `login password=Tr0ub"!dor user=bob`, "login password=" + Mask + " user=bob", RuleKeyValue},
		{"closing a JSON string", `{"msg":"password=abc","n":1}`, `{"msg":"password=` + Mask + `","n":1}`, RuleKeyValue},
		{"closing a Python string", `['password=abc']`, `['password=` + Mask + `']`, RuleKeyValue},
		{"closing at the end", `"password=abc"`, `"password=` + Mask + `"`, RuleKeyValue},
	})
}

// TestPercentEncodedURLCredentials: a URL written inside a query parameter
// (a login's redirect, a webhook's callback) is percent-encoded, and its
// password went out in clear: the URL finder knew "://" and ":\/\/" only.
// Its user info is read as the decoded URL's would be, in either case of
// hex, also with the slashes left raw (Python's quote) and encoded twice
// (a redirect inside a redirect); its port, host and path stay.
func TestPercentEncodedURLCredentials(t *testing.T) {
	r := mustNew(t, testConfig())
	checkStrings(t, r, []stringCase{
		{"redirect", "redirect=https%3A%2F%2Fuser%3As3cr3t%40host",
			"redirect=https%3A%2F%2Fuser%3A" + Mask + "%40host", RuleURLCredentials},
		{"lowercase hex, path and next parameter", "next=https%3a%2f%2fuser%3as3cr3t%40host%2fcb%3fa%3d1&state=xyz",
			"next=https%3a%2f%2fuser%3a" + Mask + "%40host%2fcb%3fa%3d1&state=xyz", RuleURLCredentials},
		{"token without a colon", "hook=https%3A%2F%2Fghtoken0123%40git.example%2Frepo",
			"hook=https%3A%2F%2F" + Mask + "%40git.example%2Frepo", RuleURLCredentials},
		{"slashes left raw", "next=https%3A//user%3As3cr3t%40host/path",
			"next=https%3A//user%3A" + Mask + "%40host/path", RuleURLCredentials},
		{"encoded twice", "u=https%253A%252F%252Fuser%253As3cr3t%2540host",
			"u=https%253A%252F%252Fuser%253A" + Mask + "%2540host", RuleURLCredentials},
		{"encoded slash in the password", "next=https%3A%2F%2Fapp%3Apa%2Fss%40db&x=1",
			"next=https%3A%2F%2Fapp%3A" + Mask + "%40db&x=1", RuleURLCredentials},
		{"raw at sign", "next=https%3A%2F%2Fuser%3As3cr3t@host",
			"next=https%3A%2F%2Fuser%3A" + Mask + "@host", RuleURLCredentials},
		{"port and e-mail kept", "next=https%3A%2F%2Fapp.example%3A8443%2Finvite%3Femail%3Djane%40example.com",
			"next=https%3A%2F%2Fapp.example%3A8443%2Finvite%3Femail%3Djane%40example.com", NumRules},
		{"e-mail in the query kept", "next=https%3A%2F%2Fexample.com%2F%3Fe%3Djane%40example.com done",
			"next=https%3A%2F%2Fexample.com%2F%3Fe%3Djane%40example.com done", NumRules},
		{"plain after encoded", "a=https%3A%2F%2Fx.example b=https://u:pw@host",
			"a=https%3A%2F%2Fx.example b=https://u:" + Mask + "@host", RuleURLCredentials},
		// A plain URL's search for a raw '@' sees no encoded one: what it
		// read must not keep the encoded URL in it from being searched.
		{"encoded in a plain URL's path", "go https://b:c/x?u=https%3A%2F%2Fu%3Ap%2Fq%40h",
			"go https://b:c/x?u=https%3A%2F%2Fu%3A" + Mask + "%40h", RuleURLCredentials},
	})
}

// TestURLCredentialsLinear: the URL finder reads a long string in linear
// time across its calls as well as within one. Each call searched for every
// form of scheme separator to the end of the string, so a string of many
// URLs with credentials and no escaped separator was read to its end once
// per URL (a second for 256 KB, growing with its square).
func TestURLCredentialsLinear(t *testing.T) {
	r := mustNew(t, testConfig())
	for _, tc := range []struct{ unit, suffix string }{
		{"a://b:c@d ", ""},
		{`a:\/\/b:c@d `, ""},
		{"a%3A%2F%2Fb%3Ac%40d ", ""},
		{"%3A%2F%2F", " %40"},
		{"%40", ""},
		{"%3A%2F%2F%40", ""},
		{"a%3A%2F%2Fb%3Ac%2F", " %40"},
		{"a%3A%2F%2Fb%3Ac%40d%2F", " %40"},
		{"a%253A%252F%252Fb%253Ac%2540d ", ""},
		{"a://b:c/x%3A%2F%2Fu%3Ap%2F", " @"},
	} {
		in := strings.Repeat(tc.unit, 2<<20/len(tc.unit)) + tc.suffix
		answersLinearly(t, r, in, fmt.Sprintf("%q × %d + %q", tc.unit, len(in)/len(tc.unit), tc.suffix))
	}
}

// TestQuotedBearerToken: a bearer token in quotes ("Bearer \"...\"", as
// a header is quoted in a log line or a config dump) was not masked: the
// token ended at a quote, and so was empty. The quotes stay.
func TestQuotedBearerToken(t *testing.T) {
	checkStrings(t, mustNew(t, testConfig()), []stringCase{
		{"double quotes", `sent Bearer "abcdefgh12345678" to api`, `sent Bearer "` + Mask + `" to api`, RuleBearer},
		{"single quotes", `bearer 'abcdefgh12345678'`, `bearer '` + Mask + `'`, RuleBearer},
		{"escaped in json", `{"h":"Bearer \"abcdefgh12345678\""}`, `{"h":"Bearer \"` + Mask + `\""}`, RuleBearer},
		{"short quoted words kept", `the bearer "of news"`, `the bearer "of news"`, NumRules},
	})
	// Key patterns are configurable: without "authorization" among them
	// (or with key_value off), the bearer detector alone must find it.
	cfg := testConfig()
	delete(cfg.Detectors, RuleKeyValue)
	checkStrings(t, mustNew(t, cfg), []stringCase{
		{"header line", `Authorization: Bearer "abcdefgh12345678"`, `Authorization: Bearer "` + Mask + `"`, RuleBearer},
	})
}

// TestFlagValueAfterSpace: a command line names a credential with a long
// flag and gives its value as the next word ("mysqldump --password hunter2",
// as a job runner logs the command it ran), which the pair finder, knowing
// '=' and ':' only, let out in clear. A flag named like a credential takes
// the next word, or quoted string, as its value; a word that is another flag
// is none. "--password=x" stays as it was. "-p" alone is left: it is the
// port of ssh, docker and many more, and masking the word after it would
// destroy ordinary data.
func TestFlagValueAfterSpace(t *testing.T) {
	r := mustNew(t, testConfig())
	checkStrings(t, r, []stringCase{
		{"next word", "mysqldump --password hunter2 db", "mysqldump --password " + Mask + " db", RuleKeyValue},
		{"quoted", `mysqldump --password "hunter 2" db`, `mysqldump --password "` + Mask + `" db`, RuleKeyValue},
		{"single quoted", `run --db-password 'hunter 2'`, `run --db-password '` + Mask + `'`, RuleKeyValue},
		{"tab and spaces", "run --secret \t  s3cr3t", "run --secret \t  " + Mask, RuleKeyValue},
		{"at the start", "--token abcdef123 --verbose", "--token " + Mask + " --verbose", RuleKeyValue},
		{"api key not caught by a detector", "curl --api-key abcdef123 x", "curl --api-key " + Mask + " x", RuleKeyValue},
		{"inside a JSON string", `{"cmd":"mysqldump --password \"hunter 2\" db","n":1}`,
			`{"cmd":"mysqldump --password \"` + Mask + `\" db","n":1}`, RuleKeyValue},
		{"authorization scheme kept", "curl --authorization Bearer abc123 x", "curl --authorization Bearer " + Mask + " x", RuleKeyValue},
		{"equals form kept", "mysql --password=x db", "mysql --password=" + Mask + " db", RuleKeyValue},
		{"another flag is no value", "psql --no-password -h db", "psql --no-password -h db", NumRules},
		{"other flags kept", "run --user bob --region eu-west-1", "run --user bob --region eu-west-1", NumRules},
		{"dash in prose kept", "reset -- token expired", "reset -- token expired", NumRules},
		{"dashes inside a word kept", "a--token b", "a--token b", NumRules},
		{"short flag kept", "mysql -p 3306 db", "mysql -p 3306 db", NumRules},
		{"list of arguments", `["mysqldump", "--password", "hunter2", "db"]`, `["mysqldump", "--password", "` + Mask + `", "db"]`, RuleKeyValue},
		{"list of arguments, another flag next", `["psql","--no-password","-h","db"]`, `["psql","--no-password","-h","db"]`, NumRules},
		{"one-time code", "verify --otp 493817 now", "verify --otp " + Mask + " now", RuleKeyValue},
		{"no code kept", "login --otp sms", "login --otp sms", NumRules},
	})
	for _, unit := range []string{" --password -x", ` --password "`, "--password --", " --a", "---", ` "--password","`} {
		in := strings.Repeat(unit, 1<<20/len(unit))
		answersLinearly(t, r, in, fmt.Sprintf("%q × %d", unit, len(in)/len(unit)))
	}
}

// TestLinePairValueOnNextLine: a YAML key whose value is written on the
// next, more indented line ("password:\n  hunter2"), or as a block scalar
// ("password: |\n  hunter2"), went out in clear: the pair finder read no
// value after a line break, and read a block scalar's value as its "|". The
// value is every following line indented more than the key. A key with an
// empty value and a sibling on the next line (properties, INI) stays.
func TestLinePairValueOnNextLine(t *testing.T) {
	r := mustNew(t, testConfig())
	checkStrings(t, r, []stringCase{
		{"next line", "password:\n  hunter2", "password:\n  " + Mask, RuleKeyValue},
		{"next line after trailing spaces", "password:  \r\n  hunter2\r\nuser: bob", "password:  \r\n  " + Mask + "\r\nuser: bob", RuleKeyValue},
		{"nested", "db:\n  password:\n    hunter2\n  user: bob", "db:\n  password:\n    " + Mask + "\n  user: bob", RuleKeyValue},
		{"list item", "- password:\n    hunter2\n- user: bob", "- password:\n    " + Mask + "\n- user: bob", RuleKeyValue},
		{"continued over lines", "password:\n  correct\n  horse\nuser: bob", "password:\n  " + Mask + "\nuser: bob", RuleKeyValue},
		{"block scalar", "password: |\n  hunter2\n  more\nuser: bob", "password: |\n  " + Mask + "\nuser: bob", RuleKeyValue},
		{"folded block scalar", "secret: >-\n  hunter2\nuser: bob", "secret: >-\n  " + Mask + "\nuser: bob", RuleKeyValue},
		{"equals", "password =\n  hunter2", "password =\n  " + Mask, RuleKeyValue},
		{"more spaces", "password:    hunter2", "password:    " + Mask, RuleKeyValue},
		{"tab after equals", "password =\thunter2", "password =\t" + Mask, RuleKeyValue},
		{"sibling kept", "password=\nuser=bob", "password=\nuser=bob", NumRules},
		{"sibling in yaml kept", "db:\n  password:\n  user: bob", "db:\n  password:\n  user: bob", NumRules},
		{"list sibling kept", "- password:\n  user: bob", "- password:\n  user: bob", NumRules},
		{"blank line inside", "password:\n  a\n\n  b\nuser: bob", "password:\n  " + Mask + "\nuser: bob", RuleKeyValue},
		{"not at a line start kept", "x password:\n  y", "x password:\n  y", NumRules},
	})
	for _, unit := range []string{"password:\n", "password: |\n", "- password:\n\n", " password=\n"} {
		in := strings.Repeat(unit, 1<<20/len(unit))
		answersLinearly(t, r, in, fmt.Sprintf("%q × %d", unit, len(in)/len(unit)))
	}
}

// TestSchemeRelativeURLCredentials: a URL without its scheme
// ("//user:pass@host/path", as HTML and configuration write a link that
// takes the page's scheme) kept its password in clear: the URL finder
// started at "://". URLs with any scheme, also of two parts or an empty
// user, are read as before.
func TestSchemeRelativeURLCredentials(t *testing.T) {
	r := mustNew(t, testConfig())
	checkStrings(t, r, []stringCase{
		{"scheme-relative", "conn //user:pass@host/path", "conn //user:" + Mask + "@host/path", RuleURLCredentials},
		{"at the start", "//user:pass@host", "//user:" + Mask + "@host", RuleURLCredentials},
		{"after equals", "url=//user:pass@host/path", "url=//user:" + Mask + "@host/path", RuleURLCredentials},
		{"in quotes", `src="//user:pass@host/a.js"`, `src="//user:` + Mask + `@host/a.js"`, RuleURLCredentials},
		{"jdbc", "jdbc:mysql://user:pass@host/db", "jdbc:mysql://user:" + Mask + "@host/db", RuleURLCredentials},
		{"empty user", "redis://:pass@host", "redis://:" + Mask + "@host", RuleURLCredentials},
		{"amqps", "amqps://user:pass@host/vh", "amqps://user:" + Mask + "@host/vh", RuleURLCredentials},
		{"path kept", "see a//b and //cdn.example/x.js by bob@example.com",
			"see a//b and //cdn.example/x.js by bob@example.com", NumRules},
		{"comment kept", "// mail jane@example.com", "// mail jane@example.com", NumRules},
	})
	for _, tc := range []struct{ unit, suffix string }{{" //b:c/", " @"}, {" //", "@"}, {"///", "@"}, {" //b:c@d/", ""}} {
		in := strings.Repeat(tc.unit, 1<<20/len(tc.unit)) + tc.suffix
		answersLinearly(t, r, in, fmt.Sprintf("%q × %d + %q", tc.unit, len(in)/len(tc.unit), tc.suffix))
	}
}

// TestPercentEncodedSignature: a presigned URL inside another's query
// (a redirect to a download) has its parameters percent-encoded, and its
// signature went out in clear: the pair's name was read from the previous
// encoded '&' or '?' on ("AWS4%26X-Amz-Signature"), which is no signature
// parameter's name. An encoded '&', '?' or ';' ends the name before it.
func TestPercentEncodedSignature(t *testing.T) {
	r := mustNew(t, testConfig())
	checkStrings(t, r, []stringCase{
		{"s3", "u=https%3A%2F%2Fb%2Fo%3FX-Amz-Algorithm%3DAWS4%26X-Amz-Signature%3Dabcdef0123456789%26x%3D1",
			"u=https%3A%2F%2Fb%2Fo%3FX-Amz-Algorithm%3DAWS4%26X-Amz-Signature%3D" + Mask + "%26x%3D1", RuleKeyValue},
		{"azure sas", "u=https%3A%2F%2Fa%2Fc%3Fsv%3D2022%26sig%3DAbCd%252Bef%253D%26x%3D1",
			"u=https%3A%2F%2Fa%2Fc%3Fsv%3D2022%26sig%3D" + Mask + "%26x%3D1", RuleKeyValue},
		{"right after the query", "next=%2Fo%3Fsig%3Dabcdef0123456789%26x%3D1",
			"next=%2Fo%3F" + "sig%3D" + Mask + "%26x%3D1", RuleKeyValue},
		{"lowercase hex", "next=%2fo%3fa%3d1%26signature%3dabc%26x%3d1", "next=%2fo%3fa%3d1%26signature%3d" + Mask + "%26x%3d1", RuleKeyValue},
		{"other parameters kept", "next=%2Fo%3Fsv%3D2022%26design%3Dx", "next=%2Fo%3Fsv%3D2022%26design%3Dx", NumRules},
		{"encoded ampersand of its own masked", "next=%2Fo%3Fpassword%3Da%2526b%26x%3D1", "next=%2Fo%3Fpassword%3D" + Mask + "%26x%3D1", RuleKeyValue},
	})
	for _, unit := range []string{"a%3Dx%26sig%3Dy", "%26%26%26sig%3D", "%26sig"} {
		in := strings.Repeat(unit, 1<<20/len(unit))
		answersLinearly(t, r, in, fmt.Sprintf("%q × %d", unit, len(in)/len(unit)))
	}
}

// TestCardDotGroups: a card number whose groups are separated by '.', '_'
// or '/' ("4111.1111.1111.1111", as some forms and exports write it) went
// out in clear: only spaces and dashes separated a card's groups. Such a
// number is a card only in a card's grouping (4-4-4-4, or 4-6-5 as
// American Express prints it), the same separator throughout, and
// Luhn-valid; IP addresses, dates and version numbers never have that
// shape.
func TestCardDotGroups(t *testing.T) {
	r := mustNew(t, testConfig())
	checkStrings(t, r, []stringCase{
		{"dots", "card 4111.1111.1111.1111 ok", "card " + Mask + " ok", RuleCard},
		{"underscores", "card 4111_1111_1111_1111 ok", "card " + Mask + " ok", RuleCard},
		{"slashes", "card 4111/1111/1111/1111", "card " + Mask, RuleCard},
		{"amex", "amex 3782.822463.10005.", "amex " + Mask + ".", RuleCard},
		{"after another number", "order 12 4111.1111.1111.1111", "order 12 " + Mask, RuleCard},
		{"after a card", "4111 1111 1111 1111 4111.1111.1111.1111 x", Mask + " x", RuleCard},
		{"not luhn kept", "ref 4111.1111.1111.1112 ok", "ref 4111.1111.1111.1112 ok", NumRules},
		{"mixed separators kept", "ref 4111.1111_1111.1111", "ref 4111.1111_1111.1111", NumRules},
		{"longer run kept", "oid 1.4111.1111.1111.1111", "oid 1.4111.1111.1111.1111", NumRules},
		{"ips, dates, versions kept", "ip 192.168.100.200 192.168.100.201 on 2024.01.15/2024.12.31 v10.0.19045.2965 build 4111.1111.1111",
			"ip 192.168.100.200 192.168.100.201 on 2024.01.15/2024.12.31 v10.0.19045.2965 build 4111.1111.1111", NumRules},
	})
}

// TestAuthorizationSchemeBeforeQuotedToken: under a pair named like a
// credential, a quoted credential after its scheme
// ("Authorization: Bearer \"...\"") was masked with its scheme; the scheme
// stays, as it does before an unquoted one.
func TestAuthorizationSchemeBeforeQuotedToken(t *testing.T) {
	checkStrings(t, mustNew(t, testConfig()), []stringCase{
		{"header line", `Authorization: Bearer "abcdefgh12345678"`, `Authorization: Bearer "` + Mask + `"`, RuleKeyValue},
		{"in json", `{"msg":"Authorization: Bearer \"abcdefgh12345678\""}`, `{"msg":"Authorization: Bearer \"` + Mask + `\""}`, RuleKeyValue},
		{"token scheme", `authorization=Token 'abc123'`, `authorization=Token '` + Mask + `'`, RuleKeyValue},
		{"never closed", `Authorization: Token "abc123 x`, `Authorization: Token "` + Mask, RuleKeyValue},
	})
}

// TestManyGroupedCardsLinear: each card found made the card finder count
// the digits of the rest of the string again before it looked for the
// next one, so a string of many cards it finds one by one (grouped by '.',
// or by spaces with a word between them) took time growing with its square:
// 256 KB of "4111.1111.1111.1111 " took 3.8 s.
func TestManyGroupedCardsLinear(t *testing.T) {
	r := mustNew(t, testConfig())
	for _, unit := range []string{"4111.1111.1111.1111 ", "4111 1111 1111 1111 x ", "x 4111_1111_1111_1111"} {
		in := strings.Repeat(unit, 1<<20/len(unit))
		answersLinearly(t, r, in, fmt.Sprintf("%q × %d", unit, len(in)/len(unit)))
	}
}

// TestFlagValueOnNextLine: a flag's value on the next line went out in
// clear: a Kubernetes manifest lists a container's arguments one per line
// ("args:\n  - --password\n  - hunter2"), a pretty-printed JSON list puts a
// line break after the comma, and a shell script continues a command with a
// backslash at the line's end. The next line's word or string is the value
// there too; another flag there is none.
func TestFlagValueOnNextLine(t *testing.T) {
	r := mustNew(t, testConfig())
	checkStrings(t, r, []stringCase{
		{"yaml list", "args:\n  - --password\n  - hunter2\n  - --user\n  - bob",
			"args:\n  - --password\n  - " + Mask + "\n  - --user\n  - bob", RuleKeyValue},
		{"yaml list, quoted, crlf", "args:\r\n- \"--password\"\r\n- \"hunter 2\"", "args:\r\n- \"--password\"\r\n- \"" + Mask + "\"", RuleKeyValue},
		{"pretty-printed json list", "[\n  \"--password\",\n  \"hunter2\"\n]", "[\n  \"--password\",\n  \"" + Mask + "\"\n]", RuleKeyValue},
		{"shell line continuation", "mysqldump --password \\\n  hunter2 db", "mysqldump --password \\\n  " + Mask + " db", RuleKeyValue},
		{"yaml list, next flag kept", "args:\n  - --no-password\n  - --user\n  - bob", "args:\n  - --no-password\n  - --user\n  - bob", NumRules},
		{"no list item kept", "run --password\nhunter2 is the old one", "run --password\nhunter2 is the old one", NumRules},
	})
	for _, unit := range []string{"- --password\n", " --password \\\n", "\"--password\",\n", "--password\n - \n"} {
		in := strings.Repeat(unit, 1<<20/len(unit))
		answersLinearly(t, r, in, fmt.Sprintf("%q × %d", unit, len(in)/len(unit)))
	}
}

// TestLinePairValueAfterComment: a YAML key whose value is on the lines
// after it may have a comment, a tag or an anchor after its colon
// ("password:  # the db one\n  hunter2", "password: | # rotated\n",
// "password: !!binary |\n", "password: &db\n"); the pair finder masked that
// and let the value on the next lines out in clear. Whatever the key's line
// holds after the colon is masked with the lines after it (a '#' there may
// as well start a password).
func TestLinePairValueAfterComment(t *testing.T) {
	r := mustNew(t, testConfig())
	checkStrings(t, r, []stringCase{
		{"comment", "password:  # the db one\n  hunter2\nuser: bob", "password:  " + Mask + "\nuser: bob", RuleKeyValue},
		{"block scalar and comment", "password: | # rotated\n  hunter2\nuser: bob", "password: " + Mask + "\nuser: bob", RuleKeyValue},
		{"tag", "password: !!binary |\n  aHVudGVyMg==\nuser: bob", "password: " + Mask + "\nuser: bob", RuleKeyValue},
		{"anchor", "password: &db\n  hunter2\nuser: bob", "password: " + Mask + "\nuser: bob", RuleKeyValue},
		{"hash on its own line kept masked", "password: #Pa55w0rd\nuser: bob", "password: " + Mask + "\nuser: bob", RuleKeyValue},
		{"block scalar alone as before", "password: |\n  hunter2\nuser: bob", "password: |\n  " + Mask + "\nuser: bob", RuleKeyValue},
	})
}

// TestSchemeRelativeURLAfterMarkup: a scheme-relative URL in a Markdown
// code span ("`//user:pass@host`") or after a line break or tab a JSON
// string escapes ("...\n//user:pass@host") kept its password: the '`', and
// the 'n' or 't' of the escape, read as what a path's "//" follows.
func TestSchemeRelativeURLAfterMarkup(t *testing.T) {
	r := mustNew(t, testConfig())
	checkStrings(t, r, []stringCase{
		{"code span", "use `//user:pass@host`", "use `//user:" + Mask + "@host`", RuleURLCredentials},
		{"escaped line break", `{"m":"a\n//user:pass@host"}`, `{"m":"a\n//user:` + Mask + `@host"}`, RuleURLCredentials},
		{"escaped tab", `{"m":"a\t//user:pass@host"}`, `{"m":"a\t//user:` + Mask + `@host"}`, RuleURLCredentials},
		{"path kept", `{"m":"see n//a:b@c"}`, `{"m":"see n//a:b@c"}`, NumRules},
	})
}

// TestFlagAtEndOfJSONString: a flag at the end of a JSON string value
// ({"cmd":"run --password","n":"x"}) was read as the first of a list of
// arguments, and the name of the object's next field was masked as its
// value. A string that a ':' follows is a name, no argument.
func TestFlagAtEndOfJSONString(t *testing.T) {
	checkStrings(t, mustNew(t, testConfig()), []stringCase{
		{"json", `{"cmd":"run --password","n":"x"}`, `{"cmd":"run --password","n":"x"}`, NumRules},
		{"escaped json", `{\"cmd\":\"run --password\", \"n\" : \"x\"}`, `{\"cmd\":\"run --password\", \"n\" : \"x\"}`, NumRules},
		{"list still read", `["--password","hunter2"]`, `["--password","` + Mask + `"]`, RuleKeyValue},
		{"quoted value before a colon still read", `run --password "hunter2": ok`, `run --password "` + Mask + `": ok`, RuleKeyValue},
	})
}

// TestNestedRedactedYAMLValuesFast: a YAML key whose value on the next lines
// was redacted already ("password:\n  [REDACTED]"), as a record read back
// and processed again has it, made the pair finder read every more indented
// line after it before it gave up; keys nested ever deeper, each with such a
// value, took time growing faster than the text (65 ms for 256 KB). The
// first line of the value decides.
func TestNestedRedactedYAMLValuesFast(t *testing.T) {
	r := mustNew(t, testConfig())
	var b strings.Builder
	for i := 0; b.Len() < 256<<10; i++ {
		b.WriteString(strings.Repeat(" ", i) + "password:\n" + strings.Repeat(" ", i+1) + Mask + "\n")
	}
	in := b.String()
	best := time.Hour
	for range 3 {
		start := time.Now()
		var rep Report
		r.String(in, &rep)
		best = min(best, time.Since(start))
	}
	if best > 50*time.Millisecond {
		t.Errorf("got %v for %d bytes, want at most 50 ms", best, len(in))
	}
}

// TestCardSlashGroupsEscaped: a card grouped by '/' in JSON that PHP's
// json_encode wrote, which escapes every '/' ("4111\/1111\/1111\/1111"),
// went out in clear, though its unescaped form is masked.
func TestCardSlashGroupsEscaped(t *testing.T) {
	checkStrings(t, mustNew(t, testConfig()), []stringCase{
		{"escaped slashes", `{"card":"4111\/1111\/1111\/1111"}`, `{"card":"` + Mask + `"}`, RuleCard},
		{"amex", `{"card":"3782\/822463\/10005"}`, `{"card":"` + Mask + `"}`, RuleCard},
		{"not luhn kept", `{"ref":"4111\/1111\/1111\/1112"}`, `{"ref":"4111\/1111\/1111\/1112"}`, NumRules},
		{"date kept", `{"d":"2024\/01\/15"}`, `{"d":"2024\/01\/15"}`, NumRules},
		{"mixed kept", `{"d":"4111\/1111/1111\/1111"}`, `{"d":"4111\/1111/1111\/1111"}`, NumRules},
	})
}

// TestPercentEncodedTwiceSignature: a presigned URL's query encoded twice,
// as a redirect inside a redirect carries it ("%2526sig%253D..."), kept
// its signature in clear: only "%3D" separated an encoded pair, and only
// "%26" ended the name before it. The pair is read as its once-encoded form
// is; its value runs to the end of the URL's query (failing closed).
func TestPercentEncodedTwiceSignature(t *testing.T) {
	checkStrings(t, mustNew(t, testConfig()), []stringCase{
		{"s3", "next=%2Fdl%3Fu%3Dhttps%253A%252F%252Fb%252Fo%253FX-Amz-Date%253D1%2526X-Amz-Signature%253Dabcdef0123456789",
			"next=%2Fdl%3Fu%3Dhttps%253A%252F%252Fb%252Fo%253FX-Amz-Date%253D1%2526X-Amz-Signature%253D" + Mask, RuleKeyValue},
		{"right after the query", "next=%2Fo%253Fsig%253Dabcdef0123456789 ok", "next=%2Fo%253Fsig%253D" + Mask + " ok", RuleKeyValue},
		{"three times", "next=%2Fo%25253Fa%25253D1%252526sig%25253Dabc", "next=%2Fo%25253Fa%25253D1%252526sig%25253D" + Mask, RuleKeyValue},
		{"other parameters kept", "next=%2Fo%253Fsv%253D2022%2526design%253Dx", "next=%2Fo%253Fsv%253D2022%2526design%253Dx", NumRules},
	})
}
