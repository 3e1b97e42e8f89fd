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
	for _, s := range []string{"198.51.100.7", "0.0.0.0", "256.1.1.1", "01.2.3.4", "1.2.3.4:80", "::ffff:1.2.3.4", "1.2.3.4%eth0",
		"[::ffff:198.51.100.7]:443", "fe80::1%eth0"} {
		f.Add(s)
	}
	// One memo for every input, as for every address of a batch: it must
	// answer as isPlainIPv4 does, also for a string that shares a slot
	// (or its first or last 8 bytes) with one it holds.
	var memo plainIPs
	f.Fuzz(func(t *testing.T, s string) {
		a, err := netip.ParseAddr(s)
		want := err == nil && a.Is4() && a.String() == s
		if got := isPlainIPv4(s); got != want {
			t.Errorf("isPlainIPv4(%q): got %v, want %v (ParseAddr: %v, %v)", s, got, want, a, err)
		}
		for range 2 {
			if got := memo.plain(s); got != want {
				t.Errorf("plainIPs.plain(%q): got %v, want %v", s, got, want)
			}
		}
		// burstAddress, which takes a plain address as it is, agrees
		// with parsing and printing every address.
		if got, want := burstAddress(s, &memo), burstAddressParsed(s); got != want {
			t.Errorf("burstAddress(%q): got %q, want %q", s, got, want)
		}
	})
}

// TestPlainIPsMemo checks that the batch's memo of plain addresses knows
// an address exactly: not one that differs from it in any single byte, or
// in its length, even after the address was remembered.
func TestPlainIPsMemo(t *testing.T) {
	var memo plainIPs
	addrs := []string{"198.51.100.7", "198.51.100.17", "10.0.0.1", "203.0.113.254", "255.255.255.255", "1.2.3.4"}
	for _, s := range addrs {
		if !memo.plain(s) || !memo.plain(s) {
			t.Fatalf("plainIPs.plain(%q): got false, want true", s)
		}
	}
	for _, s := range addrs {
		for i := range len(s) {
			for _, c := range []byte{'.', '0', '9', 'x', ':'} {
				b := []byte(s)
				b[i] = c
				changed := string(b)
				if got, want := memo.plain(changed), isPlainIPv4(changed); got != want {
					t.Errorf("plainIPs.plain(%q): got %v, want %v", changed, got, want)
				}
			}
		}
		for _, changed := range []string{s + "1", s[:len(s)-1], s + ":80", "0" + s} {
			if got, want := memo.plain(changed), isPlainIPv4(changed); got != want {
				t.Errorf("plainIPs.plain(%q): got %v, want %v", changed, got, want)
			}
		}
	}
}

// burstAddressParsed is burstAddress without its shortcut for plain IPv4
// addresses.
func burstAddressParsed(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("").String()
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("").String()
	}
	return s
}
