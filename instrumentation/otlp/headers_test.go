package otlp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/activitylog/activitylog/instrumentation/otlp"
)

const wantAuth = "Bearer s3cret-ingest-token"

// TestProviderSendsHeadersFromGetenv proves that the headers variables read
// through WithGetenv reach the collector, over both protocols, with the
// LOGS_ variable winning: a service that hands its own environment to the
// provider (as the example does) can carry the collector's ingest token.
// The receivers here refuse a request without the token, as activitycol does.
func TestProviderSendsHeadersFromGetenv(t *testing.T) {
	env := map[string]string{
		"OTEL_EXPORTER_OTLP_HEADERS":      "Authorization=Bearer%20wrong",
		"OTEL_EXPORTER_OTLP_LOGS_HEADERS": "Authorization=Bearer%20s3cret-ingest-token",
	}
	getenv := otlp.WithGetenv(func(k string) string { return env[k] })

	t.Run("grpc", func(t *testing.T) {
		ls := &logsServer{}
		addr := serveGRPC(t, ls, grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			md, _ := metadata.FromIncomingContext(ctx)
			if got := md.Get("authorization"); len(got) != 1 || got[0] != wantAuth {
				return nil, status.Errorf(codes.Unauthenticated, "got authorization %q", got)
			}
			return h(ctx, req)
		}))
		deliverTo(t, ls, getenv, otlp.WithProtocol(otlp.GRPC), otlp.WithEndpoint(addr), otlp.WithInsecure())
	})
	t.Run("http", func(t *testing.T) {
		ls := &logsServer{}
		logs := httpLogs(ls, "/v1/logs")
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if got := r.Header.Values("Authorization"); len(got) != 1 || got[0] != wantAuth {
				http.Error(w, "unauthenticated", http.StatusUnauthorized)
				return
			}
			logs.ServeHTTP(w, r)
		}))
		defer srv.Close()
		deliverTo(t, ls, getenv, otlp.WithProtocol(otlp.HTTP), otlp.WithEndpoint(srv.URL))
	})
}

// TestProviderRejectsInvalidHeaders proves that a malformed headers variable
// stops the provider at once, not every export later.
func TestProviderRejectsInvalidHeaders(t *testing.T) {
	env := map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "Authorization: Bearer abc"}
	p, err := otlp.NewProvider(context.Background(), otlp.WithGetenv(func(k string) string { return env[k] }))
	if !errors.Is(err, otlp.ErrInvalidHeaders) {
		if p != nil {
			_ = p.Shutdown(context.Background())
		}
		t.Fatalf("got error %v, want ErrInvalidHeaders", err)
	}
	// WithHeaders replaces the variables: nothing is parsed.
	p, err = otlp.NewProvider(context.Background(), otlp.WithGetenv(func(k string) string { return env[k] }),
		otlp.WithHeaders(map[string]string{"Authorization": wantAuth}), otlp.WithEndpoint(closedPort(t)), otlp.WithInsecure())
	if err != nil {
		t.Fatalf("with WithHeaders: got error %v, want nil", err)
	}
	_ = p.Shutdown(context.Background())
}
