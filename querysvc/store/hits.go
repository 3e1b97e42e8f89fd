package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/elastic/go-elasticsearch/v8/typedapi/core/search"
	jsoniter "github.com/json-iterator/go"

	"github.com/activitylog/activitylog/querysvc"
)

// Answers with hits are read in one pass: each hit's document is read where
// it lies in the answer (readDocumentAt). Decoding the answer into a struct
// first, with each _source kept as raw JSON, scanned every document twice
// (once to find its end, once to read it): about a third of the service's
// own time on a listing page.

// hitsAnswer is what the store reads of a search answer with hits.
type hitsAnswer struct {
	pitID string
	total int64
	hits  []docHit
}

// docHit is one hit: the Activity it describes, or the error reading its
// document (one that is neither an object nor null, or none; reported only
// if the hit is used), and its sort values as written.
type docHit struct {
	act  querysvc.Activity
	err  error
	sort []json.RawMessage
}

// activity is the Activity the hit describes.
func (h *docHit) activity() (querysvc.Activity, error) {
	if h.err != nil {
		return querysvc.Activity{}, querysvc.Wrap(querysvc.CodeInternal, "decode activity document", h.err)
	}
	return h.act, nil
}

// activities returns the Activities hits describe.
func activities(hits []docHit) ([]querysvc.Activity, error) {
	out := make([]querysvc.Activity, 0, len(hits))
	for i := range hits {
		a, err := hits[i].activity()
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// searchHits sends a search of kind k with the body of req and reads its
// answer with readHits.
func (s *Store) searchHits(ctx context.Context, op string, k kind, req *search.Request) (hitsAnswer, error) {
	var a hitsAnswer
	err := s.send(ctx, op, k, req, nil, func(body io.Reader, size int64) error {
		return readAnswer(body, size, func(st *parsing) error {
			var err error
			a, err = readHits(st.body)
			return err
		})
	})
	return a, err
}

// readHits reads a search answer: pit_id, hits.total.value, and each hit's
// _id, _source and sort. Keys match as encoding/json matches them to the
// fields of a struct (exactly, or else in another case), the last of a
// repeated key counts, null leaves a value as it was, and a value of another
// type than expected is an error, and so is an answer cut short. Nothing it
// returns refers to src.
func readHits(src []byte) (hitsAnswer, error) {
	var a hitsAnswer
	it := jsoniter.ConfigCompatibleWithStandardLibrary.BorrowIterator(src)
	defer jsoniter.ConfigCompatibleWithStandardLibrary.ReturnIterator(it)
	readFields(it, "answer", func(key string) {
		switch {
		case strings.EqualFold(key, "pit_id"):
			readStringInto(it, "pit_id", &a.pitID)
		case strings.EqualFold(key, "hits"):
			readFields(it, "hits", func(key string) {
				switch {
				case strings.EqualFold(key, "total"):
					readFields(it, "hits.total", func(key string) {
						if strings.EqualFold(key, "value") {
							readInt64Into(it, "hits.total.value", &a.total)
						} else {
							it.Skip()
						}
					})
				case strings.EqualFold(key, "hits"):
					a.hits = readHitList(it, a.hits)
				default:
					it.Skip()
				}
			})
		default:
			it.Skip()
		}
	})
	// The answer is an object, read up to its closing brace: io.EOF here
	// means it was cut short (a number at the end reads to the end first),
	// not that it ended where it should.
	if errors.Is(it.Error, io.EOF) {
		return hitsAnswer{}, io.ErrUnexpectedEOF
	}
	if it.Error != nil {
		return hitsAnswer{}, it.Error
	}
	return a, nil
}

// errNoSource is a hit without a document.
var errNoSource = errors.New("hit has no _source")

// readHitList reads the array of hits at it into hits[:0] (nil for null).
func readHitList(it *jsoniter.Iterator, hits []docHit) []docHit {
	if isArray, isNull := startArray(it, "hits.hits"); isNull {
		return nil
	} else if !isArray {
		return hits
	}
	hits = hits[:0]
	// One document, reused: the Activity is made when the hit ends, once
	// its id is known (keys may come in any order).
	var doc document
	it.ReadArrayCB(func(it *jsoniter.Iterator) bool {
		// Without a _source, the hit cannot be shown: an error if it is used.
		h := docHit{err: errNoSource}
		id := ""
		readFields(it, "hit", func(key string) {
			switch {
			case strings.EqualFold(key, "_id"):
				readStringInto(it, "_id", &id)
			case strings.EqualFold(key, "_source"):
				doc = document{} // the last _source counts
				h.err = readDocumentAt(it, &doc)
			case strings.EqualFold(key, "sort"):
				h.sort = readRawList(it, h.sort)
			default:
				it.Skip()
			}
		})
		if h.err == nil {
			h.act = doc.activity(id)
		}
		hits = append(hits, h)
		return it.Error == nil
	})
	return hits
}

// readRawList reads the array at it as raw values (nil for null).
func readRawList(it *jsoniter.Iterator, into []json.RawMessage) []json.RawMessage {
	if isArray, isNull := startArray(it, "sort"); isNull {
		return nil
	} else if !isArray {
		return into
	}
	into = into[:0]
	it.ReadArrayCB(func(it *jsoniter.Iterator) bool {
		it.WhatIsNext() // past the blanks
		into = append(into, it.SkipAndReturnBytes())
		return it.Error == nil
	})
	return into
}

// startArray reports whether the value at it is an array (left to be read)
// or null (read); anything else is an error in it.
func startArray(it *jsoniter.Iterator, what string) (isArray, isNull bool) {
	switch it.WhatIsNext() {
	case jsoniter.ArrayValue:
		return true, false
	case jsoniter.NilValue:
		it.ReadNil()
		return false, true
	}
	it.ReportError(what, "not an array")
	return false, false
}

// readFields calls f with each key of the object at it, positioned on the
// key's value. Null is read as an object without keys; another type is an
// error in it.
func readFields(it *jsoniter.Iterator, what string, f func(key string)) {
	switch it.WhatIsNext() {
	case jsoniter.ObjectValue:
	case jsoniter.NilValue:
		it.ReadNil()
		return
	default:
		it.ReportError(what, "not an object")
		return
	}
	it.ReadObjectCB(func(_ *jsoniter.Iterator, key string) bool {
		f(key)
		return it.Error == nil
	})
}

// readStringInto reads the string at it into *s; null leaves *s as it is.
func readStringInto(it *jsoniter.Iterator, what string, s *string) {
	switch it.WhatIsNext() {
	case jsoniter.StringValue:
		*s = it.ReadString()
	case jsoniter.NilValue:
		it.ReadNil()
	default:
		it.ReportError(what, "not a string")
	}
}

// readInt64Into reads the integer at it into *n; null leaves *n as it is.
func readInt64Into(it *jsoniter.Iterator, what string, n *int64) {
	switch it.WhatIsNext() {
	case jsoniter.NumberValue:
		raw := it.SkipAndReturnBytes()
		v, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			it.ReportError(what, fmt.Sprintf("not an integer: %s", raw))
			return
		}
		*n = v
	case jsoniter.NilValue:
		it.ReadNil()
	default:
		it.ReportError(what, "not a number")
	}
}
