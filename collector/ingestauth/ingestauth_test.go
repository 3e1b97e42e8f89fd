package ingestauth

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/bearertokenauthextension"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensionauth"
	"go.opentelemetry.io/collector/extension/extensionmiddleware"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const token = "0123456789abcdef0123456789abcdef"

// start creates and starts the extension with cfg, the contrib extension
// underneath being the real one.
func start(t testing.TB, cfg *bearertokenauthextension.Config) (extensionauth.Server, error) {
	t.Helper()
	set := extensiontest.NewNopSettings(Type)
	ext, err := NewFactory().Create(context.Background(), set, cfg)
	if err != nil {
		return nil, err
	}
	if err := ext.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ext.Shutdown(context.Background()) })
	return ext.(extensionauth.Server), nil
}

// startFile starts the extension with a token file holding content. It
// returns the file's path too, for a test to write the file again.
func startFile(tb testing.TB, content string) (extensionauth.Server, string) {
	tb.Helper()
	file := filepath.Join(tb.TempDir(), "tokens")
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	s, err := start(tb, config(func(c *bearertokenauthextension.Config) { c.Filename = file }))
	if err != nil {
		tb.Fatal(err)
	}
	return s, file
}

func config(mod func(*bearertokenauthextension.Config)) *bearertokenauthextension.Config {
	cfg := NewFactory().CreateDefaultConfig().(*bearertokenauthextension.Config)
	mod(cfg)
	return cfg
}

func allowed(s extensionauth.Server, headers map[string][]string) bool {
	_, err := s.Authenticate(context.Background(), headers)
	return err == nil
}

