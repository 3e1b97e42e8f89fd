package httpmw

import (
	"net/http"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/activitylog/activitylog/instrumentation"
)

// DefaultRequestIDHeader carries the request id in and out.
const DefaultRequestIDHeader = "X-Request-Id"

// Limits on what a client can make the middleware record.
const (
	// MaxUserAgent is the longest User-Agent recorded, in bytes; longer
	// ones are cut, and invalid UTF-8 is replaced.
	MaxUserAgent = 512
	// MaxRequestID is the longest request id accepted from a client.
	MaxRequestID = 128
	// maxForwardedHops bounds how many hops of a forwarding header are read.
	maxForwardedHops = 32
)

// Option configures the middleware.
type Option interface {
	apply(*config)
}

// Header is the forwarding header the trusted proxies write.
type Header int

// Forwarding headers.
const (
	// XForwardedFor is the de facto standard X-Forwarded-For header.
	XForwardedFor Header = iota
	// Forwarded is the RFC 7239 Forwarded header (its for= parameters).
	Forwarded
)

type config struct {
	header   Header
	trusted  []netip.Prefix
	idHeader string
	newID    func() string
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithTrustedProxies sets the proxies whose forwarding header (see
// WithHeader) is believed. By default there are none, and the client address
// is always the connection's peer. An IPv4-mapped IPv6 prefix
// (::ffff:10.0.0.0/104) means the IPv4 prefix it maps (10.0.0.0/8).
func WithTrustedProxies(prefixes ...netip.Prefix) Option {
	return optionFunc(func(c *config) {
		for _, p := range prefixes {
			c.trusted = append(c.trusted, unmapPrefix(p))
		}
	})
}

// unmapPrefix returns the IPv4 prefix an IPv4-mapped IPv6 prefix stands for,
// and any other prefix as it is: addresses are unmapped before they are
// matched, and an IPv6 prefix never contains an IPv4 address.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.IsValid() && p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked()
	}
	return p
}

// WithHeader sets which forwarding header the trusted proxies write; only that
// one is read, because a proxy that appends to one header usually passes the
// other through from the client untouched. The default is XForwardedFor.
func WithHeader(h Header) Option {
	return optionFunc(func(c *config) { c.header = h })
}

// WithRequestIDHeader sets the header a request id is read from and echoed
// in. The default is DefaultRequestIDHeader.
func WithRequestIDHeader(name string) Option {
	return optionFunc(func(c *config) {
		if name != "" {
			c.idHeader = http.CanonicalHeaderKey(name)
		}
	})
}

// WithIDGenerator sets how a request id is made when the request has no
// acceptable one. The default makes a UUIDv7.
func WithIDGenerator(newID func() string) Option {
	return optionFunc(func(c *config) {
		if newID != nil {
			c.newID = newID
		}
	})
}

func newUUID() string {
	if id, err := uuid.NewV7(); err == nil {
		return id.String()
	}
	return uuid.NewString()
}

// Middleware returns next wrapped so that every request's context carries an
// instrumentation.Request, and every response the request id header.
func Middleware(next http.Handler, opts ...Option) http.Handler {
	c := config{idHeader: DefaultRequestIDHeader, newID: newUUID}
	for _, o := range opts {
		o.apply(&c)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(c.idHeader)
		if !validRequestID(id) {
			id = c.newID()
		}
		w.Header().Set(c.idHeader, id)
		req := instrumentation.Request{
			ClientAddress: c.clientAddress(r),
			UserAgent:     truncate(r.UserAgent(), MaxUserAgent),
			ID:            id,
		}
		next.ServeHTTP(w, r.WithContext(instrumentation.WithRequest(r.Context(), req)))
	})
}

// ClientAddress returns the client address the middleware would record for r.
func ClientAddress(r *http.Request, opts ...Option) string {
	var c config
	for _, o := range opts {
		o.apply(&c)
	}
	return c.clientAddress(r)
}

func (c *config) isTrusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range c.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddress returns the peer address, or, when the peer is a trusted
// proxy, the rightmost address in its forwarding header that is not itself a
// trusted proxy. A malformed hop ends the walk: the last trusted hop is then
// the best that can be said.
func (c *config) clientAddress(r *http.Request) string {
	peer, ok := parsePeer(r.RemoteAddr)
	if !ok {
		return ""
	}
	if !c.isTrusted(peer) {
		return peer.String()
	}
	var hops []string
	switch c.header {
	case Forwarded:
		hops = forwardedFor(r.Header.Values("Forwarded"))
	default:
		hops = xForwardedFor(r.Header.Values("X-Forwarded-For"))
	}
	client := peer
	for i := len(hops) - 1; i >= 0 && i >= len(hops)-maxForwardedHops; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			break
		}
		client = a
		if !c.isTrusted(a) {
			break
		}
	}
	return client.String()
}

