package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/activitylog/activitylog/instrumentation/otlp"
	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/internal/logtest"
	"github.com/activitylog/activitylog/querysvc/audit"
	"github.com/activitylog/activitylog/querysvc/auth"
	"github.com/activitylog/activitylog/querysvc/httpapi"
	"github.com/activitylog/activitylog/querysvc/internal/seed"
	"github.com/activitylog/activitylog/querysvc/store"
	"github.com/activitylog/activitylog/schema"
)

// The benchmark data stream's size, seeded in chunks.
const (
	benchRecords = 1_000_000
	benchChunk   = 20_000
)

var (
	benchStart = time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	benchSpan  = 90 * 24 * time.Hour
	benchNow   = benchStart.Add(benchSpan)
)

// benchNamespace names the benchmark data stream deterministically, so that
// a second run reuses it, after a digest of what the seed generates: a
// stream seeded by another version of the generator is not taken for this
// one's (its numbers would differ, and the record the by-id benchmark asks
// for would not be in it).
var benchNamespace = func() string {
	h := fnv.New64a()
	for _, r := range seed.Generate(1000, 500, benchStart, benchSpan) {
		fmt.Fprintf(h, "%+v\n", r)
	}
	return fmt.Sprintf("bench1m%08x", h.Sum64()>>32)
}()

// benchIndex is the benchmark's data stream.
var benchIndex = schema.DataStream(benchNamespace)

// exchange is one HTTP request the store sent to Elasticsearch, and its
// answer. The replay sends the same method, path, body and content
// negotiation headers.
type exchange struct {
	method, path        string
	contentType, accept string
	body, resp          []byte
}

// recorder is a RoundTripper that remembers the requests going through it,
// so the raw benchmark can send exactly the same ones.
type recorder struct {
	next   http.RoundTripper
	phases *phases
	mu     sync.Mutex
	on     bool
	log    []exchange
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.phases.esStarts()
	r.mu.Lock()
	on := r.on
	r.mu.Unlock()
	if !on {
		resp, err := r.next.RoundTrip(req)
		r.phases.esAnswers()
		if err == nil {
			resp.Body = &bodyMark{ReadCloser: resp.Body, p: r.phases}
		}
		return resp, err
	}
	defer r.phases.esAnswers()
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	rb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(rb))
	r.mu.Lock()
	r.log = append(r.log, exchange{req.Method, req.URL.RequestURI(), req.Header.Get("Content-Type"), req.Header.Get("Accept"), body, rb})
	r.mu.Unlock()
	return resp, nil
}

// phases splits the time of the service's calls, as the service sees it:
//   - before: from the handler's start to its first Elasticsearch request;
//   - es: in its Elasticsearch requests, up to each answer's headers;
//   - body: from each answer's headers until the service has read it, while
//     Elasticsearch streams it (search answers are sent in chunks) and the
//     service decodes what has arrived;
//   - after: from the last answer read to the flush of the service's own
//     response (building, encoding and sending it).
//
// The rest of a call's time is the HTTP hop between the client and the
// service. Calls are sequential, so one set of marks is enough.
type phases struct {
	mu                                   sync.Mutex
	start, esStart, headers, read, flush time.Time
	first, reading                       bool
	before, es, body, after              time.Duration
	n                                    int
}

func (p *phases) handle(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.start, p.first, p.flush = time.Now(), true, time.Time{}
		p.mu.Unlock()
		h.ServeHTTP(flushMark{w, p}, r)
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.flush.IsZero() || p.first {
			return
		}
		p.after += p.flush.Sub(p.read)
		p.n++
	})
}

func (p *phases) esStarts() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.esStart = time.Now()
	if p.first {
		p.before += p.esStart.Sub(p.start)
		p.first = false
	}
}

func (p *phases) esAnswers() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.headers, p.reading = time.Now(), true
	p.read = p.headers
	p.es += p.headers.Sub(p.esStart)
}

// bodyRead marks the end of an answer: its last byte read, or its close,
// whichever comes first (a decoder may stop reading at the end of the JSON
// value without seeing EOF).
func (p *phases) bodyRead() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.reading {
		return
	}
	p.read, p.reading = time.Now(), false
	p.body += p.read.Sub(p.headers)
}

// report adds the mean phases since the last report to b's metrics.
func (p *phases) report(b *testing.B) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n > 0 && b != nil {
		for _, m := range []struct {
			d    time.Duration
			unit string
		}{{p.before, "before-us"}, {p.es, "es-us"}, {p.body, "body-us"}, {p.after, "after-us"}} {
			b.ReportMetric(float64(m.d.Nanoseconds())/1e3/float64(p.n), m.unit)
		}
	}
	p.before, p.es, p.body, p.after, p.n = 0, 0, 0, 0, 0
}

