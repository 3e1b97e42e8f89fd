package pgtest_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/activitylog/activitylog/internal/servertest"
)

// TestScriptStartReuseStopRestart is servertest.CheckScript for
// scripts/postgres: start prints the URL last, a second start reuses the
// running server, stop stops it, a restart keeps its data, and a port held
// by something that is not PostgreSQL is refused with a reason. The
// unpacked binaries stay in its run directory for the next run.
func TestScriptStartReuseStopRestart(t *testing.T) {
	servertest.CheckScript(t, servertest.Script{
		Name: "postgres", PortVar: "PG_PORT", RunDirVar: "PG_RUN_DIR", RunDir: "activitylog-pg-script",
		Ports: [2]int{21400, 21500},
		Address: func(port int) string {
			return "postgres://postgres@127.0.0.1:" + strconv.Itoa(port) + "/postgres?sslmode=disable"
		},
		InDatabase: func(url, db string) string { return strings.Replace(url, "/postgres?", "/"+db+"?", 1) },
		Exec:       exec1,
		Foreign:    "not PostgreSQL",
		PIDFile:    "data/postmaster.pid",
	})
}

func exec1(t *testing.T, url, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
