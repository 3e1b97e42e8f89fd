package esclient_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/activitylog/activitylog/internal/esclient"
)

// seen is what a server received of one request.
type seen struct {
	method, uri, host string
	header            http.Header
	body              string
}

// recordingServer answers every request with status 201, two headers (one
// repeated) and a body that depends on the path, and records what it got.
func recordingServer(t *testing.T) (*httptest.Server, func() []seen) {
	t.Helper()
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h := r.Header.Clone()
		// The two clients differ here by design: Go's adds its own
		// User-Agent when the request has none, and gzip unless told not.
		h.Del("User-Agent")
		mu.Lock()
		got = append(got, seen{r.Method, r.RequestURI, r.Host, h, string(b)})
		mu.Unlock()
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Add("Warning", "one")
		w.Header().Add("Warning", "two")
		// Deprecation warnings can make the headers long.
		for i := range 40 {
			w.Header().Add("Warning", `299 Elasticsearch-8.19.21 "deprecated `+strconv.Itoa(i)+strings.Repeat(".", 500)+`"`)
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/_untyped" {
			// An answer without a Content-Type (nil stops Go's server
			// from sniffing one).
			w.Header()["Content-Type"] = nil
		}
		w.WriteHeader(http.StatusCreated)
		if r.Method != http.MethodHead {
			_, _ = io.WriteString(w, `{"path":"`+r.URL.EscapedPath()+`","big":"`+strings.Repeat("x", 1<<20)+`"}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []seen {
		mu.Lock()
		defer mu.Unlock()
		return append([]seen(nil), got...)
	}
}

type answer struct {
	status int
	header http.Header
	body   string
	length int64
}

func send(t *testing.T, rt http.RoundTripper, method, u, body string) answer {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/vnd.elasticsearch+json; compatible-with=8")
	req.Header.Set("X-Opaque-Id", "q-1")
	req.Header.Add("X-Multi", "a")
	req.Header.Add("X-Multi", "b")
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	h := resp.Header.Clone()
	h.Del("Date")
	return answer{resp.StatusCode, h, string(b), resp.ContentLength}
}

// The inline transport puts on the wire what Go's transport does and hands
// back the same answer: method, escaped path, query, headers (repeated ones
// too, none added: not the Content-Type an answer lacks, nor the chunked
// Transfer-Encoding of one already read whole), a body, HEAD without a body,
// a 1 MB answer. Credentials in a URL are
// the Elasticsearch client's to send, as a header; neither transport sends
// them.
func TestInlineTransportMatchesHTTPTransport(t *testing.T) {
	srv, got := recordingServer(t)
	cfg := esclient.Config{URLs: []string{srv.URL}}
	inline, std := cfg.InlineTransport(), cfg.HTTPTransport()
	if _, ok := inline.(*http.Transport); ok {
		t.Fatal("InlineTransport returned Go's transport for a plain configuration")
	}
	defer std.CloseIdleConnections()
	withUser := strings.Replace(srv.URL, "http://", "http://elastic:s%20cret@", 1)
	cases := []struct{ method, url, body string }{
		{http.MethodPost, srv.URL + "/logs-activity.otel-*/_search?typed_keys=true&q=a%2Bb%20c", `{"size":0}`},
		{http.MethodGet, srv.URL + "/logs/_doc/a%2Fb%3Fc?pretty", ""},
		{http.MethodDelete, srv.URL + "/_pit", `{"id":"abc=="}`},
		{http.MethodHead, srv.URL + "/", ""},
		{http.MethodGet, withUser + "/_cluster/health", ""},
		{http.MethodGet, srv.URL + "/_untyped", ""},
	}
	for _, c := range cases {
		a := send(t, inline, c.method, c.url, c.body)
		b := send(t, std, c.method, c.url, c.body)
		// Go's transport gives -1 for a chunked answer, read as it
		// streams; the inline one has read it whole.
		if b.length < 0 && c.method != http.MethodHead {
			b.length = int64(len(b.body))
		}
		if a.status != b.status || a.body != b.body || a.length != b.length {
			t.Errorf("%s %s: inline answered %d, %d bytes (length %d); Go's transport %d, %d bytes (length %d)",
				c.method, c.url, a.status, len(a.body), a.length, b.status, len(b.body), b.length)
		}
		for k, v := range a.header {
			if !equal(v, b.header[k]) {
				t.Errorf("%s %s: header %s inline %q, Go's transport %q", c.method, c.url, k, v, b.header[k])
			}
		}
		for k, v := range b.header {
			if _, ok := a.header[k]; !ok {
				t.Errorf("%s %s: header %s inline none, Go's transport %q", c.method, c.url, k, v)
			}
		}
	}
	reqs := got()
	if len(reqs) != 2*len(cases) {
		t.Fatalf("server saw %d requests, want %d", len(reqs), 2*len(cases))
	}
	for i := 0; i < len(reqs); i += 2 {
		a, b := reqs[i], reqs[i+1]
		if a.method != b.method || a.uri != b.uri || a.host != b.host || a.body != b.body {
			t.Errorf("request %d: inline sent %s %s (host %s) %q; Go's transport %s %s (host %s) %q",
				i/2, a.method, a.uri, a.host, a.body, b.method, b.uri, b.host, b.body)
		}
		for k, v := range b.header {
			if !equal(a.header[k], v) {
				t.Errorf("request %d: header %s inline %q, Go's transport %q", i/2, k, a.header[k], v)
			}
		}
		for k := range a.header {
			if _, ok := b.header[k]; !ok {
				t.Errorf("request %d: inline sent header %s=%q, Go's transport none", i/2, k, a.header[k])
			}
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A deadline bounds the exchange and is reported as the context's, as Go's
// transport does (the store maps it to a timeout); a cancelled request is not
// sent.
func TestInlineTransportDeadlineAndCancel(t *testing.T) {
	release := make(chan struct{})
	var calls sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		defer calls.Done()
		<-release
	}))
	defer srv.Close()
	defer close(release)
	rt := esclient.Config{URLs: []string{srv.URL}}.InlineTransport()

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/_search", strings.NewReader("{}"))
	start := time.Now()
	_, err := rt.RoundTrip(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("error %v is not a net.Error timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("returned after %s with a 100ms deadline", d)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	body := &closeCounter{Reader: strings.NewReader("{}")}
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/_search", body)
	if _, err := rt.RoundTrip(req); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled request: got %v, want context.Canceled", err)
	}
	if body.closed != 1 {
		t.Errorf("request body closed %d times, want 1", body.closed)
	}
}

type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

// Elasticsearch may close a pooled connection (or restart) between two
// requests; the next request goes out on a new connection instead of
// failing. The server here answers one request per connection and closes
// it without saying so, the worst case.
func TestInlineTransportRetriesClosedConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				b, _ := io.ReadAll(req.Body)
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "+
					strconv.Itoa(len(b))+"\r\n\r\n"+string(b))
			}()
		}
	}()
	u := "http://" + ln.Addr().String()
	rt := esclient.Config{URLs: []string{u}}.InlineTransport()
	for i := range 5 {
		want := `{"n":` + strconv.Itoa(i) + `}`
		a := send(t, rt, http.MethodPost, u+"/_search", want)
		if a.status != 200 || a.body != want {
			t.Fatalf("request %d: got %d %q, want 200 %q", i, a.status, a.body, want)
		}
		time.Sleep(20 * time.Millisecond) // let the server's close arrive
	}
	ln.Close()
	conns.Wait()
}

// A node that restarts, or a load balancer whose idle timeout is shorter than
// the pool's, closes every pooled connection at once; the next request still
// succeeds, as it does with Go's transport, whose reader goroutines drop a
// connection as soon as it closes. Ten connections are more than the attempts
// the transport and the Elasticsearch client make between them.
func TestInlineTransportAllPooledConnectionsClosed(t *testing.T) {
	const pooled = 10
	var burst sync.WaitGroup
	burst.Add(pooled)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Header.Get("X-Burst") != "" {
			// Hold each request until all have arrived, so each has its
			// own connection.
			burst.Done()
			burst.Wait()
		}
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"count":1}`)
	}))
	defer srv.Close()
	rt := esclient.Config{URLs: []string{srv.URL}}.InlineTransport()
	var wg sync.WaitGroup
	for range pooled {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/_count", strings.NewReader("{}"))
			req.Header.Set("X-Burst", "1")
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	wg.Wait()
	srv.CloseClientConnections()
	time.Sleep(50 * time.Millisecond) // let the closes arrive

	es, err := esclient.Config{URLs: []string{srv.URL}, Transport: rt}.Reader()
	if err != nil {
		t.Fatal(err)
	}
	got, err := es.Count().Do(context.Background())
	if err != nil {
		t.Fatalf("after the node closed %d pooled connections: %v", pooled, err)
	}
	if got.Count != 1 {
		t.Errorf("got count %d, want 1", got.Count)
	}
}

