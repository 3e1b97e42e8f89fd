package esclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// InlineTransport returns a transport that writes each request and reads its
// answer on the calling goroutine, for a long-running service whose requests
// only read (the query service). Go's http.Transport hands every request to a
// connection's writer goroutine and the answer back from its reader goroutine;
// next to the cluster, those hand-offs between threads were the largest part of
// a hop's cost: on the 2-vCPU development machine a pass-through hop in front of
// a cached aggregation took 80 – 100 µs less per request this way (see the
// query service's README).
//
// Requests the caller's context has cancelled are not sent, and a deadline
// bounds the whole exchange (an answer not read by then closes the connection,
// which makes Elasticsearch cancel a search); a cancellation while a request is
// in flight is noticed only when the answer arrives. A pooled connection the
// node has closed (it restarted, or a load balancer's idle timeout passed) is
// found before a request is written to it, and the request goes out on
// another; a request that fails otherwise is sent once more, which is only
// safe for requests that change nothing.
// Compressed answers (Compression) and nodes reached through a proxy
// (HTTP_PROXY, HTTPS_PROXY) take HTTPTransport instead.
func (c Config) InlineTransport() http.RoundTripper {
	fallback := c.HTTPTransport()
	if c.Compression {
		return fallback
	}
	return &inlineTransport{fallback: fallback, proxy: fallback.Proxy}
}

// inlineMaxConns bounds the connections to one node; a request beyond them
// waits up to inlineConnWait for one to be free.
const (
	inlineMaxConns = 512
	inlineConnWait = 30 * time.Second
	// inlineIdle matches http.DefaultTransport's IdleConnTimeout.
	inlineIdle = 90 * time.Second
	// inlineDialTimeout bounds a connection's set-up, as
	// http.DefaultTransport's dialer does.
	inlineDialTimeout = 30 * time.Second
	// inlineHeaderBytes bounds an answer's headers.
	inlineHeaderBytes = 64 << 10
)

type inlineTransport struct {
	fallback http.RoundTripper
	// proxy says whether a request goes through a proxy (nil: never).
	proxy func(*http.Request) (*url.URL, error)
	// hosts holds a *fasthttp.HostClient per scheme://host, or a nil one for
	// a host the fallback serves.
	hosts sync.Map
}

// client returns the connection pool for req's node, or nil when the fallback
// carries req.
func (t *inlineTransport) client(req *http.Request) (*fasthttp.HostClient, error) {
	key := req.URL.Scheme + "://" + req.URL.Host
	if hc, ok := t.hosts.Load(key); ok {
		return hc.(*fasthttp.HostClient), nil
	}
	hc, err := t.newClient(req)
	if err != nil {
		return nil, err
	}
	got, _ := t.hosts.LoadOrStore(key, hc)
	return got.(*fasthttp.HostClient), nil
}

func (t *inlineTransport) newClient(req *http.Request) (*fasthttp.HostClient, error) {
	tls := req.URL.Scheme == "https"
	if !tls && req.URL.Scheme != "http" {
		return nil, nil
	}
	if t.proxy != nil {
		p, err := t.proxy(req)
		if err != nil {
			return nil, err
		}
		if p != nil {
			return nil, nil
		}
	}
	port := req.URL.Port()
	if port == "" {
		port = "80"
		if tls {
			port = "443"
		}
	}
	return &fasthttp.HostClient{
		Addr:  net.JoinHostPort(req.URL.Hostname(), port),
		IsTLS: tls,
		// Go's dialer, as Go's transport: the system's resolver, both IP
		// versions, TCP keep-alives, and no process-wide DNS cache.
		DialTimeout: func(addr string, timeout time.Duration) (net.Conn, error) {
			if timeout <= 0 || timeout > inlineDialTimeout {
				timeout = inlineDialTimeout
			}
			d := net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
			conn, err := d.Dial("tcp", addr)
			if err != nil {
				return nil, err
			}
			return &checkedConn{Conn: conn}, nil
		},
		NoDefaultUserAgentHeader: true,
		DisablePathNormalizing:   true,
		MaxConns:                 inlineMaxConns,
		MaxConnWaitTimeout:       inlineConnWait,
		MaxIdleConnDuration:      inlineIdle,
		// An answer's headers must fit in the read buffer (fasthttp's
		// default is 4 KiB); Elasticsearch's deprecation warnings come as
		// headers, one per deprecated thing a request used.
		ReadBufferSize: inlineHeaderBytes,
		// One more attempt after a failure, whatever the method: the client
		// only reads. A closed pooled connection is not a failure: nothing
		// was sent on it, and every pooled connection may have been closed
		// at once, so the request moves on to the next until one is alive or
		// new.
		MaxIdemponentCallAttempts: inlineMaxConns + 2,
		RetryIfErr: func(_ *fasthttp.Request, attempts int, err error) (resetTimeout, retry bool) {
			return false, attempts == 1 || errors.Is(err, errConnClosed)
		},
	}, nil
}