func (p *phases) reset() { p.report(nil) }

// bodyMark notes when the service has read an Elasticsearch answer.
type bodyMark struct {
	io.ReadCloser
	p *phases
}

func (b *bodyMark) Read(buf []byte) (int, error) {
	n, err := b.ReadCloser.Read(buf)
	if err != nil {
		b.p.bodyRead()
	}
	return n, err
}

func (b *bodyMark) Close() error {
	b.p.bodyRead()
	return b.ReadCloser.Close()
}

// flushMark notes when the service flushes its response (it does so before
// it records the audit record).
type flushMark struct {
	http.ResponseWriter
	p *phases
}

func (w flushMark) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	w.p.mu.Lock()
	w.p.flush = time.Now()
	w.p.mu.Unlock()
}

func (w flushMark) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (r *recorder) capture(f func()) []exchange {
	r.mu.Lock()
	r.on, r.log = true, nil
	r.mu.Unlock()
	f()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = false
	return r.log
}

// seedBench makes sure the benchmark data stream holds benchRecords records.
func seedBench(b *testing.B, es *elasticsearch.TypedClient) {
	b.Helper()
	ds := benchIndex
	ctx := context.Background()
	if resp, err := es.Count().Index(ds).Do(ctx); err == nil && resp.Count >= benchRecords {
		return
	}
	start := time.Now()
	for i := 0; i < benchRecords/benchChunk; i++ {
		recs := seed.Generate(uint64(1000+i), benchChunk, benchStart, benchSpan)
		if err := seed.Index(ctx, es, benchNamespace, recs, 2); err != nil {
			b.Fatalf("seed %s: %v", ds, err)
		}
	}
	b.Logf("seeded %d records into %s in %s", benchRecords, ds, time.Since(start).Round(time.Second))
}

