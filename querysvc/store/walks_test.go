package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/querysvc/internal/seed"
	"github.com/activitylog/activitylog/querysvc/store"
	"github.com/activitylog/activitylog/schema"
)

// TestOpenSearchesBounded: every first page that leaves records for a next
// one keeps a point in time open in Elasticsearch, which pins a reader of
// every shard it spans. One principal may keep WithMaxOpenSearches of them
// at once: the next first page releases its least recently paged search,
// whose next page then answers "cursor has expired", while its other
// searches, and every search of another principal, page on. Before, one
// partner's token kept as many open as the rate limit let it start, a
// resource of the cluster that every tenant shares.
func TestOpenSearchesBounded(t *testing.T) {
	estest.InstallSchema(t)
	es := estest.Client(t)
	ns := estest.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	recs := seed.Generate(23, 60, start, 24*time.Hour)
	if err := seed.Index(ctx, es, ns, recs, 1); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = es.Indices.DeleteDataStream(schema.DataStream(ns)).Do(context.Background()) })
	const max = 3
	s := store.New(es, store.WithIndex(schema.DataStream(ns)), store.WithMaxOpenSearches(max))
	as := func(sub, tenant string) context.Context {
		return querysvc.NewContext(ctx, querysvc.Principal{Subject: sub, Role: querysvc.RolePartner, Tenant: tenant})
	}
	alpha, beta := as("partner-a", "t-alpha"), as("partner-b", "t-beta")
	first := func(ctx context.Context) *querysvc.Position {
		t.Helper()
		page, err := s.Search(ctx, querysvc.Filter{}, querysvc.Page{Size: 1})
		if err != nil {
			t.Fatal(err)
		}
		if page.Next == nil {
			t.Fatal("a first page of one record has no next page: the seed holds too few records")
		}
		return page.Next
	}
	next := func(ctx context.Context, pos *querysvc.Position) (*querysvc.Position, error) {
		page, err := s.Search(ctx, querysvc.Filter{}, querysvc.Page{Size: 1, After: pos})
		return page.Next, err
	}

	betaWalk := first(beta)
	var walks []*querysvc.Position
	for range max + 1 {
		walks = append(walks, first(alpha))
	}
	// The oldest of t-alpha's searches was released by the newest.
	if _, err := next(alpha, walks[0]); querysvc.ErrorCode(err) != querysvc.CodeInvalid || !strings.Contains(querysvc.ErrorMessage(err), "expired") {
		t.Errorf("page 2 of t-alpha's search beyond the bound: got %v, want 400 cursor has expired", err)
	}
	// Paging keeps a search: walks[1] is now the most recently paged, so
	// another first page releases walks[2].
	pos, err := next(alpha, walks[1])
	if err != nil {
		t.Fatalf("page 2 of a search within the bound: %v", err)
	}
	walks[1] = pos
	first(alpha)
	if _, err := next(alpha, walks[2]); querysvc.ErrorCode(err) != querysvc.CodeInvalid || !strings.Contains(querysvc.ErrorMessage(err), "expired") {
		t.Errorf("page 2 of t-alpha's least recently paged search: got %v, want 400 cursor has expired", err)
	}
	for i := 1; i <= 3; i += 2 {
		if _, err := next(alpha, walks[i]); err != nil {
			t.Errorf("t-alpha's search %d, within the bound: got %v, want its next page", i, err)
		}
	}
	if _, err := next(beta, betaWalk); err != nil {
		t.Errorf("t-beta's search, opened before t-alpha's: got %v, want its next page", err)
	}
}
