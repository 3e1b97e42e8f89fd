package setup_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/indexprivilege"

	"github.com/activitylog/activitylog/setup"
)

// fakeSecurityAPI is a FAKE of Elasticsearch's role, user and authenticate
// APIs. The native realm cannot store roles or users on the integ-test-zip
// node (its .security index needs the analysis-common module, which that
// distribution lacks: see the "native realm" subtest of
// TestReadOnlyRecordsOnSecuredNode), so InstallSecurity's idempotency is
// tested against this fake, which answers in Elasticsearch's formats.
type fakeSecurityAPI struct {
	mu        sync.Mutex
	roles     map[string]json.RawMessage
	users     map[string]map[string]any
	passwords map[string]string
	writes    []string
}

func (f *fakeSecurityAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	reply := func(status int, v any) {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	body, _ := io.ReadAll(r.Body)
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.URL.Path == "/_security/_authenticate":
		raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.Header.Get("Authorization"), "Basic "))
		user, pass, _ := strings.Cut(string(raw), ":")
		if p, ok := f.passwords[user]; !ok || p != pass {
			reply(http.StatusUnauthorized, map[string]any{"error": map[string]any{"type": "security_exception", "reason": "unable to authenticate user [" + user + "]"}, "status": 401})
			return
		}
		reply(http.StatusOK, map[string]any{"username": user, "roles": []string{}, "enabled": true, "metadata": map[string]any{},
			"authentication_realm": map[string]string{"name": "native1", "type": "native"}, "lookup_realm": map[string]string{"name": "native1", "type": "native"}, "authentication_type": "realm"})
	case len(parts) == 3 && parts[1] == "role":
		name := parts[2]
		if r.Method == http.MethodPut {
			_, existed := f.roles[name]
			f.roles[name] = body
			f.writes = append(f.writes, "role/"+name)
			reply(http.StatusOK, map[string]any{"role": map[string]bool{"created": !existed}})
			return
		}
		role, ok := f.roles[name]
		if !ok {
			reply(http.StatusNotFound, map[string]any{})
			return
		}
		var stored map[string]any
		_ = json.Unmarshal(role, &stored)
		// Elasticsearch answers every list, empty when the role has none,
		// and what the role was given otherwise.
		for _, key := range []string{"cluster", "applications", "run_as"} {
			if _, ok := stored[key]; !ok {
				stored[key] = []any{}
			}
		}
		stored["transient_metadata"] = map[string]any{"enabled": true}
		reply(http.StatusOK, map[string]any{name: stored})
	case len(parts) == 4 && parts[1] == "user" && parts[3] == "_password":
		var req struct{ Password string }
		_ = json.Unmarshal(body, &req)
		f.passwords[parts[2]] = req.Password
		f.writes = append(f.writes, "password/"+parts[2])
		reply(http.StatusOK, map[string]any{})
	case len(parts) == 3 && parts[1] == "user":
		name := parts[2]
		if r.Method == http.MethodPut {
			var req map[string]any
			_ = json.Unmarshal(body, &req)
			_, existed := f.users[name]
			f.passwords[name], _ = req["password"].(string)
			delete(req, "password")
			req["username"] = name
			f.users[name] = req
			f.writes = append(f.writes, "user/"+name)
			reply(http.StatusOK, map[string]bool{"created": !existed})
			return
		}
		u, ok := f.users[name]
		if !ok {
			reply(http.StatusNotFound, map[string]any{})
			return
		}
		reply(http.StatusOK, map[string]any{name: u})
	default:
		reply(http.StatusBadRequest, map[string]any{"error": "unexpected " + r.Method + " " + r.URL.Path, "status": 400})
	}
}

// newSecurityFake returns a fake security API whose kibana_system user
// exists, a client of it, and passwords for a first run.
func newSecurityFake(t *testing.T) (*fakeSecurityAPI, *elasticsearch.TypedClient, setup.SecurityConfig) {
	t.Helper()
	fake := &fakeSecurityAPI{roles: map[string]json.RawMessage{}, users: map[string]map[string]any{}, passwords: map[string]string{
		setup.KibanaSystemUser: "initial-kibana-password",
	}}
	cfg := setup.SecurityConfig{
		WriterPassword: "writer-password-1", ReaderPassword: "reader-password-1", KibanaSystemPassword: "kibana-password-1",
	}
	return fake, fakeNode(t, fake), cfg
}

