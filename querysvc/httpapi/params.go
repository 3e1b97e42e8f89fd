package httpapi

import (
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/schema"
)

// Parameter limits.
const (
	maxQueryLen    = 512
	maxValueLen    = 256
	maxCursorLen   = 8 << 10
	maxParamsBytes = 16 << 10
)

// Params are the parsed query parameters of one request. Only the fields the
// endpoint accepts are ever set.
type Params struct {
	Filter querysvc.Filter
	// Limit is the page size or number of top entries; 0 means the endpoint default.
	Limit int
	// Cursor continues a search.
	Cursor string
	// Interval and Split are the trends options.
	Interval querysvc.Interval
	Split    string
	// Window, Threshold and Key are the bursts options.
	Window    time.Duration
	Threshold int
	Key       string
	// Raw holds every parameter given that the endpoint accepts, as given
	// (the values of a repeated one joined by commas), for the audit record.
	// It is filled before anything is checked, so a refused request is
	// recorded with what it asked for. The cursor is omitted, and so are
	// names the endpoint does not accept (one may hold a credential, such as
	// access_token).
	Raw map[string]string
}

// endpoint says which parameters an endpoint accepts and its limit bounds.
type endpoint struct {
	params       []string
	defaultLimit int
	maxLimit     int
}

var filterParams = []string{"tenant", "q", "category", "event", "user_type", "user_id",
	"subject_type", "subject_id", "outcome", "ip", "from", "to"}

func withFilters(extra ...string) []string { return append(slices.Clone(filterParams), extra...) }

// ParseError says which parameter is wrong and how.
type ParseError struct {
	Param   string
	Message string
}

// Error returns "param: message".
func (e *ParseError) Error() string {
	if e.Param == "" {
		return e.Message
	}
	return "parameter " + e.Param + ": " + e.Message
}

func perr(param, format string, args ...any) *ParseError {
	return &ParseError{Param: param, Message: fmt.Sprintf(format, args...)}
}

// minTime and maxTime bound a time parameter: the range of Elasticsearch's
// date_nanos, the type of @timestamp.
var (
	minTime = time.Unix(0, 0).UTC()
	maxTime = time.Unix(0, math.MaxInt64).UTC().Truncate(time.Second)
)

// parseParams parses raw query parameters strictly: an unknown name (names
// are case-sensitive), a repeated name, an empty value or a malformed value
// is an error that names the parameter. Nothing unparsed reaches the store.
func parseParams(rawQuery string, ep endpoint) (Params, error) {
	p := Params{Raw: map[string]string{}}
	if len(rawQuery) > maxParamsBytes {
		return p, perr("", "query string is longer than %d bytes", maxParamsBytes)
	}
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return p, perr("", "query string is malformed: %s", strings.TrimPrefix(err.Error(), "invalid URL escape "))
	}
	names := make([]string, 0, len(values))
	for name, vs := range values {
		names = append(names, name)
		if name != "cursor" && slices.Contains(ep.params, name) {
			p.Raw[name] = strings.Join(vs, ",")
		}
	}
	sort.Strings(names)
	for _, name := range names {
		vs := values[name]
		if !slices.Contains(ep.params, name) {
			return p, perr(printable(name), "unknown parameter (names are case-sensitive; accepted: %s)", strings.Join(ep.params, ", "))
		}
		if len(vs) != 1 {
			return p, perr(name, "given %d times, want once", len(vs))
		}
		v := vs[0]
		if v == "" {
			return p, perr(name, "is empty; omit it instead")
		}
		if !utf8.ValidString(v) {
			return p, perr(name, "is not valid UTF-8")
		}
		if err := p.set(name, v); err != nil {
			return p, err
		}
	}
	if !p.Filter.From.IsZero() && !p.Filter.To.IsZero() && !p.Filter.From.Before(p.Filter.To) {
		return p, perr("from", "must be before to")
	}
	if p.Limit == 0 {
		p.Limit = ep.defaultLimit
	} else if p.Limit > ep.maxLimit {
		return p, perr("limit", "must be at most %d", ep.maxLimit)
	}
	return p, nil
}

func printable(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strconv.Quote(s)
}

