package main

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/activitylog/activitylog/dashboards"
	"github.com/activitylog/activitylog/internal/estest"
)

// TestSetupImportsDashboardsWhenKibanaURLIsSet runs `activityctl setup`
// against the real Elasticsearch node with KIBANA_URL pointing at a FAKE
// Kibana (no Kibana runs on this machine) that checks it receives the
// embedded dashboards through the saved-objects import API.
func TestSetupImportsDashboardsWhenKibanaURLIsSet(t *testing.T) {
	want, err := dashboards.NDJSON()
	if err != nil {
		t.Fatal(err)
	}
	var imports atomic.Int32
	kibana := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/saved_objects/_import" || r.URL.Query().Get("overwrite") != "true" || r.Header.Get("kbn-xsrf") == "" {
			t.Errorf("fake Kibana: got %s %s (kbn-xsrf %q), want POST /api/saved_objects/_import?overwrite=true with kbn-xsrf", r.Method, r.URL, r.Header.Get("kbn-xsrf"))
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil {
			t.Errorf("fake Kibana: content type: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		part, err := multipart.NewReader(r.Body, params["boundary"]).NextPart()
		if err != nil {
			t.Errorf("fake Kibana: multipart: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		got, _ := io.ReadAll(part)
		if part.FormName() != "file" || !bytes.Equal(got, want) {
			t.Errorf("fake Kibana: got part %q with %d bytes, want file with the %d embedded bytes", part.FormName(), len(got), len(want))
		}
		imports.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"success":true,"successCount":1,"successResults":[{"type":"dashboard","id":"activitylog-overview","overwrite":true}]}`)
	}))
	defer kibana.Close()

	env := map[string]string{"ES_URL": estest.URL(t), "KIBANA_URL": kibana.URL}
	var out, stderr bytes.Buffer
	if err := run(context.Background(), []string{"setup"}, func(k string) string { return env[k] }, &out, &stderr); err != nil {
		t.Fatalf("setup: %v\n%s", err, stderr.String())
	}
	if imports.Load() != 1 {
		t.Fatalf("got %d imports, want 1", imports.Load())
	}
	if !strings.Contains(out.String(), "kibana dashboard activitylog-overview") {
		t.Fatalf("setup output does not report the import:\n%s", out.String())
	}

	// Without KIBANA_URL nothing is sent to Kibana.
	delete(env, "KIBANA_URL")
	out.Reset()
	if err := run(context.Background(), []string{"setup"}, func(k string) string { return env[k] }, &out, &stderr); err != nil {
		t.Fatalf("setup without Kibana: %v", err)
	}
	if imports.Load() != 1 || strings.Contains(out.String(), "kibana") {
		t.Fatalf("got %d imports and output %q without KIBANA_URL, want no import", imports.Load(), out.String())
	}
}
