package deploy_test

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/activitylog/activitylog/deploy"
	"github.com/activitylog/activitylog/setup"
)

// No Docker engine runs here, so these tests check docker-compose.yml
// statically, against the files and binaries it deploys, all read at test
// time: otelcol-config.yaml, the Dockerfiles, go.mod, scripts/elasticsearch
// and the commands' own -h output.

const root = ".."

func compose(t *testing.T) deploy.Compose {
	t.Helper()
	c, err := deploy.LoadCompose(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func envExample(t *testing.T) map[string]string {
	t.Helper()
	env, err := deploy.LoadEnvFile(filepath.Join(root, ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// resolved returns a service's environment as compose would pass it with
// .env.example as .env.
func resolved(t *testing.T, s deploy.Service) map[string]string {
	t.Helper()
	env := envExample(t)
	out := map[string]string{}
	for k, v := range s.Environment {
		out[k] = deploy.Interpolate(v, env)
	}
	return out
}

func TestComposeServices(t *testing.T) {
	c := compose(t)
	for _, name := range []string{"elasticsearch", "kibana", "setup", "collector", "querysvc", "loyalty", "traffic"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("no %s service", name)
		}
	}
	for name, s := range c.Services {
		if (s.Image == "") == (s.Build == nil) {
			t.Errorf("%s: got image %q and build %v, want exactly one", name, s.Image, s.Build)
		}
	}
}

// TestBuiltServicesHaveDockerfiles checks every built service's Dockerfile
// exists, is multi-stage from a Go toolchain at least go.mod's to a
// distroless image, runs as non-root, pins every base image and builds
// packages that exist.
func TestBuiltServicesHaveDockerfiles(t *testing.T) {
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(readFile(t, "go.mod"))
	if goVersion == nil {
		t.Fatal("go.mod has no go directive")
	}
	built := 0
	for name, s := range compose(t).Services {
		if s.Build == nil {
			continue
		}
		built++
		t.Run(name, func(t *testing.T) {
			if filepath.Clean(s.Build.Context) != "." {
				t.Errorf("got build context %q, want the repository root (one go.mod)", s.Build.Context)
			}
			src := readFile(t, filepath.Join(s.Build.Context, s.Build.Dockerfile))
			d := deploy.ParseDockerfile(src)
			if len(d.Stages) < 2 {
				t.Fatalf("got %d stages, want a multi-stage build", len(d.Stages))
			}
			for _, img := range d.Stages {
				if _, tag := deploy.ImageTag(img); tag == "" || tag == "latest" {
					t.Errorf("base image %q: want an explicit tag, not latest", img)
				}
			}
			builder, tag := deploy.ImageTag(d.Stages[0])
			if builder != "golang" || !strings.HasPrefix(tag, goVersion[1]+".") {
				t.Errorf("got builder %s, want golang:%s.x (go.mod)", d.Stages[0], goVersion[1])
			}
			if final, _ := deploy.ImageTag(d.Stages[len(d.Stages)-1]); !strings.HasPrefix(final, "gcr.io/distroless/") {
				t.Errorf("got final image %s, want distroless", final)
			}
			if len(d.Users) == 0 || slices.ContainsFunc(d.Users, func(u string) bool { return u == "root" || strings.HasPrefix(u, "0") }) {
				t.Errorf("got USER %v, want a non-root user", d.Users)
			}
			pkgs := regexp.MustCompile(`go build [^&;]*?(\./[A-Za-z0-9_./-]+)`)
			var found int
			for _, run := range d.Run {
				for _, m := range pkgs.FindAllStringSubmatch(run, -1) {
					found++
					matches, _ := filepath.Glob(filepath.Join(root, s.Build.Context, m[1], "*.go"))
					if len(matches) == 0 {
						t.Errorf("builds %s, which has no Go files", m[1])
					}
				}
			}
			if found == 0 {
				t.Errorf("no go build of a package in the repository")
			}
		})
	}
	if built < 4 {
		t.Errorf("got %d built services, want setup, collector, querysvc and loyalty", built)
	}
}

// TestImagesPinned checks every pulled image has an explicit tag and that
// Elasticsearch and Kibana run the version the tests run against.
func TestImagesPinned(t *testing.T) {
	c := compose(t)
	for name, s := range c.Services {
		if s.Image == "" {
			continue
		}
		if _, tag := deploy.ImageTag(s.Image); tag == "" || tag == "latest" {
			t.Errorf("%s: image %q: want an explicit version tag", name, s.Image)
		}
	}
	versions := regexp.MustCompile(`versions=\$\{ES_VERSIONS:-"([0-9.]+)`).FindStringSubmatch(readFile(t, "scripts/elasticsearch"))
	if versions == nil {
		t.Fatal("scripts/elasticsearch: no default ES_VERSIONS")
	}
	for _, svc := range []struct{ name, image string }{
		{"elasticsearch", "docker.elastic.co/elasticsearch/elasticsearch"},
		{"kibana", "docker.elastic.co/kibana/kibana"},
	} {
		name, tag := deploy.ImageTag(c.Services[svc.name].Image)
		if name != svc.image || tag != versions[1] {
			t.Errorf("%s: got %s:%s, want %s:%s (the version scripts/elasticsearch tests with)", svc.name, name, tag, svc.image, versions[1])
		}
	}
}

var secretName = regexp.MustCompile(`PASSWORD|SECRET|TOKEN|API_KEY|ENCRYPTION`)

// TestNoSecretsInFile checks every credential in the compose file is a
// required variable from .env, never a literal.
func TestNoSecretsInFile(t *testing.T) {
	for name, s := range compose(t).Services {
		for k, v := range s.Environment {
			if !secretName.MatchString(k) {
				continue
			}
			vars := deploy.Variables(v)
			if len(vars) != 1 || !vars[0].Required || fmt.Sprintf("${%s:?", vars[0].Name) != v[:len(vars[0].Name)+4] {
				t.Errorf("%s: %s=%q: want exactly a required variable ${NAME:?message}", name, k, v)
			}
		}
	}
	if src := readFile(t, "docker-compose.yml"); strings.Contains(src, "change-me") {
		t.Error("docker-compose.yml contains a change-me placeholder value")
	}
}

// TestEnvExample checks .env.example sets every variable the compose file
// reads, sets nothing it does not, and holds only placeholders for secrets.
func TestEnvExample(t *testing.T) {
	env := envExample(t)
	used := map[string]deploy.Variable{}
	for _, v := range deploy.Variables(readFile(t, "docker-compose.yml")) {
		used[v.Name] = v
	}
	for name, v := range used {
		if _, ok := env[name]; !ok {
			t.Errorf("%s is used by docker-compose.yml but missing from .env.example", name)
		}
		if v.Required && env[name] == "" {
			t.Errorf("%s is required but empty in .env.example", name)
		}
	}
	for name, value := range env {
		if _, ok := used[name]; !ok {
			t.Errorf(".env.example sets %s, which docker-compose.yml never reads", name)
		}
		if secretName.MatchString(name) && !strings.HasPrefix(value, "change-me") {
			t.Errorf(".env.example: %s=%q: want a change-me placeholder, not a usable secret", name, value)
		}
	}
	if !strings.Contains(readFile(t, ".gitignore"), ".env") {
		t.Error(".gitignore does not ignore .env")
	}
}

// TestStartOrder checks depends_on conditions are met by the services they
// wait for and that the order has no cycle.
func TestStartOrder(t *testing.T) {
	c := compose(t)
	for name, s := range c.Services {
		for dep, d := range s.DependsOn {
			target, ok := c.Services[dep]
			if !ok {
				t.Errorf("%s depends on unknown service %s", name, dep)
				continue
			}
			switch d.Condition {
			case "service_healthy":
				if target.Healthcheck == nil || len(target.Healthcheck.Test) == 0 {
					t.Errorf("%s waits for %s to be healthy, but %s has no healthcheck", name, dep, dep)
				}
			case "service_completed_successfully":
				if target.Restart != "no" {
					t.Errorf("%s waits for %s to complete, but %s restarts (%q)", name, dep, dep, target.Restart)
				}
			case "service_started":
			default:
				t.Errorf("%s depends on %s with condition %q, want service_healthy, service_completed_successfully or service_started", name, dep, d.Condition)
			}
		}
	}
	var visit func(name string, path []string)
	visit = func(name string, path []string) {
		if slices.Contains(path, name) {
			t.Fatalf("depends_on cycle: %v", append(path, name))
		}
		for dep := range c.Services[name].DependsOn {
			visit(dep, append(path, name))
		}
	}
	for name := range c.Services {
		visit(name, nil)
	}
	// What must happen before what.
	for _, e := range []struct{ svc, dep, cond string }{
		{"setup", "elasticsearch", "service_healthy"},
		{"collector", "setup", "service_completed_successfully"},
		{"querysvc", "setup", "service_completed_successfully"},
		{"loyalty", "collector", "service_healthy"},
		{"traffic", "collector", "service_healthy"},
	} {
		if got := c.Services[e.svc].DependsOn[e.dep].Condition; got != e.cond {
			t.Errorf("%s on %s: got condition %q, want %q", e.svc, e.dep, got, e.cond)
		}
	}
	for _, svc := range []string{"elasticsearch", "kibana", "collector", "querysvc"} {
		if c.Services[svc].Healthcheck == nil {
			t.Errorf("%s has no healthcheck", svc)
		}
	}
}

// TestVolumes checks Elasticsearch data and the collector's queue are on
// named volumes, the queue where the collector's configuration writes it.
func TestVolumes(t *testing.T) {
	c := compose(t)
	mounts := func(svc string) map[string]string {
		out := map[string]string{}
		for _, v := range c.Services[svc].Volumes {
			src, dst, ok := strings.Cut(v, ":")
			if !ok {
				t.Errorf("%s: volume %q has no target", svc, v)
				continue
			}
			if _, named := c.Volumes[src]; !named {
				t.Errorf("%s: volume %q is not a named volume", svc, src)
			}
			out[strings.Split(dst, ":")[0]] = src
		}
		return out
	}
	if _, ok := mounts("elasticsearch")["/usr/share/elasticsearch/data"]; !ok {
		t.Error("elasticsearch: no volume on /usr/share/elasticsearch/data")
	}
	cfg := deploy.CollectorEnv(readFile(t, "otelcol-config.yaml"))
	dir := resolved(t, c.Services["collector"])["ACTIVITYCOL_STORAGE_DIR"]
	if dir == "" {
		dir = cfg["ACTIVITYCOL_STORAGE_DIR"].Default
	}
	if dir == "" {
		t.Fatal("otelcol-config.yaml: no ACTIVITYCOL_STORAGE_DIR")
	}
	if _, ok := mounts("collector")[dir]; !ok {
		t.Errorf("collector: no volume on the queue directory %s", dir)
	}
	if !strings.Contains(readFile(t, "collector/Dockerfile"), dir) {
		t.Errorf("collector/Dockerfile does not prepare %s for the non-root user", dir)
	}
}

// TestCollectorAgreesWithConfig checks the collector service sets only
// variables otelcol-config.yaml reads, authenticates as the create_doc-only
// user, and publishes and probes the ports the configuration listens on.
func TestCollectorAgreesWithConfig(t *testing.T) {
	c := compose(t)
	col := c.Services["collector"]
	cfg := deploy.CollectorEnv(readFile(t, "otelcol-config.yaml"))
	for _, want := range []string{"ES_ENDPOINT", "ES_USERNAME", "ES_PASSWORD", "ACTIVITYCOL_STORAGE_DIR"} {
		if _, ok := cfg[want]; !ok {
			t.Errorf("otelcol-config.yaml does not read %s", want)
		}
		if _, ok := col.Environment[want]; !ok {
			t.Errorf("collector service does not set %s", want)
		}
	}
	for k := range col.Environment {
		if _, ok := cfg[k]; !ok {
			t.Errorf("collector service sets %s, which otelcol-config.yaml does not read", k)
		}
	}
	env := resolved(t, col)
	if env["ES_USERNAME"] != setup.WriterUser {
		t.Errorf("collector authenticates as %q, want %q (create_doc only)", env["ES_USERNAME"], setup.WriterUser)
	}
	if got, want := col.Environment["ES_PASSWORD"], c.Services["setup"].Environment[setup.EnvWriterPassword]; got != want {
		t.Errorf("collector ES_PASSWORD %q is not the writer password setup sets (%q)", got, want)
	}
	listen := func(name string) string {
		v := env[name]
		if v == "" {
			v = cfg[name].Default
		}
		_, port, err := net.SplitHostPort(v)
		if err != nil {
			t.Fatalf("%s=%q: %v", name, v, err)
		}
		return port
	}
	published := containerPorts(t, col)
	for _, name := range []string{"OTLP_GRPC_ENDPOINT", "OTLP_HTTP_ENDPOINT"} {
		if port := listen(name); !published[port] {
			t.Errorf("collector listens on %s (%s) but does not publish it (ports %v)", port, name, col.Ports)
		}
	}
	health := listen("ACTIVITYCOL_HEALTH_ENDPOINT")
	if col.Healthcheck == nil || !strings.Contains(strings.Join(col.Healthcheck.Test, " "), ":"+health+"/") {
		t.Errorf("collector healthcheck does not probe the health_check port %s", health)
	}
}

func containerPorts(t *testing.T, s deploy.Service) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, p := range s.Ports {
		parts := strings.Split(p, ":")
		out[strings.Split(parts[len(parts)-1], "/")[0]] = true
	}
	return out
}

// TestEndpointsResolve checks every URL or host:port a service is given
// names a compose service and a port that service listens on.
func TestEndpointsResolve(t *testing.T) {
	c := compose(t)
	cfg := deploy.CollectorEnv(readFile(t, "otelcol-config.yaml"))
	listens := map[string]map[string]bool{
		"elasticsearch": {"9200": true},
		"kibana":        {"5601": true},
		"collector":     {},
	}
	colEnv := resolved(t, c.Services["collector"])
	for _, name := range []string{"OTLP_GRPC_ENDPOINT", "OTLP_HTTP_ENDPOINT", "ACTIVITYCOL_HEALTH_ENDPOINT"} {
		v := colEnv[name]
		if v == "" {
			v = cfg[name].Default
		}
		if _, port, err := net.SplitHostPort(v); err == nil {
			listens["collector"][port] = true
		}
	}
	for name, s := range c.Services {
		if name == "collector" {
			continue
		}
		if ports := containerPorts(t, s); len(ports) > 0 && listens[name] == nil {
			listens[name] = ports
		}
	}
	checked := 0
	for name, s := range c.Services {
		for k, v := range resolved(t, s) {
			host, port := "", ""
			if u, err := url.Parse(v); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
				host, port = u.Hostname(), u.Port()
			} else if h, p, err := net.SplitHostPort(v); err == nil && h != "" && !strings.Contains(h, "/") {
				host, port = h, p
			}
			if host == "" || host == "0.0.0.0" || host == "localhost" || host == "127.0.0.1" {
				continue
			}
			if _, err := strconv.Atoi(port); err != nil {
				continue
			}
			checked++
			if _, ok := c.Services[host]; !ok {
				t.Errorf("%s: %s=%s: host %s is not a compose service", name, k, v, host)
				continue
			}
			if !listens[host][port] {
				t.Errorf("%s: %s=%s: %s does not listen on %s (listens on %v)", name, k, v, host, port, listens[host])
			}
		}
	}
	if checked < 5 {
		t.Errorf("checked %d endpoints, want at least 5 (setup, collector, querysvc, loyalty)", checked)
	}
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binary builds one of the repository's commands once per test run.
func binary(t *testing.T, pkg string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "activitylog-deploy-test-")
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	out := filepath.Join(binDir, filepath.Base(pkg))
	if _, err := os.Stat(out); err == nil {
		return out
	}
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// help runs a command with args and returns everything it printed; -h
// exits non-zero in Go's flag package, which is not an error here.
func help(t *testing.T, bin string, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	_ = cmd.Run()
	if out.Len() == 0 {
		t.Fatalf("%s %v printed nothing", bin, args)
	}
	return out.String()
}

// otelSDKEnv are the OpenTelemetry SDK environment variables the OTLP log
// exporters read.
var otelSDKEnv = map[string]bool{
	"OTEL_EXPORTER_OTLP_ENDPOINT": true, "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": true,
	"OTEL_EXPORTER_OTLP_PROTOCOL": true, "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": true,
	"OTEL_EXPORTER_OTLP_HEADERS": true, "OTEL_EXPORTER_OTLP_INSECURE": true,
	"OTEL_SERVICE_NAME": true, "OTEL_RESOURCE_ATTRIBUTES": true,
}

// sourceEnvNames returns the upper-case string literals in a command's
// non-test Go files: the environment variable names it reads itself.
func sourceEnvNames(t *testing.T, pkg string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, pkg, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	lit := regexp.MustCompile(`"([A-Z][A-Z0-9_]{2,})"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range lit.FindAllStringSubmatch(string(b), -1) {
			out[m[1]] = true
		}
	}
	return out
}

// TestServicesMatchBinaries checks every variable and flag the compose file
// gives a built command is one the command documents in its -h output.
func TestServicesMatchBinaries(t *testing.T) {
	c := compose(t)
	tests := []struct {
		service, pkg string
		helpArgs     []string
	}{
		{"setup", "./cmd/activityctl", []string{"-h"}},
		{"querysvc", "./cmd/querysvc", []string{"-h"}},
		{"loyalty", "./examples/loyalty", []string{"-h"}},
		{"traffic", "./examples/loyalty", []string{"-h"}},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			s, ok := c.Services[tt.service]
			if !ok {
				t.Fatalf("no %s service", tt.service)
			}
			bin := binary(t, tt.pkg)
			doc := help(t, bin, tt.helpArgs...)
			if len(s.Command) > 0 && !strings.HasPrefix(s.Command[0], "-") {
				// A subcommand: its flags are in its own help.
				if !strings.Contains(doc, s.Command[0]) {
					t.Errorf("command %q is not in %s -h", s.Command[0], tt.pkg)
				}
				doc += help(t, bin, s.Command[0], "-h")
			}
			// Besides -h, a variable the command's own source reads by
			// name counts (secrets are read from the environment only and
			// have no flag), as do the OpenTelemetry SDK's standard ones.
			read := sourceEnvNames(t, tt.pkg)
			for k := range s.Environment {
				documented := regexp.MustCompile(`\b` + regexp.QuoteMeta(k) + `\b`).MatchString(doc)
				if !documented && !read[k] && !otelSDKEnv[k] {
					t.Errorf("%s sets %s, which %s neither documents in -h nor reads", tt.service, k, tt.pkg)
				}
			}
			for _, arg := range s.Command {
				if strings.HasPrefix(arg, "-") {
					flagName := strings.SplitN(strings.TrimLeft(arg, "-"), "=", 2)[0]
					if !strings.Contains(doc, "-"+flagName) {
						t.Errorf("%s passes %s, which %s -h does not document", tt.service, arg, tt.pkg)
					}
				}
			}
		})
	}
}
