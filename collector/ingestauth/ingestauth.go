// Package ingestauth is the collector's ingest authenticator: the contrib
// bearertokenauth extension (tokens inline or in a file read again when it
// changes, compared in constant time), with weak tokens refused.
//
// The contrib extension takes the first word of every non-blank line of its
// token file as a token, so a comment line ("# ingest tokens") makes "#" a
// token that anyone could send, and it accepts a token of any length. Here a
// token shorter than MinTokenLength is refused when the collector starts
// (inline or in the file) and, whatever the file says later, on every
// request before the contrib extension compares it. A tokens list beside a
// token file stops the start too: the contrib extension would use the list
// and ignore the file, tenant bindings and all, with a warning that says the
// opposite.
//
// A line of the token file may bind its token to tenants:
// "<token> tenants=acme,bean-there [anything]"; a binding misspelled
// ("tenant=acme", "Tenants=acme") is refused, not left as a note that lets
// the token write every tenant. The guard reads the file
// itself (at the start, and again on the first request after its
// modification time or size changed, or a second after it last read it) and
// puts the presented token's tenants
// in the request's client.Info (see TenantsAttribute), where the activity
// processor drops the records of every other tenant. Every request let in
// also carries IngestAttribute, so that the processor can tell a request
// from an unbound token from one whose client.Info was lost on the way. The
// contrib extension still decides whether the token is valid.
//
// The extension is also a gRPC server middleware (the OTLP gRPC receiver's
// "middlewares: [{id: ingestauth}]"): it makes the same decision when a
// stream's headers arrive, before grpc-go reads the request's message. The
// receiver's "auth" check alone runs in an interceptor, once grpc-go has
// read, decompressed and decoded the whole message, so a client without a
// token could make the collector read and hold up to max_recv_msg_size_mib
// before it was refused. The HTTP receiver needs no middleware: its auth
// handler refuses a request before its body is read.
package ingestauth

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/bearertokenauthextension"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensionauth"
	"go.opentelemetry.io/collector/extension/extensionmiddleware"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"

	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/schema"
)

// MinTokenLength is the shortest token accepted: 16 characters. The
// documentation asks for 32 random bytes (64 hex characters).
const MinTokenLength = 16

// TenantsAttribute is the client.AuthData attribute that holds, as a
// []string of normalized tenant ids, the tenants a token bound with
// "tenants=" may write. It is absent for a token bound to none, which may
// write any tenant. The activity processor reads it (schema.AuthTenants).
const TenantsAttribute = schema.AuthTenants

// IngestAttribute is the client.AuthData attribute set, to true, on every
// request the guard lets in, bound or not: the activity processor's
// require_ingest_auth refuses a batch without it, which is one whose
// client.Info a processor before it dropped (schema.AuthIngest).
const IngestAttribute = schema.AuthIngest

// tenantsPrefix starts the word of a token file line that binds its token.
const tenantsPrefix = "tenants="

// Type is the extension's configuration key.
var Type = component.MustNewType("ingestauth")

// errUnauthenticated is what a refused client is told: nothing about why.
var errUnauthenticated = errors.New("unauthenticated: a valid ingest token is required")

// NewFactory returns the factory of the ingestauth extension. Its
// configuration is the contrib bearertokenauth extension's: token, tokens,
// filename, header and scheme.
func NewFactory() extension.Factory {
	base := bearertokenauthextension.NewFactory()
	return extension.NewFactory(Type, base.CreateDefaultConfig,
		func(ctx context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
			c, ok := cfg.(*bearertokenauthextension.Config)
			if !ok {
				return nil, fmt.Errorf("ingestauth: unexpected configuration %T", cfg)
			}
			if err := checkTokens(c); err != nil {
				return nil, err
			}
			var file *tokenFile
			// As the contrib extension: "tokens" wins over the file.
			if c.Filename != "" && len(c.Tokens) == 0 {
				file = &tokenFile{name: c.Filename, logger: set.Logger}
				if err := file.load(); err != nil {
					return nil, err
				}
			}
			set.ID = component.NewIDWithName(base.Type(), set.ID.Name())
			ext, err := base.Create(ctx, set, cfg)
			if err != nil {
				return nil, err
			}
			server, ok := ext.(extensionauth.Server)
			if !ok {
				return nil, fmt.Errorf("ingestauth: %T is not a server authenticator", ext)
			}
			return &guard{Extension: ext, server: server, header: c.Header, scheme: c.Scheme, file: file}, nil
		}, base.Stability())
}

