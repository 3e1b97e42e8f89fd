package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/elastic/go-elasticsearch/v8/typedapi/core/search"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	jsoniter "github.com/json-iterator/go"
	"github.com/valyala/fastjson"

	"github.com/activitylog/activitylog/querysvc"
)

// unmarshal decodes JSON from Elasticsearch like json.Unmarshal, in one pass
// rather than two: json-iterator (which Elastic's go-docappender, inside the
// collector's exporter, uses for the same job) decodes a 430 KB aggregation
// response in a quarter of encoding/json's time on this project's machine.
func unmarshal(b []byte, v any) error {
	return jsoniter.ConfigCompatibleWithStandardLibrary.Unmarshal(b, v)
}

// Requests are built with the typed API; responses are decoded into the few
// fields each query reads, rather than into the typed API's generic
// response, whose aggregation decoding allocates a map per bucket and was
// most of the service's overhead over Elasticsearch in BenchmarkEndpoints.

// performParsed sends a search like send and hands its answer, parsed, to
// read (see parseAnswer).
func (s *Store) performParsed(ctx context.Context, op string, k kind, req *search.Request, tail []byte, read func(*fastjson.Value) error) error {
	return s.send(ctx, op, k, req, tail, func(body io.Reader, size int64) error { return parseAnswer(body, size, read) })
}

// send sends a search of kind k with the body of req, joined to the
// members of the encoded object tail when tail is set (see joinObjects),
// and reads a successful answer's body with decode, which also gets the
// body's length (-1 when unknown).
func (s *Store) send(ctx context.Context, op string, k kind, req *search.Request, tail []byte, decode func(body io.Reader, size int64) error) error {
	prepared, err := s.prepared[k]()
	if err != nil {
		return querysvc.Wrap(querysvc.CodeInternal, op+": prepare request", err)
	}
	body, err := s.encode(req)
	if err != nil {
		return querysvc.Wrap(querysvc.CodeInternal, op+": encode request", err)
	}
	if tail != nil {
		body = joinObjects(body, tail)
	}
	hr := prepared.Clone(ctx)
	hr.Body, hr.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	hr.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	res, err := s.es.Perform(hr)
	if err != nil {
		return esError(op, err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		e := types.NewElasticsearchError()
		if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(e); err != nil {
			e.Status = res.StatusCode
		}
		if e.Status == 0 {
			e.Status = res.StatusCode
		}
		return esError(op, e)
	}
	if err := decode(res.Body, res.ContentLength); err != nil {
		return esError(op, fmt.Errorf("decode response: %w", err))
	}
	return nil
}

// joinObjects returns the JSON object holding the members of a, then those
// of b: two objects encoded apart, neither with a member of the other's
// name. It appends to a; b is not changed.
func joinObjects(a, b []byte) []byte {
	a, b = bytes.TrimSpace(a), bytes.TrimSpace(b)
	members := bytes.TrimSpace(b[1 : len(b)-1])
	if len(members) == 0 {
		return a
	}
	a = bytes.TrimSpace(a[:len(a)-1])
	if len(a) > 1 {
		a = append(a, ',')
	}
	a = append(a, members...)
	return append(a, '}')
}
