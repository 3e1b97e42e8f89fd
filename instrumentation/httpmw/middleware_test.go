package httpmw_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/instrumentation/httpmw"
)

func TestClientAddress(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ffff::/48")}
	// 10.0.0.0/8 written as an IPv4-mapped IPv6 prefix, as a dual-stack
	// deployment may list it.
	mappedProxies := []netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.0/104")}
	tests := []struct {
		name    string
		remote  string
		headers map[string][]string
		trusted []netip.Prefix
		header  httpmw.Header
		want    string
	}{
		{"peer only", "203.0.113.7:5555", nil, nil, httpmw.XForwardedFor, "203.0.113.7"},
		{"headers ignored without trusted proxies", "203.0.113.7:5555",
			map[string][]string{"X-Forwarded-For": {"198.51.100.1"}, "Forwarded": {"for=198.51.100.2"}}, nil, httpmw.XForwardedFor, "203.0.113.7"},
		{"headers ignored from an untrusted peer", "203.0.113.7:5555",
			map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, proxies, httpmw.XForwardedFor, "203.0.113.7"},
		{"x-forwarded-for from a trusted proxy", "10.1.2.3:443",
			map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, proxies, httpmw.XForwardedFor, "198.51.100.1"},
		{"spoofed leftmost entry is skipped", "10.1.2.3:443",
			map[string][]string{"X-Forwarded-For": {"1.2.3.4, 198.51.100.1, 10.9.9.9"}}, proxies, httpmw.XForwardedFor, "198.51.100.1"},
		{"several header lines", "10.1.2.3:443",
			map[string][]string{"X-Forwarded-For": {"1.2.3.4", "198.51.100.1"}}, proxies, httpmw.XForwardedFor, "198.51.100.1"},
		{"all hops trusted gives the leftmost", "10.1.2.3:443",
			map[string][]string{"X-Forwarded-For": {"10.0.0.5, 10.0.0.6"}}, proxies, httpmw.XForwardedFor, "10.0.0.5"},
		{"malformed hop stops at the last trusted one", "10.1.2.3:443",
			map[string][]string{"X-Forwarded-For": {"198.51.100.1, not-an-ip, 10.0.0.6"}}, proxies, httpmw.XForwardedFor, "10.0.0.6"},
		{"empty header keeps the peer", "10.1.2.3:443",
			map[string][]string{"X-Forwarded-For": {""}}, proxies, httpmw.XForwardedFor, "10.1.2.3"},
		{"client-sent forwarded ignored when proxies write x-forwarded-for", "10.1.2.3:443",
			map[string][]string{"Forwarded": {"for=6.6.6.6"}, "X-Forwarded-For": {"198.51.100.1"}}, proxies, httpmw.XForwardedFor, "198.51.100.1"},
		{"client-sent x-forwarded-for ignored when proxies write forwarded", "10.1.2.3:443",
			map[string][]string{"Forwarded": {"for=198.51.100.9;proto=https"}, "X-Forwarded-For": {"6.6.6.6"}}, proxies, httpmw.Forwarded, "198.51.100.9"},
		{"forwarded quoted ipv6 with port", "[2001:db8:ffff::1]:443",
			map[string][]string{"Forwarded": {`for="[2001:db8:cafe::17]:4711", for=10.0.0.1`}}, proxies, httpmw.Forwarded, "2001:db8:cafe::17"},
		{"forwarded ipv4 with port and case", "10.1.2.3:443",
			map[string][]string{"Forwarded": {"For=198.51.100.3:8080;by=10.0.0.1"}}, proxies, httpmw.Forwarded, "198.51.100.3"},
		{"forwarded obfuscated identifier", "10.1.2.3:443",
			map[string][]string{"Forwarded": {"for=_hidden"}}, proxies, httpmw.Forwarded, "10.1.2.3"},
		// A trusted proxy that copies the client's Host into a quoted
		// host= parameter after for= must not let a comma or semicolon
		// inside the quotes add a hop or a for= of the client's choosing.
		{"forwarded comma inside a quoted value is not a new element", "10.1.2.3:443",
			map[string][]string{"Forwarded": {`for=198.51.100.7;host="a,for=6.6.6.6"`}}, proxies, httpmw.Forwarded, "198.51.100.7"},
		{"forwarded semicolon inside a quoted value is not a new pair", "10.1.2.3:443",
			map[string][]string{"Forwarded": {`for=198.51.100.7;host="a;for=6.6.6.6"`}}, proxies, httpmw.Forwarded, "198.51.100.7"},
		{"forwarded escaped quote does not end the quoted value", "10.1.2.3:443",
			map[string][]string{"Forwarded": {`for=198.51.100.7;host="a\",for=6.6.6.6"`}}, proxies, httpmw.Forwarded, "198.51.100.7"},
		// A proxy that appends its element to the client's Forwarded value
		// on the same line (nginx's "$http_forwarded, for=$remote_addr")
		// writes it after whatever the client sent: a quote the client left
		// open must not swallow it, or the client's address is never
		// recorded, only the proxy's.
		{"forwarded client's unclosed quote does not hide the hop a proxy appends", "10.1.2.3:443",
			map[string][]string{"Forwarded": {`for="198.51.100.66, for=198.51.100.7`}}, proxies, httpmw.Forwarded, "198.51.100.7"},
		{"forwarded client's unclosed quote does not hide a quoted hop a proxy appends", "10.1.2.3:443",
			map[string][]string{"Forwarded": {`x="a, for="[2001:db8:cafe::17]:4711"`}}, proxies, httpmw.Forwarded, "2001:db8:cafe::17"},
		{"forwarded unclosed quote makes its element malformed", "10.1.2.3:443",
			map[string][]string{"Forwarded": {`for=6.6.6.6, for=198.51.100.7;host="a`}}, proxies, httpmw.Forwarded, "10.1.2.3"},
		{"forwarded quoted value followed by more is malformed", "10.1.2.3:443",
			map[string][]string{"Forwarded": {`for="6.6.6.6"x, for=10.0.0.1`}}, proxies, httpmw.Forwarded, "10.0.0.1"},
		{"forwarded quoted escapes are read", "10.1.2.3:443",
			map[string][]string{"Forwarded": {`for="198.51.100.\8";proto=https`}}, proxies, httpmw.Forwarded, "198.51.100.8"},
		{"forwarded element without for", "10.1.2.3:443",
			map[string][]string{"Forwarded": {"for=198.51.100.3, proto=https"}}, proxies, httpmw.Forwarded, "10.1.2.3"},
		{"ipv4-mapped peer is unmapped", "[::ffff:10.1.2.3]:443",
			map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, proxies, httpmw.XForwardedFor, "198.51.100.1"},
		{"unix socket peer", "@", nil, proxies, httpmw.XForwardedFor, ""},
		{"ipv4-mapped trusted prefix matches an ipv4 peer", "10.1.2.3:443",
			map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, mappedProxies, httpmw.XForwardedFor, "198.51.100.1"},
		{"ipv4-mapped trusted prefix matches an ipv4-mapped peer", "[::ffff:10.1.2.3]:443",
			map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, mappedProxies, httpmw.XForwardedFor, "198.51.100.1"},
		{"ipv4-mapped trusted prefix skips trusted hops", "10.1.2.3:443",
			map[string][]string{"X-Forwarded-For": {"198.51.100.1, ::ffff:10.0.0.6, 10.0.0.7"}}, mappedProxies, httpmw.XForwardedFor, "198.51.100.1"},
		{"ipv4-mapped trusted prefix does not widen to its neighbours", "11.1.2.3:443",
			map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, mappedProxies, httpmw.XForwardedFor, "11.1.2.3"},
		// A link-local peer carries its interface as a zone, which a prefix
		// never contains and an ip field cannot index.
		{"zoned link-local peer is matched and recorded without its zone", "[fe80::1%eth0]:443",
			map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, []netip.Prefix{netip.MustParsePrefix("fe80::/10")}, httpmw.XForwardedFor, "198.51.100.1"},
		{"zoned link-local peer untrusted", "[fe80::1%eth0]:443", nil, proxies, httpmw.XForwardedFor, "fe80::1"},
		{"ipv6 prefix does not trust ipv4 peers", "10.1.2.3:443",
			map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, []netip.Prefix{netip.MustParsePrefix("::/0")}, httpmw.XForwardedFor, "10.1.2.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			for k, vs := range tt.headers {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			if got := httpmw.ClientAddress(r, httpmw.WithTrustedProxies(tt.trusted...), httpmw.WithHeader(tt.header)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func serve(t *testing.T, r *http.Request, opts ...httpmw.Option) (instrumentation.Request, *httptest.ResponseRecorder) {
	t.Helper()
	var got instrumentation.Request
	var ok bool
	h := httpmw.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got, ok = instrumentation.RequestFrom(r.Context())
	}), opts...)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if !ok {
		t.Fatal("got no request data in the handler's context, want some")
	}
	return got, w
}

