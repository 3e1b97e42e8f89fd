package setup

import (
	"testing"
	"time"
)

// TestPatternsOverlap proves that patternsOverlap finds a common index name
// exactly when there is one, '*' standing for any run of characters on
// either side, so that a template of higher priority is reported whether
// its patterns are narrower than, wider than or only cross the activity
// pattern, and one that matches no activity stream is not.
func TestPatternsOverlap(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"logs-activity.otel-*", "logs-activity.otel-*", true},
		{"logs-activity.otel-prod*", "logs-activity.otel-*", true},   // narrower
		{"logs-activity.otel-default", "logs-activity.otel-*", true}, // one stream
		{"logs-*", "logs-activity.otel-*", true},                     // wider
		{"*", "logs-activity.otel-*", true},                          // everything
		{"logs-*-prod", "logs-activity.otel-*", true},                // crosses: logs-activity.otel-prod
		{"*otel-eu*", "logs-activity.otel-*", true},                  // crosses in the middle
		{"logs-activity.otel", "logs-activity.otel-*", false},        // one character short
		{"logs-system.auth-*", "logs-activity.otel-*", false},        // another dataset
		{"metrics-*", "logs-activity.otel-*", false},                 // another type
		{"logs-untemplated.otel-x*", "logs-activity.otel-*", false},  // another dataset, same suffix
		{"*-activity.otel", "logs-activity.otel-*", true},            // logs-activity.otel-x-activity.otel
		{"logs-activity.otelx*", "logs-activity.otel-*", false},      // differs before the wildcards
		{"logs-activity.otel-**", "logs-activity.otel-a", true},      // repeated wildcards
		{"a*b*c", "*c*b*a*", true},                                   // acbac
		{"a*", "b*", false},
		{"*a", "*b", false},
		{"a*b*c", "a*c*b*c", true}, // acbc
		{"", "", true},
		{"", "*", true},
		{"", "a", false},
	}
	for _, tt := range tests {
		if got := patternsOverlap(tt.a, tt.b); got != tt.want {
			t.Errorf("patternsOverlap(%q, %q): got %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := patternsOverlap(tt.b, tt.a); got != tt.want {
			t.Errorf("patternsOverlap(%q, %q): got %v, want %v", tt.b, tt.a, got, tt.want)
		}
	}
}

// TestParseTimeValue proves that parseTimeValue reads Elasticsearch's time
// units (a suffix that ends like a shorter one, ms or micros against s,
// included), reads -1 as no value, and answers anything else, an overflow
// included, with an error rather than a wrong duration or a panic.
func TestParseTimeValue(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"-1", 0, false},
		{"90d", 90 * 24 * time.Hour, false},
		{"2160h", 90 * 24 * time.Hour, false},
		{"30m", 30 * time.Minute, false},
		{"45s", 45 * time.Second, false},
		{"1500ms", 1500 * time.Millisecond, false},
		{"7micros", 7 * time.Microsecond, false},
		{"9nanos", 9, false},
		{"90", 0, true},
		{"d", 0, true},
		{"-5d", 0, true},
		{"1.5d", 0, true},
		{"9999999999999d", 0, true},
		{"ninety days", 0, true},
	}
	for _, tt := range tests {
		got, err := parseTimeValue(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseTimeValue(%q): got %s, %v; want %s, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
