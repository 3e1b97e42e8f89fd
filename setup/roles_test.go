package setup_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8/typedapi/types"

	"github.com/activitylog/activitylog/schema"
	"github.com/activitylog/activitylog/setup"
)

func TestSecurityConfigValidate(t *testing.T) {
	long := func(s string) string { return s + strings.Repeat("x", setup.MinPasswordLength) }
	tests := []struct {
		name    string
		cfg     setup.SecurityConfig
		wantErr string
	}{
		{"valid", setup.SecurityConfig{WriterPassword: long("w"), ReaderPassword: long("r")}, ""},
		{"valid with kibana_system", setup.SecurityConfig{WriterPassword: long("w"), ReaderPassword: long("r"), KibanaSystemPassword: long("k")}, ""},
		{"no writer password", setup.SecurityConfig{ReaderPassword: long("r")}, setup.EnvWriterPassword},
		{"short reader password", setup.SecurityConfig{WriterPassword: long("w"), ReaderPassword: "short"}, setup.EnvReaderPassword},
		{"short kibana_system password", setup.SecurityConfig{WriterPassword: long("w"), ReaderPassword: long("r"), KibanaSystemPassword: "short"}, setup.EnvKibanaSystemPassword},
		{"same password twice", setup.SecurityConfig{WriterPassword: long("s"), ReaderPassword: long("s")}, "must differ"},
		{"valid with analyst", setup.SecurityConfig{WriterPassword: long("w"), ReaderPassword: long("r"), AnalystPassword: long("a")}, ""},
		{"short analyst password", setup.SecurityConfig{WriterPassword: long("w"), ReaderPassword: long("r"), AnalystPassword: "short"}, setup.EnvAnalystPassword},
		{"analyst as reader", setup.SecurityConfig{WriterPassword: long("w"), ReaderPassword: long("r"), AnalystPassword: long("r")}, "must differ"},
		// kibana_system may change the lifecycle of every logs-* data stream:
		// the collector's password must not also unlock it.
		{"kibana_system as writer", setup.SecurityConfig{WriterPassword: long("w"), ReaderPassword: long("r"), KibanaSystemPassword: long("w")}, "must differ"},
		// A stack started from .env.example unchanged would run with
		// passwords anyone can read.
		{"placeholder", setup.SecurityConfig{WriterPassword: "change-me-writer", ReaderPassword: long("r")}, "placeholder"},
		{"placeholder in another case", setup.SecurityConfig{WriterPassword: long("w"), ReaderPassword: "Change-Me-Reader-1"}, "placeholder"},
		{"kibana_system placeholder", setup.SecurityConfig{WriterPassword: long("w"), ReaderPassword: long("r"), KibanaSystemPassword: "change-me-kibana-system"}, setup.EnvKibanaSystemPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				return
			}
			if !errors.Is(err, setup.ErrWeakPassword) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got error %v, want ErrWeakPassword naming %q", err, tt.wantErr)
			}
		})
	}
}

// TestRolesGrantNoChange pins the read-only guarantee in the role
// definitions themselves: the only index privileges anywhere are create_doc,
// auto_configure, read and view_index_metadata, on the activity pattern
// only, with no cluster privileges and no run_as; the only application
// privilege is the analyst's Kibana base privilege "read".
func TestRolesGrantNoChange(t *testing.T) {
	allowed := map[string]map[string]bool{
		setup.WriterRole:  {"create_doc": true, "auto_configure": true},
		setup.ReaderRole:  {"read": true, "view_index_metadata": true},
		setup.AnalystRole: {"read": true, "view_index_metadata": true},
	}
	roles := setup.Roles()
	if len(roles) != len(allowed) {
		t.Fatalf("got %d roles, want %d", len(roles), len(allowed))
	}
	for name, r := range roles {
		if len(r.Cluster) > 0 || len(r.RunAs) > 0 || len(r.RemoteIndices) > 0 {
			t.Errorf("%s: got cluster %v run_as %v remote %v, want none", name, r.Cluster, r.RunAs, r.RemoteIndices)
		}
		for _, a := range r.Applications {
			if name != setup.AnalystRole || a.Application != setup.KibanaApplication || fmt.Sprint(a.Privileges) != "[read]" {
				t.Errorf("%s: got application privileges %+v, want only the analyst's Kibana read", name, a)
			}
		}
		var got []string
		for _, ip := range r.Indices {
			if len(ip.Names) != 1 || ip.Names[0] != schema.IndexPattern {
				t.Errorf("%s: got index names %v, want [%s]", name, ip.Names, schema.IndexPattern)
			}
			if ip.AllowRestrictedIndices != nil && *ip.AllowRestrictedIndices {
				t.Errorf("%s: allows restricted indices", name)
			}
			for _, p := range ip.Privileges {
				got = append(got, p.Name)
				if !allowed[name][p.Name] {
					t.Errorf("%s: got privilege %s, want only %v", name, p.Name, allowed[name])
				}
			}
		}
		if len(got) != len(allowed[name]) {
			t.Errorf("%s: got privileges %v, want %v", name, got, allowed[name])
		}
	}
}

// TestRolesFile checks the file-realm form: one "name: {json}" line per
// role, each holding exactly the descriptor Roles returns.
func TestRolesFile(t *testing.T) {
	b, err := setup.RolesFile()
	if err != nil {
		t.Fatal(err)
	}
	roles := setup.Roles()
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, body, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("line %q: want name: {json}", line)
		}
		var got types.RoleDescriptor
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatalf("role %s: %v", name, err)
		}
		wantJSON, _ := json.Marshal(roles[name])
		gotJSON, _ := json.Marshal(got)
		if string(gotJSON) != string(wantJSON) {
			t.Errorf("role %s: got %s, want %s", name, gotJSON, wantJSON)
		}
		seen[name] = true
	}
	if len(seen) != len(roles) {
		t.Errorf("got roles %v in the file, want all of %d", seen, len(roles))
	}
}
