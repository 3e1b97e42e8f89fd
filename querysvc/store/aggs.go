package store

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/valyala/fastjson"

	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/schema"
)

// Aggregation answers are read whole and parsed with valyala/fastjson, then
// walked for the few values each endpoint needs. The answers are made of many
// small buckets (a 90-day burst view holds some 10,000), and a reflecting
// decoder's cost per bucket (type dispatch, growing slices, a string per key)
// was most of the service's own time on them: BenchmarkReadAnswers reads
// them 1.3 to 1.7 times as fast as json-iterator did, with a tenth of the
// allocations.

// parsing is what parsing one answer needs: the answer read whole and a
// parser, whose buffers grow to the largest answer it met. A few are kept for
// reuse on a free list rather than in a sync.Pool, which every garbage
// collection empties: the answers are large and collections frequent, so a
// pool was most often empty, and each call paid again for growing both.
type parsing struct {
	body []byte
	p    fastjson.Parser
}

// Reuse is bounded: at most maxIdleParsing are kept, and none that has held
// an answer over maxKeptAnswer bytes, so that idle memory stays in the low
// tens of megabytes (a parser's values take several times its answer).
const (
	maxIdleParsing = 2
	maxKeptAnswer  = 1 << 20
)

var idleParsing = make(chan *parsing, maxIdleParsing)

// parseAnswer reads body whole (size is its length, or -1 when unknown),
// parses it and hands the parsed answer to read, whose values are valid only
// during the call.
func parseAnswer(body io.Reader, size int64, read func(*fastjson.Value) error) error {
	return readAnswer(body, size, func(st *parsing) error {
		v, err := st.p.ParseBytes(st.body)
		if err != nil {
			return err
		}
		return read(v)
	})
}

// readAnswer reads body whole into a parsing from the free list (size is its
// length, or -1 when unknown) and hands it to use, which must not keep
// st.body or values of st.p after the call.
func readAnswer(body io.Reader, size int64, use func(st *parsing) error) error {
	var st *parsing
	select {
	case st = <-idleParsing:
	default:
		st = new(parsing)
	}
	defer func() {
		if cap(st.body) > maxKeptAnswer {
			return
		}
		select {
		case idleParsing <- st:
		default:
		}
	}()
	buf := bytes.NewBuffer(st.body[:0])
	if size > 0 && size < math.MaxInt32 {
		// Room for the whole answer and ReadFrom's last read: growing the
		// buffer copies it.
		buf.Grow(int(size) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(body)
	st.body = buf.Bytes()
	if err != nil {
		return err
	}
	return use(st)
}

// answerTotal is an aggregation answer's hits.total.value; 0 when absent.
func answerTotal(v *fastjson.Value) (int64, error) {
	return intKey(v.Get("hits", "total"), "value")
}

// intKey is the integer under key in object v; 0 when absent.
func intKey(v *fastjson.Value, key string) (int64, error) {
	x := v.Get(key)
	if x == nil {
		return 0, nil
	}
	n, err := x.Int64()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", key, err)
	}
	return n, nil
}

// bucketsOf returns the buckets of the bucket aggregation named name under
// v: none when the aggregation is absent (v nil included).
func bucketsOf(v *fastjson.Value, name string) ([]*fastjson.Value, error) {
	agg := v.Get(name)
	if agg == nil {
		return nil, nil
	}
	if agg.Type() != fastjson.TypeObject {
		return nil, fmt.Errorf("aggregation %s: not an object", name)
	}
	b := agg.Get("buckets")
	if b == nil {
		return nil, nil
	}
	list, err := b.Array()
	if err != nil {
		return nil, fmt.Errorf("aggregation %s: buckets: %w", name, err)
	}
	return list, nil
}

// interner gives one string for equal keys within an answer, so that keys
// repeated in every bucket (event names, client addresses) are allocated
// once. The zero interner allocates every key not in the vocabulary.
type interner map[string]string

// vocabulary holds the schema's closed vocabularies (events, categories,
// actor types), the keys of the small aggregations: a key found here is
// the schema's own string, not a copy. Without it every bucket key was an
// allocation (16 of an events breakdown's 127). It is built once and only
// read.
var vocabulary = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	for _, list := range [][]string{schema.Events(), schema.Categories(), schema.ActorTypes()} {
		for _, s := range list {
			m[s] = s
		}
	}
	return m
})

func (in interner) str(b []byte) string {
	// The lookup converts b without allocating.
	if s, ok := vocabulary()[string(b)]; ok {
		return s
	}
	if in == nil {
		return string(b)
	}
	if s, ok := in[string(b)]; ok {
		return s
	}
	s := string(b)
	in[s] = s
	return s
}

// bucketFields returns a bucket's key and its document count (0 when
// absent). It reads the bucket as an object once and looks its two members
// up there: the buckets of a split or a burst view number in the
// thousands, and a lookup through the value (Value.Get) costs a third more.
func bucketFields(b *fastjson.Value) (*fastjson.Value, int64, error) {
	var k *fastjson.Value
	o, err := b.Object()
	if err == nil {
		k = o.Get("key")
	}
	if k == nil {
		return nil, 0, fmt.Errorf("bucket without a key")
	}
	var n int64
	if c := o.Get("doc_count"); c != nil {
		if n, err = c.Int64(); err != nil {
			return nil, 0, fmt.Errorf("doc_count: %w", err)
		}
	}
	return k, n, nil
}

// bucketKey is a terms bucket's key as text and its document count.
func bucketKey(b *fastjson.Value, in interner) (string, int64, error) {
	k, n, err := bucketFields(b)
	if err != nil {
		return "", 0, err
	}
	s, err := k.StringBytes()
	if err != nil {
		return "", 0, fmt.Errorf("bucket key: %w", err)
	}
	return in.str(s), n, nil
}

// timeKey is a date histogram bucket's key (epoch milliseconds) and its
// document count.
func timeKey(b *fastjson.Value) (int64, int64, error) {
	k, n, err := bucketFields(b)
	if err != nil {
		return 0, 0, err
	}
	ms, err := k.Int64()
	if err != nil {
		return 0, 0, fmt.Errorf("bucket key: %w", err)
	}
	return ms, n, nil
}

// countsOf is the terms aggregation named name under v, in Elasticsearch's
// order (count descending, key ascending); never nil, so it encodes as [].
func countsOf(v *fastjson.Value, name string, in interner) ([]querysvc.Count, error) {
	list, err := bucketsOf(v, name)
	if err != nil {
		return nil, err
	}
	out := make([]querysvc.Count, len(list))
	for i, b := range list {
		if out[i].Key, out[i].Count, err = bucketKey(b, in); err != nil {
			return nil, fmt.Errorf("aggregation %s: %w", name, err)
		}
	}
	return out, nil
}

// firstKey is the key of the first bucket of the terms aggregation named
// name under v, or "" when it has none.
func firstKey(v *fastjson.Value, name string, in interner) (string, error) {
	list, err := bucketsOf(v, name)
	if err != nil || len(list) == 0 {
		return "", err
	}
	k, _, err := bucketKey(list[0], in)
	if err != nil {
		return "", fmt.Errorf("aggregation %s: %w", name, err)
	}
	return k, nil
}
