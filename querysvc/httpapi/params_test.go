package httpapi

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/schema"
)

var searchEndpoint = endpoint{params: withFilters("limit", "cursor"), defaultLimit: 20, maxLimit: 100}

func TestParseParams(t *testing.T) {
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		raw     string
		want    Params
		wantErr string
	}{
		{"", Params{Limit: 20}, ""},
		{"q=free+coffee&category=auth&limit=5&from=2026-11-01T00:00:00Z", Params{Limit: 5, Filter: querysvc.Filter{Query: "free coffee", Category: "auth", From: from}}, ""},
		{"ip=198.51.100.7", Params{Limit: 20, Filter: querysvc.Filter{IP: "198.51.100.7"}}, ""},
		{"ip=198.51.100.7/24", Params{Limit: 20, Filter: querysvc.Filter{IP: "198.51.100.0/24"}}, ""},
		// IPv4-mapped IPv6 forms name IPv4 addresses; Elasticsearch reads a
		// mapped prefix as an IPv4 address with a prefix longer than 32 and
		// refuses it, so both are sent in IPv4 form.
		{"ip=::ffff:198.51.100.7", Params{Limit: 20, Filter: querysvc.Filter{IP: "198.51.100.7"}}, ""},
		{"ip=::ffff:198.51.100.7/120", Params{Limit: 20, Filter: querysvc.Filter{IP: "198.51.100.0/24"}}, ""},
		{"ip=::ffff:0:0/96", Params{Limit: 20, Filter: querysvc.Filter{IP: "0.0.0.0/0"}}, ""},
		{"ip=::ffff:0:0/95", Params{Limit: 20, Filter: querysvc.Filter{IP: "::fffe:0:0/95"}}, ""},
		{"user_type=Staff&outcome=failure", Params{Limit: 20, Filter: querysvc.Filter{UserType: "Staff", Outcome: "failure"}}, ""},
		{"limit=0", Params{}, "parameter limit: must be a positive integer"},
		{"limit=-1", Params{}, "parameter limit: must be a positive integer"},
		{"limit=101", Params{}, "parameter limit: must be at most 100"},
		{"limit=ten", Params{}, "parameter limit: must be a positive integer"},
		{"limit=99999999999999999999", Params{}, "parameter limit: must be a positive integer"},
		{"category=AUTH", Params{}, "parameter category: must be one of"},
		{"event=hacked", Params{}, "parameter event: must be one of"},
		{"user_type=staff", Params{}, "parameter user_type: must be one of"},
		{"outcome=maybe", Params{}, "parameter outcome: must be success or failure"},
		{"ip=999.1.1.1", Params{}, "parameter ip: must be an IP address or CIDR prefix"},
		{"from=yesterday", Params{}, "parameter from: must be an RFC 3339 time"},
		{"from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", Params{}, "parameter from: must be before to"},
		{"q=*", Params{}, "parameter q: has no words"},
		{"q=" + strings.Repeat("a", 513), Params{}, "parameter q: is longer than 512 bytes"},
		{"q=%ff", Params{}, "parameter q: is not valid UTF-8"},
		{"q=a%00b", Params{}, "parameter q: contains control characters"},
		{"tenant=", Params{}, "parameter tenant: is empty"},
		{"tenant=a&tenant=b", Params{}, "parameter tenant: given 2 times, want once"},
		{"tenant=%20ACME%20", Params{Limit: 20, Filter: querysvc.Filter{Tenant: "acme"}}, ""},
		{"tenant=%20%20", Params{}, "parameter tenant: is not a valid tenant id"},
		{"tenant=" + strings.Repeat("a", 129), Params{}, "parameter tenant: is not a valid tenant id (blank, longer than 128 bytes"},
		{"Tenant=a", Params{}, `parameter "Tenant": unknown parameter`},
		{"interval=day", Params{}, `parameter "interval": unknown parameter`},
		{"q=%zz", Params{}, "query string is malformed"},
		{"a;b=c", Params{}, "query string is malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := parseParams(tt.raw, searchEndpoint)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got.Filter != tt.want.Filter || got.Limit != tt.want.Limit {
				t.Errorf("got %+v limit %d, want %+v limit %d", got.Filter, got.Limit, tt.want.Filter, tt.want.Limit)
			}
		})
	}
}

