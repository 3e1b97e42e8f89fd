package setup_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/activitylog/activitylog/dashboards"
	"github.com/activitylog/activitylog/setup"
)

// fakeKibana is a FAKE of Kibana's saved-objects import API: no Kibana runs
// on this machine (there is no Docker engine and no Kibana package to
// install), so the import is tested against this fake. It checks the request
// the way Kibana does (method, path, overwrite flag, the kbn-xsrf header,
// basic auth or an API key, a multipart "file" part holding NDJSON whose references
// resolve) and answers in Kibana's response format, remembering what it
// stored so a second import reports overwrites.
type fakeKibana struct {
	t              *testing.T
	user, password string
	// apiKey, when set, is the only credential accepted, as an
	// "Authorization: ApiKey" header.
	apiKey   string
	wantPath string

	mu       sync.Mutex
	stored   map[[2]string]bool
	requests int
}

func (k *fakeKibana) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.requests++
	fail := func(status int, msg string) {
		k.t.Errorf("fake Kibana: %s", msg)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"statusCode": status, "error": http.StatusText(status), "message": msg})
	}
	if r.Method != http.MethodPost || r.URL.Path != k.wantPath {
		fail(http.StatusNotFound, "got "+r.Method+" "+r.URL.Path+", want POST "+k.wantPath)
		return
	}
	if r.URL.Query().Get("overwrite") != "true" {
		fail(http.StatusBadRequest, "got query "+r.URL.RawQuery+", want overwrite=true")
		return
	}
	if r.Header.Get("kbn-xsrf") == "" {
		fail(http.StatusBadRequest, "request is missing the kbn-xsrf header")
		return
	}
	if k.apiKey != "" {
		if got := r.Header.Get("Authorization"); got != "ApiKey "+k.apiKey {
			scheme, _, _ := strings.Cut(got, " ")
			fail(http.StatusUnauthorized, "got Authorization scheme "+strconv.Quote(scheme)+", want ApiKey with the key")
			return
		}
	} else if u, p, ok := r.BasicAuth(); !ok || u != k.user || p != k.password {
		fail(http.StatusUnauthorized, "got basic auth "+u+", want "+k.user)
		return
	}
	file, header, err := r.FormFile("file")
	if err != nil {
		fail(http.StatusBadRequest, "no multipart file part: "+err.Error())
		return
	}
	defer file.Close()
	if !strings.HasSuffix(header.Filename, ".ndjson") {
		fail(http.StatusUnsupportedMediaType, "got file name "+header.Filename+", want *.ndjson")
		return
	}
	body, err := io.ReadAll(file)
	if err != nil {
		fail(http.StatusBadRequest, err.Error())
		return
	}
	objs, err := dashboards.Parse(body)
	if err != nil {
		fail(http.StatusBadRequest, err.Error())
		return
	}
	inImport := map[[2]string]bool{}
	for _, o := range objs {
		inImport[[2]string{o.Type, o.ID}] = true
	}
	type result struct {
		Type      string `json:"type"`
		ID        string `json:"id"`
		Overwrite bool   `json:"overwrite,omitempty"`
	}
	var results []result
	var importErrors []any
	for _, o := range objs {
		var missing []any
		for _, ref := range o.References {
			key := [2]string{ref.Type, ref.ID}
			if !inImport[key] && !k.stored[key] {
				missing = append(missing, map[string]string{"type": ref.Type, "id": ref.ID})
			}
		}
		if len(missing) > 0 {
			importErrors = append(importErrors, map[string]any{
				"type": o.Type, "id": o.ID, "error": map[string]any{"type": "missing_references", "references": missing},
			})
			continue
		}
		key := [2]string{o.Type, o.ID}
		results = append(results, result{o.Type, o.ID, k.stored[key]})
	}
	if len(importErrors) == 0 {
		for _, r := range results {
			k.stored[[2]string{r.Type, r.ID}] = true
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"success": len(importErrors) == 0, "successCount": len(results), "successResults": results, "errors": importErrors,
	})
}

