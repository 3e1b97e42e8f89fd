// Package collectortest runs the real activitycol binary for tests, with the
// shipped otelcol-config.yaml, on free loopback ports.
//
// The binary is ACTIVITYCOL_BIN when that is set (make test builds
// bin/activitycol first and sets it, make race a build with the race
// detector); otherwise it is built once per test process from ./collector
// into the repository's git-ignored .cache. A test that started a collector
// fails if the collector's log holds a data race report.
package collectortest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/activitylog/activitylog/deploy"
	"github.com/activitylog/activitylog/internal/estest"
)

// Options configure a collector.
type Options struct {
	// ESURL is the Elasticsearch endpoint (ES_ENDPOINT); empty means estest.URL.
	ESURL string
	// Namespace is the data stream namespace (ACTIVITY_NAMESPACE); empty
	// means "default".
	Namespace string
	// StorageDir is the persistent queue directory; empty means a new
	// temporary directory. Reuse one across Start calls to test restarts.
	StorageDir string
	// Configs are further configuration files merged over
	// otelcol-config.yaml, in order (paths relative to the repository root).
	Configs []string
	// GRPCEndpoint and HTTPEndpoint are the OTLP receivers' host:ports;
	// empty means a free loopback port. Set them (with FreePort) to point an
	// emitter at a collector before it starts, or to restart one in place.
	GRPCEndpoint, HTTPEndpoint string
	// Env adds or overrides environment variables of the process. The
	// ingest token is ACTIVITYCOL_INGEST_TOKEN; setting it here replaces the
	// random one Start makes (and Collector.Token reports it).
	Env map[string]string
	// Unset names environment variables the process does not get, neither
	// Start's defaults nor the test process's own, so that a test sees the
	// shipped configuration's default for them. With
	// ACTIVITYCOL_HEALTH_ENDPOINT unset, the health check is the
	// configuration's default host:port, a fixed one: Start waits for it
	// there (and fails if another process holds that port).
	Unset []string
}

// Collector is a running activitycol process.
type Collector struct {
	// GRPCEndpoint is the OTLP/gRPC host:port.
	GRPCEndpoint string
	// HTTPEndpoint is the OTLP/HTTP host:port.
	HTTPEndpoint string
	// HealthURL is the health check URL.
	HealthURL string
	// MetricsPort is the port of the collector's own Prometheus metrics.
	MetricsPort string
	// StorageDir is the persistent queue directory.
	StorageDir string
	// Token is the bearer token its OTLP receivers require (random per
	// collector unless Options.Env sets ACTIVITYCOL_INGEST_TOKEN).
	Token string

	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	stopped sync.Once
}

type build struct {
	once sync.Once
	path string
	err  error
}

// built is shared by every test of a process so the binary is built once.
var built build

// Binary returns the path of an activitycol binary, building it if needed.
func Binary(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("ACTIVITYCOL_BIN"); p != "" {
		return p
	}
	built.once.Do(func() {
		// Built into the repository's git-ignored .cache, not a fresh
		// temporary directory, so test runs leave nothing behind. Each
		// process links its own file and renames it into place, which is
		// atomic, so test processes running in parallel do not collide.
		root := estest.RepoRoot(tb)
		dir := filepath.Join(root, ".cache", "collectortest")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			built.err = err
			return
		}
		tmp, err := os.CreateTemp(dir, "activitycol-*.tmp")
		if err != nil {
			built.err = err
			return
		}
		_ = tmp.Close()
		defer os.Remove(tmp.Name())
		cmd := exec.Command("go", "build", "-o", tmp.Name(), "./collector")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build ./collector: %w\n%s", err, out)
			return
		}
		built.path = filepath.Join(dir, "activitycol")
		built.err = os.Rename(tmp.Name(), built.path)
	})
	if built.err != nil {
		tb.Fatalf("collectortest: %v", built.err)
	}
	return built.path
}

// FreePort returns a loopback host:port nothing listens on right now.
func FreePort(tb testing.TB) string {
	tb.Helper()
	return FreePorts(tb, 1)[0]
}

// FreePorts returns n distinct loopback host:ports nothing listens on right
// now: they are held together until all are picked, since a port closed
// can be handed out again at once.
func FreePorts(tb testing.TB, n int) []string {
	tb.Helper()
	out := make([]string, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("collectortest: free port: %v", err)
		}
		defer l.Close()
		out = append(out, l.Addr().String())
	}
	return out
}

