package store

import (
	"bytes"
	"cmp"
	"encoding"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"unsafe"

	"github.com/elastic/go-elasticsearch/v8/typedapi/core/search"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
)

// requestBody returns the JSON body of r: what json.Marshal(r) returns, up
// to key order and insignificant escaping.
//
// The store still builds every request with the typed API's structures;
// only their encoding is done here. The typed API's MarshalJSON for
// types.Query, types.Aggregations and types.SortOptions marshals each value,
// unmarshals it into a map and marshals the map again, at every level of
// nesting, which made encoding a request cost as much as a third of the
// query service's own time per request (BenchmarkRequestBody has the
// figures). bodyEncoder writes the subset of the structures the store uses
// in one pass. Any request holding something outside that subset is encoded
// by json.Marshal instead, so an unknown field is never dropped.
// TestRequestBodyMatchesTypedAPI and FuzzRequestBody hold the two encodings
// equal.
func (sh *shapes) requestBody(r *search.Request) ([]byte, error) {
	e := bodyEncoder{buf: make([]byte, 0, 1024), sh: sh}
	if e.request(r) {
		return e.buf, nil
	}
	return json.Marshal(r)
}

// bodyEncoder appends JSON to buf. Every method reports false, leaving buf
// in an unspecified state, when its value holds anything it does not encode.
type bodyEncoder struct {
	buf []byte
	sh  *shapes
}

// shape describes which fields of a struct type the encoder writes, so that
// it can tell, without reflection at encoding time, that no other field is
// set: the zero value of every Go type is all zero bytes, so a struct whose
// bytes outside the written fields are all zero has no other field set.
// (Non-zero padding, which Go does not produce, would only cost the fast
// path, never a field.)
type shape struct {
	size uintptr
	// keep holds the byte ranges [from, to) of the written fields, in order.
	keep [][2]uintptr
	// broken is set when a field name is unknown (a changed typed API): the
	// fast path is then never taken for the type.
	broken bool
}

// shapeOf returns the shape of T writing the named fields.
func shapeOf[T any](names ...string) shape {
	t := reflect.TypeFor[T]()
	sh := shape{size: t.Size()}
	for _, n := range names {
		f, ok := t.FieldByName(n)
		if !ok || len(f.Index) != 1 {
			sh.broken = true
			continue
		}
		sh.keep = append(sh.keep, [2]uintptr{f.Offset, f.Offset + f.Type.Size()})
	}
	slices.SortFunc(sh.keep, func(a, b [2]uintptr) int { return cmp.Compare(a[0], b[0]) })
	return sh
}

// only reports whether the struct at p, of the shape's type, has no field
// set but the written ones.
func (sh *shape) only(p unsafe.Pointer) bool {
	if sh.broken {
		return false
	}
	b := unsafe.Slice((*byte)(p), sh.size)
	from := uintptr(0)
	for _, k := range sh.keep {
		if !allZero(b[from:k[0]]) {
			return false
		}
		from = k[1]
	}
	return allZero(b[from:])
}

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.NativeEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// shapes holds the shape of every typed API structure the encoder writes.
type shapes struct {
	request, query, boolQuery, term, terms, dateRange, termRange shape
	match                                                        shape
	aggregation, termsAgg, dateHistogram, sortOptions, fieldSort shape
}

func newShapes() *shapes {
	return &shapes{
		request:       shapeOf[search.Request]("Query", "Size", "TrackTotalHits", "Aggregations", "Sort", "Pit", "SearchAfter"),
		query:         shapeOf[types.Query]("Bool", "Term", "Terms", "Range", "Match"),
		boolQuery:     shapeOf[types.BoolQuery]("Filter", "MustNot"),
		term:          shapeOf[types.TermQuery]("Value"),
		terms:         shapeOf[types.TermsQuery]("TermsQuery"),
		dateRange:     shapeOf[types.DateRangeQuery]("Format", "Gt", "Gte", "Lt", "Lte"),
		termRange:     shapeOf[types.TermRangeQuery]("Gt", "Gte", "Lt", "Lte"),
		match:         shapeOf[types.MatchQuery]("Query", "Operator"),
		aggregation:   shapeOf[types.Aggregations]("Terms", "DateHistogram", "Filter", "Aggregations"),
		termsAgg:      shapeOf[types.TermsAggregation]("Field", "Size", "ShardSize", "MinDocCount"),
		dateHistogram: shapeOf[types.DateHistogramAggregation]("Field", "CalendarInterval", "FixedInterval", "MinDocCount", "TimeZone"),
		sortOptions:   shapeOf[types.SortOptions]("SortOptions"),
		fieldSort:     shapeOf[types.FieldSort]("Order", "Format"),
	}
}

