package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"go.uber.org/goleak"

	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/querysvc/auth"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Idle keep-alive connections of the Elasticsearch client's pooled transport.
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
		// The inline transport's pool closes idle connections from a
		// goroutine that sleeps between rounds.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
	)
}

const testSecret = "cmd-test-secret-cmd-test-secret-32+"

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer is a bytes.Buffer safe for the server's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRun(t *testing.T) {
	for _, audit := range []bool{false, true} {
		name := "audit disabled"
		if audit {
			name = "audit to OTLP"
		}
		t.Run(name, func(t *testing.T) {
			estest.InstallSchema(t)
			addr := freeAddr(t)
			env := map[string]string{
				"ES_URL": estest.URL(t), "QUERYSVC_ADDR": addr, "QUERYSVC_JWT_SECRET": testSecret,
				"QUERYSVC_JWT_ISSUER": "demo", "QUERYSVC_JWT_AUDIENCE": "activitylog",
			}
			if !audit {
				env["QUERYSVC_AUDIT_INSECURE_DISABLE"] = "true"
			} else {
				// A collector that is down: records are queued and dropped, requests are not slowed.
				t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+freeAddr(t))
				t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
				t.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1000")
			}
			getenv := func(k string) string { return env[k] }
			var tok bytes.Buffer
			if err := run(context.Background(), []string{"token", "-role", "partner", "-tenant", "t-alpha", "-sub", "p-1"}, getenv, &tok); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			var out syncBuffer
			done := make(chan error, 1)
			go func() { done <- run(ctx, nil, getenv, &out) }()
			client := &http.Client{Timeout: 5 * time.Second}
			defer client.CloseIdleConnections()
			deadline := time.Now().Add(10 * time.Second)
			for {
				resp, err := client.Get("http://" + addr + "/healthz")
				if err == nil {
					resp.Body.Close()
					break
				}
				if time.Now().After(deadline) {
					cancel()
					t.Fatalf("server did not come up: %v\n%s", err, out.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
			for _, c := range []struct {
				token string
				want  int
			}{
				{strings.TrimSpace(tok.String()), 200},
				{"", 401},
			} {
				req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/analytics/events", nil)
				if c.token != "" {
					req.Header.Set("Authorization", "Bearer "+c.token)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != c.want {
					t.Errorf("got %d %s, want %d", resp.StatusCode, body, c.want)
				}
			}
			client.CloseIdleConnections()
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run: got %v, want nil after cancel", err)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("run did not return after cancel")
			}
			if !strings.Contains(out.String(), "querysvc listening") {
				t.Errorf("got log %q, want a listening line", out.String())
			}
		})
	}
}

func TestRunBadConfig(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no keys", nil, map[string]string{}, "no verification key"},
		{"short secret", nil, map[string]string{"QUERYSVC_JWT_SECRET": "short"}, "at least 32 bytes"},
		{"bad es url", []string{"-es-url", "ftp://x"}, map[string]string{"QUERYSVC_JWT_SECRET": testSecret}, "not an http(s) URL"},
		{"both credentials", nil, map[string]string{"QUERYSVC_JWT_SECRET": testSecret, "ES_API_KEY": "k", "ES_USERNAME": "u", "ES_PASSWORD": "p"}, "either ES_API_KEY"},
		{"bad trusted proxy", []string{"-trusted-proxies", "10.0.0.1/99"}, map[string]string{"QUERYSVC_JWT_SECRET": testSecret}, "not a CIDR prefix"},
		{"stray argument", []string{"serve"}, map[string]string{"QUERYSVC_JWT_SECRET": testSecret}, "unexpected argument"},
		{"token without secret", []string{"token"}, map[string]string{}, "QUERYSVC_JWT_SECRET"},
		{"partner token without tenant", []string{"token", "-role", "partner"}, map[string]string{"QUERYSVC_JWT_SECRET": testSecret}, "needs -tenant"},
		{"token already expired", []string{"token", "-ttl", "-1h"}, map[string]string{"QUERYSVC_JWT_SECRET": testSecret}, "ttl -1h0m0s: must be positive"},
		// Malformed environment values fail as malformed flags do, never
		// falling back to a default (a rate of "10/s" once meant no limit).
		{"bad rate env", nil, map[string]string{"QUERYSVC_JWT_SECRET": testSecret, "QUERYSVC_RATE_LIMIT": "10/s"}, `QUERYSVC_RATE_LIMIT="10/s" is not a number`},
		{"bad burst env", nil, map[string]string{"QUERYSVC_JWT_SECRET": testSecret, "QUERYSVC_RATE_BURST": "ten"}, `QUERYSVC_RATE_BURST="ten" is not an integer`},
		// The collector refuses such a namespace: the service would read a
		// data stream that never exists.
		{"bad namespace env", nil, map[string]string{"QUERYSVC_JWT_SECRET": testSecret, "ACTIVITY_NAMESPACE": "Prod-EU"}, `ACTIVITY_NAMESPACE: namespace "Prod-EU" has 'P' at byte 0`},
		{"bad leeway env", nil, map[string]string{"QUERYSVC_JWT_SECRET": testSecret, "QUERYSVC_JWT_LEEWAY": "30"}, `QUERYSVC_JWT_LEEWAY="30" is not a duration`},
		{"negative leeway", []string{"-jwt-leeway", "-5s"}, map[string]string{"QUERYSVC_JWT_SECRET": testSecret}, "must not be negative"},
		{"negative rate", []string{"-rate-limit", "-1"}, map[string]string{"QUERYSVC_JWT_SECRET": testSecret}, "must not be negative"},
		// A bucket that never holds a whole token refuses every request
		// with 429, forever.
		{"zero burst", nil, map[string]string{"QUERYSVC_JWT_SECRET": testSecret, "QUERYSVC_RATE_BURST": "0"}, "rate-burst 0: must be at least 1"},
		{"zero burst flag", []string{"-rate-burst", "0", "-rate-limit", "0.5"}, map[string]string{"QUERYSVC_JWT_SECRET": testSecret}, "rate-burst 0: must be at least 1"},
		// A page asks Elasticsearch for one hit more than its limit, and a
		// search returns at most 10,000: a cap of 10,000 made every full
		// page a 400.
		{"page size over the search window", []string{"-max-page-size", "10000"}, map[string]string{"QUERYSVC_JWT_SECRET": testSecret}, "max-page-size 10000: must be between 1 and 9999"},
		{"placeholder JWT secret", nil, map[string]string{"QUERYSVC_JWT_SECRET": "change-me-to-a-32-or-more-character-jwt-secret"}, "QUERYSVC_JWT_SECRET is still a \"change-me\" placeholder"},
		{"placeholder cursor key", nil, map[string]string{"QUERYSVC_JWT_SECRET": testSecret, "QUERYSVC_CURSOR_KEY": "CHANGE-ME-to-a-32-or-more-character-cursor-key"}, "QUERYSVC_CURSOR_KEY is still"},
		{"zero page size", nil, map[string]string{"QUERYSVC_JWT_SECRET": testSecret, "QUERYSVC_MAX_PAGE_SIZE": "0"}, "max-page-size 0: must be between 1 and 9999"},
		// No open search at all would leave every listing without a next page.
		{"zero open searches", nil, map[string]string{"QUERYSVC_JWT_SECRET": testSecret, "QUERYSVC_MAX_OPEN_SEARCHES": "0"}, "max-open-searches 0: must be at least 1"},
		// strconv reads NaN and Inf as numbers: either rate refused every
		// request with 429 and a negative Retry-After.
		{"NaN rate", []string{"-rate-limit", "NaN"}, map[string]string{"QUERYSVC_JWT_SECRET": testSecret}, "rate-limit NaN: must be a finite number"},
		{"infinite rate env", nil, map[string]string{"QUERYSVC_JWT_SECRET": testSecret, "QUERYSVC_RATE_LIMIT": "Inf"}, "rate-limit +Inf: must be a finite number"},
		// Whoever can alter the key set on its way can sign an admin token.
		{"JWKS URL over plain http", []string{"-jwt-jwks-url", "http://idp.example.com/.well-known/jwks.json"}, nil, "must be https"},
		{"JWKS URL env over plain http", nil, map[string]string{"QUERYSVC_JWT_JWKS_URL": "http://10.0.0.7/jwks"}, "must be https"},
		{"malformed JWKS URL", []string{"-jwt-jwks-url", "idp.example.com/jwks"}, nil, "is not an http(s) URL"},
		// An identity provider's keys sign every service's tokens.
		{"JWKS URL without audience", []string{"-jwt-jwks-url", "https://idp.example.com/jwks"}, nil, "a JWKS needs an audience"},
		{"JWKS URL and secret without audience", []string{"-jwt-jwks-url", "https://idp.example.com/jwks"},
			map[string]string{"QUERYSVC_JWT_SECRET": testSecret, "QUERYSVC_JWT_ISSUER": "idp"}, "-jwt-audience or QUERYSVC_JWT_AUDIENCE"},
		// The audience is checked before the file is read.
		{"JWKS file env without audience", nil, map[string]string{"QUERYSVC_JWT_JWKS_FILE": "idp-jwks.json"}, "-jwt-audience or QUERYSVC_JWT_AUDIENCE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A configuration wrongly accepted serves until ctx ends (on a
			// port of its own, without audit): then run returns nil and the
			// case fails rather than hanging.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			env := map[string]string{"QUERYSVC_ADDR": "127.0.0.1:0", "QUERYSVC_AUDIT_INSECURE_DISABLE": "true"}
			for k, v := range tt.env {
				env[k] = v
			}
			err := run(ctx, tt.args, func(k string) string { return env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestHS256WithoutIssuerOrAudienceWarns: an HS256 secret without an issuer
// or audience to check starts, as before, but says at start what it accepts.
func TestHS256WithoutIssuerOrAudienceWarns(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  map[string]string
		warn bool
	}{
		{"neither", map[string]string{}, true},
		{"no audience", map[string]string{"QUERYSVC_JWT_ISSUER": "idp"}, true},
		{"no issuer", map[string]string{"QUERYSVC_JWT_AUDIENCE": "activitylog"}, true},
		{"both", map[string]string{"QUERYSVC_JWT_ISSUER": "idp", "QUERYSVC_JWT_AUDIENCE": "activitylog"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			env := map[string]string{"QUERYSVC_ADDR": "127.0.0.1:0", "QUERYSVC_AUDIT_INSECURE_DISABLE": "true",
				"QUERYSVC_JWT_SECRET": testSecret, "ES_URL": "http://127.0.0.1:9200"}
			for k, v := range tt.env {
				env[k] = v
			}
			var out bytes.Buffer
			if err := run(ctx, nil, func(k string) string { return env[k] }, &out); err != nil {
				t.Fatalf("got %v, want the service to start", err)
			}
			if got := strings.Contains(out.String(), "HS256 tokens are accepted from any issuer or for any audience"); got != tt.warn {
				t.Errorf("got warning %v in %s, want %v", got, out.String(), tt.warn)
			}
		})
	}
}

// TestLeeway: -jwt-leeway 0 allows no clock skew (auth.Config reads a zero
// leeway as its default); the default allows 30 s.
func TestLeeway(t *testing.T) {
	env := map[string]string{"QUERYSVC_JWT_SECRET": testSecret, "ES_URL": "http://127.0.0.1:9200"}
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	tok, err := auth.Sign(jose.HS256, []byte(testSecret), auth.Token{Subject: "a", Role: "admin", Expiry: now.Add(-20 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args       []string
		env        string
		wantExpiry bool
	}{
		{nil, "", false},
		{[]string{"-jwt-leeway", "0s"}, "", true},
		{nil, "0s", true},
		{[]string{"-jwt-leeway", "10s"}, "", true},
	} {
		e := map[string]string{"QUERYSVC_JWT_LEEWAY": tt.env}
		s, err := parse(tt.args, func(k string) string {
			if v, ok := e[k]; ok {
				return v
			}
			return env[k]
		}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		cfg := s.verifierConfig()
		cfg.Now = func() time.Time { return now }
		v, err := auth.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Verify(context.Background(), tok)
		if expired := err != nil && strings.Contains(err.Error(), "expired"); expired != tt.wantExpiry {
			t.Errorf("args %q, env %q: a token expired 20 s ago: got %v, want expired %v", tt.args, tt.env, err, tt.wantExpiry)
		}
	}
}

// TestJWKSURL: plain http is accepted only to a loopback address (a sidecar
// on the same host), https anywhere.
func TestJWKSURL(t *testing.T) {
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"https://idp.example.com/.well-known/jwks.json", true},
		{"http://127.0.0.1:9000/jwks", true},
		{"http://localhost/jwks", true},
		{"http://[::1]:9000/jwks", true},
		// Host names are case-insensitive, and may end with the root's dot.
		{"http://LOCALHOST:9000/jwks", true},
		{"http://localhost./jwks", true},
		{"HTTPS://idp.example.com/jwks", true},
		{"http://localhost.idp.example.com/jwks", false},
		{"http://idp.example.com/jwks", false},
		{"http://192.168.1.10/jwks", false},
		{"ftp://idp.example.com/jwks", false},
		{"https:///jwks", false},
	} {
		_, err := parse([]string{"-jwt-jwks-url", tt.url}, func(string) string { return "" }, io.Discard)
		if (err == nil) != tt.ok {
			t.Errorf("%s: got error %v, want accepted %v", tt.url, err, tt.ok)
		}
	}
}

// TestHelpHidesEnvValues: -h shows the documented default of -es-url, not
// the ES_URL of the environment, which may carry credentials
// (https://user:password@host, which the Elasticsearch client accepts).
func TestHelpHidesEnvValues(t *testing.T) {
	var out bytes.Buffer
	env := map[string]string{"ES_URL": "https://elastic:s3cret-pw@es.internal:9200"}
	_, err := parse([]string{"-h"}, func(k string) string { return env[k] }, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("got %v, want flag.ErrHelp", err)
	}
	if strings.Contains(out.String(), "s3cret-pw") {
		t.Errorf("got usage showing the ES_URL password:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "http://localhost:9200") {
		t.Errorf("got usage without the default URL:\n%s", out.String())
	}
}