// A node that is down gives a network error that is not a timeout, as
// with Go's transport (the Elasticsearch client tries another node then).
func TestInlineTransportNodeDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String()
	ln.Close()
	rt := esclient.Config{URLs: []string{u}}.InlineTransport()
	req, _ := http.NewRequest(http.MethodGet, u+"/", nil)
	_, err = rt.RoundTrip(req)
	var ne net.Error
	if !errors.As(err, &ne) || ne.Timeout() {
		t.Fatalf("got %v, want a net.Error that is not a timeout", err)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		t.Errorf("a refused connection reads as a context error: %v", err)
	}
}

// The body of an answer reads nothing once closed (its memory is reused),
// and closing it twice is harmless.
func TestInlineTransportBodyClose(t *testing.T) {
	srv, _ := recordingServer(t)
	rt := esclient.Config{URLs: []string{srv.URL}}.InlineTransport()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 8)
	if n, err := resp.Body.Read(p); n != 8 || err != nil || string(p) != `{"path":` {
		t.Fatalf("first read: %d %v %q", n, err, p)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := resp.Body.Read(p); n != 0 || err == nil {
		t.Errorf("read after close: %d bytes, error %v", n, err)
	}
}

// Compressed answers keep Go's transport, which decompresses them.
func TestInlineTransportCompression(t *testing.T) {
	rt := esclient.Config{Compression: true}.InlineTransport()
	tr, ok := rt.(*http.Transport)
	if !ok || tr.DisableCompression {
		t.Fatalf("with Compression: got %T, want Go's transport with compression", rt)
	}
}

