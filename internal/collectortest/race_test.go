//go:build race

package collectortest

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestRacedFindsARealReport checks Raced against what the race detector
// really writes: a program with a data race, built with -race as make race
// builds the collector, must be found out, and its output without the report
// must not. Built only under -race (make race), whose standard library is
// then already instrumented.
func TestRacedFindsARealReport(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "racy")
	build := exec.Command("go", "build", "-race", "-o", bin, "./testdata/racy")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -race ./testdata/racy: %v\n%s", err, out)
	}
	// The race detector makes a program that raced exit with status 66.
	out, err := exec.Command(bin).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 66 {
		t.Fatalf("racy: want exit status 66 after a race, got %v\n%s", err, out)
	}
	if !Raced(string(out)) {
		t.Fatalf("Raced missed the race detector's report:\n%s", out)
	}
	if Raced("2\n") {
		t.Fatal(`Raced("2\n") = true, want false`)
	}
}