// checkTokens refuses the configured tokens that are too short, naming where
// they are, never what they are, and a token file beside a tokens list: the
// contrib extension would use the list and ignore the file, its tenant
// bindings included, while only warning that the list is ignored.
func checkTokens(c *bearertokenauthextension.Config) error {
	if c.Filename != "" && len(c.Tokens) > 0 {
		return errors.New("ingestauth: set either tokens or filename, not both (the tokens list would be used and " +
			"the file, with its tenant bindings, ignored)")
	}
	if c.Filename != "" {
		f, err := os.Open(c.Filename)
		if err != nil {
			return fmt.Errorf("ingestauth: token file: %w", err)
		}
		defer f.Close()
		s := bufio.NewScanner(f)
		for line := 1; s.Scan(); line++ {
			// As the contrib extension reads it: the first word of a line.
			w := strings.Fields(s.Text())
			if len(w) == 0 {
				continue
			}
			if err := commentWord(w[0]); err != nil {
				return fmt.Errorf("ingestauth: token file %s line %d: %w", c.Filename, line, err)
			}
			if len(w[0]) < MinTokenLength {
				return fmt.Errorf("ingestauth: token file %s line %d: a token must be %d characters or more "+
					"(the file has no comments: the first word of every non-blank line is a token)", c.Filename, line, MinTokenLength)
			}
		}
		if err := s.Err(); err != nil {
			return fmt.Errorf("ingestauth: token file: %w", err)
		}
		return nil // the file wins over an inline token
	}
	if c.BearerToken != "" {
		if err := inlineToken(string(c.BearerToken)); err != nil {
			return fmt.Errorf("ingestauth: token: %w", err)
		}
	}
	for i, t := range c.Tokens {
		if err := inlineToken(string(t)); err != nil {
			return fmt.Errorf("ingestauth: tokens[%d]: %w", i, err)
		}
	}
	return nil
}

// inlineToken refuses an inline token that is too short or holds white
// space: the contrib extension keeps only the first word of a token with a
// space, so with "3f9a... loyalty" the emitters sending the whole token are
// refused and anyone sending "3f9a..." gets in.
func inlineToken(t string) error {
	if strings.ContainsFunc(t, unicode.IsSpace) {
		return errors.New("must not hold white space (a token is one word; put a token's notes in a token file, after it)")
	}
	if len(t) < MinTokenLength {
		return fmt.Errorf("must be %d characters or more", MinTokenLength)
	}
	return nil
}

// commentWord refuses a token file's first word that starts with "#": the
// file has no comments, and the contrib extension would take a comment's
// first word as a token, one that anybody reading the file's layout could
// guess ("#-------------------------------" is 32 characters).
func commentWord(w string) error {
	if strings.HasPrefix(w, "#") {
		return errors.New(`a token cannot start with # (the file has no comments: the first word of every ` +
			`non-blank line is a token)`)
	}
	return nil
}

// guard refuses a request whose token is missing or too short, hands the
// rest to the contrib extension, and tags the requests it lets in with their
// token's tenants.
type guard struct {
	extension.Extension
	server         extensionauth.Server
	header, scheme string
	file           *tokenFile // nil for inline tokens, which may write any tenant
}

var (
	_ extensionauth.Server           = (*guard)(nil)
	_ extensionmiddleware.GRPCServer = (*guard)(nil)
)

// GetGRPCServerOptions implements extensionmiddleware.GRPCServer: a gRPC
// server whose configuration names ingestauth among its middlewares refuses
// a stream without a valid token when its headers arrive, with
// Unauthenticated, before any of its message is read.
//
// It sets the server's tap handle, of which grpc-go allows one: another
// middleware setting one too makes the server panic at the start.
func (g *guard) GetGRPCServerOptions(context.Context) ([]grpc.ServerOption, error) {
	return []grpc.ServerOption{grpc.InTapHandle(g.tap)}, nil
}

