package activityprocessor

import (
	"fmt"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/activitylog/activitylog/processor/activityprocessor/internal/redact"
)

// configKeys puts in out the configuration keys of the struct v as the
// collector spells them (nested ones as "redaction::key_action"), each with
// its value in v.
func configKeys(prefix string, v reflect.Value, out map[string]reflect.Value) {
	for i := range v.NumField() {
		f := v.Type().Field(i)
		tag := f.Tag.Get("mapstructure")
		if tag == "" || tag == "-" {
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			configKeys(prefix+tag+"::", v.Field(i), out)
			continue
		}
		out[prefix+tag] = v.Field(i)
	}
}

// readmeConfigRows returns the rows of README.md's configuration table by
// key: the cells after the key's.
func readmeConfigRows(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n## Configuration\n")
	if !ok {
		t.Fatal("README.md has no Configuration section")
	}
	if i := strings.Index(sec, "\n#"); i >= 0 {
		sec = sec[:i]
	}
	key := regexp.MustCompile("^\\| `([a-z_:]+)` \\|")
	rows := map[string][]string{}
	for _, l := range strings.Split(sec, "\n") {
		if m := key.FindStringSubmatch(l); m != nil {
			rows[m[1]] = strings.Split(strings.Trim(l[len(m[0]):], "| "), " | ")
		}
	}
	return rows
}

// TestReadmeDocumentsEveryKey: README.md's configuration table has a row for
// every key of Config and for no other, and the default it gives a scalar
// key, or the items of a list, are createDefaultConfig's.
func TestReadmeDocumentsEveryKey(t *testing.T) {
	keys := map[string]reflect.Value{}
	configKeys("", reflect.ValueOf(*createDefaultConfig()), keys)
	rows := readmeConfigRows(t)
	for _, k := range slices.Sorted(maps.Keys(rows)) {
		if _, ok := keys[k]; !ok {
			t.Errorf("README.md documents %s, which Config does not have", k)
		}
	}
	for k, v := range keys {
		row, ok := rows[k]
		if !ok {
			t.Errorf("README.md does not document %s", k)
			continue
		}
		def := row[0]
		var want []string
		switch {
		case v.Type() == reflect.TypeFor[time.Duration]():
			want = []string{"`" + strings.TrimSuffix(time.Duration(v.Int()).String(), "0s") + "`"}
		case v.Kind() == reflect.Slice:
			for i := range v.Len() {
				want = append(want, fmt.Sprint(v.Index(i).Interface()))
			}
		case v.Kind() == reflect.Map:
			continue
		case v.Kind() == reflect.String && v.String() == "":
			want = []string{"empty"}
		default:
			want = []string{"`" + fmt.Sprint(v.Interface()) + "`"}
		}
		for _, w := range want {
			if !regexp.MustCompile(`(^|[^\w.])` + regexp.QuoteMeta(w) + `($|[^\w.])`).MatchString(def) {
				t.Errorf("README.md gives %s the default %q; createDefaultConfig has %s", k, def, w)
			}
		}
	}
}

// TestReadmeDocumentsEveryDetector: README.md's value detector table has a
// row for every detector redaction::detectors takes, and for no other.
func TestReadmeDocumentsEveryDetector(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n### Value detectors\n")
	if !ok {
		t.Fatal("README.md has no Value detectors section")
	}
	if i := strings.Index(sec, "\n#"); i >= 0 {
		sec = sec[:i]
	}
	var documented, want []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|").FindAllStringSubmatch(sec, -1) {
		documented = append(documented, m[1])
	}
	for _, r := range redact.Detectors() {
		want = append(want, r.String())
	}
	slices.Sort(documented)
	slices.Sort(want)
	if !slices.Equal(documented, want) {
		t.Errorf("README.md documents the detectors %v, redaction::detectors takes %v", documented, want)
	}
}
