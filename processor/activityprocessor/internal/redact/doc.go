// Package redact finds and removes credentials in OpenTelemetry log data.
//
// A Redactor walks attribute maps, bodies, nested maps and slices. A value is
// redacted when its key matches a configured pattern (compared case- and
// separator-insensitively, so "newPassword" and "x-api-key" match "password"
// and "apikey"), or when a value detector finds a secret in it: JWTs, bearer
// and basic authorization values, API keys with well-known prefixes, PEM
// private keys, card numbers that pass the Luhn check, credentials in URLs,
// values of pairs with a sensitive name written into text (a query, JSON,
// logfmt, YAML, a header) and one-time codes under OTP-like keys. Each rule masks, replaces the secret by
// a keyed hash (HMAC-SHA256), or drops the value.
//
// Keys in compatibility forms (full-width letters) match as their ASCII
// forms do, cards and one-time codes may be written in any script's decimal
// digits, a secret split by zero-width characters is found as if they were
// not there, and a pair or authorization scheme written with the full-width
// separators, quotes and spaces an IME types ("password＝...") as if they
// were ASCII.
//
// The walker fails closed: a value it cannot inspect (bytes, nesting deeper
// than the configured depth) is replaced, never passed through.
//
// Every detector does a cheap check before any real work, and nothing is
// allocated for a value in which nothing is found.
package redact
