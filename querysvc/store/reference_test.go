package store

import (
	"context"
	"encoding/json"
	"io"

	"github.com/elastic/go-elasticsearch/v8/typedapi/core/search"
	jsoniter "github.com/json-iterator/go"

	"github.com/activitylog/activitylog/querysvc"
)

// How the store read answers with hits before readHits, kept as the
// reference that tests hold readHits to and the baseline of BenchmarkDecode
// and BenchmarkReadHits: json-iterator into a struct with each _source as
// raw JSON, then each document read again.

// hit is one search hit: the id, the document and its sort values.
type hit struct {
	ID     string            `json:"_id"`
	Source json.RawMessage   `json:"_source"`
	Sort   []json.RawMessage `json:"sort"`
}

// hitsResponse is a search response with hits.
type hitsResponse struct {
	PitID string `json:"pit_id"`
	Hits  struct {
		Total struct {
			Value int64 `json:"value"`
		} `json:"total"`
		Hits []hit `json:"hits"`
	} `json:"hits"`
}

// perform sends a search of kind k with the body of req, through the typed
// client as the typed API's Perform does, and decodes the response into out.
func (s *Store) perform(ctx context.Context, op string, k kind, req *search.Request, out any) error {
	return s.send(ctx, op, k, req, nil, func(body io.Reader, _ int64) error {
		return jsoniter.ConfigCompatibleWithStandardLibrary.NewDecoder(body).Decode(out)
	})
}

// decode turns a search hit's id and _source into an Activity.
func decode(docID string, src json.RawMessage) (querysvc.Activity, error) {
	var d document
	if err := readDocument(src, &d); err != nil {
		return querysvc.Activity{}, querysvc.Wrap(querysvc.CodeInternal, "decode activity document", err)
	}
	return d.activity(docID), nil
}
