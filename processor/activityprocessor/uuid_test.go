package activityprocessor

import (
	"testing"

	"github.com/google/uuid"
)

// FuzzIsUUID holds isUUID, which decides whether an emitter's id is the
// document id as it is or is scoped by tenant, to the uuid package's parser
// on the canonical 36-character form.
func FuzzIsUUID(f *testing.F) {
	for _, s := range []string{"0190f0e4-1111-7aaa-8bbb-123456789abc", "0190F0E4-1111-7AAA-8BBB-123456789ABC",
		"17", "0190f0e4_1111-7aaa-8bbb-123456789abc", "0190f0e4-1111-7aaa-8bbb-123456789abg",
		"{190f0e4-1111-7aaa-8bbb-123456789abc}", "urn:uuid:0190f0e4-1111-7aaa-8bbb-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := uuid.Parse(s)
		want := err == nil && len(s) == 36
		if got := isUUID(s); got != want {
			t.Fatalf("isUUID(%q) = %v, want %v (uuid.Parse: %v)", s, got, want, err)
		}
	})
}
