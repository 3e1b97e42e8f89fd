package esclient

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

type fallbackRecorder struct{ got []string }

func (f *fallbackRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	f.got = append(f.got, req.URL.String())
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("{}")), Request: req}, nil
}

// A node behind a proxy (HTTP_PROXY, HTTPS_PROXY) is reached through Go's
// transport, which speaks to proxies; the environment is read once per
// process, so the proxy function is replaced here.
func TestInlineTransportProxyFallsBack(t *testing.T) {
	fb := &fallbackRecorder{}
	proxy, _ := url.Parse("http://proxy.invalid:3128")
	rt := &inlineTransport{fallback: fb, proxy: func(r *http.Request) (*url.URL, error) {
		if r.URL.Hostname() == "behind.invalid" {
			return proxy, nil
		}
		return nil, nil
	}}
	for range 2 {
		req, _ := http.NewRequest(http.MethodGet, "http://behind.invalid:9200/_search", nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if len(fb.got) != 2 {
		t.Fatalf("fallback carried %d requests, want 2", len(fb.got))
	}
	if hc, _ := rt.client(&http.Request{URL: &url.URL{Scheme: "http", Host: "direct.invalid:9200"}}); hc == nil {
		t.Error("a node without a proxy has no inline client")
	}
}
