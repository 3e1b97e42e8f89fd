package redact

import (
	"fmt"
	"strings"
	"testing"
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
