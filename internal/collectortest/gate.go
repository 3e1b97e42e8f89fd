package collectortest

import (
	"bytes"
	"compress/gzip"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Gate stands between the collector and Elasticsearch on real loopback
// sockets, to make an outage on demand. Shut, nothing listens on its port,
// so a connection is refused as by a node that is down; open, it forwards
// every connection to the node; denying, it answers every request 401, as a
// node does to credentials that are wrong or revoked (the test node runs
// without security, so it cannot); limiting, it answers 413 to a request
// over a size (see Limit).
type Gate struct {
	// Addr is the host:port to give the collector.
	Addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	srv   *http.Server // while denying
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// NewGate returns a shut gate in front of target (host:port). It is shut
// again when the test ends.
func NewGate(tb testing.TB, target string) *Gate {
	tb.Helper()
	g := &Gate{Addr: FreePort(tb), target: target, conns: map[net.Conn]struct{}{}}
	tb.Cleanup(g.Shut)
	return g
}

// Open starts forwarding. The port was free when the gate was made; if
// something else took it since, the test fails.
func (g *Gate) Open(tb testing.TB) {
	tb.Helper()
	g.listen(tb, g.accept)
}

// Deny answers every request 401 with Elasticsearch's error body.
func (g *Gate) Deny(tb testing.TB) {
	tb.Helper()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("WWW-Authenticate", `Basic realm="security"`)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":{"root_cause":[{"type":"security_exception","reason":"unable to authenticate user"}],`+
			`"type":"security_exception","reason":"unable to authenticate user"},"status":401}`)
	}), ReadHeaderTimeout: 5 * time.Second}
	g.serve(tb, srv)
}

// Limit forwards every request to the node, except one whose body, once
// decompressed, is longer than max bytes: that one is answered 413, as a node
// answers a request over its http.max_content_length. That setting is static
// (the test node keeps its default, 100 MB), hence the gate. The returned
// function counts the requests refused so far.
func (g *Gate) Limit(tb testing.TB, max int64) (refused func() int64) {
	tb.Helper()
	var n atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: g.target})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if contentLength(r.Header.Get("Content-Encoding"), body) > max {
			n.Add(1)
			w.Header().Set("X-Elastic-Product", "Elasticsearch")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		proxy.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 5 * time.Second}
	g.serve(tb, srv)
	return n.Load
}

// contentLength is the length of body once decoded from encoding (gzip or
// none); a body that does not decode counts as it is.
func contentLength(encoding string, body []byte) int64 {
	if encoding != "gzip" {
		return int64(len(body))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return int64(len(body))
	}
	n, _ := io.Copy(io.Discard, zr)
	return n
}

// serve answers the gate's port with srv, after Shut if the gate was open,
// denying or limiting.
func (g *Gate) serve(tb testing.TB, srv *http.Server) {
	tb.Helper()
	g.listen(tb, func(ln net.Listener) {
		defer g.wg.Done()
		_ = srv.Serve(ln)
	})
	g.mu.Lock()
	g.srv = srv
	g.mu.Unlock()
}

// listen listens on the gate's port and serves it with serve, after Shut
// if the gate was open or denying.
func (g *Gate) listen(tb testing.TB, serve func(net.Listener)) {
	tb.Helper()
	g.Shut()
	g.mu.Lock()
	defer g.mu.Unlock()
	var ln net.Listener
	var err error
	// The port of a listener closed a moment ago can take a moment to be
	// free again.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if ln, err = net.Listen("tcp", g.Addr); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		tb.Fatalf("collectortest: open gate on %s: %v", g.Addr, err)
	}
	g.ln = ln
	g.wg.Add(1)
	go serve(ln)
}

// Shut stops listening and cuts every forwarded connection.
func (g *Gate) Shut() {
	g.mu.Lock()
	ln, srv := g.ln, g.srv
	g.ln, g.srv = nil, nil
	if ln != nil {
		_ = ln.Close()
	}
	if srv != nil {
		_ = srv.Close() // its keep-alive connections too
	}
	for c := range g.conns {
		_ = c.Close()
	}
	g.mu.Unlock()
	g.wg.Wait()
}

func (g *Gate) accept(ln net.Listener) {
	defer g.wg.Done()
	for {
		in, err := ln.Accept()
		if err != nil {
			return // closed by Shut
		}
		out, err := net.Dial("tcp", g.target)
		if err != nil {
			_ = in.Close()
			continue
		}
		if !g.track(in, out) {
			return
		}
		g.wg.Add(2)
		go g.pipe(out, in)
		go g.pipe(in, out)
	}
}

// track registers a forwarded connection pair, unless the gate was shut
// meanwhile.
func (g *Gate) track(in, out net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ln == nil {
		_ = in.Close()
		_ = out.Close()
		return false
	}
	g.conns[in], g.conns[out] = struct{}{}, struct{}{}
	return true
}

func (g *Gate) pipe(dst, src net.Conn) {
	defer g.wg.Done()
	// Either side closing, or Shut cutting both, ends the pair: the
	// collector sees the node go away.
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
	g.mu.Lock()
	delete(g.conns, dst)
	delete(g.conns, src)
	g.mu.Unlock()
}
