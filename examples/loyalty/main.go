// Command loyalty is an example loyalty-platform API (partners, members,
// cards, stamp cards, rewards, transactions, redemptions, password and
// one-time-passcode login) instrumented with activitylog the way a real
// service would be: GORM plugin for data changes, httpmw middleware for
// where requests come from, explicit events for logins and business actions,
// and an OTLP provider that never blocks a request. With -demo-traffic it
// also drives a realistic burst of platform activity against itself.
//
// Run "loyalty -h" for flags and environment variables.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loyalty:", err)
		os.Exit(1)
	}
}
