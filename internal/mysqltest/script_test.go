package mysqltest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/activitylog/activitylog/internal/mysqltest"
)

// TestScriptStartReuseStopRestart runs scripts/mariadb on a port and in a
// run directory of its own: start prints the DSN last, a second start
// reuses the running server, stop stops it, a restart keeps its data, and a
// port held by something that is not MySQL is refused with a reason.
func TestScriptStartReuseStopRestart(t *testing.T) {
	port := freePort(t, 21500, 21600)
	runAt := filepath.Join(os.TempDir(), "activitylog-mysql-script")
	nodeDir := filepath.Join(runAt, "node-"+strconv.Itoa(port))
	script := filepath.Join(mysqltest.RepoRoot(t), "scripts", "mariadb")
	run := func(cmd string, port int) (stdout, stderr string, err error) {
		c := exec.Command(script, cmd)
		c.Env = append(os.Environ(), "MYSQL_PORT="+strconv.Itoa(port), "MYSQL_RUN_DIR="+runAt)
		var out, errOut bytes.Buffer
		c.Stdout, c.Stderr = &out, &errOut
		err = c.Run()
		return out.String(), errOut.String(), err
	}
	t.Cleanup(func() {
		if _, out, err := run("stop", port); err != nil {
			t.Errorf("stop: %v\n%s", err, out)
		}
		if err := os.RemoveAll(nodeDir); err != nil {
			t.Errorf("remove the node directory: %v", err)
		}
	})
	wantDSN := "root@tcp(127.0.0.1:" + strconv.Itoa(port) + ")/?parseTime=true"
	lastLine := func(s string) string {
		lines := strings.Split(strings.TrimSpace(s), "\n")
		return lines[len(lines)-1]
	}

	out, errOut, err := run("start", port)
	if err != nil {
		t.Fatalf("start: %v\n%s", err, errOut)
	}
	if got := lastLine(out); got != wantDSN {
		t.Fatalf("start printed %q last, want %q", got, wantDSN)
	}
	exec1(t, wantDSN, "CREATE DATABASE keep_me")

	out, errOut, err = run("start", port)
	if err != nil || lastLine(out) != wantDSN || !strings.Contains(errOut, "reusing it") {
		t.Errorf("second start: got error %v, DSN %q, output %q; want the running server reused", err, lastLine(out), errOut)
	}
	if _, errOut, err := run("status", port); err != nil {
		t.Errorf("status of a running server: %v\n%s", err, errOut)
	}

	if _, errOut, err := run("stop", port); err != nil || !strings.Contains(errOut, "stopped") {
		t.Fatalf("stop: got error %v, output %q; want it stopped", err, errOut)
	}
	if _, errOut, err := run("status", port); err == nil {
		t.Errorf("status of a stopped server succeeded: %s", errOut)
	}

	out, errOut, err = run("start", port)
	if err != nil || lastLine(out) != wantDSN {
		t.Fatalf("restart: got error %v, DSN %q\n%s", err, lastLine(out), errOut)
	}
	// The database made before the stop is still there.
	exec1(t, strings.Replace(wantDSN, ")/?", ")/keep_me?", 1), "SELECT 1")

	// Something on the port that answers, but not as MySQL.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"))
			_ = c.Close()
		}
	}()
	other := l.Addr().(*net.TCPAddr).Port
	if _, errOut, err := run("start", other); err == nil || !strings.Contains(errOut, "not MySQL") {
		t.Errorf("start on a port held by an HTTP server: got error %v, output %q; want a refusal that says it is not MySQL", err, errOut)
	}
	if _, err := os.Stat(filepath.Join(runAt, "node-"+strconv.Itoa(other))); err == nil {
		t.Errorf("start on a port held by something else made a node directory for it")
	}
}

func exec1(t *testing.T, dsn, query string) {
	t.Helper()
	db := open(t, dsn)
	if _, err := db.ExecContext(context.Background(), query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// freePort returns a free port of [from, to), starting at a random place so
// that test binaries running at once rarely pick the same one.
func freePort(t *testing.T, from, to int) int {
	t.Helper()
	r, err := rand.Int(rand.Reader, big.NewInt(int64(to-from)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range to - from {
		port := from + (int(r.Int64())+i)%(to-from)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil && l.Close() == nil {
			return port
		}
	}
	t.Fatalf("no free port in [%d, %d)", from, to)
	return 0
}
