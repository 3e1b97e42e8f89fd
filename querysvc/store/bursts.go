package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/valyala/fastjson"

	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/schema"
)

// Bursts implements querysvc.Store; the method is described in the package
// doc. It returns the newest q.Limit bursts (all when q.Limit is 0) and how
// many there are in all.
func (s *Store) Bursts(ctx context.Context, f querysvc.Filter, q querysvc.BurstQuery) ([]querysvc.Burst, int, error) {
	f.Event = schema.EventLoginFailed
	filters, err := scope(ctx, f, 0)
	if err != nil {
		return nil, 0, err
	}
	if q.KeyField != schema.AttrClientAddress && q.KeyField != schema.AttrUserName {
		return nil, 0, querysvc.Errorf(querysvc.CodeInvalid, "burst key must be client.address or user.name")
	}
	if q.Window < time.Second || q.Threshold < 1 {
		return nil, 0, querysvc.Errorf(querysvc.CodeInvalid, "burst window and threshold must be positive")
	}
	if q.Limit < 0 {
		return nil, 0, querysvc.Errorf(querysvc.CodeInvalid, "burst limit must not be negative")
	}
	keys := termsAgg(schema.Path(q.KeyField), burstKeys, nil)
	keys.Terms.MinDocCount = ptr(q.Threshold)
	// A window lies in one or two backing indices: each returning its
	// first burstKeys keys is enough, and asking for more costs every
	// window.
	keys.Terms.ShardSize = ptr(burstKeys)
	var total int
	out, _, err := aggregate(ctx, s, filters, &fixedAggs{aggs: map[string]types.Aggregations{
		"windows": {
			DateHistogram: &types.DateHistogramAggregation{
				Field: ptr(schema.FieldTimestamp), FixedInterval: strconv.FormatInt(q.Window.Milliseconds(), 10) + "ms",
				MinDocCount: ptr(q.Threshold),
			},
			Aggregations: map[string]types.Aggregations{"keys": keys},
		},
	}}, func(aggs *fastjson.Value) ([]querysvc.Burst, error) {
		var (
			out []querysvc.Burst
			err error
		)
		out, total, err = readBursts(aggs, q.Limit)
		return out, err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// readBursts reads the windows date histogram and the keys over the
// threshold in each: the newest limit bursts (all when limit is 0), and how
// many there are in all. Windows come oldest first and keys by count
// descending, then key ascending: walking the windows backwards gives the
// documented order (newest window first) without sorting. Bursts past the
// limit are counted, not made: a 90-day view holds thousands, of which a page
// shows a hundred, and making each (its key copied, its window's time) was
// as much of the service's time as parsing the answer. Never nil, so it
// encodes as [].
func readBursts(aggs *fastjson.Value, limit int) ([]querysvc.Burst, int, error) {
	list, err := bucketsOf(aggs, "windows")
	if err != nil {
		return nil, 0, err
	}
	total := 0
	for _, w := range list {
		inner, err := bucketsOf(w, "keys")
		if err != nil {
			return nil, 0, err
		}
		total += len(inner)
	}
	n := total
	if limit > 0 {
		n = min(n, limit)
	}
	out := make([]querysvc.Burst, 0, n)
	keys := interner{}
	for i := len(list) - 1; i >= 0 && len(out) < n; i-- {
		w := list[i]
		ms, _, err := timeKey(w)
		if err != nil {
			return nil, 0, fmt.Errorf("aggregation windows: %w", err)
		}
		start := time.UnixMilli(ms).UTC()
		for _, b := range w.GetArray("keys", "buckets") {
			if len(out) == n {
				break
			}
			k, c, err := bucketKey(b, keys)
			if err != nil {
				return nil, 0, fmt.Errorf("aggregation keys: %w", err)
			}
			out = append(out, querysvc.Burst{WindowStart: start, Key: k, Count: c})
		}
	}
	return out, total, nil
}
