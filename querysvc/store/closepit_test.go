package store

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/activitylog/activitylog/internal/esclient"
	"github.com/activitylog/activitylog/querysvc"
)

// hangingClose answers like a node holding an empty index, except that it
// never answers the release of a point in time: it waits for the request's
// context. A fake on purpose: a real node that accepts a request and never
// answers cannot be had on demand.
type hangingClose struct{ deadline chan bool }

func (h hangingClose) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodDelete {
		_, ok := req.Context().Deadline()
		select {
		case h.deadline <- ok:
		default:
		}
		<-req.Context().Done()
		return nil, req.Context().Err()
	}
	return cannedES{}.RoundTrip(req)
}

// The last page of a listing releases its point in time before it returns;
// a node that never answers that release delays the page by closeTimeout at
// most (before, the page waited forever: the release had no deadline).
func TestClosePITBounded(t *testing.T) {
	tr := hangingClose{deadline: make(chan bool, 1)}
	es, err := esclient.Config{URLs: []string{"http://es.invalid:9200"}, Transport: tr}.Typed()
	if err != nil {
		t.Fatal(err)
	}
	s := New(es)
	s.closeTimeout = 50 * time.Millisecond
	ctx := querysvc.NewContext(context.Background(), querysvc.Principal{Subject: "a", Role: querysvc.RoleAdmin})
	done := make(chan error, 1)
	go func() {
		_, err := s.Search(ctx, querysvc.Filter{}, querysvc.Page{Size: 5})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("last page: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the last page still waits for the release of its point in time after 10s")
	}
	if !<-tr.deadline {
		t.Error("the release of the point in time had no deadline")
	}
}