// tap is the gRPC server's tap handle: it runs in the connection's reading
// goroutine when a stream's headers arrive, and refuses the stream, before
// its message is read, when Authenticate would. It lets the stream in with
// its context unchanged: the receiver's auth interceptor authenticates it
// again and puts its token's tenants in the request's client.Info. Its cost
// is Authenticate's: a few comparisons and a stat of the token file (a read
// of it at most once a second), nothing that waits on the network.
func (g *guard) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	if _, err := g.Authenticate(ctx, info.Header); err != nil {
		return ctx, status.Error(codes.Unauthenticated, err.Error())
	}
	return ctx, nil
}

// Authenticate implements extensionauth.Server.
func (g *guard) Authenticate(ctx context.Context, headers map[string][]string) (context.Context, error) {
	v, ok := headers[http.CanonicalHeaderKey(g.header)]
	if !ok {
		v = headers[strings.ToLower(g.header)] // gRPC metadata
	}
	if len(v) == 0 {
		return ctx, errUnauthenticated
	}
	token := v[0]
	if g.scheme != "" {
		var found bool
		if token, found = strings.CutPrefix(token, g.scheme+" "); !found {
			return ctx, errUnauthenticated
		}
	}
	if len(token) < MinTokenLength || strings.HasPrefix(token, "#") {
		return ctx, errUnauthenticated
	}
	out, err := g.server.Authenticate(ctx, headers)
	if err != nil {
		return ctx, errUnauthenticated
	}
	auth := authData{}
	if g.file != nil {
		// Looked up only once the contrib extension found the token
		// valid, so the lookup's timing tells nothing of other tokens.
		tenants, known := g.file.tenants(token)
		if !known {
			// The contrib extension has not seen the file change yet
			// (it reads it on a file event, this guard on the next
			// request): a token no longer in the file is refused
			// rather than let in unbound.
			return ctx, errUnauthenticated
		}
		auth.tenants = tenants
	}
	info := client.FromContext(out)
	info.Auth = auth
	return client.NewContext(out, info), nil
}

// authData is the client.AuthData of a request let in: its token's tenants,
// nil when the token is bound to none.
type authData struct{ tenants []string }

var _ client.AuthData = authData{}

// GetAttribute implements client.AuthData: IngestAttribute gives true, and
// TenantsAttribute a copy of the tenants ([]string), for a bound token only.
func (a authData) GetAttribute(name string) any {
	switch {
	case name == IngestAttribute:
		return true
	case name == TenantsAttribute && a.tenants != nil:
		return slices.Clone(a.tenants)
	}
	return nil
}

// GetAttributeNames implements client.AuthData.
func (a authData) GetAttributeNames() []string {
	if a.tenants == nil {
		return []string{IngestAttribute}
	}
	return []string{IngestAttribute, TenantsAttribute}
}

// tokenFile is the token file as the guard reads it: each token's tenants,
// read again when the file's modification time or size changes.
type tokenFile struct {
	name   string
	logger *zap.Logger

	mu      sync.Mutex
	modTime time.Time
	size    int64
	readAt  time.Time           // when the file was last read
	data    []byte              // what it held then, parsed or refused
	bound   map[string][]string // token -> tenants; nil tenants: any tenant
}

// rereadEvery is how often the file is read again even though its
// modification time and size look unchanged: a rewrite of the same size
// within one tick of the file system's clock, or a copy that keeps the old
// times, changes neither, while the contrib extension (which watches the
// file's events) already follows it. A read only compares bytes unless the
// file changed, so a refused file is logged once per change.
const rereadEvery = time.Second

// load reads the file, and refuses it when a tenants= list is wrong.
func (f *tokenFile) load() error {
	fi, err := os.Stat(f.name)
	if err != nil {
		return fmt.Errorf("ingestauth: token file: %w", err)
	}
	// Stat before reading: a change while the file is read shows as a
	// change at the next request, never as one already seen.
	data, err := os.ReadFile(f.name)
	if err != nil {
		return fmt.Errorf("ingestauth: token file: %w", err)
	}
	bound, err := parseTokens(f.name, data)
	if err != nil {
		return err
	}
	f.modTime, f.size, f.readAt, f.data, f.bound = fi.ModTime(), fi.Size(), time.Now(), data, bound
	return nil
}