func (p *Params) set(name, v string) error {
	f := &p.Filter
	switch name {
	case "q":
		if len(v) > maxQueryLen {
			return perr(name, "is longer than %d bytes", maxQueryLen)
		}
		if !strings.ContainsFunc(v, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
			return perr(name, "has no words to search for (it is plain text: operators and wildcards are not interpreted)")
		}
		if hasControl(v) {
			return perr(name, "contains control characters")
		}
		f.Query = v
	case "tenant", "user_id", "subject_type", "subject_id":
		if len(v) > maxValueLen {
			return perr(name, "is longer than %d bytes", maxValueLen)
		}
		if hasControl(v) {
			return perr(name, "contains control characters")
		}
		switch name {
		case "tenant":
			// Named as the collector stores tenants: "ACME " is "acme".
			t, ok := schema.NormalizeTenant(v)
			if !ok {
				return perr(name, "is not a valid tenant id (blank, longer than %d bytes, or not UTF-8)", schema.MaxTenantLen)
			}
			f.Tenant = t
		case "user_id":
			f.UserID = v
		case "subject_type":
			f.SubjectType = v
		case "subject_id":
			f.SubjectID = v
		}
	case "category":
		if !slices.Contains(schema.Categories(), v) {
			return perr(name, "must be one of %s", strings.Join(schema.Categories(), ", "))
		}
		f.Category = v
	case "event":
		if !slices.Contains(schema.Events(), v) {
			return perr(name, "must be one of %s", strings.Join(schema.Events(), ", "))
		}
		f.Event = v
	case "user_type":
		if !slices.Contains(schema.ActorTypes(), v) {
			return perr(name, "must be one of %s", strings.Join(schema.ActorTypes(), ", "))
		}
		f.UserType = v
	case "outcome":
		if v != schema.OutcomeSuccess && v != schema.OutcomeFailure {
			return perr(name, "must be %s or %s", schema.OutcomeSuccess, schema.OutcomeFailure)
		}
		f.Outcome = v
	case "ip":
		// An IPv4-mapped IPv6 form (::ffff:a.b.c.d) names an IPv4 address
		// and is sent as one: Elasticsearch reads a mapped address as IPv4,
		// so a mapped prefix (::ffff:a.b.c.0/120) would reach it as an IPv4
		// address with a prefix longer than 32, which it refuses.
		if a, err := netip.ParseAddr(v); err == nil && a.Zone() == "" {
			f.IP = a.Unmap().String()
		} else if pfx, err := netip.ParsePrefix(v); err == nil {
			pfx = pfx.Masked()
			if a := pfx.Addr(); a.Is4In6() && pfx.Bits() >= 96 {
				pfx = netip.PrefixFrom(a.Unmap(), pfx.Bits()-96)
			}
			f.IP = pfx.String()
		} else {
			return perr(name, "must be an IP address or CIDR prefix, e.g. 203.0.113.7 or 203.0.113.0/24")
		}
	case "from", "to":
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return perr(name, "must be an RFC 3339 time, e.g. 2026-11-26T09:00:00Z")
		}
		// @timestamp is a date_nanos field: it holds 1970 to 2262 only.
		if t = t.UTC(); t.Before(minTime) || t.After(maxTime) {
			return perr(name, "must be between %s and %s", minTime.Format(time.RFC3339), maxTime.Format(time.RFC3339))
		}
		if name == "from" {
			f.From = t.UTC()
		} else {
			f.To = t.UTC()
		}
	case "limit", "threshold":
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return perr(name, "must be a positive integer")
		}
		if name == "limit" {
			p.Limit = n
		} else {
			if n > 100000 {
				return perr(name, "must be at most 100000")
			}
			p.Threshold = n
		}
	case "cursor":
		if len(v) > maxCursorLen {
			return perr(name, "is too long")
		}
		p.Cursor = v
	case "interval":
		switch i := querysvc.Interval(v); i {
		case querysvc.IntervalAuto, querysvc.IntervalHour, querysvc.IntervalDay, querysvc.IntervalWeek:
			p.Interval = i
		default:
			return perr(name, "must be auto, hour, day or week")
		}
	case "split":
		switch v {
		case "event":
			p.Split = schema.AttrEvent
		case "category":
			p.Split = schema.AttrCategory
		default:
			return perr(name, "must be event or category")
		}
	case "window":
		d, err := time.ParseDuration(v)
		if err != nil {
			return perr(name, "must be a duration such as 5m")
		}
		if d < time.Minute || d > 24*time.Hour || d%time.Second != 0 {
			return perr(name, "must be whole seconds between 1m and 24h")
		}
		p.Window = d
	case "key":
		switch v {
		case schema.AttrClientAddress, schema.AttrUserName:
			p.Key = v
		default:
			return perr(name, "must be %s or %s", schema.AttrClientAddress, schema.AttrUserName)
		}
	default:
		return perr(name, "is not handled") // unreachable: every accepted name has a case
	}
	return nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}
