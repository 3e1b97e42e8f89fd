package deploy_test

import (
	"archive/zip"
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/activitylog/activitylog/internal/estest"
)

// runScript runs scripts/elasticsearch with the extra environment and
// returns what it printed on stderr and how it ended.
func runScript(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(repoRoot, "scripts", "elasticsearch"), args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	return stderr.String(), err
}

// TestElasticsearchScriptRefusesWhatItCannotUse proves that scripts/elasticsearch
// start does not hand out a port whose node the schema cannot install on, nor
// start a node on a port something else holds: both end at once with a
// message naming the port and the way out, instead of failing later in setup
// or in the node's own log.
func TestElasticsearchScriptRefusesWhatItCannotUse(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"a node too old for the schema", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if r.URL.Path == "/_nodes/_local" {
				_, _ = w.Write([]byte(`{"nodes":{"n1":{"version":"8.11.4"}}}`))
				return
			}
			_, _ = w.Write([]byte(`{"cluster_name":"someone-elses","status":"green"}`))
		}, "is Elasticsearch 8.11.4; activitylog needs 8.17 or newer"},
		{"a node with security on", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
		}, "is in use by something that does not answer as an Elasticsearch node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			u, err := url.Parse(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			// Nothing may be fetched or started: Maven is a stub that fails.
			stubs := t.TempDir()
			writeExecutable(t, filepath.Join(stubs, "mvn"), "#!/bin/sh\necho 'mvn must not run' >&2\nexit 1\n")
			out, err := runScript(t, []string{
				"ES_PORT=" + u.Port(), "ES_RUN_DIR=" + t.TempDir(), "ACTIVITYLOG_CACHE=" + t.TempDir(),
				"PATH=" + stubs + string(os.PathListSeparator) + os.Getenv("PATH"),
			}, "start")
			if err == nil {
				t.Fatalf("start: got success, want a refusal\n%s", out)
			}
			if !strings.Contains(out, tt.want) || !strings.Contains(out, "ES_PORT") {
				t.Fatalf("start: got output\n%s\nwant it to say %q and name ES_PORT", out, tt.want)
			}
		})
	}
}

// TestElasticsearchScriptReplacesAnIncompleteDownload proves that a cached
// distribution cut short (a download or copy interrupted) is fetched again
// rather than failing every later start in unzip.
func TestElasticsearchScriptReplacesAnIncompleteDownload(t *testing.T) {
	const version = "8.19.21"
	var whole bytes.Buffer
	zw := zip.NewWriter(&whole)
	h := &zip.FileHeader{Name: "elasticsearch-" + version + "/bin/elasticsearch", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	// A stand-in that fails to start: the test is about what comes before.
	if _, err := w.Write([]byte("#!/bin/sh\necho 'stand-in elasticsearch' >&2\nexit 1\n")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}

	cache := t.TempDir()
	cached := filepath.Join(cache, "elasticsearch", "elasticsearch-"+version+".zip")
	if err := os.MkdirAll(filepath.Dir(cached), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cached, whole.Bytes()[:whole.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	// Maven is a stub that copies the whole zip where it is asked to.
	stubs := t.TempDir()
	source := filepath.Join(stubs, "whole.zip")
	if err := os.WriteFile(source, whole.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	writeExecutable(t, filepath.Join(stubs, "mvn"), `#!/bin/sh
for a in "$@"; do
	case "$a" in
	-DoutputDirectory=*) out=${a#-DoutputDirectory=} ;;
	-Dartifact=*) v=$(echo "${a#-Dartifact=}" | cut -d: -f3) ;;
	esac
done
cp '`+source+`' "$out/elasticsearch-$v.zip"
`)
	runDir := t.TempDir()
	out, _ := runScript(t, []string{
		"ES_VERSION=" + version, "ES_PORT=" + strconv.Itoa(estest.FreePortPair(t, 21400, 21500)), "ES_RUN_DIR=" + runDir,
		"ACTIVITYLOG_CACHE=" + cache, "PATH=" + stubs + string(os.PathListSeparator) + os.Getenv("PATH"),
	}, "start")
	if !strings.Contains(out, "is incomplete") {
		t.Errorf("start: got output\n%s\nwant it to say the cached zip is incomplete", out)
	}
	if got, err := os.ReadFile(cached); err != nil || !bytes.Equal(got, whole.Bytes()) {
		t.Errorf("cached zip after start: got %d bytes (%v), want the whole %d", len(got), err, whole.Len())
	}
	if _, err := os.Stat(filepath.Join(runDir, "elasticsearch-"+version, "bin", "elasticsearch")); err != nil {
		t.Errorf("unpacked distribution: %v\nstart output:\n%s", err, out)
	}
}

func writeExecutable(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestElasticsearchScriptGivesMavenTheJDK proves that the JDK found for
// Elasticsearch is the one Maven runs on (a JDK in /usr/lib/jvm but not on
// PATH or in JAVA_HOME passed scripts/prereqs, then every fetch failed and
// was reported as "not served"), and that a Maven failure is reported as
// one. Maven is a stub that refuses to run without JAVA_HOME, as mvn does
// without a java on PATH.
func TestElasticsearchScriptGivesMavenTheJDK(t *testing.T) {
	const version = "8.19.21"
	stubs := t.TempDir()
	writeExecutable(t, filepath.Join(stubs, "mvn"), `#!/bin/sh
if [ -z "$JAVA_HOME" ] || [ ! -x "$JAVA_HOME/bin/java" ]; then
	echo "The JAVA_HOME environment variable is not defined correctly" >&2
	exit 1
fi
echo "[ERROR] stub: JAVA_HOME=$JAVA_HOME" >&2
exit 1
`)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "JAVA_HOME=") && !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	env = append(env, "ES_VERSION="+version, "ES_PORT="+strconv.Itoa(estest.FreePortPair(t, 21500, 21600)),
		"ES_RUN_DIR="+t.TempDir(), "ACTIVITYLOG_CACHE="+t.TempDir(),
		"PATH="+stubs+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd := exec.Command(filepath.Join(repoRoot, "scripts", "elasticsearch"), "start")
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatalf("start with a failing mvn: got success\n%s", stderr.String())
	}
	out := stderr.String()
	if !strings.Contains(out, "mvn failed fetching version "+version+": [ERROR] stub: JAVA_HOME=/") {
		t.Errorf("start: got output\n%s\nwant mvn run with the JDK's JAVA_HOME and its failure reported as such", out)
	}
}

// TestMakeTestStopsWhenElasticsearchDoesNotStart proves that make test ends
// at once, with the reason, when the node cannot start, instead of running
// every test package without ES_URL (each would then try to start a node
// again). The recipe runs in sh, which has no pipefail.
func TestMakeTestStopsWhenElasticsearchDoesNotStart(t *testing.T) {
	dir := t.TempDir()
	makefile, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Makefile"), makefile, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeExecutable(t, filepath.Join(dir, "scripts", "prereqs"), "#!/bin/sh\nexit 0\n")
	writeExecutable(t, filepath.Join(dir, "scripts", "elasticsearch"), "#!/bin/sh\necho 'elasticsearch: no JDK' >&2\nexit 1\n")
	// GO=echo prints the go commands instead of running them.
	cmd := exec.Command("make", "-s", "test", "GO=echo", "COMMANDS=")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("make test: got success, want a failure\n%s", out)
	}
	if strings.Contains(string(out), "vet ./...") || !strings.Contains(string(out), "Elasticsearch did not start") {
		t.Errorf("make test: got output\n%s\nwant it to stop before go vet and say Elasticsearch did not start", out)
	}
}
