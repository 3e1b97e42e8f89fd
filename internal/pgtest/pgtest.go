// Package pgtest gives tests a real PostgreSQL server.
//
// URL returns PG_URL when it is set; otherwise it runs `scripts/postgres
// start`, which fetches PostgreSQL from Maven Central once and starts (or
// reuses) a server on 127.0.0.1. A test that cannot get a server fails with
// the reason: it never skips.
//
// Tests isolate themselves with a database of their own: Database creates
// one with a random name and drops it when the test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/activitylog/activitylog/internal/servertest"
)

// shared is the server every test of the process uses (servertest.Shared).
var shared servertest.Shared

// URL returns the connection URL of a running PostgreSQL server, as a
// superuser, starting one if PG_URL is not set. It fails tb if no server can
// be had.
func URL(tb testing.TB) string {
	tb.Helper()
	return shared.Address(tb, "PG_URL", "postgres", "PostgreSQL")
}

// Database creates a database no other test uses and returns its
// connection URL; it is dropped when tb ends, its connections ended first.
func Database(tb testing.TB) string {
	tb.Helper()
	server := URL(tb)
	u, err := url.Parse(server)
	if err != nil {
		tb.Fatalf("pgtest: PG_URL: %v", err)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatalf("pgtest: database name: %v", err)
	}
	name := "t" + hex.EncodeToString(b[:])
	ident := pgx.Identifier{name}.Sanitize()
	if err := exec1(server, "CREATE DATABASE "+ident); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if err := exec1(server, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// exec1 runs one statement on its own connection to the server's URL.
func exec1(serverURL, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	_, err = conn.Exec(ctx, sql)
	return err
}