// reload reads the file again, described by fi, and parses it when its bytes
// changed; when they are now wrong, the last good reading stays, and the
// error is logged.
func (f *tokenFile) reload(fi os.FileInfo, now time.Time) {
	changed := !fi.ModTime().Equal(f.modTime) || fi.Size() != f.size
	// Not read again (unless it changes) before rereadEvery, whatever
	// happens below.
	f.modTime, f.size, f.readAt = fi.ModTime(), fi.Size(), now
	data, err := os.ReadFile(f.name)
	if err != nil {
		if !changed {
			return // logged when it changed
		}
		f.logger.Error("ingest token file not read again: keeping the tokens' tenants read before", zap.Error(err))
		return
	}
	if bytes.Equal(data, f.data) {
		return
	}
	f.data = data
	bound, err := parseTokens(f.name, data)
	if err != nil {
		f.logger.Error("ingest token file not read again: keeping the tokens' tenants read before", zap.Error(err))
		return
	}
	f.bound = bound
}

// tenants returns the tenants token may write (nil: any), and whether the
// file lists it. After a change to the file, or rereadEvery, it reads it
// again (see reload).
func (f *tokenFile) tenants(token string) ([]string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	if fi, err := os.Stat(f.name); err == nil &&
		(!fi.ModTime().Equal(f.modTime) || fi.Size() != f.size || now.Sub(f.readAt) >= rereadEvery) {
		f.reload(fi, now)
	}
	t, ok := f.bound[token]
	return t, ok
}

// misspelledBinding reports whether word, which is not a binding, reads as
// one meant: "tenant" or "tenants" in any case, alone or followed by "=" or
// ":" ("tenant=acme", "Tenants=acme", "tenants = acme"). A note that only
// mentions tenants ("tenant-facing") is not one.
func misspelledBinding(word string) bool {
	rest, ok := strings.CutPrefix(strings.ToLower(word), "tenant")
	if !ok {
		return false
	}
	rest = strings.TrimPrefix(rest, "s")
	return rest == "" || rest[0] == '=' || rest[0] == ':'
}

// parseTokens maps every token of a token file to its tenants (nil for a
// token without "tenants="). A token too short, or a comment's first word,
// is left out (checkTokens refuses both at the start, the guard on every
// request).
func parseTokens(name string, data []byte) (map[string][]string, error) {
	bound := map[string][]string{}
	s := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; s.Scan(); line++ {
		w := strings.Fields(s.Text())
		if len(w) == 0 {
			continue
		}
		if len(w[0]) < MinTokenLength || commentWord(w[0]) != nil {
			continue
		}
		var tenants []string
		for i, word := range w[1:] {
			list, ok := strings.CutPrefix(word, tenantsPrefix)
			if !ok {
				if misspelledBinding(word) {
					// Ignored, it would leave the token unbound: free
					// to write every tenant the line meant to keep
					// from it.
					return nil, fmt.Errorf("ingestauth: token file %s line %d: %q is not a binding: "+
						"write %s<id>,<id>..., lowercase and without spaces, right after the token", name, line, word, tenantsPrefix)
				}
				continue
			}
			if i != 0 {
				// Not where it binds: refused, so that a binding
				// is never silently ignored.
				return nil, fmt.Errorf("ingestauth: token file %s line %d: %q must follow the token", name, line, tenantsPrefix)
			}
			for _, raw := range strings.Split(list, ",") {
				t, ok := schema.NormalizeTenant(raw)
				if !ok || t == schema.TenantUnknown {
					return nil, fmt.Errorf("ingestauth: token file %s line %d: %s needs one or more valid tenant ids, "+
						"separated by commas (%q is not one)", name, line, tenantsPrefix, raw)
				}
				if _, exact := querysvc.PartnerTenant(raw); !exact {
					// The query service refuses a partner token of such
					// an id: what this token writes as it would be
					// another tenant's records, or no one's.
					return nil, fmt.Errorf("ingestauth: token file %s line %d: tenant %+q is written with characters "+
						"that normalising turns into another id (%+q): write the id itself", name, line, raw, t)
				}
				if !slices.Contains(tenants, t) {
					tenants = append(tenants, t)
				}
			}
		}
		slices.Sort(tenants)
		if prev, seen := bound[w[0]]; seen && !slices.Equal(prev, tenants) {
			return nil, fmt.Errorf("ingestauth: token file %s line %d: the token of an earlier line, with other tenants", name, line)
		}
		bound[w[0]] = tenants
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("ingestauth: token file: %w", err)
	}
	return bound, nil
}