func (e *bodyEncoder) request(r *search.Request) bool {
	if !e.sh.request.only(unsafe.Pointer(r)) {
		return false
	}
	e.buf = append(e.buf, '{')
	obj := members{e: e}
	if r.Query != nil {
		obj.key("query")
		if !e.query(r.Query) {
			return false
		}
	}
	if r.Size != nil {
		obj.key("size")
		e.buf = strconv.AppendInt(e.buf, int64(*r.Size), 10)
	}
	if r.TrackTotalHits != nil {
		b, ok := r.TrackTotalHits.(bool)
		if !ok {
			return false
		}
		obj.key("track_total_hits")
		e.buf = strconv.AppendBool(e.buf, b)
	}
	if r.Aggregations != nil {
		obj.key("aggregations")
		if !e.aggregationMap(r.Aggregations) {
			return false
		}
	}
	if r.Sort != nil {
		obj.key("sort")
		if !e.sort(r.Sort) {
			return false
		}
	}
	if r.Pit != nil {
		obj.key("pit")
		if !e.pit(r.Pit) {
			return false
		}
	}
	if r.SearchAfter != nil {
		obj.key("search_after")
		e.buf = append(e.buf, '[')
		for i, v := range r.SearchAfter {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if !e.value(v) {
				return false
			}
		}
		e.buf = append(e.buf, ']')
	}
	e.buf = append(e.buf, '}')
	return true
}

// members writes the members of one JSON object, commas between them.
type members struct {
	e *bodyEncoder
	n int
}

// key starts the next member.
func (m *members) key(k string) {
	if m.n > 0 {
		m.e.buf = append(m.e.buf, ',')
	}
	m.n++
	m.e.key(k)
}

func (e *bodyEncoder) key(k string) {
	e.string(k)
	e.buf = append(e.buf, ':')
}

// string appends s as a JSON string. Printable ASCII other than the quote
// and the backslash is copied as it is; anything else goes through
// encoding/json, which escapes control characters and replaces invalid
// UTF-8.
func (e *bodyEncoder) string(s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			b, _ := json.Marshal(s) // a string always marshals
			e.buf = append(e.buf, b...)
			return
		}
	}
	e.buf = append(e.buf, '"')
	e.buf = append(e.buf, s...)
	e.buf = append(e.buf, '"')
}

// text appends the text form of an enum of the typed API.
func (e *bodyEncoder) text(m encoding.TextMarshaler) bool {
	b, err := m.MarshalText()
	if err != nil {
		return false
	}
	e.string(string(b))
	return true
}

// value appends a field value: a string, integer, bool, null or raw JSON.
func (e *bodyEncoder) value(v any) bool {
	switch v := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case string:
		e.string(v)
	case bool:
		e.buf = strconv.AppendBool(e.buf, v)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int64:
		e.buf = strconv.AppendInt(e.buf, v, 10)
	case json.RawMessage:
		if !json.Valid(v) {
			return false
		}
		var out bytes.Buffer
		if json.Compact(&out, v) != nil {
			return false
		}
		e.buf = append(e.buf, out.Bytes()...)
	default:
		return false
	}
	return true
}

// object appends {"k":...} for the one key k, the value written by f.
func (e *bodyEncoder) object(k string, f func() bool) bool {
	e.buf = append(e.buf, '{')
	e.key(k)
	if !f() {
		return false
	}
	e.buf = append(e.buf, '}')
	return true
}