// parsePeer parses the connection's peer address. A link-local peer's zone
// (its interface, fe80::1%eth0) is dropped: a prefix never contains a zoned
// address, so a trusted proxy would not be trusted, and the record's
// client.address, an ip field, could not index it.
func parsePeer(remote string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if a, err := netip.ParseAddr(remote); err == nil {
		return a.Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

// xForwardedFor splits X-Forwarded-For header values into hops, leftmost first.
func xForwardedFor(values []string) []string {
	var hops []string
	for _, v := range values {
		for h := range strings.SplitSeq(v, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	return hops
}

// forwardedFor returns the for= parameter of each element of Forwarded
// header values (RFC 7239), leftmost first; an element without a well-formed
// one yields "".
func forwardedFor(values []string) []string {
	var hops []string
	for _, v := range values {
		hops = appendForwardedFor(hops, v)
	}
	return hops
}

// appendForwardedFor appends the for= parameter of each element of one
// Forwarded header value. Commas and semicolons inside a quoted-string are
// its text, not separators: a proxy that copies the client's Host into a
// quoted host= after its for= would otherwise let the client add a hop, or a
// later for=, of its choosing.
//
// The value is read from its end, where a proxy that appends to the client's
// value on the same line ("$http_forwarded, for=$remote_addr") writes its
// element: read from the start, a quote the client left open would make the
// proxy's element part of a quoted-string, and the client's address would
// never be recorded. A quote that has no opening one before it, or that
// reads as escaped where no quoted-string is open, makes its element
// malformed; the elements before it are not read, since the walk of the hops
// ends there.
func appendForwardedFor(hops []string, v string) []string {
	// Elements are found from the end, so collected rightmost first.
	var rev []string
	hop, found, pairEnd := "", false, len(v)
	endPair := func(start int) {
		k, val, ok := strings.Cut(strings.TrimSpace(v[start:pairEnd]), "=")
		// An element's last for= is its hop, as when read from the start.
		if ok && !found && strings.EqualFold(strings.TrimSpace(k), "for") {
			hop, found = forwardedValue(strings.TrimSpace(val)), true
		}
		pairEnd = start - 1
	}
	malformed, inQuote := false, false
	for i := len(v) - 1; i >= 0 && !malformed; i-- {
		c := v[i]
		if c != '"' {
			if !inQuote && (c == ';' || c == ',') {
				endPair(i + 1)
				if c == ',' {
					rev = append(rev, hop)
					hop, found = "", false
				}
			}
			continue
		}
		// Inside a quoted-string, a quote after an odd run of backslashes
		// is escaped text; outside one, such a quote could only end a
		// quoted-string that the text after it did not continue.
		run := 0
		for j := i - 1; j >= 0 && v[j] == '\\'; j-- {
			run++
		}
		switch {
		case run%2 == 0:
			inQuote = !inQuote
		case !inQuote:
			malformed = true
		}
	}
	if malformed || inQuote {
		rev = append(rev, "")
	} else {
		endPair(0)
		rev = append(rev, hop)
	}
	for i := len(rev) - 1; i >= 0; i-- {
		hops = append(hops, rev[i])
	}
	return hops
}

// forwardedValue returns a parameter's value: a token as it is, a
// quoted-string without its quotes and escapes, and "" for anything else (a
// quote inside a token, a quoted-string followed by more).
func forwardedValue(val string) string {
	if !strings.HasPrefix(val, `"`) {
		if strings.Contains(val, `"`) {
			return ""
		}
		return val
	}
	var b strings.Builder
	for i := 1; i < len(val); i++ {
		switch c := val[i]; c {
		case '\\':
			i++
			if i < len(val) {
				b.WriteByte(val[i])
			}
		case '"':
			if i != len(val)-1 {
				return ""
			}
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return ""
}

// parseHop parses one hop: "192.0.2.1", "192.0.2.1:8080", "2001:db8::1",
// "[2001:db8::1]" or "[2001:db8::1]:8080". Obfuscated identifiers
// ("_hidden", "unknown") are not addresses.
func parseHop(h string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap(), a.Zone() == ""
	}
	if ap, err := netip.ParseAddrPort(h); err == nil {
		return ap.Addr().Unmap(), ap.Addr().Zone() == ""
	}
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		if a, err := netip.ParseAddr(h[1 : len(h)-1]); err == nil && a.Is6() {
			return a.Unmap(), a.Zone() == ""
		}
	}
	return netip.Addr{}, false
}

// validRequestID accepts short ids of letters, digits and -_.: only, so a
// client cannot inject anything else into the activity log through it.
func validRequestID(id string) bool {
	if id == "" || len(id) > MaxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// truncate cuts s to n bytes and replaces invalid UTF-8 (including a
// character cut in half) with U+FFFD. A replacement is three bytes, longer
// than the byte it replaces, so the text is cut again after it, at a
// character boundary: n bounds what is recorded, whatever the client sent.
func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > n {
		i := n
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i]
	}
	return s
}
