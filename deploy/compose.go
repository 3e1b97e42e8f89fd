package deploy

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Compose is the part of a docker-compose.yml file the checks read.
type Compose struct {
	Services map[string]Service `yaml:"services"`
	Volumes  map[string]any     `yaml:"volumes"`
}

// Service is one compose service.
type Service struct {
	Image       string               `yaml:"image"`
	Build       *Build               `yaml:"build"`
	Command     []string             `yaml:"command"`
	Environment map[string]string    `yaml:"environment"`
	Ports       []string             `yaml:"ports"`
	Volumes     []string             `yaml:"volumes"`
	DependsOn   map[string]DependsOn `yaml:"depends_on"`
	Healthcheck *Healthcheck         `yaml:"healthcheck"`
	Restart     string               `yaml:"restart"`
}

// Build is a service's build section.
type Build struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

// DependsOn is one long-form depends_on entry.
type DependsOn struct {
	Condition string `yaml:"condition"`
}

// Healthcheck is a service's healthcheck.
type Healthcheck struct {
	Test []string `yaml:"test"`
}

// LoadCompose parses a compose file. Only the long forms are accepted for
// environment (a map) and depends_on (with conditions): the short forms
// cannot express what the checks require.
func LoadCompose(path string) (Compose, error) {
	var c Compose
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("read compose file: %w", err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(false)
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("parse %s: %w", path, err)
	}
	if len(c.Services) == 0 {
		return c, fmt.Errorf("%s: no services", path)
	}
	return c, nil
}

// Variable is one ${NAME...} reference in a compose file.
type Variable struct {
	// Name is the variable's name.
	Name string
	// Default is the value after ":-", if any.
	Default string
	// HasDefault reports a ":-" form.
	HasDefault bool
	// Required reports a ":?" form: compose refuses to start without it.
	Required bool
}

// varRE matches ${NAME}, ${NAME:-default} and ${NAME:?message}.
var varRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}`)

// escaped stands for compose's "$$" (a literal dollar) while references are
// matched, so "$${NAME}" is not taken for one.
const escaped = "\x00"

// Variables returns the variable references in s.
func Variables(s string) []Variable {
	var out []Variable
	for _, m := range varRE.FindAllStringSubmatch(strings.ReplaceAll(s, "$$", escaped), -1) {
		v := Variable{Name: m[1]}
		switch m[2] {
		case ":-":
			v.HasDefault, v.Default = true, m[3]
		case ":?":
			v.Required = true
		}
		out = append(out, v)
	}
	return out
}

// Interpolate replaces variable references the way compose does, from env
// (then the ":-" default), and turns $$ into $.
func Interpolate(s string, env map[string]string) string {
	s = varRE.ReplaceAllStringFunc(strings.ReplaceAll(s, "$$", escaped), func(m string) string {
		sub := varRE.FindStringSubmatch(m)
		val := env[sub[1]]
		if val == "" && sub[2] == ":-" {
			val = sub[3]
		}
		return val
	})
	return strings.ReplaceAll(s, escaped, "$")
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// LoadEnvFile parses a .env file: NAME=value lines, # comments, blank lines.
func LoadEnvFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read env file: %w", err)
	}
	env := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || !envNameRE.MatchString(name) {
			return nil, fmt.Errorf("%s:%d: got %q, want NAME=value", path, i+1, line)
		}
		if _, dup := env[name]; dup {
			return nil, fmt.Errorf("%s:%d: %s set twice", path, i+1, name)
		}
		env[name] = value
	}
	return env, nil
}

// ConfigEnvVar is one ${env:NAME:-default} reference in a collector config.
type ConfigEnvVar struct {
	Name, Default string
}

var configEnvRE = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

// CollectorEnv returns the environment variables a collector configuration
// reads, by name.
func CollectorEnv(config string) map[string]ConfigEnvVar {
	out := map[string]ConfigEnvVar{}
	for _, m := range configEnvRE.FindAllStringSubmatch(config, -1) {
		out[m[1]] = ConfigEnvVar{Name: m[1], Default: m[2]}
	}
	return out
}

// Dockerfile is what the checks read from a Dockerfile.
type Dockerfile struct {
	// Stages are the FROM images, in order.
	Stages []string
	// Users are the USER instructions' arguments.
	Users []string
	// Run holds every RUN instruction, continuation lines joined.
	Run []string
	// Copies holds every COPY instruction's arguments.
	Copies []string
}

// ParseDockerfile reads the instructions the checks need.
func ParseDockerfile(src string) Dockerfile {
	var d Dockerfile
	joined := strings.ReplaceAll(src, "\\\n", " ")
	for _, line := range strings.Split(joined, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr, args, _ := strings.Cut(line, " ")
		args = strings.TrimSpace(args)
		switch strings.ToUpper(instr) {
		case "FROM":
			image, _, _ := strings.Cut(args, " ")
			d.Stages = append(d.Stages, image)
		case "USER":
			d.Users = append(d.Users, args)
		case "RUN":
			d.Run = append(d.Run, args)
		case "COPY":
			d.Copies = append(d.Copies, args)
		}
	}
	return d
}

// ImageTag splits an image reference into name and tag ("" when untagged).
// A digest-pinned reference returns its digest as the tag.
func ImageTag(ref string) (name, tag string) {
	if n, digest, ok := strings.Cut(ref, "@"); ok {
		return n, digest
	}
	slash := strings.LastIndex(ref, "/")
	if colon := strings.LastIndex(ref, ":"); colon > slash {
		return ref[:colon], ref[colon+1:]
	}
	return ref, ""
}
