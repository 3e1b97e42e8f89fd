// Command gen writes the activitylog Kibana saved objects built by package
// build to an NDJSON file. It runs from `go generate ./dashboards`.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/activitylog/activitylog/dashboards/internal/build"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	out := fs.String("out", "activitylog.ndjson", "file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := build.NDJSON()
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	return nil
}
