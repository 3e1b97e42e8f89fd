// Package servertest holds what the packages that give tests a real
// database server (pgtest, mysqltest) share: the server every test of a
// test binary uses, given by an environment variable or started once by a
// script of scripts/, and the test of such a script (CheckScript).
package servertest

import (
	"bytes"
	"crypto/rand"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// RepoRoot returns the repository's root directory.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("servertest: cannot locate the repository")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Shared is a server every test of a test binary shares. Its zero value is
// ready to use; it is meant for a package-level variable, as every test in a
// test binary must share one server and tests have no other place to keep
// it.
type Shared struct {
	once sync.Once
	addr string
	err  string
}

// Address returns the value of the environment variable env when it is
// set; otherwise it runs `scripts/<script> start` once per process and
// returns the last line the script printed. It fails tb, naming what
// server it wanted, if none can be had.
func (s *Shared) Address(tb testing.TB, env, script, what string) string {
	tb.Helper()
	s.once.Do(func() {
		if v := os.Getenv(env); v != "" {
			s.addr = v
			return
		}
		cmd := exec.Command(filepath.Join(RepoRoot(tb), "scripts", script), "start")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			s.err = "scripts/" + script + " start failed: " + err.Error() + "\n" + stderr.String()
			return
		}
		s.addr = lastLine(stdout.String())
	})
	if s.err != "" {
		tb.Fatalf("no %s server: %s", what, s.err)
	}
	return s.addr
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// Script describes a script of scripts/ that runs a database server, for
// CheckScript.
type Script struct {
	Name      string // the script is scripts/<Name>
	PortVar   string // the variable that gives it its port
	RunDirVar string // the variable that gives it its run directory
	RunDir    string // the run directory the test gives it, under os.TempDir()
	// Ports are the ports [Ports[0], Ports[1]) the test picks one from, apart
	// from other scripts' tests that may run at once.
	Ports [2]int
	// Address is what start prints last for the server on port; InDatabase
	// is the address of database db on the same server.
	Address    func(port int) string
	InDatabase func(addr, db string) string
	// Exec runs one statement at addr, failing t if it fails.
	Exec func(t *testing.T, addr, statement string)
	// Foreign is what start says of a port that something else holds
	// ("not PostgreSQL").
	Foreign string
}

// CheckScript runs s on a port and in a run directory of its own: start
// prints the server's address last, a second start reuses the running
// server, stop stops it, a restart keeps its data, and a port held by
// something that is not such a server is refused with a reason.
func CheckScript(t *testing.T, s Script) {
	t.Helper()
	port := freePort(t, s.Ports[0], s.Ports[1])
	// What the script installs or unpacks outside the node directory stays
	// for the next run; the node directory goes.
	runAt := filepath.Join(os.TempDir(), s.RunDir)
	nodeDir := filepath.Join(runAt, "node-"+strconv.Itoa(port))
	script := filepath.Join(RepoRoot(t), "scripts", s.Name)
	run := func(cmd string, port int) (stdout, stderr string, err error) {
		c := exec.Command(script, cmd)
		c.Env = append(os.Environ(), s.PortVar+"="+strconv.Itoa(port), s.RunDirVar+"="+runAt)
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
	want := s.Address(port)

	out, errOut, err := run("start", port)
	if err != nil {
		t.Fatalf("start: %v\n%s", err, errOut)
	}
	if got := lastLine(out); got != want {
		t.Fatalf("start printed %q last, want %q", got, want)
	}
	s.Exec(t, want, "CREATE DATABASE keep_me")

	out, errOut, err = run("start", port)
	if err != nil || lastLine(out) != want || !strings.Contains(errOut, "reusing it") {
		t.Errorf("second start: got error %v, address %q, output %q; want the running server reused", err, lastLine(out), errOut)
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
	if err != nil || lastLine(out) != want {
		t.Fatalf("restart: got error %v, address %q\n%s", err, lastLine(out), errOut)
	}
	// The database made before the stop is still there.
	s.Exec(t, s.InDatabase(want, "keep_me"), "SELECT 1")

	// Something on the port that answers, but not as such a server.
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
	if _, errOut, err := run("start", other); err == nil || !strings.Contains(errOut, s.Foreign) {
		t.Errorf("start on a port held by an HTTP server: got error %v, output %q; want a refusal that says %s", err, errOut, s.Foreign)
	}
	if _, err := os.Stat(filepath.Join(runAt, "node-"+strconv.Itoa(other))); err == nil {
		t.Errorf("start on a port held by something else made a node directory for it")
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