// Start starts a collector and waits until its health check answers. The
// collector is stopped when the test ends.
//
// Its ports are picked free, then bound by the collector: another test
// process may take one in between, so a start that lost a port is tried
// again with others (up to three times).
func Start(tb testing.TB, opts Options) *Collector {
	tb.Helper()
	bin := Binary(tb)
	if opts.ESURL == "" {
		opts.ESURL = estest.URL(tb)
	}
	if opts.StorageDir == "" {
		opts.StorageDir = tb.TempDir()
	}
	for attempt := 1; ; attempt++ {
		c, err := launch(tb, bin, opts)
		if err == nil {
			tb.Cleanup(func() {
				c.Stop(tb)
				log := c.Log()
				if Raced(log) {
					tb.Errorf("collectortest: activitycol reported a data race (its log follows)")
				}
				if tb.Failed() {
					tb.Logf("activitycol log:\n%s", log)
				}
			})
			return c
		}
		log := c.Log()
		if attempt < 3 && strings.Contains(log, "address already in use") {
			tb.Logf("collectortest: a port was taken before activitycol bound it; starting again (%d)", attempt)
			continue
		}
		tb.Fatalf("collectortest: %v\nlog:\n%s", err, log)
	}
}

// launch starts a collector on ports free when it is called and waits until
// its health check answers, or until it exits.
func launch(tb testing.TB, bin string, opts Options) (*Collector, error) {
	tb.Helper()
	// Picked together, so that no two are the same port.
	ports := FreePorts(tb, 4)
	health := ports[0]
	if slices.Contains(opts.Unset, "ACTIVITYCOL_HEALTH_ENDPOINT") {
		health = DefaultHealthEndpoint(tb)
	}
	if opts.GRPCEndpoint == "" {
		opts.GRPCEndpoint = ports[1]
	}
	if opts.HTTPEndpoint == "" {
		opts.HTTPEndpoint = ports[2]
	}
	_, metricsPort, _ := net.SplitHostPort(ports[3])
	c := &Collector{
		GRPCEndpoint: opts.GRPCEndpoint,
		HTTPEndpoint: opts.HTTPEndpoint,
		HealthURL:    "http://" + health + "/",
		MetricsPort:  metricsPort,
		StorageDir:   opts.StorageDir,
		logPath:      filepath.Join(tb.TempDir(), "activitycol.log"),
		done:         make(chan struct{}),
	}
	env := map[string]string{
		"ACTIVITYCOL_INGEST_TOKEN":    NewToken(tb),
		"ES_ENDPOINT":                 opts.ESURL,
		"ACTIVITY_NAMESPACE":          opts.Namespace,
		"OTLP_GRPC_ENDPOINT":          c.GRPCEndpoint,
		"OTLP_HTTP_ENDPOINT":          c.HTTPEndpoint,
		"ACTIVITYCOL_HEALTH_ENDPOINT": health,
		"ACTIVITYCOL_METRICS_HOST":    "127.0.0.1",
		"ACTIVITYCOL_METRICS_PORT":    metricsPort,
		"ACTIVITYCOL_STORAGE_DIR":     opts.StorageDir,
		"ACTIVITYCOL_FLUSH_TIMEOUT":   "200ms",
		"ACTIVITYCOL_DEBUG_VERBOSITY": "basic",
	}
	if opts.Namespace == "" {
		delete(env, "ACTIVITY_NAMESPACE")
	}
	for k, v := range opts.Env {
		env[k] = v
	}
	c.Token = env["ACTIVITYCOL_INGEST_TOKEN"]
	logFile, err := os.Create(c.logPath)
	if err != nil {
		tb.Fatalf("collectortest: %v", err)
	}
	args := []string{"--config", filepath.Join(estest.RepoRoot(tb), "otelcol-config.yaml")}
	for _, f := range opts.Configs {
		args = append(args, "--config", filepath.Join(estest.RepoRoot(tb), f))
	}
	c.cmd = exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !slices.Contains(opts.Unset, k) {
			c.cmd.Env = append(c.cmd.Env, kv)
		}
	}
	for k, v := range env {
		if !slices.Contains(opts.Unset, k) {
			c.cmd.Env = append(c.cmd.Env, k+"="+v)
		}
	}
	c.cmd.Stdout, c.cmd.Stderr = logFile, logFile
	if err := c.cmd.Start(); err != nil {
		logFile.Close()
		tb.Fatalf("collectortest: start %s: %v", bin, err)
	}
	go func() {
		_ = c.cmd.Wait()
		logFile.Close()
		close(c.done)
	}()
	if err := c.waitHealthy(60 * time.Second); err != nil {
		c.Stop(tb)
		return c, err
	}
	return c, nil
}

// DefaultHealthEndpoint returns the host:port the shipped configuration's
// health check listens on when ACTIVITYCOL_HEALTH_ENDPOINT is unset.
func DefaultHealthEndpoint(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(estest.RepoRoot(tb), "otelcol-config.yaml"))
	if err != nil {
		tb.Fatalf("collectortest: %v", err)
	}
	v, ok := deploy.CollectorEnv(string(b))["ACTIVITYCOL_HEALTH_ENDPOINT"]
	if !ok || v.Default == "" {
		tb.Fatalf("collectortest: otelcol-config.yaml gives ACTIVITYCOL_HEALTH_ENDPOINT no default")
	}
	return v.Default
}

