package deploy_test

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/activitylog/activitylog/deploy"
)

// markdownSection returns doc's section whose heading line starts with
// heading (such as "### Collector"), up to the next heading of the same or a
// higher level outside a code block.
func markdownSection(t *testing.T, doc, heading string) string {
	t.Helper()
	level := len(heading) - len(strings.TrimLeft(heading, "#"))
	lines := strings.Split(doc, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, heading) {
			continue
		}
		code := false
		for j := i + 1; j < len(lines); j++ {
			if strings.HasPrefix(lines[j], "```") {
				code = !code
			}
			text := strings.TrimLeft(lines[j], "#")
			if n := len(lines[j]) - len(text); !code && n > 0 && n <= level && strings.HasPrefix(text, " ") {
				return strings.Join(lines[i:j], "\n")
			}
		}
		return strings.Join(lines[i:], "\n")
	}
	t.Fatalf("no section %q", heading)
	return ""
}

// tableRows returns the cells of every Markdown table row in text, the
// separator rows left out.
func tableRows(text string) [][]string {
	var rows [][]string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "|") || strings.Trim(l, "|-: ") == "" {
			continue
		}
		cells := strings.Split(strings.Trim(l, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	return rows
}

var (
	backquotedRE = regexp.MustCompile("`([^`]*)`")
	envNameRE    = regexp.MustCompile(`^[A-Z][A-Z0-9_]{2,}$`)
	flagRE       = regexp.MustCompile(`^-[a-z][a-z-]*$`)
)

// backquoted returns the code spans of a cell that match re, in order.
func backquoted(cell string, re *regexp.Regexp) []string {
	var out []string
	for _, m := range backquotedRE.FindAllStringSubmatch(cell, -1) {
		if re.MatchString(m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// yamlWithoutComments drops the comment lines of a YAML file, whose
// ${env:NAME:-default} examples are no variables the configuration reads.
func yamlWithoutComments(src string) string {
	lines := strings.Split(src, "\n")
	return strings.Join(slices.DeleteFunc(lines, func(l string) bool {
		return strings.HasPrefix(strings.TrimSpace(l), "#")
	}), "\n")
}

// TestReadmeDocumentsCollectorVariables checks README.md's collector
// configuration against otelcol-config.yaml and otelcol-tls.yaml: every
// variable they read is documented, every variable of the table is read,
// and the table's default is the configuration's ${env:NAME:-default}.
func TestReadmeDocumentsCollectorVariables(t *testing.T) {
	sec := markdownSection(t, readFile(t, repoRoot, "README.md"), "### Collector")
	vars := deploy.CollectorEnv(yamlWithoutComments(readFile(t, repoRoot, "otelcol-config.yaml")))
	maps.Copy(vars, deploy.CollectorEnv(yamlWithoutComments(readFile(t, repoRoot, "otelcol-tls.yaml"))))
	inTable := map[string]bool{}
	for _, row := range tableRows(sec) {
		names := backquoted(row[0], envNameRE)
		if len(names) == 0 || len(row) < 3 {
			continue // the header
		}
		// A row may name several variables, with their defaults in order.
		defaults := backquotedRE.FindAllStringSubmatch(row[1], -1)
		for i, name := range names {
			v, ok := vars[name]
			if !ok {
				t.Errorf("README.md documents %s, which neither otelcol-config.yaml nor otelcol-tls.yaml reads", name)
				continue
			}
			inTable[name] = true
			switch {
			case v.Default == "" && len(defaults) > 0:
				t.Errorf("README.md gives %s the default %q; the configuration gives it none", name, row[1])
			case v.Default != "" && (i >= len(defaults) || defaults[i][1] != v.Default):
				t.Errorf("README.md gives %s the default %q; the configuration's is %q", name, row[1], v.Default)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		if !inTable[name] && !strings.Contains(sec, "`"+name+"`") {
			t.Errorf("the collector configuration reads %s, which README.md's Configuration does not document", name)
		}
	}
}

// querysvcHelpFlagRE matches a flag of querysvc -h and the variable its
// description names: "  -addr string\n    \tlisten address (env QUERYSVC_ADDR)".
var querysvcHelpFlagRE = regexp.MustCompile(`(?m)^  -([a-z-]+)[^\n]*\n[^\n]*?\(env ([A-Z][A-Z0-9_]+)`)

// TestReadmeDocumentsQuerysvcConfiguration checks querysvc/README.md's
// configuration table against the command: every flag of -h is in it, beside
// the variable -h names for it, every variable the command reads by name is
// in it, and it names no flag or variable the command does not have; the
// flags README.md's own paragraph names exist.
func TestReadmeDocumentsQuerysvcConfiguration(t *testing.T) {
	doc := help(t, binary(t, "./cmd/querysvc"), "-h")
	flagEnv := map[string]string{}
	for _, m := range querysvcHelpFlagRE.FindAllStringSubmatch(doc, -1) {
		flagEnv[m[1]] = m[2]
	}
	if len(flagEnv) < 10 {
		t.Fatalf("found %d flags with their variables in querysvc -h, want every one:\n%s", len(flagEnv), doc)
	}
	read := sourceEnvNames(t, "./cmd/querysvc")
	maps.Copy(read, sourceEnvNames(t, "./internal/esclient"))

	sec := markdownSection(t, readFile(t, repoRoot, "querysvc/README.md"), "## Configuration")
	flags, envs := map[string]bool{}, map[string]bool{}
	for _, row := range tableRows(sec) {
		if len(row) < 4 {
			continue
		}
		rowEnvs := backquoted(row[1], envNameRE)
		for _, e := range rowEnvs {
			envs[e] = true
			if !read[e] && !otelSDKEnv[e] {
				t.Errorf("querysvc/README.md documents %s, which querysvc does not read", e)
			}
		}
		for _, f := range backquoted(row[0], flagRE) {
			f = strings.TrimPrefix(f, "-")
			flags[f] = true
			want, ok := flagEnv[f]
			switch {
			case !ok:
				t.Errorf("querysvc/README.md documents -%s, which querysvc -h does not list", f)
			case !slices.Contains(rowEnvs, want):
				t.Errorf("querysvc/README.md gives -%s the variables %v; querysvc -h says %s", f, rowEnvs, want)
			}
		}
	}
	for _, f := range slices.Sorted(maps.Keys(flagEnv)) {
		if !flags[f] {
			t.Errorf("querysvc -h lists -%s, which querysvc/README.md's Configuration does not document", f)
		}
	}
	for _, e := range slices.Sorted(maps.Keys(read)) {
		if !envs[e] && !otelSDKEnv[e] {
			t.Errorf("querysvc reads %s, which querysvc/README.md's Configuration does not document", e)
		}
	}

	top := markdownSection(t, readFile(t, repoRoot, "README.md"), "### Query service")
	for _, m := range regexp.MustCompile("`-([a-z][a-z-]*)`").FindAllStringSubmatch(top, -1) {
		if _, ok := flagEnv[m[1]]; !ok {
			t.Errorf("README.md's Query service names -%s, which querysvc -h does not list", m[1])
		}
	}
}
