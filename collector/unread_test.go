package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/activitylog/activitylog/internal/collectortest"
)

// TestUnauthenticatedRequestNotRead proves that the collector refuses a
// request without a valid ingest token before it reads the request's body,
// so that whoever reaches its ports cannot make it hold what they send:
// over gRPC, where ingestauth as the receiver's middleware refuses the stream
// when its headers arrive (the receiver's auth check alone ran once grpc-go
// had read and decoded the whole message), and over HTTP, where the
// receiver's auth handler refuses before the body is read; in plaintext and
// with the TLS overlay.
//
// Each request carries 128 MiB of attribute data (the test overlay lets the
// gRPC receiver take messages up to 256 MiB); the collector's peak resident
// memory must grow by less than a quarter of that over two such requests,
// one without a token and one with another token, per protocol (HTTP first:
// a peak reached over gRPC would hide HTTP's).
func TestUnauthenticatedRequestNotRead(t *testing.T) {
	const size = 128 << 20
	req := plogotlp.NewExportRequest()
	attrs := req.Logs().ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Attributes()
	value := strings.Repeat("a", 1<<20)
	for i := range size >> 20 {
		attrs.PutStr(fmt.Sprintf("filler.%d", i), value)
	}
	body, err := req.MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	if len(body) < size {
		t.Fatalf("got a request of %d bytes, want %d or more", len(body), size)
	}

	_, certFile, keyFile, pool := selfSigned(t)
	clientTLS := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	for _, tt := range []struct {
		name string
		tls  bool
	}{{"plaintext", false}, {"TLS", true}} {
		t.Run(tt.name, func(t *testing.T) {
			opts := collectortest.Options{Configs: []string{"collector/testdata/grpc-256mib.yaml"}}
			creds := insecure.NewCredentials()
			dial := func(addr string) (net.Conn, error) { return net.Dial("tcp", addr) }
			if tt.tls {
				opts.Configs = append(opts.Configs, "otelcol-tls.yaml")
				opts.Env = map[string]string{"ACTIVITYCOL_TLS_CERT_FILE": certFile, "ACTIVITYCOL_TLS_KEY_FILE": keyFile}
				creds = credentials.NewTLS(clientTLS)
				dial = func(addr string) (net.Conn, error) { return tls.Dial("tcp", addr, clientTLS) }
			}
			col := collectortest.Start(t, opts)
			conn, err := grpc.NewClient(col.GRPCEndpoint, grpc.WithTransportCredentials(creds))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			client := plogotlp.NewGRPCClient(conn)
			export := func(md ...string) error {
				ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), md...), time.Minute)
				defer cancel()
				_, err := client.Export(ctx, req)
				return err
			}
			// The token still lets a request in, and the baseline is that
			// of a collector that has served one.
			ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(),
				"authorization", "Bearer "+col.Token), time.Minute)
			defer cancel()
			if _, err := client.Export(ctx, plogotlp.NewExportRequest()); err != nil {
				t.Fatalf("gRPC with the token: %v", err)
			}

			peak := func() int64 {
				t.Helper()
				p, _, err := col.Memory()
				if err != nil {
					t.Skipf("no process memory figures here: %v", err)
				}
				return p
			}
			grows := func(what string, from, to int64) {
				t.Helper()
				t.Logf("%s: collector peak resident memory %d MiB -> %d MiB", what, from>>20, to>>20)
				if to-from >= size/4 {
					t.Errorf("%s: the collector's peak resident memory grew by %d MiB, want under %d MiB: it read "+
						"what it refused", what, (to-from)>>20, size/4>>20)
				}
			}
			start := peak()

			another := "Bearer " + collectortest.NewToken(t)
			for name, authorization := range map[string]string{"without a token": "", "with another token": another} {
				code, sent := postUnread(t, dial, col.HTTPEndpoint, authorization, body)
				if code != http.StatusUnauthorized {
					t.Errorf("HTTP %s: got status %d, want 401", name, code)
				}
				// Loopback socket buffers take a few MB the collector never
				// reads; a collector reading the body would take it all.
				t.Logf("HTTP %s: %d MiB of the %d MiB body written before the collector closed the connection",
					name, sent>>20, len(body)>>20)
				if sent >= len(body) {
					t.Errorf("HTTP %s: the collector took the whole body, want it refused before reading it", name)
				}
			}
			afterHTTP := peak()
			grows("HTTP", start, afterHTTP)

			if err := export(); status.Code(err) != codes.Unauthenticated {
				t.Errorf("gRPC without a token: got %v, want Unauthenticated", err)
			}
			if err := export("authorization", another); status.Code(err) != codes.Unauthenticated {
				t.Errorf("gRPC with another token: got %v, want Unauthenticated", err)
			}
			grows("gRPC", afterHTTP, peak())
		})
	}
}

// postUnread sends body to the OTLP/HTTP receiver at addr over a connection
// from dial, with the Authorization header authorization ("" sends none),
// while it reads the answer; it returns the answer's status and how much of
// body was written before the collector answered and the connection was
// closed.
func postUnread(t *testing.T, dial func(string) (net.Conn, error), addr, authorization string, body []byte) (int, int) {
	t.Helper()
	conn, err := dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := fmt.Sprintf("POST /v1/logs HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-protobuf\r\nContent-Length: %d\r\n",
		addr, len(body))
	if authorization != "" {
		head += "Authorization: " + authorization + "\r\n"
	}
	written := make(chan int, 1)
	go func() {
		if _, err := conn.Write([]byte(head + "\r\n")); err != nil {
			written <- 0
			return
		}
		sent := 0
		for sent < len(body) {
			n, err := conn.Write(body[sent:min(sent+1<<20, len(body))])
			sent += n
			if err != nil {
				break
			}
		}
		written <- sent
	}()
	_ = conn.SetReadDeadline(time.Now().Add(time.Minute))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to POST /v1/logs: %v", err)
	}
	resp.Body.Close()
	// Ends the write if the collector has not closed the connection yet.
	conn.Close()
	return resp.StatusCode, <-written
}