func TestAuthenticate(t *testing.T) {
	s, err := start(t, config(func(c *bearertokenauthextension.Config) { c.BearerToken = token }))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		headers map[string][]string
		want    bool
	}{
		{"HTTP header", map[string][]string{"Authorization": {"Bearer " + token}}, true},
		{"gRPC metadata", map[string][]string{"authorization": {"Bearer " + token}}, true},
		{"none", map[string][]string{}, false},
		{"empty", map[string][]string{"Authorization": {}}, false},
		{"another token", map[string][]string{"Authorization": {"Bearer " + strings.Repeat("x", 32)}}, false},
		{"without the scheme", map[string][]string{"Authorization": {token}}, false},
		{"scheme only", map[string][]string{"Authorization": {"Bearer "}}, false},
	} {
		if got := allowed(s, tt.headers); got != tt.want {
			t.Errorf("%s: got allowed %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestCommentLineIsNoToken proves the hole this package closes: the contrib
// extension takes the first word of every line of its token file as a
// token, so a comment line written into the file after the start (the
// extension reads it again) let anyone in with "Bearer #".
func TestCommentLineIsNoToken(t *testing.T) {
	s, file := startFile(t, token+"\n")
	// A comment line and a second token; once the second token is let
	// in, the contrib extension has read the file again, and the comment's
	// first word is one of its tokens too.
	other := strings.Repeat("y", 32)
	if err := os.WriteFile(file, []byte("# ingest tokens, one per line\n"+token+"\n"+other+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !allowed(s, map[string][]string{"Authorization": {"Bearer " + other}}) {
		if time.Now().After(deadline) {
			t.Fatal("the token file was not read again within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if allowed(s, map[string][]string{"Authorization": {"Bearer #"}}) {
		t.Error(`"Bearer #" let in by a comment line in the token file`)
	}
	// A comment word long enough to pass for a token, written later: the
	// contrib extension takes it, the guard must not.
	ruler := "#" + strings.Repeat("-", 31)
	third := strings.Repeat("w", 32)
	if err := os.WriteFile(file, []byte(ruler+"\n"+token+"\n"+third+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for !allowed(s, map[string][]string{"Authorization": {"Bearer " + third}}) {
		if time.Now().After(deadline) {
			t.Fatal("the token file was not read again within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if allowed(s, map[string][]string{"Authorization": {"Bearer " + ruler}}) {
		t.Errorf("%q let in by a comment line in the token file", ruler)
	}
	if !allowed(s, map[string][]string{"Authorization": {"Bearer " + token}}) {
		t.Error("the real token was refused")
	}
}

func TestWeakTokensRefusedAtStart(t *testing.T) {
	dir := t.TempDir()
	commented := filepath.Join(dir, "commented")
	if err := os.WriteFile(commented, []byte("\n# ingest tokens\n"+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A separator comment whose first word is long enough to pass for a
	// token: the contrib extension would take "#----..." as one.
	ruled := filepath.Join(dir, "ruled")
	if err := os.WriteFile(ruled, []byte(token+"\n#-------------------------------\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good")
	if err := os.WriteFile(good, []byte(token+" loyalty-api\n\n"+strings.Repeat("z", 16)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		mod  func(*bearertokenauthextension.Config)
		want string // "" means it starts
	}{
		{"short token", func(c *bearertokenauthextension.Config) { c.BearerToken = "abc123" }, "token: must be 16 characters or more"},
		// The contrib extension keeps an inline token's first word: the
		// emitters sending the whole token were refused, and anyone
		// sending the first word got in.
		{"token with a space", func(c *bearertokenauthextension.Config) { c.BearerToken = token + " loyalty-api" }, "token: must not hold white space"},
		{"token with a tab", func(c *bearertokenauthextension.Config) { c.Tokens = append(c.Tokens, token, "abc123\t"+token) }, "tokens[1]: must not hold white space"},
		{"short one of tokens", func(c *bearertokenauthextension.Config) {
			c.Tokens = append(c.Tokens, token, "abc123")
		}, "tokens[1]: must be 16"},
		{"comment line in the file", func(c *bearertokenauthextension.Config) { c.Filename = commented }, "line 2: a token cannot start with #"},
		{"long comment word in the file", func(c *bearertokenauthextension.Config) { c.Filename = ruled }, "line 2: a token cannot start with #"},
		{"missing file", func(c *bearertokenauthextension.Config) { c.Filename = filepath.Join(dir, "none") }, "token file"},
		// The contrib extension would use the list and ignore the file
		// (and the tokens of the list went unchecked).
		{"file and short tokens", func(c *bearertokenauthextension.Config) {
			c.Filename, c.Tokens = good, append(c.Tokens, "abc123")
		}, "set either tokens or filename"},
		{"file and tokens", func(c *bearertokenauthextension.Config) {
			c.Filename, c.Tokens = good, append(c.Tokens, token)
		}, "set either tokens or filename"},
		{"good file", func(c *bearertokenauthextension.Config) { c.Filename = good }, ""},
		// The file wins over the inline token, as in otelcol-config.yaml.
		{"good file and a token", func(c *bearertokenauthextension.Config) { c.Filename, c.BearerToken = good, token }, ""},
		{"good token", func(c *bearertokenauthextension.Config) { c.BearerToken = token }, ""},
	} {
		_, err := start(t, config(tt.mod))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: got error %v, want a start", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: got error %v, want one containing %q", tt.name, err, tt.want)
		case err != nil && strings.Contains(err.Error(), "abc123"):
			t.Errorf("%s: the error %q quotes the token", tt.name, err)
		}
	}
}

// tenantsOf authenticates with token and returns the tenants the request's
// client.Info carries, and whether it names any.
func tenantsOf(t *testing.T, s extensionauth.Server, token string) ([]string, bool) {
	t.Helper()
	ctx, err := s.Authenticate(context.Background(), map[string][]string{"Authorization": {"Bearer " + token}})
	if err != nil {
		t.Fatalf("token refused: %v", err)
	}
	auth := client.FromContext(ctx).Auth
	if auth == nil {
		t.Fatal("no client.AuthData in the context")
	}
	v := auth.GetAttribute(TenantsAttribute)
	if v == nil {
		if names := auth.GetAttributeNames(); !slices.Equal(names, []string{IngestAttribute}) {
			t.Errorf("got attribute names %v without the tenants, want [%s]", names, IngestAttribute)
		}
		return nil, false
	}
	tenants, ok := v.([]string)
	if !ok {
		t.Fatalf("got %s of type %T, want []string", TenantsAttribute, v)
	}
	if names := auth.GetAttributeNames(); !slices.Equal(names, []string{IngestAttribute, TenantsAttribute}) {
		t.Errorf("got attribute names %v, want [%s %s]", names, IngestAttribute, TenantsAttribute)
	}
	return tenants, true
}

// TestTokenTenants proves that a token bound with "tenants=" in the token
// file carries its tenants, normalized, into the request's client.Info; that
// a token without it, or an inline token, carries none (any tenant); and
// that what follows the list on the line is ignored.
func TestTokenTenants(t *testing.T) {
	bound, unbound := token, strings.Repeat("u", 32)
	s, _ := startFile(t, bound+" tenants=ACME,bean-there loyalty-api\n"+unbound+" pos-terminals\n")
	if got, ok := tenantsOf(t, s, bound); !ok || !slices.Equal(got, []string{"acme", "bean-there"}) {
		t.Errorf("bound token: got tenants %v (%v), want [acme bean-there]", got, ok)
	}
	if got, ok := tenantsOf(t, s, unbound); ok {
		t.Errorf("unbound token: got tenants %v, want none", got)
	}

	inline, err := start(t, config(func(c *bearertokenauthextension.Config) { c.BearerToken = token }))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := tenantsOf(t, inline, token); ok {
		t.Errorf("inline token: got tenants %v, want none", got)
	}
}

// TestIngestMark proves that every request the guard lets in carries
// IngestAttribute (true), whether its token is bound to tenants in the file,
// listed there unbound, or inline: the activity processor refuses, when
// require_ingest_auth is on, a batch without it.
func TestIngestMark(t *testing.T) {
	bound, unbound := token, strings.Repeat("u", 32)
	fromFile, _ := startFile(t, bound+" tenants=acme\n"+unbound+"\n")
	inline, err := start(t, config(func(c *bearertokenauthextension.Config) { c.BearerToken = token }))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		server extensionauth.Server
		token  string
	}{
		{"bound file token", fromFile, bound},
		{"unbound file token", fromFile, unbound},
		{"inline token", inline, token},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, err := tt.server.Authenticate(context.Background(), map[string][]string{"Authorization": {"Bearer " + tt.token}})
			if err != nil {
				t.Fatalf("token refused: %v", err)
			}
			auth := client.FromContext(ctx).Auth
			if auth == nil {
				t.Fatal("no client.AuthData in the context")
			}
			if got := auth.GetAttribute(IngestAttribute); got != true {
				t.Errorf("got %s %v, want true", IngestAttribute, got)
			}
			if names := auth.GetAttributeNames(); !slices.Contains(names, IngestAttribute) {
				t.Errorf("got attribute names %v, want them to list %s", names, IngestAttribute)
			}
		})
	}
}

// TestTokenTenantsReload proves that the tenants follow the token file when
// it changes, without a restart; that a wrong list written later keeps the
// tenants read before (never a token let in unbound); and that a token
// removed from the file is refused at once, even before the contrib
// extension has read the file again.
func TestTokenTenantsReload(t *testing.T) {
	other := strings.Repeat("o", 32)
	file := filepath.Join(t.TempDir(), "tokens")
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(token + " tenants=acme\n")
	s, err := start(t, config(func(c *bearertokenauthextension.Config) { c.Filename = file }))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := tenantsOf(t, s, token); !slices.Equal(got, []string{"acme"}) {
		t.Fatalf("got tenants %v, want [acme]", got)
	}

	write(token + " tenants=bean-there,acme-two\n")
	if got, _ := tenantsOf(t, s, token); !slices.Equal(got, []string{"acme-two", "bean-there"}) {
		t.Errorf("after the change: got tenants %v, want [acme-two bean-there]", got)
	}

	write(token + " tenants=\n" + other + "\n")
	if got, _ := tenantsOf(t, s, token); !slices.Equal(got, []string{"acme-two", "bean-there"}) {
		t.Errorf("after an empty list: got tenants %v, want the last good [acme-two bean-there]", got)
	}

	write(other + "\n")
	if allowed(s, map[string][]string{"Authorization": {"Bearer " + token}}) {
		t.Error("a token removed from the file was let in")
	}
}

func TestBadTenantsRefusedAtStart(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name, content, want string
	}{
		{"empty list", token + " tenants=\n", "line 1: tenants= needs one or more valid tenant ids"},
		{"empty tenant", token + " tenants=acme,\n", "line 1: tenants= needs"},
		{"reserved tenant", "\n" + token + " tenants=Unknown\n", "line 2: tenants= needs"},
		{"control character", token + " tenants=ac\x01me\n", "line 1: tenants= needs"},
		{"not after the token", token + " loyalty-api tenants=acme\n", `line 1: "tenants=" must follow the token`},
		// A binding misspelled would otherwise leave its token unbound,
		// free to write every tenant.
		{"key in the singular", token + " tenant=acme\n", `line 1: "tenant=acme" is not a binding`},
		{"key capitalized", token + " Tenants=acme\n", `line 1: "Tenants=acme" is not a binding`},
		{"key spaced from its list", token + " tenants = acme\n", `line 1: "tenants" is not a binding`},
		{"key with a colon", "\n" + token + " tenants:acme\n", `line 2: "tenants:acme" is not a binding`},
		{"key misspelled after a good one", token + " tenants=acme TENANT=bean\n", `line 1: "TENANT=bean" is not a binding`},
		{"a note about tenants", token + " tenants=acme tenant-facing,team=loyalty\n", ""},
		{"token listed twice, other tenants", token + " tenants=acme\n" + token + "\n", "line 2: the token of an earlier line"},
		{"token listed twice, same tenants", token + " tenants=acme,bean\n" + token + " tenants=bean,ACME\n", ""},
		// Ids that normalise to another id than their own in another
		// case: the token would write records read as that tenant's.
		{"Kelvin sign", token + " tenants=\u212Aroger\n", `line 1: tenant "\u212aroger" is written with characters`},
		{"dotted capital I", token + " tenants=acme,\u0130kea\n", `line 1: tenant "\u0130kea" is written`},
		{"zero-width space", token + " tenants=acme\u200b\n", `line 1: tenant "acme\u200b" is written`},
		{"combining accent", token + " tenants=cafe\u0301\n", `line 1: tenant "cafe\u0301" is written`},
		{"capital letters other than ASCII", token + " tenants=\u00c4CME\n", ""},
	} {
		file := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"))
		if err := os.WriteFile(file, []byte(tt.content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := start(t, config(func(c *bearertokenauthextension.Config) { c.Filename = file }))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: got error %v, want a start", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: got error %v, want one containing %q", tt.name, err, tt.want)
		case err != nil && strings.Contains(err.Error(), token):
			t.Errorf("%s: the error %q quotes the token", tt.name, err)
		}
	}
}

// TestTokenTenantsSameSizeAndTime proves that a binding changed in place,
// to a list of the same length, is followed even when the file keeps its
// modification time (a change within the clock tick of the last read, or
// a copy that preserves times): the contrib extension sees every write, so
// the guard must not keep a revoked tenant bound to the token.
func TestTokenTenantsSameSizeAndTime(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tokens")
	mtime := time.Now().Add(-time.Hour).Truncate(time.Second)
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(file, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	write(token + " tenants=acme\n")
	s, err := start(t, config(func(c *bearertokenauthextension.Config) { c.Filename = file }))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := tenantsOf(t, s, token); !slices.Equal(got, []string{"acme"}) {
		t.Fatalf("got tenants %v, want [acme]", got)
	}
	write(token + " tenants=bcme\n")
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := tenantsOf(t, s, token)
		if slices.Equal(got, []string{"bcme"}) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the change: got tenants %v, want [bcme]", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// countingLogs is an OTLP logs service that counts the requests it is
// handed, that is, the messages grpc-go read and decoded for it.
type countingLogs struct {
	plogotlp.UnimplementedGRPCServer
	handled atomic.Int64
}

func (c *countingLogs) Export(context.Context, plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	c.handled.Add(1)
	return plogotlp.NewExportResponse(), nil
}

// TestGRPCMiddleware proves that a gRPC server with the extension's server
// options refuses a stream without a valid token, with Unauthenticated,
// before its message reaches the service, and lets the token's in.
func TestGRPCMiddleware(t *testing.T) {
	s, err := start(t, config(func(c *bearertokenauthextension.Config) { c.BearerToken = token }))
	if err != nil {
		t.Fatal(err)
	}
	mw, ok := s.(extensionmiddleware.GRPCServer)
	if !ok {
		t.Fatalf("%T is not a gRPC server middleware", s)
	}
	opts, err := mw.GetGRPCServerOptions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := grpc.NewServer(opts...)
	logs := &countingLogs{}
	plogotlp.RegisterGRPCServer(server, logs)
	go func() { _ = server.Serve(l) }()
	defer server.Stop()
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := plogotlp.NewGRPCClient(conn)

	for _, tt := range []struct {
		name    string
		md      []string
		want    codes.Code
		handled int64
	}{
		{"none", nil, codes.Unauthenticated, 0},
		{"another token", []string{"authorization", "Bearer " + strings.Repeat("x", 32)}, codes.Unauthenticated, 0},
		{"too short", []string{"authorization", "Bearer " + token[:MinTokenLength-1]}, codes.Unauthenticated, 0},
		{"without the scheme", []string{"authorization", token}, codes.Unauthenticated, 0},
		{"the token", []string{"authorization", "Bearer " + token}, codes.OK, 1},
	} {
		before := logs.handled.Load()
		ctx := metadata.AppendToOutgoingContext(context.Background(), tt.md...)
		_, err := client.Export(ctx, plogotlp.NewExportRequest())
		if got := status.Code(err); got != tt.want {
			t.Errorf("%s: got %v (%v), want %v", tt.name, got, err, tt.want)
		}
		if got := logs.handled.Load() - before; got != tt.handled {
			t.Errorf("%s: the service got %d requests, want %d", tt.name, got, tt.handled)
		}
	}
}
