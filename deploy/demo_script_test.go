package deploy_test

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/activitylog/activitylog/internal/collectortest"
	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/schema"
)

// demoRepo is a copy of what scripts/demo uses from the repository (the
// script itself, otelcol-config.yaml, the four binaries in bin/), with a
// stand-in scripts/elasticsearch that hands out the test's node, so the
// demo's logs, queue and pid file stay in the copy's .cache/demo.
type demoRepo struct {
	root, namespace string
	env             []string
	// Addresses the demo is moved to, all free when the test began.
	grpc, http, health, metrics, query, loyalty string
}

func newDemoRepo(t *testing.T) *demoRepo {
	t.Helper()
	esURL := estest.URL(t)
	root := t.TempDir()
	for _, dir := range []string{"scripts", "bin"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"scripts/demo", "otelcol-config.yaml"} {
		b, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		writeExecutable(t, filepath.Join(root, f), string(b))
	}
	writeExecutable(t, filepath.Join(root, "scripts", "elasticsearch"), "#!/bin/sh\necho "+esURL+"\n")
	bins := map[string]string{
		"activitycol": collectortest.Binary(t),
		"activityctl": binary(t, "./cmd/activityctl"),
		"querysvc":    binary(t, "./cmd/querysvc"),
		"loyalty":     binary(t, "./examples/loyalty"),
	}
	for name, path := range bins {
		abs, err := filepath.Abs(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(abs, filepath.Join(root, "bin", name)); err != nil {
			t.Fatal(err)
		}
	}
	d := &demoRepo{root: root, namespace: estest.Namespace(t),
		grpc: collectortest.FreePort(t), http: collectortest.FreePort(t), health: collectortest.FreePort(t),
		metrics: collectortest.FreePort(t), query: collectortest.FreePort(t), loyalty: collectortest.FreePort(t)}
	_, metricsPort, _ := net.SplitHostPort(d.metrics)
	d.env = append(os.Environ(),
		"DEMO_ROUNDS=1", "ACTIVITY_NAMESPACE="+d.namespace,
		"OTLP_GRPC_ENDPOINT="+d.grpc, "OTLP_HTTP_ENDPOINT="+d.http, "ACTIVITYCOL_HEALTH_ENDPOINT="+d.health,
		"ACTIVITYCOL_METRICS_HOST=127.0.0.1", "ACTIVITYCOL_METRICS_PORT="+metricsPort,
		"QUERYSVC_ADDR="+d.query, "LOYALTY_ADDR="+d.loyalty,
		// The caller's own settings for these would move the demo's parts
		// away from each other.
		"QUERYSVC_JWT_SECRET=", "LOYALTY_TRUSTED_PROXIES=", "OTEL_EXPORTER_OTLP_PROTOCOL=")
	return d
}

// demoRun is scripts/demo running in its own process group, as under a
// terminal, with everything it prints going to a file.
type demoRun struct {
	cmd  *exec.Cmd
	out  string
	done chan error
}

func (d *demoRepo) start(t *testing.T) *demoRun {
	t.Helper()
	out := filepath.Join(t.TempDir(), "demo.out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(filepath.Join(d.root, "scripts", "demo"))
	cmd.Env = d.env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &demoRun{cmd: cmd, out: out, done: make(chan error, 1)}
	go func() { r.done <- cmd.Wait() }()
	t.Cleanup(func() {
		// Whatever the test did, nothing the demo started may outlive it.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})
	return r
}

func (r *demoRun) output() string {
	b, _ := os.ReadFile(r.out)
	return string(b)
}

// waitFor waits until the demo prints want, failing if it exits first.
func (r *demoRun) waitFor(t *testing.T, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for !strings.Contains(r.output(), want) {
		select {
		case err := <-r.done:
			t.Fatalf("demo exited (%v) before printing %q:\n%s", err, want, r.output())
		case <-deadline:
			t.Fatalf("demo did not print %q within %s:\n%s", want, timeout, r.output())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// groupGone reports whether no process of the demo's process group is left.
func (r *demoRun) groupGone() bool {
	return errors.Is(syscall.Kill(-r.cmd.Process.Pid, 0), syscall.ESRCH)
}

// printedCurl is one line of the demo's "Query the log" instructions.
var printedCurl = regexp.MustCompile(`(?m)^ +(curl -s -H "Authorization: Bearer ([^"]+)" "([^"]+)")(?: +# (\d+))?$`)

// TestDemoScript runs make demo's script for real, with the real binaries, a
// real Elasticsearch node and every port moved to a free one, and shows the
// README's promises of it: the activity it drives lands with each simulated
// client's own address; every curl line it prints works exactly as printed,
// an admin seeing every tenant, a partner only its own and staff nothing;
// Ctrl-C stops everything it started and frees every port.
func TestDemoScript(t *testing.T) {
	d := newDemoRepo(t)
	run := d.start(t)
	run.waitFor(t, "Press Ctrl-C to stop.", 4*time.Minute)
	out := run.output()
	stream := schema.DataStream(d.namespace)
	esURL := estest.URL(t)

	t.Run("client addresses", func(t *testing.T) {
		// The traffic signs in as an attacker from 203.0.113.99 six times
		// per partner; a service that does not believe the traffic's
		// X-Forwarded-For records 127.0.0.1 for everyone instead.
		count := func(q string) int {
			n, err := collectortest.Count(t.Context(), esURL, stream, url.QueryEscape(q))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if got, want := count(schema.Path(schema.AttrEvent)+`:login_failed AND `+schema.Path(schema.AttrClientAddress)+`:"203.0.113.99"`), 12; got != want {
			t.Errorf("got %d failed logins from the attacker's address, want %d", got, want)
		}
		if got := count(`resource.attributes.service.name:"loyalty-api" AND ` + schema.Path(schema.AttrClientAddress) + `:"127.0.0.1"`); got != 0 {
			t.Errorf("got %d loyalty records from 127.0.0.1, want 0: each simulated client has its own address", got)
		}
	})

	t.Run("printed curl commands", func(t *testing.T) {
		lines := printedCurl.FindAllStringSubmatch(out, -1)
		if len(lines) != 7 {
			t.Fatalf("got %d curl lines, want 7:\n%s", len(lines), out)
		}
		var adminToken string
		for _, l := range lines {
			// Exactly as printed, through a shell, as a user pastes it.
			b, err := exec.Command("sh", "-c", l[1]+` -w '\n%{http_code}'`).Output()
			if err != nil {
				t.Errorf("%s: %v", l[3], err)
				continue
			}
			// The body, then the status -w appends on a line of its own.
			i := strings.LastIndex(string(b), "\n")
			body, status := string(b)[:max(i, 0)], string(b)[i+1:]
			want := "200"
			if l[4] != "" {
				want = l[4]
			}
			if status != want {
				t.Errorf("%s: got status %s, want %s: %s", l[3], status, want, body)
			}
			if !json.Valid([]byte(body)) {
				t.Errorf("%s: got a body that is not JSON: %s", l[3], body)
			}
			if strings.Contains(l[3], "category=rewards") {
				if tenants := tenantsOf(t, body); len(tenants) != 1 || !tenants["bean-there"] {
					t.Errorf("partner's listing: got tenants %v, want only bean-there", tenants)
				}
			}
			if strings.HasSuffix(l[3], "limit=5") {
				adminToken = l[2]
			}
		}
		// The admin's printed listing shows 5; the same token over 100
		// records must show both partners.
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+d.query+"/v1/activities?limit=100", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if tenants := tenantsOf(t, string(body)); !tenants["bean-there"] || !tenants["green-grocer"] {
			t.Errorf("admin's listing: got tenants %v, want both partners", tenants)
		}
	})

	t.Run("ctrl-c stops everything", func(t *testing.T) {
		// A terminal's Ctrl-C signals the whole foreground process group.
		if err := syscall.Kill(-run.cmd.Process.Pid, syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		select {
		case <-run.done:
		case <-time.After(40 * time.Second):
			t.Fatalf("demo still running 40s after Ctrl-C:\n%s", run.output())
		}
		deadline := time.Now().Add(10 * time.Second)
		for !run.groupGone() && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
		if !run.groupGone() {
			t.Errorf("processes of the demo still running after Ctrl-C")
		}
		for _, addr := range []string{d.grpc, d.http, d.health, d.metrics, d.query, d.loyalty} {
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				t.Errorf("%s still listening after Ctrl-C", addr)
			}
		}
		if _, err := os.Stat(filepath.Join(d.root, ".cache", "demo", "pids")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("pid file after a clean stop: got %v, want none", err)
		}
	})
}

// TestDemoScriptRefusesABusyPortAtOnce proves that a port the demo needs and
// something else holds stops it before it starts anything, naming the
// address and the variable that moves it.
func TestDemoScriptRefusesABusyPortAtOnce(t *testing.T) {
	d := newDemoRepo(t)
	l, err := net.Listen("tcp", d.query)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	run := d.start(t)
	select {
	case err := <-run.done:
		if err == nil {
			t.Fatalf("demo: got success with %s busy, want a refusal", d.query)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("demo still running 20s after starting with %s busy:\n%s", d.query, run.output())
	}
	if out := run.output(); !strings.Contains(out, d.query+" is in use") || !strings.Contains(out, "QUERYSVC_ADDR") {
		t.Errorf("got output\n%s\nwant it to say %s is in use and name QUERYSVC_ADDR", out, d.query)
	}
	if out := run.output(); strings.Contains(out, "Starting the collector") {
		t.Errorf("got output\n%s\nwant nothing started", out)
	}
	if !run.groupGone() {
		t.Error("processes of the demo still running after its refusal")
	}
}

// TestDemoScriptStopsWhatACrashedDemoLeft proves that a demo killed outright
// (its script gone, its services still holding their ports) does not block
// the next one: the next run stops the leftovers it recorded and starts.
func TestDemoScriptStopsWhatACrashedDemoLeft(t *testing.T) {
	d := newDemoRepo(t)
	// A leftover loyalty service on the demo's port, recorded as started by
	// a demo script that has since died.
	leftover := exec.Command("bin/loyalty", "-addr", d.loyalty)
	leftover.Dir = d.root
	leftover.Env = append(os.Environ(), "OTEL_EXPORTER_OTLP_ENDPOINT=http://"+collectortest.FreePort(t), "LOYALTY_DEMO_PASSWORD=x")
	leftover.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := leftover.Start(); err != nil {
		t.Fatal(err)
	}
	leftoverDone := make(chan struct{})
	go func() { _ = leftover.Wait(); close(leftoverDone) }()
	t.Cleanup(func() { _ = leftover.Process.Kill() })
	for i := 0; ; i++ {
		if c, err := net.DialTimeout("tcp", d.loyalty, time.Second); err == nil {
			c.Close()
			break
		}
		if i > 100 {
			t.Fatal("the leftover loyalty service did not listen")
		}
		time.Sleep(100 * time.Millisecond)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(d.root, ".cache", "demo"), 0o755); err != nil {
		t.Fatal(err)
	}
	pids := []byte(strings.Join([]string{strconv.Itoa(dead.Process.Pid), strconv.Itoa(leftover.Process.Pid)}, " ") + "\n")
	if err := os.WriteFile(filepath.Join(d.root, ".cache", "demo", "pids"), pids, 0o644); err != nil {
		t.Fatal(err)
	}

	run := d.start(t)
	run.waitFor(t, "Starting the collector", time.Minute)
	select {
	case <-leftoverDone:
	case <-time.After(20 * time.Second):
		t.Fatalf("the leftover service still runs 20s after the next demo started:\n%s", run.output())
	}
	_ = syscall.Kill(-run.cmd.Process.Pid, syscall.SIGINT)
	<-run.done
}

// tenantsOf returns the tenant ids of a listing's activities.
func tenantsOf(t *testing.T, body string) map[string]bool {
	t.Helper()
	var page struct {
		Activities []struct {
			Tenant struct {
				ID string `json:"id"`
			} `json:"tenant"`
		} `json:"activities"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatalf("decode listing: %v: %s", err, body)
	}
	tenants := map[string]bool{}
	for _, a := range page.Activities {
		tenants[a.Tenant.ID] = true
	}
	return tenants
}
