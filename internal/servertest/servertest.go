// Package servertest holds what the packages that give tests a real
// database server (pgtest, mysqltest) share: the server every test of a
// test binary uses, given by an environment variable or started once by a
// script of scripts/, and the test of such a script (CheckScript).
package servertest

import (
	"bytes"
	"crypto/rand"
	"io/fs"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
	// PIDFile is the file, under the node directory, whose first line is
	// the running server's pid.
	PIDFile string
}

// CheckScript runs s on a port and in a run directory of its own: start
// prints the server's address last, a second start reuses the running
// server, stop stops it, a restart keeps its data, a start after the
// server was killed (a machine stopped without shutting it down) starts it
// again with its data, and a port held by something that is not such a
// server is refused with a reason.
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

	// Killed with its children, as when a machine stops: the server leaves
	// its pid and lock files behind, naming a process that no longer runs.
	// After a restart of the machine that pid may be any process's, even
	// one of the server's own user: the second time, the files are made to
	// name such a process.
	pidFile := filepath.Join(nodeDir, s.PIDFile)
	for _, reused := range []bool{false, true} {
		killed := Kill(t, pidFile)
		if reused {
			renamePID(t, nodeDir, killed, liveProcessOf(t, pidFile))
		}
		out, errOut, err = run("start", port)
		if err != nil || lastLine(out) != want {
			t.Fatalf("start after the server was killed (its pid reused: %t): got error %v, address %q\n%s", reused, err, lastLine(out), errOut)
		}
		s.Exec(t, s.InDatabase(want, "keep_me"), "SELECT 1")
	}

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

// Kill kills the server whose pid is the first line of pidFile, and its
// children, with SIGKILL, as when the machine under it stops, and waits
// until they are gone. It returns the server's pid.
func Kill(t *testing.T, pidFile string) int {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("read the server's pid: %v", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 1 {
		t.Fatalf("%s does not start with a pid: %q", pidFile, first)
	}
	procs := append(children(pid), pid)
	for _, p := range procs {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range procs {
		for alive(p) {
			if time.Now().After(deadline) {
				t.Fatalf("process %d still runs 10s after SIGKILL", p)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return pid
}

// children returns the pids of the processes whose parent is pid.
func children(pid int) []int {
	var kids []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		_, rest, ok := strings.Cut(string(b), ") ")
		fields := strings.Fields(rest)
		if !ok || len(fields) < 2 || fields[1] != strconv.Itoa(pid) {
			continue
		}
		if kid, err := strconv.Atoi(filepath.Base(filepath.Dir(f))); err == nil {
			kids = append(kids, kid)
		}
	}
	return kids
}

// alive says whether any thread of process pid runs: when a process is
// killed, its first thread may turn zombie while others still let go of
// its sockets.
func alive(pid int) bool {
	stats, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		_, rest, _ := strings.Cut(string(b), ") ")
		if !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X") {
			return true
		}
	}
	return false
}

// liveProcessOf starts a process that runs as the owner of file (when the
// test runs as root; as the test's user otherwise) until the test ends, and
// returns its pid.
func liveProcessOf(t *testing.T, file string) int {
	t.Helper()
	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "600")
	if st, ok := info.Sys().(*syscall.Stat_t); ok && os.Getuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: st.Uid, Gid: st.Gid}}
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start a process as the owner of %s: %v", file, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd.Process.Pid
}

// renamePID rewrites the first line of every file of at most 4 KB under
// dir whose first line is the pid from, to the pid to.
func renamePID(t *testing.T, dir string, from, to int) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil || info.Size() > 4096 {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		first, rest, _ := strings.Cut(string(b), "\n")
		if strings.TrimSpace(first) != strconv.Itoa(from) {
			return nil
		}
		return os.WriteFile(path, []byte(strconv.Itoa(to)+"\n"+rest), info.Mode())
	})
	if err != nil {
		t.Fatalf("rewrite the killed server's pid files: %v", err)
	}
}