// query appends a query: bool with filters, term, terms, date range or match.
func (e *bodyEncoder) query(q *types.Query) bool {
	if !e.sh.query.only(unsafe.Pointer(q)) {
		return false
	}
	kinds := 0
	for _, set := range []bool{q.Bool != nil, q.Term != nil, q.Terms != nil, q.Range != nil, q.Match != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return false
	}
	switch {
	case q.Bool != nil:
		return e.object("bool", func() bool { return e.boolFilter(q.Bool) })
	case q.Term != nil:
		return e.object("term", func() bool { return e.termMap(q.Term) })
	case q.Terms != nil:
		return e.object("terms", func() bool { return e.terms(q.Terms) })
	case q.Range != nil:
		return e.object("range", func() bool { return e.rangeMap(q.Range) })
	default:
		return e.object("match", func() bool { return e.matchMap(q.Match) })
	}
}

func (e *bodyEncoder) boolFilter(b *types.BoolQuery) bool {
	if !e.sh.boolQuery.only(unsafe.Pointer(b)) {
		return false
	}
	e.buf = append(e.buf, '{')
	obj := members{e: e}
	for _, clause := range []struct {
		k  string
		qs []types.Query
	}{{"filter", b.Filter}, {"must_not", b.MustNot}} {
		if clause.qs == nil {
			continue
		}
		obj.key(clause.k)
		e.buf = append(e.buf, '[')
		for i := range clause.qs {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if !e.query(&clause.qs[i]) {
				return false
			}
		}
		e.buf = append(e.buf, ']')
	}
	e.buf = append(e.buf, '}')
	return true
}

// fields appends the entries of m as an object, each value written by f.
func fields[V any](e *bodyEncoder, m map[string]V, f func(V) bool) bool {
	e.buf = append(e.buf, '{')
	obj := members{e: e}
	for k, v := range m {
		obj.key(k)
		if !f(v) {
			return false
		}
	}
	e.buf = append(e.buf, '}')
	return true
}

func (e *bodyEncoder) termMap(m map[string]types.TermQuery) bool {
	return fields(e, m, func(t types.TermQuery) bool {
		if !e.sh.term.only(unsafe.Pointer(&t)) {
			return false
		}
		return e.object("value", func() bool { return e.value(t.Value) })
	})
}

func (e *bodyEncoder) terms(t *types.TermsQuery) bool {
	if !e.sh.terms.only(unsafe.Pointer(t)) {
		return false
	}
	return fields(e, t.TermsQuery, func(f types.TermsQueryField) bool {
		vs, ok := f.([]types.FieldValue)
		if !ok {
			return false
		}
		e.buf = append(e.buf, '[')
		for i, v := range vs {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if !e.value(v) {
				return false
			}
		}
		e.buf = append(e.buf, ']')
		return true
	})
}

func (e *bodyEncoder) rangeMap(m map[string]types.RangeQuery) bool {
	return fields(e, m, func(rq types.RangeQuery) bool {
		var format, gt, gte, lt, lte *string
		switch r := rq.(type) {
		case types.DateRangeQuery:
			if !e.sh.dateRange.only(unsafe.Pointer(&r)) {
				return false
			}
			format, gt, gte, lt, lte = r.Format, r.Gt, r.Gte, r.Lt, r.Lte
		case types.TermRangeQuery:
			if !e.sh.termRange.only(unsafe.Pointer(&r)) {
				return false
			}
			gt, gte, lt, lte = r.Gt, r.Gte, r.Lt, r.Lte
		default:
			return false
		}
		e.buf = append(e.buf, '{')
		obj := members{e: e}
		for _, f := range []struct {
			k string
			v *string
		}{{"format", format}, {"gt", gt}, {"gte", gte}, {"lt", lt}, {"lte", lte}} {
			if f.v != nil {
				obj.key(f.k)
				e.string(*f.v)
			}
		}
		e.buf = append(e.buf, '}')
		return true
	})
}

func (e *bodyEncoder) matchMap(m map[string]types.MatchQuery) bool {
	return fields(e, m, func(mq types.MatchQuery) bool {
		if !e.sh.match.only(unsafe.Pointer(&mq)) {
			return false
		}
		e.buf = append(e.buf, '{')
		if mq.Operator != nil {
			e.key("operator")
			if !e.text(mq.Operator) {
				return false
			}
			e.buf = append(e.buf, ',')
		}
		e.key("query")
		e.string(mq.Query)
		e.buf = append(e.buf, '}')
		return true
	})
}

func (e *bodyEncoder) aggregationMap(m map[string]types.Aggregations) bool {
	return fields(e, m, func(a types.Aggregations) bool { return e.aggregation(&a) })
}