func (t *inlineTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	hc, err := t.client(req)
	if err != nil {
		closeBody(req)
		return nil, urlError(req, err)
	}
	if hc == nil {
		return t.fallback.RoundTrip(req)
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		closeBody(req)
		return nil, urlError(req, err)
	}
	freq := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(freq)
	if err := copyRequest(freq, req); err != nil {
		return nil, urlError(req, err)
	}
	fresp := fasthttp.AcquireResponse()
	deadline, timed := ctx.Deadline()
	if timed {
		err = hc.DoDeadline(freq, fresp, deadline)
	} else {
		err = hc.Do(freq, fresp)
	}
	if err != nil {
		fasthttp.ReleaseResponse(fresp)
		switch {
		case ctx.Err() != nil:
			err = ctx.Err()
		case timed && errors.Is(err, fasthttp.ErrTimeout):
			// The deadline is the context's, whose timer may fire a moment
			// after fasthttp's.
			err = context.DeadlineExceeded
		}
		return nil, urlError(req, err)
	}
	return response(req, fresp), nil
}

// copyRequest writes req into freq. It consumes and closes req's body.
func copyRequest(freq *fasthttp.Request, req *http.Request) error {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	freq.Header.SetMethod(req.Method)
	freq.SetRequestURI(req.URL.Scheme + "://" + host + req.URL.RequestURI())
	for k, vs := range req.Header {
		if k == "Host" || k == "Content-Length" {
			continue
		}
		for _, v := range vs {
			freq.Header.Add(k, v)
		}
	}
	if req.Body == nil || req.Body == http.NoBody {
		return nil
	}
	defer req.Body.Close()
	if _, err := io.Copy(freq.BodyWriter(), req.Body); err != nil {
		return err
	}
	return nil
}

// response turns fresp into an http.Response whose body, once closed,
// returns fresp to its pool.
func response(req *http.Request, fresp *fasthttp.Response) *http.Response {
	code := fresp.StatusCode()
	resp := &http.Response{
		Status:     strconv.Itoa(code) + " " + http.StatusText(code),
		StatusCode: code,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header, 4),
		Request:    req,
	}
	// As Go's transport: no Content-Type the node did not send (fasthttp
	// makes one up), and the framing headers of an answer already read whole
	// are not passed on; Close tells the connection was not kept.
	fresp.Header.SetNoDefaultContentType(true)
	resp.Close = fresp.ConnectionClose()
	for k, v := range fresp.Header.All() {
		switch string(k) {
		case "Transfer-Encoding":
			continue
		case "Connection":
			if resp.Close {
				continue
			}
		}
		resp.Header.Add(string(k), string(v))
	}
	body := fresp.Body()
	resp.ContentLength = int64(len(body))
	if req.Method == http.MethodHead {
		resp.ContentLength = max(int64(fresp.Header.ContentLength()), -1)
	}
	b := &inlineBody{resp: fresp}
	b.r.Reset(body)
	resp.Body = b
	return resp
}

// inlineBody reads an answer fasthttp holds; Close hands the answer back.
type inlineBody struct {
	r    bytes.Reader
	resp *fasthttp.Response
}

var errBodyClosed = errors.New("http: read on closed response body")

func (b *inlineBody) Read(p []byte) (int, error) {
	if b.resp == nil {
		return 0, errBodyClosed
	}
	return b.r.Read(p)
}

func (b *inlineBody) Close() error {
	if b.resp != nil {
		b.r.Reset(nil)
		fasthttp.ReleaseResponse(b.resp)
		b.resp = nil
	}
	return nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// urlError wraps err as net/http does, so callers that tell timeouts and
// network errors apart (the Elasticsearch client's retries) see the same.
func urlError(req *http.Request, err error) error {
	op := req.Method
	if len(op) > 1 {
		op = op[:1] + strings.ToLower(op[1:])
	}
	return &url.Error{Op: op, URL: req.URL.Redacted(), Err: err}
}

// errConnClosed reports a pooled connection found closed before a request
// was written to it.
var errConnClosed = errors.New("pooled connection closed by the node")

// checkedConn is a connection to a node that checks, before each request
// after its first, that the node has not closed it while it sat in the pool.
// Go's transport learns of such a close from the connection's reader
// goroutine, which the inline transport does without; fasthttp would write
// the request and fail on the answer, once per closed connection.
type checkedConn struct {
	net.Conn
	// used says a request has been sent: the next one reuses the connection.
	used bool
}

// SetWriteDeadline is where fasthttp starts each request on the connection
// (for TLS through the tls.Conn above it), before it writes anything.
func (c *checkedConn) SetWriteDeadline(t time.Time) error {
	if c.used {
		if err := connCheck(c.Conn); err != nil {
			return fmt.Errorf("%w: %w", errConnClosed, err)
		}
	}
	c.used = true
	return c.Conn.SetWriteDeadline(t)
}