func TestParseParamsAnalytics(t *testing.T) {
	ep := endpoint{params: []string{"tenant", "from", "to", "window", "threshold", "key", "interval", "split"}}
	tests := []struct {
		raw, wantErr string
	}{
		{"window=5m&threshold=3&key=user.name&interval=week&split=category", ""},
		{"window=30s", "parameter window: must be whole seconds between 1m and 24h"},
		{"window=1500ms", "parameter window: must be whole seconds"},
		{"window=forever", "parameter window: must be a duration"},
		{"threshold=0", "parameter threshold: must be a positive integer"},
		{"threshold=100001", "parameter threshold: must be at most 100000"},
		{"key=activity.tenant.id", "parameter key: must be client.address or user.name"},
		{"interval=minute", "parameter interval: must be auto, hour, day or week"},
		{"split=user", "parameter split: must be event or category"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			_, err := parseParams(tt.raw, ep)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("got error %v, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// FuzzParseParams: any query string either parses into values that respect
// every documented bound, or fails with a *ParseError that names what is
// wrong. It never panics.
func FuzzParseParams(f *testing.F) {
	for _, s := range []string{
		"", "q=coffee&limit=10", "tenant=t-alpha&tenant=t-beta", "Tenant=x", "tenant=", "ip=10.0.0.0/8",
		"from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00.5Z", "q=%ff%fe", "limit=1e9", "cursor=abc.def",
		"window=5m&threshold=5&key=client.address", "interval=week&split=event", "q=tenant.id%3At-beta",
		"a=1&a=2&a=3", "%", "q=%00", "ip=::ffff:1.2.3.4", "category=auth;event=login",
		"tenant=%20T-Alpha%20", "tenant=UNKNOWN", "tenant=%C2%A0",
	} {
		f.Add(s)
	}
	all := endpoint{params: withFilters("limit", "cursor", "interval", "split", "window", "threshold", "key"), defaultLimit: 20, maxLimit: 100}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := parseParams(raw, all)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Message == "" {
				t.Fatalf("got error %v (%T), want a *ParseError with a message", err, err)
			}
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("error message is not valid UTF-8: %q", err.Error())
			}
			return
		}
		fl := p.Filter
		if p.Limit < 1 || p.Limit > all.maxLimit {
			t.Fatalf("got limit %d, want 1..%d", p.Limit, all.maxLimit)
		}
		if len(fl.Query) > maxQueryLen || len(fl.Tenant) > maxValueLen || len(fl.UserID) > maxValueLen {
			t.Fatalf("got over-long values %+v", fl)
		}
		for _, v := range []string{fl.Query, fl.Tenant, fl.UserID, fl.SubjectID, fl.SubjectType} {
			if hasControl(v) || !utf8.ValidString(v) {
				t.Fatalf("got value %q with control characters or invalid UTF-8", v)
			}
		}
		if n, ok := schema.NormalizeTenant(fl.Tenant); fl.Tenant != "" && (!ok || n != fl.Tenant) {
			t.Fatalf("got tenant %q, not as the collector stores tenants", fl.Tenant)
		}
		if fl.Category != "" && !contains(schema.Categories(), fl.Category) ||
			fl.Event != "" && !contains(schema.Events(), fl.Event) ||
			fl.UserType != "" && !contains(schema.ActorTypes(), fl.UserType) {
			t.Fatalf("got a value outside its vocabulary: %+v", fl)
		}
		if !fl.From.IsZero() && !fl.To.IsZero() && !fl.From.Before(fl.To) {
			t.Fatalf("got from %v not before to %v", fl.From, fl.To)
		}
		if p.Window != 0 && (p.Window < time.Minute || p.Window > 24*time.Hour) {
			t.Fatalf("got window %v", p.Window)
		}
		if fl.IP != "" {
			if _, err := parseParams("ip="+url.QueryEscape(fl.IP), all); err != nil {
				t.Fatalf("normalised ip %q does not parse again: %v", fl.IP, err)
			}
		}
	})
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}