func TestImportDashboards(t *testing.T) {
	for _, space := range []string{"", "security"} {
		t.Run("space="+space, func(t *testing.T) {
			want := "/api/saved_objects/_import"
			if space != "" {
				want = "/s/" + space + want
			}
			kb := &fakeKibana{t: t, user: "elastic", password: "kibana-secret-1", wantPath: want, stored: map[[2]string]bool{}}
			srv := httptest.NewServer(kb)
			defer srv.Close()
			cfg := setup.KibanaConfig{URL: srv.URL + "/", Username: "elastic", Password: "kibana-secret-1", Space: space}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()

			objs, err := dashboards.Objects()
			if err != nil {
				t.Fatal(err)
			}
			for run, wantAction := range []setup.Action{setup.Created, setup.Updated} {
				changes, err := setup.ImportDashboards(ctx, cfg)
				if err != nil {
					t.Fatalf("import %d: %v", run+1, err)
				}
				if len(changes) != len(objs) {
					t.Fatalf("import %d: got %d changes, want %d (one per saved object)", run+1, len(changes), len(objs))
				}
				for _, c := range changes {
					if c.Action != wantAction {
						t.Errorf("import %d: %s %s: got %s, want %s", run+1, c.Kind, c.Name, c.Action, wantAction)
					}
				}
			}
			if kb.requests != 2 {
				t.Fatalf("got %d requests, want 2", kb.requests)
			}
		})
	}
}

func TestImportDashboardsErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	respond := func(status int, body string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
		}))
	}
	unauthorized := respond(http.StatusUnauthorized, `{"statusCode":401,"error":"Unauthorized","message":"[security_exception]: unable to authenticate user"}`)
	defer unauthorized.Close()
	partial := respond(http.StatusOK, `{"success":false,"successCount":3,"errors":[{"type":"lens","id":"x","error":{"type":"missing_references","references":[{"type":"index-pattern","id":"gone"}]}}]}`)
	defer partial.Close()
	garbage := respond(http.StatusOK, `<html>proxy error</html>`)
	defer garbage.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	starting := respond(http.StatusServiceUnavailable, `{"statusCode":503,"error":"Service Unavailable","message":"License is not available."}`)
	defer starting.Close()

	tests := []struct {
		name    string
		cfg     setup.KibanaConfig
		wantErr string
		wantIs  error
	}{
		{"unauthorized", setup.KibanaConfig{URL: unauthorized.URL, Username: "u", Password: "p"}, "HTTP 401", setup.ErrKibanaImport},
		{"missing references", setup.KibanaConfig{URL: partial.URL}, "missing index-pattern gone", setup.ErrKibanaImport},
		{"not json", setup.KibanaConfig{URL: garbage.URL}, "unreadable response", setup.ErrKibanaImport},
		{"unreachable", setup.KibanaConfig{URL: closed.URL, RetryInterval: 10 * time.Millisecond}, "gave up: context deadline exceeded", nil},
		{"never ready", setup.KibanaConfig{URL: starting.URL, RetryInterval: 10 * time.Millisecond}, "Kibana not ready: HTTP 503", setup.ErrKibanaImport},
		{"not a URL", setup.KibanaConfig{URL: "kibana:5601"}, "not an http(s) URL", nil},
		{"ftp", setup.KibanaConfig{URL: "ftp://kibana"}, "not an http(s) URL", nil},
		{"user without password", setup.KibanaConfig{URL: "http://kibana:5601", Username: "elastic"}, "must be set together", nil},
		{"user and API key", setup.KibanaConfig{URL: "http://kibana:5601", Username: "elastic", Password: "p", APIKey: "k"}, "not both", nil},
		// The URL is echoed to say what is wrong with it, but never a
		// password written into it.
		{"bad URL keeps its password", setup.KibanaConfig{URL: "htps://elastic:url-secret-1@kibana:5601"}, "not an http(s) URL", nil},
		{"no scheme keeps its password", setup.KibanaConfig{URL: "elastic:url-secret-1@kibana:5601"}, "not an http(s) URL", nil},
		{"unparsable URL keeps its password", setup.KibanaConfig{URL: "http://elastic:url-secret-1@kibana:56x1"}, "not an http(s) URL", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			_, err := setup.ImportDashboards(ctx, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "url-secret-1") {
				t.Fatalf("got error %v, want it without the URL's password", err)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Fatalf("got error %v, want it to wrap %v", err, tt.wantIs)
			}
		})
	}
}