func TestMiddleware(t *testing.T) {
	tests := []struct {
		name      string
		headers   map[string]string
		wantID    string
		wantAgent string
	}{
		{"request id kept", map[string]string{"X-Request-Id": "abc-123", "User-Agent": "loyalty-app/2.1"}, "abc-123", "loyalty-app/2.1"},
		{"missing id generated", map[string]string{"User-Agent": "curl/8"}, "generated-1", "curl/8"},
		{"id with bad characters replaced", map[string]string{"X-Request-Id": "abc\n<script>"}, "generated-1", ""},
		{"overlong id replaced", map[string]string{"X-Request-Id": strings.Repeat("a", 129)}, "generated-1", ""},
		{"long user agent cut", map[string]string{"User-Agent": strings.Repeat("x", 2000)}, "generated-1", strings.Repeat("x", httpmw.MaxUserAgent)},
		{"invalid utf-8 in user agent replaced", map[string]string{"User-Agent": "bad\xffagent"}, "generated-1", "bad\uFFFDagent"},
		// Each invalid byte becomes a 3-byte U+FFFD: the text is cut to the
		// bound after the replacement, at a character boundary, not before.
		{"long user agent of invalid utf-8 cut to the bound", map[string]string{"User-Agent": strings.Repeat("\xffx", 1000)}, "generated-1", strings.Repeat("\uFFFDx", httpmw.MaxUserAgent/4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = "203.0.113.7:1234"
			r.Header.Del("User-Agent")
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			got, w := serve(t, r, httpmw.WithIDGenerator(func() string { return "generated-1" }))
			if got.ID != tt.wantID {
				t.Errorf("got id %q, want %q", got.ID, tt.wantID)
			}
			if h := w.Header().Get("X-Request-Id"); h != tt.wantID {
				t.Errorf("got response header %q, want %q", h, tt.wantID)
			}
			if got.UserAgent != tt.wantAgent {
				t.Errorf("got user agent %q, want %q", got.UserAgent, tt.wantAgent)
			}
			if got.ClientAddress != "203.0.113.7" {
				t.Errorf("got client address %q, want 203.0.113.7", got.ClientAddress)
			}
		})
	}
}

