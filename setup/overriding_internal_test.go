package setup

import "testing"

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
