package estest_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/internal/servertest"
)

// TestStartEmptiesAnOverfullDataDirectory checks, on a throw-away node of
// its own, that scripts/elasticsearch start empties a stopped node's data
// directory that holds more than ES_MAX_INDICES indices (test data streams
// left behind: this distribution cannot delete them), and keeps one that
// holds fewer, and that a start after the node was killed starts it again
// with its data.
func TestStartEmptiesAnOverfullDataDirectory(t *testing.T) {
	// Clear of the secured node's ports (setup tests).
	port := estest.FreePortPair(t, 21200, 21300)
	// The unpacked distribution stays for the next run; the node directory goes.
	runAt := filepath.Join(os.TempDir(), "activitylog-es-prune")
	nodeDir := filepath.Join(runAt, "node-"+strconv.Itoa(port))
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	script := filepath.Join(estest.RepoRoot(t), "scripts", "elasticsearch")
	run := func(maxIndices, cmd string) (stderr string, err error) {
		c := exec.Command(script, cmd)
		c.Env = append(os.Environ(), "ES_PORT="+strconv.Itoa(port), "ES_RUN_DIR="+runAt,
			"ES_MAX_INDICES="+maxIndices, "ES_HEAP=512m")
		var out bytes.Buffer
		c.Stderr = &out
		err = c.Run()
		return out.String(), err
	}
	t.Cleanup(func() {
		if out, err := run("2", "stop"); err != nil {
			t.Errorf("stop: %v\n%s", err, out)
		}
		if err := os.RemoveAll(nodeDir); err != nil {
			t.Errorf("remove the node directory: %v", err)
		}
	})

	out, err := run("many", "start")
	if err == nil || !strings.Contains(out, "ES_MAX_INDICES must be a whole number, not 'many'") {
		t.Fatalf("start with ES_MAX_INDICES=many: got error %v, output %q; want a refusal that names the setting", err, out)
	}

	// Three index directories where two are allowed.
	leftovers := filepath.Join(nodeDir, "data", "indices")
	for _, d := range []string{"leftover-1", "leftover-2", "leftover-3"} {
		if err := os.MkdirAll(filepath.Join(leftovers, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := run("2", "start"); err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	} else if !strings.Contains(out, "3 indices in "+filepath.Join(nodeDir, "data")) {
		t.Errorf("start output does not say it emptied the data directory:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(leftovers, "leftover-1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a leftover index directory survived the start (stat: %v)", err)
	}

	// A data directory under the limit survives a restart.
	if status := request(t, http.MethodPut, url+"/keep-me"); status != http.StatusOK {
		t.Fatalf("create index keep-me: got status %d, want 200", status)
	}
	if out, err := run("2", "stop"); err != nil {
		t.Fatalf("stop: %v\n%s", err, out)
	}
	// The limit leaves room for system indices the node may create itself.
	if out, err := run("10", "start"); err != nil {
		t.Fatalf("restart: %v\n%s", err, out)
	} else if strings.Contains(out, "emptying") {
		t.Errorf("restart emptied a data directory with one index:\n%s", out)
	}
	if status := request(t, http.MethodHead, url+"/keep-me"); status != http.StatusOK {
		t.Errorf("index keep-me after the restart: got status %d, want 200", status)
	}

	// Killed, as when the machine under it stops: the next start starts it
	// again, with its data.
	servertest.Kill(t, filepath.Join(nodeDir, "pid"))
	if out, err := run("10", "start"); err != nil {
		t.Fatalf("start after the node was killed: %v\n%s", err, out)
	}
	// It returns once the indices are recovered: a search reaching one
	// still recovering would fail.
	if status := request(t, http.MethodGet, url+"/_cluster/health?wait_for_status=yellow&timeout=0s"); status != http.StatusOK {
		t.Errorf("cluster health after the start: got status %d, want 200 (yellow or green at once)", status)
	}
	if status := request(t, http.MethodHead, url+"/keep-me"); status != http.StatusOK {
		t.Errorf("index keep-me after the node was killed and started: got status %d, want 200", status)
	}
}

func request(t *testing.T, method, url string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}