// aggregation appends a terms, date histogram or filter aggregation and its
// sub-aggregations.
func (e *bodyEncoder) aggregation(a *types.Aggregations) bool {
	if !e.sh.aggregation.only(unsafe.Pointer(a)) {
		return false
	}
	e.buf = append(e.buf, '{')
	obj := members{e: e}
	if a.Terms != nil {
		obj.key("terms")
		if !e.termsAgg(a.Terms) {
			return false
		}
	}
	if a.DateHistogram != nil {
		obj.key("date_histogram")
		if !e.dateHistogram(a.DateHistogram) {
			return false
		}
	}
	if a.Filter != nil {
		obj.key("filter")
		if !e.query(a.Filter) {
			return false
		}
	}
	if a.Aggregations != nil {
		obj.key("aggregations")
		if !e.aggregationMap(a.Aggregations) {
			return false
		}
	}
	e.buf = append(e.buf, '}')
	return true
}

// intField is an optional integer member of an object.
type intField struct {
	k string
	v *int
}

// intFields appends the set ones of fs as "key":n members after a first
// member already written.
func (e *bodyEncoder) intFields(fs ...intField) {
	for _, f := range fs {
		if f.v != nil {
			e.buf = append(e.buf, ',')
			e.key(f.k)
			e.buf = strconv.AppendInt(e.buf, int64(*f.v), 10)
		}
	}
}

func (e *bodyEncoder) termsAgg(t *types.TermsAggregation) bool {
	if t.Field == nil || !e.sh.termsAgg.only(unsafe.Pointer(t)) {
		return false
	}
	e.buf = append(e.buf, '{')
	e.key("field")
	e.string(*t.Field)
	e.intFields(intField{"size", t.Size}, intField{"shard_size", t.ShardSize}, intField{"min_doc_count", t.MinDocCount})
	e.buf = append(e.buf, '}')
	return true
}

func (e *bodyEncoder) dateHistogram(h *types.DateHistogramAggregation) bool {
	if h.Field == nil || !e.sh.dateHistogram.only(unsafe.Pointer(h)) {
		return false
	}
	e.buf = append(e.buf, '{')
	e.key("field")
	e.string(*h.Field)
	if h.CalendarInterval != nil {
		e.buf = append(e.buf, ',')
		e.key("calendar_interval")
		if !e.text(h.CalendarInterval) {
			return false
		}
	}
	if h.FixedInterval != nil {
		s, ok := h.FixedInterval.(string)
		if !ok {
			return false
		}
		e.buf = append(e.buf, ',')
		e.key("fixed_interval")
		e.string(s)
	}
	if h.TimeZone != nil {
		e.buf = append(e.buf, ',')
		e.key("time_zone")
		e.string(*h.TimeZone)
	}
	e.intFields(intField{"min_doc_count", h.MinDocCount})
	e.buf = append(e.buf, '}')
	return true
}

// sort appends field sorts: [{"field":{"order":...,"format":...}}].
func (e *bodyEncoder) sort(s []types.SortCombinations) bool {
	e.buf = append(e.buf, '[')
	for i, c := range s {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		o, ok := c.(types.SortOptions)
		if !ok || !e.sh.sortOptions.only(unsafe.Pointer(&o)) {
			return false
		}
		ok = fields(e, o.SortOptions, func(f types.FieldSort) bool {
			if !e.sh.fieldSort.only(unsafe.Pointer(&f)) {
				return false
			}
			e.buf = append(e.buf, '{')
			obj := members{e: e}
			if f.Order != nil {
				obj.key("order")
				if !e.text(f.Order) {
					return false
				}
			}
			if f.Format != nil {
				obj.key("format")
				e.string(*f.Format)
			}
			e.buf = append(e.buf, '}')
			return true
		})
		if !ok {
			return false
		}
	}
	e.buf = append(e.buf, ']')
	return true
}

func (e *bodyEncoder) pit(p *types.PointInTimeReference) bool {
	e.buf = append(e.buf, '{')
	e.key("id")
	e.string(p.Id)
	if p.KeepAlive != nil {
		s, ok := p.KeepAlive.(string)
		if !ok {
			return false
		}
		e.buf = append(e.buf, ',')
		e.key("keep_alive")
		e.string(s)
	}
	e.buf = append(e.buf, '}')
	return true
}