// BenchmarkInlineTransport sends a small search to a local server over real
// sockets through the inline transport and, alternately, through Go's
// transport with the same settings, in the same run; x-go is the ratio of
// the two totals (below 1: the inline transport is faster).
func BenchmarkInlineTransport(b *testing.B) {
	answer := []byte(`{"took":1,"timed_out":false,"hits":{"total":{"value":0,"relation":"eq"},"hits":[]},` +
		`"aggregations":{"events":{"buckets":[{"key":"login","doc_count":12}]}}}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		_, _ = w.Write(answer)
	}))
	defer srv.Close()
	cfg := esclient.Config{URLs: []string{srv.URL}}
	inline, std := cfg.InlineTransport(), cfg.HTTPTransport()
	defer std.CloseIdleConnections()
	body := `{"size":0,"aggs":{"events":{"terms":{"field":"event_name"}}}}`
	do := func(rt http.RoundTripper) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/logs-activity.otel-*/_search", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := rt.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
	do(inline)
	do(std)
	b.ReportAllocs()
	var tInline, tStd time.Duration
	for b.Loop() {
		t0 := time.Now()
		do(inline)
		t1 := time.Now()
		do(std)
		tInline += t1.Sub(t0)
		tStd += time.Since(t1)
	}
	b.ReportMetric(float64(tInline.Nanoseconds())/float64(b.N)/1e3, "inline-us")
	b.ReportMetric(float64(tStd.Nanoseconds())/float64(b.N)/1e3, "go-us")
	b.ReportMetric(float64(tInline)/float64(tStd), "x-go")
}
