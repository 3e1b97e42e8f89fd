package store

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/typedapi/types"

	"github.com/activitylog/activitylog/internal/esclient"
	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/schema"
)

// TestAggregationsJoined: the small analytics send their aggregations
// encoded once and joined to each request's own body; what reaches the
// network is still the typed API's encoding of the whole request (the
// filters and the aggregations built for that request), for every
// principal, filter and number of entries, and again when the encoding is
// reused.
func TestAggregationsJoined(t *testing.T) {
	sn := &sniffer{}
	es, err := esclient.Config{URLs: []string{"http://es.invalid:9200"}, Transport: sn}.Typed()
	if err != nil {
		t.Fatal(err)
	}
	s := New(es)
	principals := []querysvc.Principal{
		{Subject: "a", Role: querysvc.RoleAdmin},
		{Subject: "p", Role: querysvc.RolePartner, Tenant: `t-"alpha"\`},
	}
	from, to := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	filters := []querysvc.Filter{
		{From: from, To: to},
		{Category: schema.CategoryAuth, UserID: "caf\xc3\xa9 \xff", IP: "198.51.100.0/24", Query: "free coffee", From: from},
	}
	type call struct {
		name  string
		run   func(ctx context.Context, f querysvc.Filter) error
		whole func(filters []types.Query) map[string]types.Aggregations
		extra []types.Query
	}
	var calls []call
	for _, attr := range []string{schema.AttrEvent, schema.AttrCategory} {
		calls = append(calls, call{"breakdown " + attr,
			func(ctx context.Context, f querysvc.Filter) error { _, err := s.Breakdown(ctx, f, attr); return err },
			func([]types.Query) map[string]types.Aggregations { return breakdownAggs(attr)(0) }, nil})
	}
	for _, n := range []int{1, 10, maxBuiltTop, maxBuiltTop + 1} {
		calls = append(calls,
			call{"top users", func(ctx context.Context, f querysvc.Filter) error { _, err := s.TopUsers(ctx, f, n); return err },
				func([]types.Query) map[string]types.Aggregations { return topUsersAggs(n) }, nil},
			call{"auth", func(ctx context.Context, f querysvc.Filter) error { _, err := s.Auth(ctx, f, n); return err },
				func([]types.Query) map[string]types.Aggregations { return authAggs(n) },
				[]types.Query{terms(schema.Path(schema.AttrEvent), authEvents()...)}})
	}
	for _, p := range principals {
		ctx := querysvc.NewContext(context.Background(), p)
		for _, f := range filters {
			qs, err := scope(ctx, f, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range calls {
				want, err := json.Marshal(aggRequest(append(qs, c.extra...), c.whole(qs)))
				if err != nil {
					t.Fatal(err)
				}
				for range 2 {
					if err := c.run(ctx, f); err != nil {
						t.Fatalf("%s: %v", c.name, err)
					}
					got := sn.last().body
					g, err := decodeJSON([]byte(got))
					if err != nil {
						t.Fatalf("%s: invalid JSON %s: %v", c.name, got, err)
					}
					w, _ := decodeJSON(want)
					if !reflect.DeepEqual(g, w) {
						t.Errorf("%s as %s: got %s, want %s", c.name, p.Role, got, want)
					}
				}
			}
		}
	}
}

// TestJoinObjects: the members of both objects, in order, whatever the
// space around them.
func TestJoinObjects(t *testing.T) {
	for _, tt := range []struct{ a, b, want string }{
		{`{"a":1}`, `{"b":2}`, `{"a":1,"b":2}`},
		{`{"a":1,"c":{}}`, `{"b":[2,3],"d":"}"}`, `{"a":1,"c":{},"b":[2,3],"d":"}"}`},
		{` {"a":1} `, "\n{ \"b\":2 }\n", `{"a":1,"b":2}`},
		{`{}`, `{"b":2}`, `{"b":2}`},
		{`{"a":1}`, `{}`, `{"a":1}`},
		{`{}`, `{ }`, `{}`},
	} {
		b := []byte(tt.b)
		if got := string(joinObjects([]byte(tt.a), b)); got != tt.want {
			t.Errorf("joinObjects(%s, %s) = %s, want %s", tt.a, tt.b, got, tt.want)
		}
		if string(b) != tt.b {
			t.Errorf("joinObjects changed its second argument to %s", b)
		}
	}
}