// NewToken returns a random ingest token, as `openssl rand -hex 32` makes.
func NewToken(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		tb.Fatalf("collectortest: %v", err)
	}
	return hex.EncodeToString(b)
}

// Headers returns the headers an emitter sends to this collector: its
// ingest token as a bearer token.
func (c *Collector) Headers() map[string]string {
	return map[string]string{"Authorization": "Bearer " + c.Token}
}

// HeadersEnv returns Headers as the OTEL_EXPORTER_OTLP_HEADERS value.
func (c *Collector) HeadersEnv() string {
	return "Authorization=Bearer%20" + c.Token
}

func (c *Collector) waitHealthy(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			return fmt.Errorf("activitycol exited while starting")
		default:
		}
		if resp, err := client.Get(c.HealthURL); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("activitycol not healthy at %s after %s", c.HealthURL, timeout)
}

// Stop stops the collector gracefully (SIGTERM, which drains its queues into
// the persistent storage) and waits for it to exit.
func (c *Collector) Stop(tb testing.TB) {
	tb.Helper()
	c.stopped.Do(func() {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(30 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.done
			tb.Errorf("collectortest: activitycol did not stop within 30s after SIGTERM; killed")
		}
	})
}

// Kill ends the collector at once (SIGKILL), as a crash or an out-of-memory
// kill would: only what its persistent queue had written to disk survives.
func (c *Collector) Kill(tb testing.TB) {
	tb.Helper()
	c.stopped.Do(func() {
		_ = c.cmd.Process.Kill()
		<-c.done
	})
}

// PID returns the collector process's id.
func (c *Collector) PID() int { return c.cmd.Process.Pid }

// Memory returns the collector process's peak and current resident set
// size, in bytes: VmHWM and VmRSS of /proc/<pid>/status (Linux only). The
// peak is the most the process has held since it started.
func (c *Collector) Memory() (peak, resident int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0, 0, fmt.Errorf("collectortest: memory: %w", err)
	}
	fields := map[string]*int64{"VmHWM:": &peak, "VmRSS:": &resident}
	for line := range strings.Lines(string(b)) {
		// "VmHWM:	   12345 kB"
		w := strings.Fields(line)
		if len(w) != 3 || w[2] != "kB" {
			continue
		}
		if dst, ok := fields[w[0]]; ok {
			kb, err := strconv.ParseInt(w[1], 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("collectortest: memory: %q: %w", line, err)
			}
			*dst = kb << 10
			delete(fields, w[0])
		}
	}
	if len(fields) != 0 {
		return 0, 0, fmt.Errorf("collectortest: memory: no VmHWM or VmRSS in /proc/%d/status", c.cmd.Process.Pid)
	}
	return peak, resident, nil
}

// raceWarning opens each report of the race detector (go build -race).
const raceWarning = "WARNING: DATA RACE"

// Raced reports whether a process's output holds a report of the race
// detector. A collector built with -race (make race) writes its reports to
// its log and goes on, so each test that started one checks its log when it
// ends.
func Raced(output string) bool { return strings.Contains(output, raceWarning) }

// Log returns what the collector has logged so far.
func (c *Collector) Log() string {
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return string(b)
}

// Count returns the number of documents in an index or data stream matching
// an optional query-string query, after a refresh.
func Count(ctx context.Context, esURL, index, query string) (int, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	refresh, err := http.NewRequestWithContext(ctx, http.MethodPost, esURL+"/"+index+"/_refresh?ignore_unavailable=true", nil)
	if err != nil {
		return 0, err
	}
	if resp, err := client.Do(refresh); err == nil {
		resp.Body.Close()
	}
	url := esURL + "/" + index + "/_count?ignore_unavailable=true"
	if query != "" {
		url += "&q=" + query
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if resp.StatusCode == http.StatusNotFound {
		return 0, nil
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("count %s: %d %s", index, resp.StatusCode, buf.String())
	}
	var out struct {
		Count int `json:"count"`
	}
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		return 0, fmt.Errorf("count %s: %w", index, err)
	}
	return out.Count, nil
}

// WaitForCount polls until index holds at least want documents or timeout
// passes, and returns the last count seen. It then waits a little longer and
// counts again, so a test comparing with want also catches extra documents.
func WaitForCount(tb testing.TB, esURL, index string, want int, timeout time.Duration) int {
	tb.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	got := 0
	for {
		// A data stream the collector has just created may answer 503 for a
		// moment while its first shard starts: keep polling until the deadline.
		n, err := Count(ctx, esURL, index, "")
		if err == nil {
			got = n
		}
		if err == nil && got >= want {
			break
		}
		if time.Now().After(deadline) {
			if err != nil {
				tb.Fatalf("collectortest: %v", err)
			}
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if got >= want {
		// Anything still in flight (a duplicate, say) gets its chance to land.
		time.Sleep(1500 * time.Millisecond)
		if n, err := Count(ctx, esURL, index, ""); err == nil {
			got = n
		}
	}
	return got
}
