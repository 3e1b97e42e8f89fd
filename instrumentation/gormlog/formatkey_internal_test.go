package gormlog

import "testing"

// octet is a byte type of its own: a key's elements need not be byte.
type octet uint8

// panicky is a struct key type whose String, the application's code,
// panics.
type panicky struct{ Region, N int }

func (panicky) String() string { panic("no name") }

// binaryKey is a 4-byte key type whose String panics.
type binaryKey [4]byte

func (binaryKey) String() string { panic("no name") }

// TestFormatKey proves that a key is written the same whatever its Go type,
// a binary one as hex, and that a String that panics yields the key from
// its kind or in Go syntax, never fmt's panic text.
func TestFormatKey(t *testing.T) {
	n := int64(42)
	for _, c := range []struct {
		name string
		in   any
		want string
	}{
		{"int64", int64(42), "42"},
		{"pointer to int64", &n, "42"},
		{"nil pointer", (*int64)(nil), ""},
		{"uint", uint(42), "42"},
		{"string", "c-1", "c-1"},
		{"byte array", [4]byte{0x12, 0x34, 0xab, 0xcd}, "1234abcd"},
		{"byte slice", []byte{0x00, 0xff}, "00ff"},
		{"array of a named byte type", [2]octet{1, 2}, "0102"},
		{"binary key whose String panics", binaryKey{0xde, 0xad, 0xbe, 0xef}, "deadbeef"},
		{"struct whose String panics", panicky{Region: 3, N: 9}, "gormlog.panicky{Region:3, N:9}"},
	} {
		if got := formatKey(c.in); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}
