package collectortest

import (
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Gate stands between the collector and Elasticsearch on real loopback
// sockets, to make an outage on demand. Shut, nothing listens on its port,
// so a connection is refused as by a node that is down; open, it forwards
// every connection to the node; denying, it answers every request 401, as a
// node does to credentials that are wrong or revoked (the test node runs
// without security, so it cannot).
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
