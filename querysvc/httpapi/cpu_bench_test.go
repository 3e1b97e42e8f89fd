package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/activitylog/activitylog/internal/estest"
)

// canned answers each request with the next of the recorded answers, in
// order: Elasticsearch's answers replayed from memory.
type canned struct {
	mu  sync.Mutex
	xs  []exchange
	pos int
}

func (c *canned) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	c.mu.Lock()
	x := c.xs[c.pos%len(c.xs)]
	c.pos++
	c.mu.Unlock()
	return &http.Response{
		StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}, "X-Elastic-Product": {"Elasticsearch"}},
		Body:          io.NopCloser(bytes.NewReader(x.resp)),
		ContentLength: int64(len(x.resp)), Request: req,
	}, nil
}

// BenchmarkServiceCPU measures the service's own work per call, with no
// socket and no Elasticsearch time in it: each endpoint's requests are
// recorded once from the benchmark data stream (BenchmarkEndpoints' 1,000,000
// records), then the service runs in a loop over the recorded answers,
// replayed from memory (querysvc). The baseline in the same run is a
// pass-through handler that sends the same requests through the same canned
// transport and copies the last answer back (proxy). x-proxy is the ratio of
// the two; us/call is the service's time per call.
//
// Unlike BenchmarkEndpoints, whose ratios this machine's socket and scheduling
// costs dominate for small answers, this one follows the service's CPU alone:
// token check, parameters, scoping, request and response bodies, decoding and
// the audit record.
func BenchmarkServiceCPU(b *testing.B) {
	estest.InstallSchema(b)
	cfg := estest.Config(b)
	rec := &recorder{next: cfg.InlineTransport(), phases: &phases{}}
	cfg.Transport = rec
	es, err := cfg.Typed()
	if err != nil {
		b.Fatal(err)
	}
	seedBench(b, es)
	service := func(tr http.RoundTripper) http.Handler {
		c := cfg
		c.Transport = tr
		tes, err := c.Typed()
		if err != nil {
			b.Fatal(err)
		}
		return benchService(b, tes)
	}
	live := service(rec)
	answers := &canned{}
	replayed := service(answers)
	// The pass-through: the same requests, sent with the same client type
	// through the same canned answers, the last answer copied back.
	client := &http.Client{Transport: answers}
	var current []exchange
	proxy := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var last []byte
		for _, x := range current {
			req, _ := http.NewRequestWithContext(r.Context(), x.method, "http://es.invalid"+x.path, bytes.NewReader(x.body))
			req.Header.Set("Content-Type", x.contentType)
			resp, err := client.Do(req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			last, _ = io.ReadAll(resp.Body)
			_ = resp.Body.Close()
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(last)
	})

	admin := token(b, "admin-1", "admin", "")
	partner := token(b, "partner-a", "partner", "t-alpha")
	all := "from=" + url.QueryEscape(benchStart.Format(time.RFC3339)) + "&to=" + url.QueryEscape(benchNow.Format(time.RFC3339))
	cases := []struct{ name, token, path string }{
		{"activities", admin, "/v1/activities?limit=20"},
		{"activities_partner_q", partner, "/v1/activities?limit=20&q=free+coffee&category=rewards"},
		{"trends_day_split_event", admin, "/v1/analytics/trends?interval=day&split=event&" + all},
		{"events", admin, "/v1/analytics/events?" + all},
		{"categories", partner, "/v1/analytics/categories?" + all},
		{"users_top", admin, "/v1/analytics/users/top?limit=10&" + all},
		{"auth", admin, "/v1/analytics/auth?" + all},
		{"alerts", admin, "/v1/security/alerts?limit=50&" + all},
		{"bursts", admin, "/v1/security/bursts?window=1h&threshold=5&" + all},
	}
	call := func(b *testing.B, h http.Handler, tok, path string) []byte {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%s: got %d %s", path, w.Code, w.Body)
		}
		return w.Body.Bytes()
	}
	for _, c := range cases {
		var body []byte
		xs := rec.capture(func() { body = call(b, live, c.token, c.path) })
		if len(xs) == 0 {
			b.Fatalf("%s: the store sent nothing", c.name)
		}
		if pit := cursorPIT(body); pit != "" {
			// The recorded listing's point in time is not needed again.
			if _, err := es.ClosePointInTime().Id(pit).Do(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		answers.mu.Lock()
		answers.xs, answers.pos, current = xs, 0, xs
		answers.mu.Unlock()
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var own, base time.Duration
			for b.Loop() {
				b.StopTimer()
				t0 := time.Now()
				call(b, proxy, c.token, c.path)
				base += time.Since(t0)
				b.StartTimer()
				t1 := time.Now()
				call(b, replayed, c.token, c.path)
				own += time.Since(t1)
			}
			b.ReportMetric(float64(own)/float64(base), "x-proxy")
			b.ReportMetric(float64(own.Nanoseconds())/1e3/float64(b.N), "us/call")
			b.ReportMetric(float64(base.Nanoseconds())/1e3/float64(b.N), "proxy-us")
		})
	}
}