func TestMiddlewareCustomHeaderAndDefaultIDs(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-Correlation-Id", "corr-7")
	got, w := serve(t, r, httpmw.WithRequestIDHeader("x-correlation-id"))
	if got.ID != "corr-7" || w.Header().Get("X-Correlation-Id") != "corr-7" {
		t.Errorf("got id %q and header %q, want corr-7", got.ID, w.Header().Get("X-Correlation-Id"))
	}
	a, _ := serve(t, httptest.NewRequest(http.MethodGet, "/", nil))
	b, _ := serve(t, httptest.NewRequest(http.MethodGet, "/", nil))
	if a.ID == "" || a.ID == b.ID {
		t.Errorf("got generated ids %q and %q, want two distinct ids", a.ID, b.ID)
	}
}

func FuzzClientAddress(f *testing.F) {
	f.Add("10.1.2.3:443", "1.2.3.4, 198.51.100.1", `for="[2001:db8::1]:80";proto=https, for=_x`)
	f.Add("203.0.113.7:1", "", "")
	f.Add("[::ffff:10.0.0.1]:9", "fe80::1%eth0", `for="[fe80::1%25eth0]"`)
	f.Add("10.0.0.1:1", ",,,", `for=;for="`)
	proxies := httpmw.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::/0"))
	f.Fuzz(func(t *testing.T, remote, xff, forwarded string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		if forwarded != "" {
			r.Header.Set("Forwarded", forwarded)
		}
		for _, h := range []httpmw.Header{httpmw.XForwardedFor, httpmw.Forwarded} {
			got := httpmw.ClientAddress(r, proxies, httpmw.WithHeader(h))
			if got != "" {
				if _, err := netip.ParseAddr(got); err != nil {
					t.Fatalf("got client address %q, want an IP address or empty: %v", got, err)
				}
			}
		}
		// Whatever the client sent, the hop a trusted proxy adds on a line
		// of its own is the one recorded: no quote or separator of the
		// client's reaches past its own line.
		spoofed := httptest.NewRequest(http.MethodGet, "/", nil)
		spoofed.RemoteAddr = "10.0.0.1:1"
		spoofed.Header.Add("X-Forwarded-For", xff)
		spoofed.Header.Add("X-Forwarded-For", "198.51.100.7")
		spoofed.Header.Add("Forwarded", forwarded)
		spoofed.Header.Add("Forwarded", `for=198.51.100.7;host="example.com"`)
		for _, h := range []httpmw.Header{httpmw.XForwardedFor, httpmw.Forwarded} {
			if got := httpmw.ClientAddress(spoofed, proxies, httpmw.WithHeader(h)); got != "198.51.100.7" {
				t.Fatalf("got %q behind a trusted proxy (header %d), want 198.51.100.7", got, h)
			}
		}
		// Nor when the proxy appends its element to the client's value on
		// the same line: nothing the client wrote before it, a quote left
		// open included, changes how it is read.
		for _, appended := range []string{`for=198.51.100.7;host="example.com"`, `for="198.51.100.7:4711"`} {
			sameLine := httptest.NewRequest(http.MethodGet, "/", nil)
			sameLine.RemoteAddr = "10.0.0.1:1"
			sameLine.Header.Set("Forwarded", forwarded+", "+appended)
			if got := httpmw.ClientAddress(sameLine, proxies, httpmw.WithHeader(httpmw.Forwarded)); got != "198.51.100.7" {
				t.Fatalf("got %q behind a trusted proxy appending %s on the client's line, want 198.51.100.7", got, appended)
			}
		}
		// Without trusted proxies the headers can never matter.
		plain := httpmw.ClientAddress(r)
		r.Header.Del("X-Forwarded-For")
		r.Header.Del("Forwarded")
		if noHeaders := httpmw.ClientAddress(r); plain != noHeaders {
			t.Fatalf("got %q with headers and %q without, want the same when no proxy is trusted", plain, noHeaders)
		}
	})
}
