package redact

import "testing"

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
