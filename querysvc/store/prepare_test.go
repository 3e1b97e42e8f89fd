package store

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"reflect"
	"sync"
	"testing"

	"github.com/elastic/go-elasticsearch/v8/typedapi/core/search"

	"github.com/activitylog/activitylog/internal/esclient"
)

// sent is what reached the HTTP transport: everything Elasticsearch sees.
type sent struct {
	method, url string
	header      http.Header
	body        string
}

// sniffer records the requests reaching it and answers them from cannedES
// (these tests are about the bytes the store sends, as in body_test.go).
type sniffer struct {
	mu   sync.Mutex
	reqs []sent
}

func (s *sniffer) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, sent{req.Method, req.URL.String(), req.Header.Clone(), string(body)})
	s.mu.Unlock()
	return cannedES{}.RoundTrip(req)
}

func (s *sniffer) last() sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reqs[len(s.reqs)-1]
}

// TestPrepared: a search sent from a prepared request reaches the network
// exactly as the typed API's own Perform sends it (method, URL, headers and
// body), for every kind of search, and twice in a row (the prepared request
// is reused).
func TestPrepared(t *testing.T) {
	sn := &sniffer{}
	es, err := esclient.Config{URLs: []string{"http://es.invalid:9200"}, Username: "u", Password: "p", Transport: sn}.Typed()
	if err != nil {
		t.Fatal(err)
	}
	s := New(es, WithIndex("logs-activity.otel-x"))
	req := &search.Request{Size: ptr(3), Query: boolQuery(nil)}
	typed := map[kind]func() *search.Search{
		pitHits:   func() *search.Search { return s.search().FilterPath(hitsFilter...) },
		indexHits: func() *search.Search { return s.searchIndex().FilterPath(hitsFilter...) },
		indexAggs: func() *search.Search { return s.searchIndex().FilterPath(aggsFilter...) },
	}
	for k := range numKinds {
		body, err := s.encode(req)
		if err != nil {
			t.Fatal(err)
		}
		res, err := typed[k]().Raw(bytes.NewReader(body)).Perform(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		want := sn.last()
		for range 2 {
			var out hitsResponse
			if err := s.perform(context.Background(), "test", k, req, &out); err != nil {
				t.Fatal(err)
			}
			if got := sn.last(); !reflect.DeepEqual(got, want) {
				t.Errorf("kind %d: got  %+v\nwant %+v", k, got, want)
			}
		}
	}
}
