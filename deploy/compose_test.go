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

// repoRoot is the repository, seen from this package's directory.
const repoRoot = ".."

// tb is what the checks need from a test: the real one, or a recorder that
// collects what a check reports about a deliberately broken copy.
type tb interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Fatal(args ...any)
	Error(args ...any)
}

// prefixed names the service a check's messages are about.
type prefixed struct {
	tb
	prefix string
}

func (p prefixed) Errorf(format string, args ...any) { p.tb.Errorf(p.prefix+format, args...) }
func (p prefixed) Fatalf(format string, args ...any) { p.tb.Fatalf(p.prefix+format, args...) }

func compose(t tb, root string) deploy.Compose {
	t.Helper()
	c, err := deploy.LoadCompose(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func envExample(t tb, root string) map[string]string {
	t.Helper()
	env, err := deploy.LoadEnvFile(filepath.Join(root, ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func readFile(t tb, root, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// resolved returns a service's environment as compose would pass it with
// .env.example as .env.
func resolved(t tb, root string, s deploy.Service) map[string]string {
	t.Helper()
	env := envExample(t, root)
	out := map[string]string{}
	for k, v := range s.Environment {
		out[k] = deploy.Interpolate(v, env)
	}
	return out
}

func checkComposeServices(t tb, root string) {
	c := compose(t, root)
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

// checkBuiltServicesHaveDockerfiles checks every built service's Dockerfile
// exists, is multi-stage from a Go toolchain at least go.mod's to a
// distroless image, runs as non-root, pins every base image and builds
// packages that exist.
func checkBuiltServicesHaveDockerfiles(t tb, root string) {
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(readFile(t, root, "go.mod"))
	if goVersion == nil {
		t.Fatal("go.mod has no go directive")
	}
	built := 0
	for name, s := range compose(t, root).Services {
		if s.Build == nil {
			continue
		}
		built++
		func(t tb) {
			if filepath.Clean(s.Build.Context) != "." {
				t.Errorf("got build context %q, want the repository root (one go.mod)", s.Build.Context)
			}
			src := readFile(t, root, filepath.Join(s.Build.Context, s.Build.Dockerfile))
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
		}(prefixed{t, name + ": "})
	}
	if built < 4 {
		t.Errorf("got %d built services, want setup, collector, querysvc and loyalty", built)
	}
}

// checkImagesPinned checks every pulled image has an explicit tag and that
// Elasticsearch and Kibana run the version the tests run against.
func checkImagesPinned(t tb, root string) {
	c := compose(t, root)
	for name, s := range c.Services {
		if s.Image == "" {
			continue
		}
		if _, tag := deploy.ImageTag(s.Image); tag == "" || tag == "latest" {
			t.Errorf("%s: image %q: want an explicit version tag", name, s.Image)
		}
	}
	versions := regexp.MustCompile(`versions=\$\{ES_VERSIONS:-"([0-9.]+)`).FindStringSubmatch(readFile(t, root, "scripts/elasticsearch"))
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

// secretName matches the names of secrets: passwords, tokens and keys (the
// query service's cursor key signs what callers may page through).
var secretName = regexp.MustCompile(`PASSWORD|SECRET|TOKEN|KEY`)

// checkNoSecretsInFile checks every credential in the compose file is a
// required variable from .env, never a literal.
func checkNoSecretsInFile(t tb, root string) {
	for name, s := range compose(t, root).Services {
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
	if src := readFile(t, root, "docker-compose.yml"); strings.Contains(src, "change-me") {
		t.Error("docker-compose.yml contains a change-me placeholder value")
	}
}

// shellSecretRE matches a reference the container's shell expands ($$NAME or
// $${NAME} in the compose file).
var shellSecretRE = regexp.MustCompile(`\$\$\{?([A-Za-z_][A-Za-z0-9_]*)`)

// shellBuiltins may take a secret as an argument: they run inside the shell,
// so no process with it in its arguments is ever created.
var shellBuiltins = map[string]bool{"printf": true, "echo": true}

// kibanaSettingEnv matches the variables Kibana's image maps to settings:
// the settings' names, upper case, dots as underscores, under its top-level
// namespaces that hold secrets.
var kibanaSettingEnv = regexp.MustCompile(`^(ELASTICSEARCH|XPACK|SERVER|MONITORING)_`)

// checkSecretsOffCommandLines checks no command or healthcheck passes a
// secret as a program's argument. Every user of the host reads the arguments
// of every process, containers' included (ps, /proc/<pid>/cmdline), while a
// process's environment is its owner's only; a healthcheck runs every few
// seconds. A secret reaches a program through its environment, or through a
// pipe from a shell builtin (printf ... | curl -K -).
func checkSecretsOffCommandLines(t tb, root string) {
	for name, s := range compose(t, root).Services {
		argv := slices.Clone(s.Command)
		var shell string
		if s.Healthcheck != nil && len(s.Healthcheck.Test) > 1 {
			switch s.Healthcheck.Test[0] {
			case "CMD":
				argv = append(argv, s.Healthcheck.Test[1:]...)
			case "CMD-SHELL":
				shell = strings.Join(s.Healthcheck.Test[1:], " ")
			}
		}
		// Compose writes these values into the arguments themselves, of
		// the program or of sh -c.
		for _, arg := range append(argv, shell) {
			for _, v := range deploy.Variables(arg) {
				if secretName.MatchString(v.Name) {
					t.Errorf("%s: %s is written into a command line (%q): pass it in the environment", name, v.Name, arg)
				}
			}
		}
		// Kibana's image entrypoint (kibana-docker) turns every variable
		// named after a Kibana setting, such as ELASTICSEARCH_PASSWORD, into a
		// --setting=value argument of the Kibana process, for as long as it
		// runs: its secrets go in under other names, which the mounted
		// kibana.yml reads with ${NAME}.
		if image, _ := deploy.ImageTag(s.Image); image == "docker.elastic.co/kibana/kibana" {
			for k := range s.Environment {
				if secretName.MatchString(k) && kibanaSettingEnv.MatchString(k) {
					t.Errorf("%s: %s is a Kibana setting its entrypoint passes on the command line: set it in kibana.yml from another variable", name, k)
				}
			}
		}
		for _, part := range regexp.MustCompile(`\|\||&&|[|;]`).Split(shell, -1) {
			words := strings.Fields(part)
			if len(words) == 0 || shellBuiltins[words[0]] {
				continue
			}
			for _, m := range shellSecretRE.FindAllStringSubmatch(part, -1) {
				if secretName.MatchString(m[1]) {
					t.Errorf("%s: healthcheck passes %s to %s as an argument (%q): pipe it from printf instead", name, m[1], words[0], strings.TrimSpace(part))
				}
			}
		}
	}
}

// checkEnvExample checks .env.example sets every variable the compose file
// reads, sets nothing it does not, and leaves every secret empty: copied
// unchanged, compose's ${NAME:?} then refuses to start. A placeholder would
// be a secret everyone knows, and only setup refuses its own: the query
// service would accept tokens signed with a published JWT secret.
func checkEnvExample(t tb, root string) {
	env := envExample(t, root)
	used := map[string]deploy.Variable{}
	for _, v := range deploy.Variables(readFile(t, root, "docker-compose.yml")) {
		used[v.Name] = v
	}
	for name, v := range used {
		if _, ok := env[name]; !ok {
			t.Errorf("%s is used by docker-compose.yml but missing from .env.example", name)
		}
		if secretName.MatchString(name) && !v.Required {
			t.Errorf("%s is a secret but not required (${%s:?...}): compose would start without it", name, name)
		}
		if v.Required && !secretName.MatchString(name) && env[name] == "" {
			t.Errorf("%s is required but empty in .env.example", name)
		}
	}
	for name, value := range env {
		if _, ok := used[name]; !ok {
			t.Errorf(".env.example sets %s, which docker-compose.yml never reads", name)
		}
		if secretName.MatchString(name) && value != "" {
			t.Errorf(".env.example: %s=%q: want it empty, so compose refuses to start until it is set", name, value)
		}
	}
	if !strings.Contains(readFile(t, root, ".gitignore"), ".env") {
		t.Error(".gitignore does not ignore .env")
	}
}

// checkGuideFillsSecrets checks that the loop docs/full-stack.md gives for
// making secrets fills every one .env.example leaves empty: one left out
// stays empty and compose refuses to start.
func checkGuideFillsSecrets(t tb, root string) {
	guide := readFile(t, root, "docs/full-stack.md")
	m := regexp.MustCompile(`(?s)for v in (.*?); do`).FindStringSubmatch(guide)
	if m == nil {
		t.Fatalf("docs/full-stack.md: no 'for v in ...; do' loop that makes the secrets")
	}
	filled := map[string]bool{}
	for _, f := range strings.Fields(strings.ReplaceAll(m[1], "\\", " ")) {
		filled[f] = true
	}
	for name, value := range envExample(t, root) {
		if secretName.MatchString(name) && value == "" && !filled[name] {
			t.Errorf("docs/full-stack.md: the loop that makes the secrets leaves out %s", name)
		}
	}
}

// checkGuideKeepsSecretsOffCommandLines checks the curl commands
// docs/full-stack.md gives take no secret of .env from a shell variable: the
// guide never sets one in the reader's shell (so the command as written sends
// an empty password), and one given as an argument shows in ps.
func checkGuideKeepsSecretsOffCommandLines(t tb, root string) {
	env := envExample(t, root)
	ref := regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)
	for _, cmd := range regexp.MustCompile("curl [^`\n]*").FindAllString(readFile(t, root, "docs/full-stack.md"), -1) {
		for _, m := range ref.FindAllStringSubmatch(cmd, -1) {
			if _, ok := env[m[1]]; ok && secretName.MatchString(m[1]) {
				t.Errorf("docs/full-stack.md: %q passes %s on the command line: let curl ask for it", cmd, m[1])
			}
		}
	}
}

// kibanaConfigPath is where Kibana's image reads its configuration.
const kibanaConfigPath = "/usr/share/kibana/config/kibana.yml"

// checkKibanaConfig checks Kibana gets its secrets through the kibana.yml the
// stack mounts (see checkSecretsOffCommandLines): the file reads each secret
// variable of the service, and only variables the service sets (Kibana
// refuses to start on an unknown one).
func checkKibanaConfig(t tb, root string) {
	kibana := compose(t, root).Services["kibana"]
	var file string
	for _, v := range kibana.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == kibanaConfigPath {
			file = parts[0]
		}
	}
	if file == "" {
		t.Fatalf("kibana: no file mounted on %s", kibanaConfigPath)
	}
	cfg := readFile(t, root, file)
	for k := range kibana.Environment {
		if secretName.MatchString(k) && !strings.Contains(cfg, "${"+k+"}") {
			t.Errorf("kibana: %s does not read %s, which the service sets", file, k)
		}
	}
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`).FindAllStringSubmatch(cfg, -1) {
		if _, ok := kibana.Environment[m[1]]; !ok {
			t.Errorf("kibana: %s reads %s, which the service does not set", file, m[1])
		}
	}
}

// checkStartOrder checks depends_on conditions are met by the services they
// wait for and that the order has no cycle.
func checkStartOrder(t tb, root string) {
	c := compose(t, root)
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

// checkVolumes checks Elasticsearch data and the collector's queue are on
// named volumes, the queue where the collector's configuration writes it.
func checkVolumes(t tb, root string) {
	c := compose(t, root)
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
	cfg := deploy.CollectorEnv(readFile(t, root, "otelcol-config.yaml"))
	dir := resolved(t, root, c.Services["collector"])["ACTIVITYCOL_STORAGE_DIR"]
	if dir == "" {
		dir = cfg["ACTIVITYCOL_STORAGE_DIR"].Default
	}
	if dir == "" {
		t.Fatal("otelcol-config.yaml: no ACTIVITYCOL_STORAGE_DIR")
	}
	if _, ok := mounts("collector")[dir]; !ok {
		t.Errorf("collector: no volume on the queue directory %s", dir)
	}
	if !strings.Contains(readFile(t, root, "collector/Dockerfile"), dir) {
		t.Errorf("collector/Dockerfile does not prepare %s for the non-root user", dir)
	}
}

// checkCollectorAgreesWithConfig checks the collector service sets only
// variables otelcol-config.yaml reads, authenticates as the create_doc-only
// user, publishes the OTLP ports the configuration listens on, and probes
// its health check where it listens: from inside the container, on the
// address it is bound to (loopback by default), and publishes that port only
// if it is bound to every interface.
func checkCollectorAgreesWithConfig(t tb, root string) {
	c := compose(t, root)
	col := c.Services["collector"]
	cfg := deploy.CollectorEnv(readFile(t, root, "otelcol-config.yaml"))
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
	env := resolved(t, root, col)
	if env["ES_USERNAME"] != setup.WriterUser {
		t.Errorf("collector authenticates as %q, want %q (create_doc only)", env["ES_USERNAME"], setup.WriterUser)
	}
	if got, want := col.Environment["ES_PASSWORD"], c.Services["setup"].Environment[setup.EnvWriterPassword]; got != want {
		t.Errorf("collector ES_PASSWORD %q is not the writer password setup sets (%q)", got, want)
	}
	listen := func(name string) (host, port string) {
		v := env[name]
		if v == "" {
			v = cfg[name].Default
		}
		host, port, err := net.SplitHostPort(v)
		if err != nil {
			t.Fatalf("%s=%q: %v", name, v, err)
		}
		return host, port
	}
	published := containerPorts(t, col)
	for _, name := range []string{"OTLP_GRPC_ENDPOINT", "OTLP_HTTP_ENDPOINT"} {
		if _, port := listen(name); !published[port] {
			t.Errorf("collector listens on %s (%s) but does not publish it (ports %v)", port, name, col.Ports)
		}
	}
	healthHost, healthPort := listen("ACTIVITYCOL_HEALTH_ENDPOINT")
	everyInterface := healthHost == "" || healthHost == "0.0.0.0" || healthHost == "::"
	if published[healthPort] && !everyInterface {
		t.Errorf("collector publishes the health_check port %s, which listens on %s only: nothing outside the container reaches it", healthPort, healthHost)
	}
	var probe *url.URL
	if col.Healthcheck != nil {
		for _, arg := range col.Healthcheck.Test {
			if u, err := url.Parse(arg); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
				probe = u
			}
		}
	}
	switch {
	case probe == nil:
		t.Errorf("collector healthcheck probes no URL: %v", col.Healthcheck)
	case probe.Port() != healthPort:
		t.Errorf("collector healthcheck probes %s, not the health_check port %s", probe, healthPort)
	case !everyInterface && probe.Hostname() != healthHost:
		t.Errorf("collector healthcheck probes %s, but the health_check listens on %s only", probe, healthHost)
	}
}

// checkEmittersSendToken checks the collector requires an ingest token and
// every service that sends it OTLP carries that same token: one left out
// would have every record refused.
func checkEmittersSendToken(t tb, root string) {
	c := compose(t, root)
	vars := deploy.Variables(c.Services["collector"].Environment["ACTIVITYCOL_INGEST_TOKEN"])
	if len(vars) != 1 || !vars[0].Required {
		t.Fatalf("collector: ACTIVITYCOL_INGEST_TOKEN is not one required variable: %v", vars)
	}
	want := "Authorization=Bearer%20${" + vars[0].Name + ":?"
	emitters := 0
	for name, s := range c.Services {
		ep := s.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"]
		if u, err := url.Parse(ep); err != nil || u.Hostname() != "collector" {
			continue
		}
		emitters++
		if h := s.Environment["OTEL_EXPORTER_OTLP_HEADERS"]; !strings.HasPrefix(h, want) {
			t.Errorf("%s sends OTLP to the collector but does not send the collector's ingest token: OTEL_EXPORTER_OTLP_HEADERS=%q, want %s...}", name, h, want)
		}
	}
	if emitters < 3 {
		t.Errorf("found %d services sending OTLP to the collector, want the query service, loyalty and traffic", emitters)
	}
}

func containerPorts(t tb, s deploy.Service) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, p := range s.Ports {
		parts := strings.Split(p, ":")
		out[strings.Split(parts[len(parts)-1], "/")[0]] = true
	}
	return out
}

// checkEndpointsResolve checks every URL or host:port a service is given
// names a compose service and a port that service listens on.
func checkEndpointsResolve(t tb, root string) {
	c := compose(t, root)
	cfg := deploy.CollectorEnv(readFile(t, root, "otelcol-config.yaml"))
	listens := map[string]map[string]bool{
		"elasticsearch": {"9200": true},
		"kibana":        {"5601": true},
		"collector":     {},
	}
	colEnv := resolved(t, root, c.Services["collector"])
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
		for k, v := range resolved(t, root, s) {
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

// TestMain removes the binaries built for TestServicesMatchBinaries.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

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
	cmd.Dir = repoRoot
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
	files, err := filepath.Glob(filepath.Join(repoRoot, pkg, "*.go"))
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
	c := compose(t, repoRoot)
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

// checks are the static checks of the compose deployment, by name.
var checks = []struct {
	name string
	run  func(tb, string)
}{
	{"services", checkComposeServices},
	{"dockerfiles", checkBuiltServicesHaveDockerfiles},
	{"images pinned", checkImagesPinned},
	{"no secrets", checkNoSecretsInFile},
	{"secrets off command lines", checkSecretsOffCommandLines},
	{"kibana config", checkKibanaConfig},
	{"env example", checkEnvExample},
	{"guide fills secrets", checkGuideFillsSecrets},
	{"guide keeps secrets off command lines", checkGuideKeepsSecretsOffCommandLines},
	{"start order", checkStartOrder},
	{"volumes", checkVolumes},
	{"collector config", checkCollectorAgreesWithConfig},
	{"emitters send the ingest token", checkEmittersSendToken},
	{"endpoints", checkEndpointsResolve},
}

// TestCompose runs every static check on the repository's compose stack.
func TestCompose(t *testing.T) {
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.run(t, repoRoot) })
	}
}

// recorder is a tb that collects what the checks report.
type recorder struct{ problems []string }

type fatal struct{}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}
func (r *recorder) Error(args ...any)                 { r.problems = append(r.problems, fmt.Sprint(args...)) }
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...); panic(fatal{}) }
func (r *recorder) Fatal(args ...any)                 { r.Error(args...); panic(fatal{}) }

func (r *recorder) run(check func(tb, string), root string) {
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(fatal); !ok {
				panic(v)
			}
		}
	}()
	check(r, root)
}

// copyRepo copies what the checks read into a temporary directory.
func copyRepo(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	files := []string{
		"docker-compose.yml", ".env.example", ".gitignore", "otelcol-config.yaml", "go.mod", "scripts/elasticsearch",
		"docs/full-stack.md", "deploy/kibana.yml",
	}
	c := compose(t, repoRoot)
	for _, s := range c.Services {
		if s.Build != nil {
			files = append(files, filepath.Join(s.Build.Context, s.Build.Dockerfile))
		}
	}
	for _, dir := range []string{"collector", "cmd/activityctl", "cmd/querysvc", "examples/loyalty", "deploy/healthcheck"} {
		matches, _ := filepath.Glob(filepath.Join(repoRoot, dir, "*.go"))
		for _, m := range matches {
			rel, _ := filepath.Rel(repoRoot, m)
			files = append(files, rel)
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestComposeChecksCatchMistakes proves the checks are not vacuous: each
// broken copy of the deployment must be reported.
func TestComposeChecksCatchMistakes(t *testing.T) {
	tests := []struct {
		name, file, old, new, want string
	}{
		{"literal password", "docker-compose.yml",
			"ES_PASSWORD: ${ELASTIC_PASSWORD:?set ELASTIC_PASSWORD in .env}", "ES_PASSWORD: hunter2hunter2", "want exactly a required variable"},
		{"unpinned image", "docker-compose.yml",
			"image: docker.elastic.co/kibana/kibana:8.19.21", "image: docker.elastic.co/kibana/kibana:latest", "explicit version tag"},
		{"Kibana version differs", "docker-compose.yml",
			"image: docker.elastic.co/kibana/kibana:8.19.21", "image: docker.elastic.co/kibana/kibana:8.18.0", "the version scripts/elasticsearch tests with"},
		{"missing Dockerfile", "docker-compose.yml",
			"dockerfile: cmd/querysvc/Dockerfile", "dockerfile: cmd/querysvc/Dockerfile.missing", "no such file"},
		{"variable not in .env.example", "docker-compose.yml",
			"${ACTIVITY_NAMESPACE:-default}", "${ACTIVITY_NAMESPACE_TYPO:-default}", "missing from .env.example"},
		{"variable the collector config does not read", "docker-compose.yml",
			"      ACTIVITYCOL_STORAGE_DIR: /var/lib/activitycol\n", "      ACTIVITYCOL_STORAGE_DIR: /var/lib/activitycol\n      ACTIVITYCOL_QUEUE_DIR: /q\n", "otelcol-config.yaml does not read"},
		{"collector as superuser", "docker-compose.yml",
			"ES_USERNAME: activitylog_collector", "ES_USERNAME: elastic", "create_doc only"},
		{"endpoint to a port nobody listens on", "docker-compose.yml",
			"OTEL_EXPORTER_OTLP_ENDPOINT: http://collector:4317\n", "OTEL_EXPORTER_OTLP_ENDPOINT: http://collector:4319\n", "does not listen on 4319"},
		{"endpoint to an unknown host", "docker-compose.yml",
			"KIBANA_URL: http://kibana:5601", "KIBANA_URL: http://kibana-server:5601", "not a compose service"},
		{"healthy wait without healthcheck", "docker-compose.yml",
			"      test: [\"CMD\", \"/usr/local/bin/healthcheck\", \"http://127.0.0.1:13133/\"]", "      test: []", "has no healthcheck"},
		{"healthcheck on a port the health check does not listen on", "docker-compose.yml",
			"\"http://127.0.0.1:13133/\"]", "\"http://127.0.0.1:13134/\"]", "not the health_check port 13133"},
		{"healthcheck on the service's address, the health check on loopback", "docker-compose.yml",
			"\"http://127.0.0.1:13133/\"]", "\"http://collector:13133/\"]", "the health_check listens on 127.0.0.1 only"},
		{"health check published but on loopback", "docker-compose.yml",
			"      - \"127.0.0.1:${OTLP_HTTP_PORT:-4318}:4318\"\n", "      - \"127.0.0.1:${OTLP_HTTP_PORT:-4318}:4318\"\n      - \"127.0.0.1:13133:13133\"\n", "nothing outside the container reaches it"},
		{"queue not on a volume", "docker-compose.yml",
			"- collector-queue:/var/lib/activitycol", "- collector-queue:/var/lib/other", "no volume on the queue directory"},
		{"root user in an image", "cmd/activityctl/Dockerfile", "USER 65532:65532", "USER root", "non-root user"},
		{"old Go toolchain", "collector/Dockerfile", "FROM golang:1.26.8-bookworm AS build", "FROM golang:1.22-bookworm AS build", "want golang:"},
		{"secret in .env.example", ".env.example", "QUERYSVC_JWT_SECRET=\n", "QUERYSVC_JWT_SECRET=change-me-to-a-32-or-more-character-jwt-secret\n", "want it empty"},
		{"secret the guide does not make", "docs/full-stack.md", "ACTIVITYLOG_ANALYST_PASSWORD LOYALTY_DEMO_PASSWORD", "LOYALTY_DEMO_PASSWORD", "leaves out ACTIVITYLOG_ANALYST_PASSWORD"},
		{"emitter without the ingest token", "docker-compose.yml",
			"Bearer%20${ACTIVITYCOL_INGEST_TOKEN:?set ACTIVITYCOL_INGEST_TOKEN (32+ characters) in .env}\n      OTEL_SERVICE_NAME: loyalty-api\n    ports:",
			"Bearer%20${LOYALTY_DEMO_PASSWORD:?}\n      OTEL_SERVICE_NAME: loyalty-api\n    ports:", "loyalty sends OTLP to the collector but does not send"},
		{"secret on a healthcheck's command line", "docker-compose.yml",
			`printf 'user = \"elastic:%s\"\\n' \"$$(printf '%s' \"$${ELASTIC_PASSWORD}\" | sed 's/[\\\\\"]/\\\\&/g')\" | curl -fsS -K - `, `curl -fsS -u \"elastic:$${ELASTIC_PASSWORD}\" `,
			"healthcheck passes ELASTIC_PASSWORD to curl as an argument"},
		{"secret interpolated into a command", "docker-compose.yml",
			`command: ["setup", "-timeout", "10m"]`, `command: ["setup", "-timeout", "10m", "-password", "${ELASTIC_PASSWORD:?}"]`,
			"ELASTIC_PASSWORD is written into a command line"},
		{"secret on a command line in the guide", "docs/full-stack.md",
			"curl -u activitylog_analyst 'http", "curl -u elastic:$ELASTIC_PASSWORD 'http", "passes ELASTIC_PASSWORD on the command line"},
		{"Kibana secret as a setting variable", "docker-compose.yml",
			"      KIBANA_SYSTEM_PASSWORD: ${KIBANA_SYSTEM_PASSWORD:?set KIBANA_SYSTEM_PASSWORD in .env}\n      KIBANA_ENCRYPTION_KEY",
			"      ELASTICSEARCH_PASSWORD: ${KIBANA_SYSTEM_PASSWORD:?set KIBANA_SYSTEM_PASSWORD in .env}\n      KIBANA_ENCRYPTION_KEY",
			"ELASTICSEARCH_PASSWORD is a Kibana setting its entrypoint passes on the command line"},
		{"Kibana config without its password", "deploy/kibana.yml",
			"elasticsearch.password: ${KIBANA_SYSTEM_PASSWORD}\n", "", "does not read KIBANA_SYSTEM_PASSWORD"},
		{"Kibana config reading a variable the service does not set", "deploy/kibana.yml",
			"${KIBANA_ENCRYPTION_KEY}", "${KIBANA_ENCRYPTION_KEY_TYPO}", "reads KIBANA_ENCRYPTION_KEY_TYPO, which the service does not set"},
		{"secret with a default", "docker-compose.yml",
			"${QUERYSVC_CURSOR_KEY:?set QUERYSVC_CURSOR_KEY (32+ characters) in .env}", "${QUERYSVC_CURSOR_KEY:-}", "compose would start without it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyRepo(t)
			path := filepath.Join(dir, tt.file)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tt.old) {
				t.Fatalf("%s no longer contains %q: update the test", tt.file, tt.old)
			}
			if err := os.WriteFile(path, []byte(strings.Replace(string(b), tt.old, tt.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			var r recorder
			for _, c := range checks {
				r.run(c.run, dir)
			}
			if !slices.ContainsFunc(r.problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Fatalf("got problems %q, want one containing %q", r.problems, tt.want)
			}
		})
	}
	// The unbroken copy passes, so the problems above come from the mutations.
	var r recorder
	dir := copyRepo(t)
	for _, c := range checks {
		r.run(c.run, dir)
	}
	if len(r.problems) > 0 {
		t.Fatalf("the unmodified copy has problems: %q", r.problems)
	}
}