// TestImportDashboardsWaitsForKibana checks the import retries while Kibana
// answers 503 (as it does until it has connected to Elasticsearch).
func TestImportDashboardsWaitsForKibana(t *testing.T) {
	kb := &fakeKibana{t: t, user: "elastic", password: "kibana-secret-1", wantPath: "/api/saved_objects/_import", stored: map[[2]string]bool{}}
	var calls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"statusCode":503,"error":"Service Unavailable","message":"Kibana server is not ready yet"}`)
			return
		}
		kb.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	changes, err := setup.ImportDashboards(ctx, setup.KibanaConfig{
		URL: srv.URL, Username: "elastic", Password: "kibana-secret-1", RetryInterval: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if calls != 3 || len(changes) == 0 {
		t.Fatalf("got %d calls and %d changes, want 3 calls (two 503s, then the import) and the changes", calls, len(changes))
	}
}

// TestImportDashboardsWithAPIKey checks that a Kibana configured with an API
// key (what KibanaConfigFromEnv takes from ES_API_KEY) receives it as
// "Authorization: ApiKey", the header Kibana's API key authentication reads.
func TestImportDashboardsWithAPIKey(t *testing.T) {
	kb := &fakeKibana{t: t, apiKey: "aWQ6a2liYW5hLWtleQ==", wantPath: "/api/saved_objects/_import", stored: map[[2]string]bool{}}
	srv := httptest.NewServer(kb)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	changes, err := setup.ImportDashboards(ctx, setup.KibanaConfig{URL: srv.URL, APIKey: kb.apiKey})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if len(changes) == 0 {
		t.Fatal("got no changes, want one per saved object")
	}
}

func TestKibanaConfigFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want setup.KibanaConfig
	}{
		{"unset", map[string]string{}, setup.KibanaConfig{}},
		{"own credentials", map[string]string{
			"KIBANA_URL": " http://kibana:5601/ ", "KIBANA_USERNAME": "k", "KIBANA_PASSWORD": "kp", "ES_USERNAME": "e", "ES_PASSWORD": "ep",
		}, setup.KibanaConfig{URL: "http://kibana:5601", Username: "k", Password: "kp"}},
		{"falls back to ES credentials", map[string]string{
			"KIBANA_URL": "https://kb", "ES_USERNAME": "e", "ES_PASSWORD": "ep", "KIBANA_SPACE": "ops",
		}, setup.KibanaConfig{URL: "https://kb", Username: "e", Password: "ep", Space: "ops"}},
		// activityctl authenticates to Elasticsearch with ES_API_KEY as
		// well as with a user; the Kibana import must follow it, not go
		// unauthenticated and fail with 401.
		{"falls back to the ES API key", map[string]string{
			"KIBANA_URL": "https://kb", "ES_API_KEY": "aWQ6a2V5",
		}, setup.KibanaConfig{URL: "https://kb", APIKey: "aWQ6a2V5"}},
		{"own credentials win over the ES API key", map[string]string{
			"KIBANA_URL": "https://kb", "KIBANA_USERNAME": "k", "KIBANA_PASSWORD": "kp", "ES_API_KEY": "aWQ6a2V5",
		}, setup.KibanaConfig{URL: "https://kb", Username: "k", Password: "kp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := setup.KibanaConfigFromEnv(func(k string) string { return tt.env[k] })
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			if got.Enabled() != (tt.want.URL != "") {
				t.Fatalf("Enabled: got %v, want %v", got.Enabled(), tt.want.URL != "")
			}
		})
	}
}