// benchService is the service over es as the benchmarks run it: the audit
// provider the service gets in production (otlp.NewProvider: its batching
// and SDK options), exporting nowhere; no rate limit; the clock at benchNow.
func benchService(b *testing.B, es *elasticsearch.TypedClient) http.Handler {
	b.Helper()
	v, err := auth.New(auth.Config{HS256Secret: secret, Issuer: "test-idp", Audience: "activitylog",
		Now: func() time.Time { return testNow }})
	if err != nil {
		b.Fatal(err)
	}
	lp, err := otlp.NewProvider(context.Background(), otlp.WithExporter(logtest.Discard{}), otlp.WithServiceName("querysvc"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = lp.Shutdown(context.Background()) })
	h, err := httpapi.New(store.New(es, store.WithIndex(benchIndex)), v,
		httpapi.WithAuditor(audit.New(lp)), httpapi.WithRateLimit(0, 0), httpapi.WithCursorKey(cursorKey),
		httpapi.WithClock(func() time.Time { return benchNow }), httpapi.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// BenchmarkEndpoints measures every endpoint over 1,000,000 records
// (querysvc: through the service over HTTP, token verification, scoping,
// decoding, encoding and auditing included) beside the same Elasticsearch
// requests the store sent, replayed raw (raw), and replayed through a
// pass-through HTTP hop (proxy: what any service in front of Elasticsearch
// costs at least). x-raw is the ratio of a sub-benchmark's time to the time
// of raw replays interleaved with it.
func BenchmarkEndpoints(b *testing.B) {
	estest.InstallSchema(b)
	cfg := estest.Config(b)
	// The store's requests go through the service's own transport
	// (esclient.Config.InlineTransport), recorded. The raw replays use Go's
	// transport with the same settings (esclient.Config.HTTPTransport), the
	// client that also calls the service, so both sides of a ratio are
	// measured with one client; the proxy's replays use the service's.
	ph := &phases{}
	rec := &recorder{next: cfg.InlineTransport(), phases: ph}
	cfg.Transport = rec
	es, err := cfg.Typed()
	if err != nil {
		b.Fatal(err)
	}
	seedBench(b, es)
	srv := httptest.NewServer(ph.handle(benchService(b, es)))
	defer srv.Close()
	client := srv.Client()
	raw := &http.Client{Transport: cfg.HTTPTransport()}
	defer raw.CloseIdleConnections()
	inline := &http.Client{Transport: cfg.InlineTransport()}
	esURL := strings.TrimRight(cfg.URLs[0], "/")

	admin := token(b, "admin-1", "admin", "")
	partner := token(b, "partner-a", "partner", "t-alpha")
	sample := seed.Generate(1000, 1, benchStart, benchSpan)[0]
	all := "from=" + url.QueryEscape(benchStart.Format(time.RFC3339)) + "&to=" + url.QueryEscape(benchNow.Format(time.RFC3339))
	// agg marks the endpoints whose requests are aggregations without hits
	// (size 0), the ones Elasticsearch's shard request cache answers when the
	// same request comes again.
	cases := []struct {
		name, token, path string
		agg               bool
	}{
		{"activities", admin, "/v1/activities?limit=20", false},
		{"activities_partner_q", partner, "/v1/activities?limit=20&q=free+coffee&category=rewards", false},
		{"activity_by_id", admin, "/v1/activities/" + sample.ID, false},
		{"trends_day_split_event", admin, "/v1/analytics/trends?interval=day&split=event&" + all, true},
		{"events", admin, "/v1/analytics/events?" + all, true},
		{"categories", partner, "/v1/analytics/categories?" + all, true},
		{"users_top", admin, "/v1/analytics/users/top?limit=10&" + all, true},
		{"auth", admin, "/v1/analytics/auth?" + all, true},
		{"alerts", admin, "/v1/security/alerts?limit=50&" + all, false},
		{"bursts", admin, "/v1/security/bursts?window=1h&threshold=5&" + all, true},
	}
	call := func(b *testing.B, tok, path string) []byte {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := readBody(resp)
		if resp.StatusCode != 200 {
			b.Fatalf("%s: got %d %s", path, resp.StatusCode, body)
		}
		return body
	}
	sendVia := func(client *http.Client, x exchange, body []byte) ([]byte, error) {
		req, _ := http.NewRequest(x.method, esURL+x.path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if x.contentType != "" {
			req.Header.Set("Content-Type", x.contentType)
		}
		if x.accept != "" {
			req.Header.Set("Accept", x.accept)
		}
		if cfg.Username != "" {
			req.SetBasicAuth(cfg.Username, cfg.Password)
		}
		if cfg.APIKey != "" {
			req.Header.Set("Authorization", "ApiKey "+cfg.APIKey)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		rb, _ := readBody(resp)
		if resp.StatusCode != 200 {
			return nil, fmt.Errorf("raw %s %s: got %d %s", x.method, x.path, resp.StatusCode, rb)
		}
		return rb, nil
	}
	send := func(x exchange, body []byte) ([]byte, error) { return sendVia(raw, x, body) }
	closePIT := func(b *testing.B, id string) {
		body, _ := json.Marshal(map[string]string{"id": id})
		if _, err := send(exchange{method: http.MethodDelete, path: "/_pit"}, body); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range cases {
		var exchanges []exchange
		var body []byte
		exchanges = rec.capture(func() { body = call(b, c.token, c.path) })
		if len(exchanges) == 0 {
			b.Fatalf("%s: the store sent nothing", c.name)
		}
		if pit := cursorPIT(body); pit != "" {
			closePIT(b, pit)
		}
		// replay sends the recorded requests again; a point in time opened
		// by the replay replaces the recorded one in the requests that follow.
		// It returns the last answer and a point in time left open, for the
		// caller to close.
		replay := func(client *http.Client) (last []byte, pit string, err error) {
			var oldPIT, newPIT string
			for _, x := range exchanges {
				reqBody := x.body
				if oldPIT != "" {
					reqBody = bytes.ReplaceAll(reqBody, []byte(oldPIT), []byte(newPIT))
				}
				if last, err = sendVia(client, x, reqBody); err != nil {
					return nil, "", err
				}
				if strings.Contains(x.path, "/_pit") && x.method == http.MethodPost {
					oldPIT, newPIT = pitID(x.resp), pitID(last)
				}
			}
			if closedInCapture(exchanges) {
				return last, "", nil
			}
			return last, newPIT, nil
		}
		mustReplay := func(b *testing.B) string {
			_, pit, err := replay(raw)
			if err != nil {
				b.Fatal(err)
			}
			return pit
		}
		// Each endpoint runs twice when Elasticsearch could answer it from
		// its shard request cache: once repeating the same request, as the
		// cache answers it (the service's cost on top of the cheapest answer
		// Elasticsearch gives), and once with the cache cleared before every
		// request of either side, outside the timers (suffix _uncached:
		// the aggregation computed over the records, as for the service's
		// usual requests, whose time range ends at the moment of the request
		// and so differs every time).
		modes := []string{""}
		if c.agg {
			modes = append(modes, "_uncached")
		}
		for _, mode := range modes {
			prepare := func(*testing.B) {}
			if mode != "" {
				prepare = func(b *testing.B) {
					if _, err := send(exchange{method: http.MethodPost, path: "/" + benchIndex + "/_cache/clear?request=true"}, nil); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.Run(c.name+"/raw"+mode, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					b.StopTimer()
					prepare(b)
					b.StartTimer()
					if pit := mustReplay(b); pit != "" {
						b.StopTimer()
						closePIT(b, pit)
						b.StartTimer()
					}
				}
			})
			// The machine is shared, so load drifts between sub-benchmarks:
			// x-raw compares each call with a raw replay made right before it
			// (outside the timer), in the same run; overhead-us is the mean
			// difference. do makes the call and returns what it leaves to
			// clean up afterwards, outside the timer: a point in time to close.
			paired := func(b *testing.B, do func(b *testing.B) (cleanup func() (pit string))) {
				ph.reset() // forget the calls made before this sub-benchmark
				b.ReportAllocs()
				var rawTotal, total time.Duration
				for b.Loop() {
					b.StopTimer()
					prepare(b)
					t0 := time.Now()
					pit := mustReplay(b)
					rawTotal += time.Since(t0)
					if pit != "" {
						closePIT(b, pit)
					}
					prepare(b)
					b.StartTimer()
					t1 := time.Now()
					cleanup := do(b)
					total += time.Since(t1)
					b.StopTimer()
					if pit := cleanup(); pit != "" {
						closePIT(b, pit)
					}
					b.StartTimer()
				}
				if rawTotal > 0 {
					b.ReportMetric(float64(total)/float64(rawTotal), "x-raw")
					b.ReportMetric(float64(rawTotal.Nanoseconds())/1e3/float64(b.N), "raw-us")
					b.ReportMetric(float64((total-rawTotal).Nanoseconds())/1e3/float64(b.N), "overhead-us")
				}
			}
			// proxy is the floor of any service in front of Elasticsearch: an
			// HTTP server in this process that replays the same requests with
			// the service's transport and copies the last answer back, with
			// no token, parsing, decoding, encoding or audit.
			b.Run(c.name+"/proxy"+mode, func(b *testing.B) {
				type answer struct {
					pit string
					err error
				}
				answers := make(chan answer, 1)
				proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					last, pit, err := replay(inline)
					answers <- answer{pit, err}
					if err != nil {
						w.WriteHeader(http.StatusBadGateway)
						return
					}
					w.Header().Set("Content-Type", "application/json")
					_, _ = w.Write(last)
				}))
				defer proxy.Close()
				paired(b, func(b *testing.B) func() string {
					resp, err := proxy.Client().Get(proxy.URL)
					if err != nil {
						b.Fatal(err)
					}
					_, _ = readBody(resp)
					a := <-answers
					if a.err != nil {
						b.Fatal(a.err)
					}
					return func() string { return a.pit }
				})
			})
			b.Run(c.name+"/querysvc"+mode, func(b *testing.B) {
				paired(b, func(b *testing.B) func() string {
					body := call(b, c.token, c.path)
					// Reading the cursor parses the whole answer: not part of
					// the call.
					return func() string { return cursorPIT(body) }
				})
				ph.report(b)
			})
		}
	}
}

func pitID(resp []byte) string {
	var r struct{ ID string }
	_ = json.Unmarshal(resp, &r)
	return r.ID
}

func closedInCapture(xs []exchange) bool {
	for _, x := range xs {
		if x.method == http.MethodDelete && strings.HasSuffix(x.path, "/_pit") {
			return true
		}
	}
	return false
}

// readBody reads and closes an answer's body, in one allocation when its
// length is known: the benchmark's own garbage would otherwise make the
// collector run during the timed calls of both sides.
func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	if resp.ContentLength < 0 {
		return io.ReadAll(resp.Body)
	}
	b := make([]byte, resp.ContentLength)
	_, err := io.ReadFull(resp.Body, b)
	return b, err
}

// cursorPIT reads the point in time out of a response's next_cursor (the
// benchmark closes it so open points in time do not pile up). It finds the
// field rather than parsing the whole answer: for a trends answer, a parse
// cost the benchmark more CPU than the service spent on the call. A cursor is
// base64url, so it holds no escapes.
func cursorPIT(body []byte) string {
	const field = `"next_cursor":"`
	i := bytes.Index(body, []byte(field))
	if i < 0 {
		return ""
	}
	cursor, _, ok := bytes.Cut(body[i+len(field):], []byte(`"`))
	if !ok {
		return ""
	}
	return httpapi.CursorPIT(cursorKey, string(cursor))
}
