package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/activitylog/activitylog/internal/collectortest"
)

// TestOperatorEndpointsOnLoopbackByDefault: the collector's own metrics
// (queue sizes, refused requests, the processor's counts by tenant source)
// and its health check are for the operator; with ACTIVITYCOL_METRICS_HOST
// and ACTIVITYCOL_HEALTH_ENDPOINT unset, the shipped configuration serves
// them on 127.0.0.1 only, not on every interface. The health check's default
// port is a fixed one (13133), which must be free.
func TestOperatorEndpointsOnLoopbackByDefault(t *testing.T) {
	health := collectortest.DefaultHealthEndpoint(t)
	_, healthPort, err := net.SplitHostPort(health)
	if err != nil {
		t.Fatal(err)
	}
	if l, err := net.Listen("tcp", ":"+healthPort); err != nil {
		t.Fatalf("got %v, want port %s free: it is the default health check's (a demo or another collector running?)", err, healthPort)
	} else {
		l.Close()
	}
	c := collectortest.Start(t, collectortest.Options{Unset: []string{"ACTIVITYCOL_METRICS_HOST", "ACTIVITYCOL_HEALTH_ENDPOINT"}})
	resp, err := http.Get("http://127.0.0.1:" + c.MetricsPort + "/metrics")
	if err != nil {
		t.Fatalf("got %v, want the metrics on 127.0.0.1:%s", err, c.MetricsPort)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "otelcol_") {
		t.Fatalf("got %d %.200s, want 200 with the collector's metrics", resp.StatusCode, body)
	}
	loopbackOnly(t, c, c.MetricsPort)
	loopbackOnly(t, c, healthPort) // Start waited until it answered there
}

// loopbackOnly fails t unless c listens on port, on loopback addresses only.
func loopbackOnly(t *testing.T, c *collectortest.Collector, port string) {
	t.Helper()
	addrs := listening(t, c.PID(), port)
	if len(addrs) == 0 {
		t.Fatalf("got no listening socket of the collector on port %s in /proc/net/tcp{,6}, want one", port)
	}
	for _, a := range addrs {
		if a != "0100007F" && a != "00000000000000000000000001000000" { // 127.0.0.1, ::1
			t.Errorf("got a listener on address %s (hex, as /proc/net shows it) port %s, want loopback only", a, port)
		}
	}
}

// listening returns the local addresses, as /proc/net/tcp and tcp6 write
// them, of process pid's sockets listening on port: another process's
// listener on the same port (another collector on a fixed port) is not
// taken for the collector's.
func listening(t *testing.T, pid int, port string) []string {
	t.Helper()
	inodes := map[string]bool{}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("got %v, want the collector's open files (the test reads which sockets are its own there)", err)
	}
	for _, fd := range fds {
		// A socket's link reads "socket:[<inode>]".
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if inode, ok := strings.CutPrefix(target, "socket:["); err == nil && ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	hexPort := strings.ToUpper(strconv.FormatInt(int64(p), 16))
	for len(hexPort) < 4 {
		hexPort = "0" + hexPort
	}
	var addrs []string
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if err != nil {
			t.Fatalf("got %v, want %s (the test reads which address a port is bound to there)", err, file)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 4 || fields[3] != "0A" { // 0A: LISTEN
				continue
			}
			addr, prt, ok := strings.Cut(fields[1], ":")
			if ok && prt == hexPort && len(fields) > 9 && inodes[fields[9]] {
				addrs = append(addrs, addr)
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return addrs
}

// TestEmptyVariableTakesItsDefault: a variable set but empty takes the
// default the configuration gives it, as ${NAME:-default} reads in a shell
// and in Docker Compose (collector/envdefault): an env file's line
// ACTIVITYCOL_METRICS_HOST= served the metrics on every interface.
func TestEmptyVariableTakesItsDefault(t *testing.T) {
	c := collectortest.Start(t, collectortest.Options{Env: map[string]string{
		"ACTIVITYCOL_METRICS_HOST": "", "ACTIVITYCOL_ES_TIMEOUT": "", "ACTIVITYCOL_QUEUE_SIZE": "",
	}})
	loopbackOnly(t, c, c.MetricsPort)
	// Each of these was logged once, by collector/envdefault, not also by the
	// collector's own env provider as if its empty value were used.
	log := c.Log()
	for _, name := range []string{"ACTIVITYCOL_METRICS_HOST", "ACTIVITYCOL_ES_TIMEOUT", "ACTIVITYCOL_QUEUE_SIZE"} {
		n := 0
		for line := range strings.Lines(log) {
			if strings.Contains(line, "empty environment variable") && strings.Contains(line, `"`+name+`"`) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("got %d log lines about the empty %s, want 1:\n%s", n, name, log)
		}
	}
}
