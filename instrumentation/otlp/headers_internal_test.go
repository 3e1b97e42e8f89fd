package otlp

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestEnvHeaders(t *testing.T) {
	tests := []struct {
		name          string
		generic, logs string
		want          map[string]string
	}{
		{"unset", "", "", nil},
		{"blank", "  ", "", nil},
		{"bearer token, space escaped", "Authorization=Bearer%20abc123", "", map[string]string{"Authorization": "Bearer abc123"}},
		{"several, trimmed, empty pairs skipped", " a = 1 ,, b=2%2C3 ,", "", map[string]string{"a": "1", "b": "2,3"}},
		{"value trimmed after decoding, as the Go SDK does", "a=%20x%20", "", map[string]string{"a": "x"}},
		{"key not decoded, as the Go SDK does", "a%41=1", "", map[string]string{"a%41": "1"}},
		{"value holding =", "k=a=b", "", map[string]string{"k": "a=b"}},
		{"empty value", "k=", "", map[string]string{"k": ""}},
		{"logs variable wins", "a=1", "b=2", map[string]string{"b": "2"}},
		{"blank logs variable falls back", "a=1", "  ", map[string]string{"a": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": tt.generic, "OTEL_EXPORTER_OTLP_LOGS_HEADERS": tt.logs}
			got, err := envHeaders(func(k string) string { return env[k] })
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestEnvHeadersRejectsMalformed proves that a malformed variable stops the
// provider with a message naming the variable and the pair, instead of the
// exporters' silent skip (which would send no token).
func TestEnvHeadersRejectsMalformed(t *testing.T) {
	for _, raw := range []string{
		"Authorization",             // no =
		"=Bearer%20x",               // no key
		"Authorization=Bearer%2x",   // bad escape in the value
		"Auth(z)=x",                 // not a header name
		"Author ization=x",          // space in the key
		"Authorization=a%0D%0AX: y", // header injection
		"k=a%00",
	} {
		env := map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": raw}
		_, err := envHeaders(func(k string) string { return env[k] })
		if !errors.Is(err, ErrInvalidHeaders) || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_HEADERS: pair 1") {
			t.Errorf("%q: got error %v, want ErrInvalidHeaders naming the variable and pair 1", raw, err)
		}
	}
}

// TestEnvHeadersErrorsHideValues proves that the error for a malformed
// variable, which a service logs at start, never repeats the ingest token:
// written with ':' for '=', or with a bad escape, the token is part of what
// reads as the key, and a key that is not a header name is not quoted.
func TestEnvHeadersErrorsHideValues(t *testing.T) {
	const token = "s3cretTokenValue"
	for _, raw := range []string{
		"Authorization: Bearer " + token + "==",     // ':' for '=', base64 padding supplies the '='
		"Authorization:Bearer%20" + token + "%zz=x", // and a bad escape
		"Authorization=Bearer%20" + token + "%zz",   // bad escape in the value
		"Authorization=Bearer%20" + token + "%0A",   // line break in the value
	} {
		env := map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": raw}
		_, err := envHeaders(func(k string) string { return env[k] })
		if !errors.Is(err, ErrInvalidHeaders) {
			t.Fatalf("%q: got error %v, want ErrInvalidHeaders", raw, err)
		}
		if strings.Contains(err.Error(), token) {
			t.Errorf("%q: got error %q, want it without the token", raw, err)
		}
	}
}

// FuzzEnvHeaders: any value parses or fails with ErrInvalidHeaders, never
// panics; what it accepts holds only header names and trimmed values without
// line breaks or NUL; and a parsed map written back, every value byte escaped, parses
// to the same map.
func FuzzEnvHeaders(f *testing.F) {
	f.Add("Authorization=Bearer%20abc123")
	f.Add(" a = 1 ,, b=2%2C3 ,")
	f.Add("k=a%0D%0A")
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := envHeaders(func(k string) string {
			if k == "OTEL_EXPORTER_OTLP_HEADERS" {
				return raw
			}
			return ""
		})
		if err != nil {
			if !errors.Is(err, ErrInvalidHeaders) {
				t.Fatalf("%q: got error %v, want ErrInvalidHeaders", raw, err)
			}
			return
		}
		var b strings.Builder
		for k, v := range got {
			if !validHeaderName(k) || strings.ContainsAny(v, "\r\n\x00") || v != strings.TrimSpace(v) {
				t.Fatalf("%q: accepted %q=%q", raw, k, v)
			}
			b.WriteString(k + "=" + escapeAll(v) + ",")
		}
		again, err := envHeaders(func(k string) string {
			if k == "OTEL_EXPORTER_OTLP_HEADERS" {
				return b.String()
			}
			return ""
		})
		if err != nil || !maps.Equal(again, got) {
			t.Fatalf("%q: parsed %v, written back as %q it parsed %v (%v)", raw, got, b.String(), again, err)
		}
	})
}

func escapeAll(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte('%')
		b.WriteByte(hex[s[i]>>4])
		b.WriteByte(hex[s[i]&15])
	}
	return b.String()
}