func TestInstallSecurityIsIdempotent(t *testing.T) {
	fake, es, cfg := newSecurityFake(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	summary := func(changes []setup.Change) string {
		var parts []string
		for _, c := range changes {
			parts = append(parts, fmt.Sprintf("%s %s %s", c.Action, c.Kind, c.Name))
		}
		return strings.Join(parts, "; ")
	}
	steps := []struct {
		name string
		cfg  setup.SecurityConfig
		want string
	}{
		{"first run", cfg,
			"created role activitylog_analyst; created role activitylog_reader; created role activitylog_writer; created user activitylog_collector; created user activitylog_querysvc; updated user password kibana_system"},
		{"second run", cfg,
			"unchanged role activitylog_analyst; unchanged role activitylog_reader; unchanged role activitylog_writer; unchanged user activitylog_collector; unchanged user activitylog_querysvc; unchanged user password kibana_system"},
		{"writer password rotated", setup.SecurityConfig{
			WriterPassword: "writer-password-2", ReaderPassword: cfg.ReaderPassword, KibanaSystemPassword: cfg.KibanaSystemPassword,
		}, "unchanged role activitylog_analyst; unchanged role activitylog_reader; unchanged role activitylog_writer; updated user activitylog_collector; unchanged user activitylog_querysvc; unchanged user password kibana_system"},
		{"analyst password given", setup.SecurityConfig{
			WriterPassword: "writer-password-2", ReaderPassword: cfg.ReaderPassword, KibanaSystemPassword: cfg.KibanaSystemPassword,
			AnalystPassword: "analyst-password-1",
		}, "unchanged role activitylog_analyst; unchanged role activitylog_reader; unchanged role activitylog_writer; unchanged user activitylog_collector; unchanged user activitylog_querysvc; created user activitylog_analyst; unchanged user password kibana_system"},
	}
	for _, s := range steps {
		changes, err := setup.InstallSecurity(ctx, es, s.cfg)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := summary(changes); got != s.want {
			t.Errorf("%s:\n got  %s\n want %s", s.name, got, s.want)
		}
	}
	if fake.passwords[setup.WriterUser] != "writer-password-2" {
		t.Errorf("writer password not rotated")
	}
	var stored struct {
		Roles []string `json:"roles"`
	}
	b, _ := json.Marshal(fake.users[setup.WriterUser])
	_ = json.Unmarshal(b, &stored)
	if strings.Join(stored.Roles, ",") != setup.WriterRole {
		t.Errorf("writer user: got roles %v, want [%s]", stored.Roles, setup.WriterRole)
	}
	if _, err := setup.InstallSecurity(ctx, es, setup.SecurityConfig{WriterPassword: "short"}); err == nil {
		t.Error("got no error for a short password, want one before any request")
	}
}

// TestInstallSecurityInstallsRolesAsDescribed proves that what
// InstallSecurity stores is the whole of each descriptor of Roles (the
// analyst's Kibana privilege included), and that a second run restores a
// role whose grants differ from Roles while its metadata still carries the
// checksum: a role installed by an earlier setup that left out the Kibana
// privilege, or given more privileges by hand.
func TestInstallSecurityInstallsRolesAsDescribed(t *testing.T) {
	cfg := setup.SecurityConfig{WriterPassword: "writer-password-1", ReaderPassword: "reader-password-1"}
	roles := setup.Roles()
	// canonical is a role as the fake stores it, re-encoded so that key
	// order and empty lists do not matter.
	canonical := func(raw json.RawMessage) string {
		var r types.RoleDescriptor
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("decode role %s: %v", raw, err)
		}
		b, _ := json.Marshal(r)
		return string(b)
	}
	tampered := func(name string, change func(*types.RoleDescriptor)) map[string]json.RawMessage {
		r := roles[name]
		r.Indices = slices.Clone(r.Indices)
		r.Applications = slices.Clone(r.Applications)
		change(&r)
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return map[string]json.RawMessage{name: b}
	}
	tests := []struct {
		name        string
		installed   map[string]json.RawMessage
		wantChanged string
	}{
		{"new cluster", map[string]json.RawMessage{}, ""},
		{"analyst role without its Kibana privilege", tampered(setup.AnalystRole, func(r *types.RoleDescriptor) {
			r.Applications = nil
		}), setup.AnalystRole},
		{"writer role given delete by hand", tampered(setup.WriterRole, func(r *types.RoleDescriptor) {
			r.Indices[0].Privileges = append(slices.Clone(r.Indices[0].Privileges), indexprivilege.Delete)
		}), setup.WriterRole},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeSecurityAPI{roles: tt.installed, users: map[string]map[string]any{}, passwords: map[string]string{}}
			es := fakeNode(t, fake)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			changes, err := setup.InstallSecurity(ctx, es, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range changes {
				if c.Kind == "role" && c.Name == tt.wantChanged && c.Action != setup.Updated {
					t.Errorf("role %s: got %s, want %s", c.Name, c.Action, setup.Updated)
				}
			}
			for name, want := range roles {
				wantJSON, _ := json.Marshal(want)
				if got := canonical(fake.roles[name]); got != canonical(wantJSON) {
					t.Errorf("role %s stored:\n got  %s\n want %s", name, got, canonical(wantJSON))
				}
			}
		})
	}
}

// TestInstallSecurityLeavesDisabledUserDisabled proves that setup does not
// undo an administrator who disabled one of its users (after a leaked
// password, say): a later run, even one that rotates that user's password,
// leaves the user disabled and as it was, and says so.
func TestInstallSecurityLeavesDisabledUserDisabled(t *testing.T) {
	fake, es, cfg := newSecurityFake(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := setup.InstallSecurity(ctx, es, cfg); err != nil {
		t.Fatal(err)
	}
	fake.mu.Lock()
	fake.users[setup.WriterUser]["enabled"] = false
	writes := len(fake.writes)
	fake.mu.Unlock()

	cfg.WriterPassword = "writer-password-2"
	changes, err := setup.InstallSecurity(ctx, es, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var got setup.Action
	for _, c := range changes {
		if c.Kind == "user" && c.Name == setup.WriterUser {
			got = c.Action
		}
	}
	if got != setup.LeftDisabled {
		t.Errorf("got %q for the disabled writer user, want %q", got, setup.LeftDisabled)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if enabled, _ := fake.users[setup.WriterUser]["enabled"].(bool); enabled {
		t.Error("the disabled writer user was enabled again")
	}
	if slices.Contains(fake.writes[writes:], "user/"+setup.WriterUser) {
		t.Errorf("got writes %v, want none to the disabled user", fake.writes[writes:])
	}
}
