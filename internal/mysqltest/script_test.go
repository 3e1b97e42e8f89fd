package mysqltest_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/activitylog/activitylog/internal/servertest"
)

// TestScriptStartReuseStopRestart is servertest.CheckScript for
// scripts/mariadb: start prints the DSN last, a second start reuses the
// running server, stop stops it, a restart keeps its data, and a port held
// by something that is not MySQL is refused with a reason.
func TestScriptStartReuseStopRestart(t *testing.T) {
	servertest.CheckScript(t, servertest.Script{
		Name: "mariadb", PortVar: "MYSQL_PORT", RunDirVar: "MYSQL_RUN_DIR", RunDir: "activitylog-mysql-script",
		Ports:      [2]int{21500, 21600},
		Address:    func(port int) string { return "root@tcp(127.0.0.1:" + strconv.Itoa(port) + ")/?parseTime=true" },
		InDatabase: func(dsn, db string) string { return strings.Replace(dsn, ")/?", ")/"+db+"?", 1) },
		Exec: func(t *testing.T, dsn, statement string) {
			t.Helper()
			if _, err := open(t, dsn).ExecContext(context.Background(), statement); err != nil {
				t.Fatalf("%s: %v", statement, err)
			}
		},
		Foreign: "not MySQL",
		PIDFile: "mariadbd.pid",
	})
}
