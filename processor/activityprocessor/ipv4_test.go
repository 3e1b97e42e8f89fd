package activityprocessor

import (
	"net/netip"
	"testing"
)

func TestIsPlainIPv4(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"198.51.100.7", true},
		{"0.0.0.0", true},
		{"255.255.255.255", true},
		{"256.1.1.1", false},
		{"01.2.3.4", false},
		{"1.2.3", false},
		{"1.2.3.4.", false},
		{"1.2.3.4:80", false},
		{"1.2.3.1234", false},
		{"1..3.4", false},
		{"::1", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := isPlainIPv4(tt.in); got != tt.want {
			t.Errorf("isPlainIPv4(%q): got %v, want %v", tt.in, got, tt.want)
		}
	}
}

// FuzzPlainIPv4 holds the shortcut to netip.ParseAddr: it accepts exactly
// the IPv4 addresses ParseAddr parses and prints back unchanged.
func FuzzPlainIPv4(f *testing.F) {
	for _, s := range []string{"198.51.100.7", "0.0.0.0", "256.1.1.1", "01.2.3.4", "1.2.3.4:80", "::ffff:1.2.3.4", "1.2.3.4%eth0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := netip.ParseAddr(s)
		want := err == nil && a.Is4() && a.String() == s
		if got := isPlainIPv4(s); got != want {
			t.Errorf("isPlainIPv4(%q): got %v, want %v (ParseAddr: %v, %v)", s, got, want, a, err)
		}
	})
}
