package esclient_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/activitylog/activitylog/internal/esclient"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		compress bool
		err      string
	}{
		{name: "defaults"},
		{name: "compression on", env: map[string]string{"ES_COMPRESSION": "true"}, compress: true},
		{name: "compression off", env: map[string]string{"ES_COMPRESSION": "false"}},
		{name: "compression not a boolean", env: map[string]string{"ES_COMPRESSION": "gzip"}, err: `ES_COMPRESSION "gzip" is not true or false`},
		{name: "both credentials", env: map[string]string{"ES_API_KEY": "k", "ES_USERNAME": "u", "ES_PASSWORD": "p"}, err: "not both"},
		{name: "bad url", env: map[string]string{"ES_URL": "localhost:9200"}, err: "is not an http(s) URL"},
		// The message goes to logs: a password in the URL is masked.
		{name: "bad url with a password", env: map[string]string{"ES_URL": "ftp://elastic:s3cret@es:9200"}, err: `ES_URL "ftp://elastic:xxxxx@es:9200" is not`},
		{name: "unparsable url with a password", env: map[string]string{"ES_URL": "http://elastic:s3cret%zz@es:9200/x"}, err: `ES_URL "http://xxxxx@es:9200/x" is not`},
		// A generated password may hold '/', '?' or '#', which end the host
		// part for the URL parser; without a scheme, the user name reads as one.
		{name: "url with a password holding a slash", env: map[string]string{"ES_URL": "http://elastic:s3/cret@es:9200"}, err: `ES_URL "http://xxxxx@es:9200" is not`},
		{name: "url with a password holding a hash", env: map[string]string{"ES_URL": "https://elastic:s3#cret@es:9200"}, err: `ES_URL "https://xxxxx@es:9200" is not`},
		{name: "url without a scheme with a password", env: map[string]string{"ES_URL": "elastic:s3cret@es:9200"}, err: `ES_URL "xxxxx@es:9200" is not`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := esclient.FromEnv(env(tt.env))
			if c.Compression != tt.compress {
				t.Errorf("got Compression %v, want %v", c.Compression, tt.compress)
			}
			err := c.Validate()
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("got error %v, want none", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("got error %v, want one containing %q", err, tt.err)
			}
		})
	}
}

// TestCompression checks what the client asks of the node on a real
// socket: no compressed responses unless Compression is set.
func TestCompression(t *testing.T) {
	for _, compress := range []bool{false, true} {
		got := make(chan string, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got <- r.Header.Get("Accept-Encoding")
			w.Header().Set("X-Elastic-Product", "Elasticsearch")
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"count":0}`))
		}))
		c := esclient.Config{URLs: []string{srv.URL}, Compression: compress}
		if tr := c.HTTPTransport(); tr.DisableCompression == compress {
			t.Errorf("compression %v: got DisableCompression %v", compress, tr.DisableCompression)
		}
		es, err := c.Typed()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := es.Count().Do(context.Background()); err != nil {
			t.Fatalf("compression %v: %v", compress, err)
		}
		if ae := <-got; strings.Contains(ae, "gzip") != compress {
			t.Errorf("compression %v: got Accept-Encoding %q", compress, ae)
		}
		srv.Close()
	}
}
