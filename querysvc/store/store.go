package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/core/search"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/calendarinterval"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/operator"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/sortorder"
	"github.com/valyala/fastjson"

	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/schema"
)

// Defaults.
const (
	// DefaultKeepAlive is how long a search's point in time stays open between pages.
	DefaultKeepAlive = 2 * time.Minute
	// termsSize bounds every terms aggregation over a closed vocabulary
	// (events, categories), well above the schema's sizes.
	termsSize = 100
	// burstKeys bounds the keys returned per burst window: a spray wider
	// than that in one window is cut off at it (README).
	burstKeys = 1000
	// minShardSize is the least number of terms each shard returns to a
	// terms aggregation. The data streams roll over daily, so a range of
	// 90 days reads 90 shards: a term ranked low on each of them but high in
	// the sum is counted right only if every shard returns it.
	minShardSize = 1000
	// nanosFormat makes Elasticsearch return date_nanos sort values as
	// strings, which survive a JSON round trip exactly (epoch nanoseconds
	// do not fit a float64).
	nanosFormat = "strict_date_optional_time_nanos"
)

// Store reads activity records from Elasticsearch. It is safe for concurrent use.
type Store struct {
	es        *elasticsearch.TypedClient
	index     string
	keepAlive time.Duration
	// closeTimeout bounds the release of a point in time (closePIT).
	closeTimeout time.Duration
	// maxOpen bounds the searches each principal keeps open (walks).
	maxOpen int
	walks   *walks
	now     func() time.Time
	// encode writes a request's body: shapes.requestBody, or in tests a
	// wrapper that checks it against the typed API's own encoding.
	encode func(*search.Request) ([]byte, error)
	// prepared holds the HTTP request of each kind of search (see prepare).
	prepared [numKinds]func() (*http.Request, error)
	// byEvent, byCategory, topUsers and authAggs are the aggregations of
	// the small analytics (see aggsFor).
	byEvent, byCategory, topUsers, authAggs aggsFor
}

// fixedAggs are the aggregations of a request. When body is set, it is
// s.encode's encoding of a request holding only aggs ({"aggregations":...}),
// sent joined to the encoding of the rest of the request (joinObjects)
// rather than encoding aggs again.
type fixedAggs struct {
	aggs map[string]types.Aggregations
	body []byte
}

// aggsFor builds and encodes, once per number of top entries, the
// aggregations of an analytics query that depend on nothing else (not the
// principal, not the filters: those are in the query). Building them for
// every request (maps and the typed API's structures, up to 3 KB for the
// auth summary) and encoding them (structures of about 700 bytes, copied
// and checked field by field) was most of the cost of a small
// aggregation's request. They are shared between requests: nothing may
// change them.
type aggsFor struct {
	build func(n int) map[string]types.Aggregations
	// built holds those for n up to maxBuiltTop; others are built per request.
	built [maxBuiltTop + 1]atomic.Pointer[fixedAggs]
}

// maxBuiltTop bounds the numbers of top entries whose aggregations are kept:
// the API's largest limit for top users and failing logins.
const maxBuiltTop = 100

// get returns the aggregations for n top entries, encoded with s.encode.
func (a *aggsFor) get(s *Store, n int) (*fixedAggs, error) {
	if n >= 0 && n <= maxBuiltTop {
		if fa := a.built[n].Load(); fa != nil {
			return fa, nil
		}
	}
	fa := &fixedAggs{aggs: a.build(n)}
	body, err := s.encode(&search.Request{Aggregations: fa.aggs})
	if err != nil {
		return nil, querysvc.Wrap(querysvc.CodeInternal, "aggregate: encode request", err)
	}
	fa.body = body
	if n >= 0 && n <= maxBuiltTop {
		// Two requests may build the same n at once; either result is right.
		a.built[n].Store(fa)
	}
	return fa, nil
}

// kind is a kind of search the store sends: its URL, parameters and
// headers, whatever its body.
type kind int

const (
	// pitHits searches a point in time (no index) for hits.
	pitHits kind = iota
	// indexHits searches the store's index for hits.
	indexHits
	// indexAggs searches the store's index for aggregations.
	indexAggs
	numKinds
)

var _ querysvc.Store = (*Store)(nil)

// Option configures a Store.
type Option interface{ apply(*Store) }

type optionFunc func(*Store)

func (f optionFunc) apply(s *Store) { f(s) }

// WithIndex sets the index pattern or data stream searched. Default schema.IndexPattern.
func WithIndex(index string) Option {
	return optionFunc(func(s *Store) {
		if index != "" {
			s.index = index
		}
	})
}

// WithKeepAlive sets how long a point in time stays open between pages. Default DefaultKeepAlive.
func WithKeepAlive(d time.Duration) Option {
	return optionFunc(func(s *Store) {
		if d > 0 {
			s.keepAlive = d
		}
	})
}

// WithMaxOpenSearches sets how many searches one principal may keep open
// (a point in time held for a next page) at once; a search beyond it
// releases that principal's least recently paged one, whose next page then
// answers "cursor has expired". Default DefaultMaxOpenSearches; below 1
// means the default.
func WithMaxOpenSearches(n int) Option {
	return optionFunc(func(s *Store) {
		if n > 0 {
			s.maxOpen = n
		}
	})
}

// New returns a Store reading through es.
func New(es *elasticsearch.TypedClient, opts ...Option) *Store {
	s := &Store{es: es, index: schema.IndexPattern, keepAlive: DefaultKeepAlive, closeTimeout: closePITTimeout,
		encode: newShapes().requestBody, maxOpen: DefaultMaxOpenSearches, now: time.Now}
	for _, o := range opts {
		o.apply(s)
	}
	s.walks = newWalks(s.maxOpen, s.keepAlive)
	for k := range numKinds {
		s.prepared[k] = sync.OnceValues(func() (*http.Request, error) { return s.prepare(k) })
	}
	s.byEvent.build, s.byCategory.build = breakdownAggs(schema.AttrEvent), breakdownAggs(schema.AttrCategory)
	s.topUsers.build, s.authAggs.build = topUsersAggs, authAggs
	return s
}

// prepare returns the HTTP request the typed API builds for a kind of
// search, with an empty body. It is built once and cloned for every search:
// building it anew cost about 40 allocations per search, a third of a small
// aggregation's. TestPrepared holds the clones to the typed API's requests.
func (s *Store) prepare(k kind) (*http.Request, error) {
	var srch *search.Search
	switch k {
	case pitHits:
		srch = s.search().FilterPath(hitsFilter...)
	case indexHits:
		srch = s.searchIndex().FilterPath(hitsFilter...)
	default:
		srch = s.searchIndex().FilterPath(aggsFilter...)
	}
	return srch.Raw(bytes.NewReader(nil)).HttpRequest(context.Background())
}

// scope returns the filters every query of the principal in ctx carries:
// the tenant filter first, then the filters of f, with room for extra more.
func scope(ctx context.Context, f querysvc.Filter, extra int) ([]types.Query, error) {
	p, ok := querysvc.FromContext(ctx)
	if !ok {
		return nil, querysvc.Errorf(querysvc.CodeUnauthorized, "no principal")
	}
	tenant, err := p.Scope()
	if err != nil {
		return nil, err
	}
	switch {
	case tenant != "" && f.Tenant != "" && f.Tenant != tenant:
		return nil, querysvc.Errorf(querysvc.CodeForbidden, "a partner may only read its own tenant")
	case tenant == "":
		tenant = f.Tenant // admin: optional filter
	}
	attrs := [...]struct{ attr, v string }{
		{schema.AttrCategory, f.Category},
		{schema.AttrEvent, f.Event},
		{schema.AttrActorType, f.UserType},
		{schema.AttrUserID, f.UserID},
		{schema.AttrSubjectType, f.SubjectType},
		{schema.AttrSubjectID, f.SubjectID},
		{schema.AttrOutcome, f.Outcome},
	}
	// The filters are counted first so that they take one allocation: a
	// types.Query is about 500 bytes, and growing the slice by appending
	// copied a partner's filters two or three times.
	n := extra
	if tenant != "" {
		n += 2
	}
	for _, kv := range attrs {
		if kv.v != "" {
			n++
		}
	}
	for _, set := range []bool{f.IP != "", !f.From.IsZero() || !f.To.IsZero(), f.Query != ""} {
		if set {
			n++
		}
	}
	qs := make([]types.Query, 0, n)
	if tenant != "" {
		qs = append(qs, term(schema.Path(schema.AttrTenantID), tenant), onlyValue(schema.Path(schema.AttrTenantID), tenant))
	} else if p.Role != querysvc.RoleAdmin {
		// Unreachable: Scope refuses every non-admin without a tenant. Kept
		// so that a future role can never fall through to an unscoped query.
		return nil, querysvc.Errorf(querysvc.CodeForbidden, "unscoped query refused")
	}
	for _, kv := range attrs {
		if kv.v != "" {
			qs = append(qs, term(schema.Path(kv.attr), kv.v))
		}
	}
	if f.IP != "" {
		if err := validIP(f.IP); err != nil {
			return nil, err
		}
		qs = append(qs, term(schema.Path(schema.AttrClientAddress), f.IP))
	}
	if !f.From.IsZero() || !f.To.IsZero() {
		r := types.DateRangeQuery{Format: ptr(nanosFormat)}
		if !f.From.IsZero() {
			r.Gte = ptr(f.From.UTC().Format(time.RFC3339Nano))
		}
		if !f.To.IsZero() {
			r.Lt = ptr(f.To.UTC().Format(time.RFC3339Nano))
		}
		qs = append(qs, types.Query{Range: map[string]types.RangeQuery{schema.FieldTimestamp: r}})
	}
	if f.Query != "" {
		and := operator.And
		qs = append(qs, types.Query{Match: map[string]types.MatchQuery{
			schema.FieldBodyText: {Query: f.Query, Operator: &and},
		}})
	}
	return qs, nil
}

// validIP accepts an address or a CIDR prefix, the forms a term query on an
// ip field understands.
func validIP(s string) error {
	if net.ParseIP(s) != nil {
		return nil
	}
	if _, _, err := net.ParseCIDR(s); err == nil {
		return nil
	}
	return querysvc.Errorf(querysvc.CodeInvalid, "ip must be an IP address or CIDR prefix")
}

func term(field, value string) types.Query {
	return types.Query{Term: map[string]types.TermQuery{field: {Value: value}}}
}

// onlyValue matches the documents whose field holds no value other than v:
// none below it, none above it. With term(field, v) beside it, a document
// whose tenant field holds two tenants (which a record can only get by
// escaping the collector's activity processor, or from before it guarded
// against it) is seen by neither tenant's partners.
func onlyValue(field, v string) types.Query {
	return types.Query{Bool: &types.BoolQuery{MustNot: []types.Query{
		{Range: map[string]types.RangeQuery{field: types.TermRangeQuery{Lt: &v}}},
		{Range: map[string]types.RangeQuery{field: types.TermRangeQuery{Gt: &v}}},
	}}}
}

func terms(field string, values ...string) types.Query {
	vs := make([]types.FieldValue, len(values))
	for i, v := range values {
		vs[i] = v
	}
	return types.Query{Terms: &types.TermsQuery{TermsQuery: map[string]types.TermsQueryField{field: vs}}}
}

func boolQuery(filters []types.Query) *types.Query {
	return &types.Query{Bool: &types.BoolQuery{Filter: filters}}
}

func ptr[T any](v T) *T { return &v }

// newestFirst is the sort of every record listing: timestamp descending,
// then record id descending so that equal timestamps page deterministically.
func newestFirst() []types.SortCombinations {
	desc := sortorder.Desc
	return []types.SortCombinations{
		types.SortOptions{SortOptions: map[string]types.FieldSort{
			schema.FieldTimestamp: {Order: &desc, Format: ptr(nanosFormat)},
		}},
		types.SortOptions{SortOptions: map[string]types.FieldSort{
			schema.Path(schema.AttrID): {Order: &desc},
		}},
	}
}

// Search implements querysvc.Store.
func (s *Store) Search(ctx context.Context, f querysvc.Filter, pg querysvc.Page) (querysvc.ActivityPage, error) {
	filters, err := scope(ctx, f, 0)
	if err != nil {
		return querysvc.ActivityPage{}, err
	}
	if pg.Size <= 0 {
		return querysvc.ActivityPage{}, querysvc.Errorf(querysvc.CodeInvalid, "page size must be positive")
	}
	pit := ""
	if pg.After != nil {
		pit = pg.After.PIT
	} else {
		r, err := s.es.OpenPointInTime(s.index).KeepAlive(keepAlive(s.keepAlive)).Do(ctx)
		if err != nil {
			return querysvc.ActivityPage{}, esError("open point in time", err)
		}
		pit = r.Id
	}
	resp, err := s.searchHits(ctx, "search", pitHits, searchRequest(filters, pit, s.keepAlive, pg))
	if err != nil {
		if pg.After == nil {
			s.closePIT(ctx, pit)
		} else if indexGone(err) {
			// A backing index of the point in time was deleted (retention)
			// since the previous page: the snapshot cannot be read whole.
			err = querysvc.Wrap(querysvc.CodeInvalid, "cursor has expired; start the search again", err)
		}
		return querysvc.ActivityPage{}, err
	}
	prev := ""
	if pg.After != nil {
		prev = pg.After.PIT
	}
	if resp.pitID != "" {
		pit = resp.pitID
	}
	hits := resp.hits
	out := querysvc.ActivityPage{Total: resp.total}
	more := len(hits) > pg.Size
	if more {
		hits = hits[:pg.Size]
	}
	p, _ := querysvc.FromContext(ctx) // scope refused a context without one
	if out.Activities, err = activities(hits); err != nil {
		if pg.After == nil {
			s.closePIT(ctx, pit)
		}
		return querysvc.ActivityPage{}, err
	}
	if more {
		out.Next = &querysvc.Position{PIT: pit, SearchAfter: hits[len(hits)-1].sort}
		// Within the principal's bound of open searches: beyond it, its
		// least recently paged is released (see walks).
		for _, old := range s.walks.paged(ownerOf(p), prev, pit, s.now()) {
			s.closePIT(ctx, old)
		}
	} else {
		// The last page: release the point in time now rather than at keep-alive.
		s.closePIT(ctx, pit)
		s.walks.done(ownerOf(p), prev, pit)
	}
	return out, nil
}

// closePITTimeout bounds the release of a point in time: it expires at its
// keep-alive anyway, so a node slow to answer is not worth waiting for.
const closePITTimeout = 5 * time.Second

// closePIT releases a point in time no page will read again. The request
// outlives the caller's cancellation (a client that went away still frees
// it) but not closeTimeout: a node that accepts the request and never
// answers must not hold the response, or the handler, past the request
// timeout.
func (s *Store) closePIT(ctx context.Context, pit string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.closeTimeout)
	defer cancel()
	_, _ = s.es.ClosePointInTime().Id(pit).Do(ctx)
}

// searchRequest is the request of one page of a listing: the page size
// plus one (one more tells whether a next page exists) in a point in time.
func searchRequest(filters []types.Query, pit string, keep time.Duration, pg querysvc.Page) *search.Request {
	req := &search.Request{
		Pit:            &types.PointInTimeReference{Id: pit, KeepAlive: keepAlive(keep)},
		Query:          boolQuery(filters),
		Sort:           newestFirst(),
		Size:           ptr(pg.Size + 1),
		TrackTotalHits: true,
	}
	if pg.After != nil {
		for _, v := range pg.After.SearchAfter {
			req.SearchAfter = append(req.SearchAfter, v)
		}
	}
	return req
}

func keepAlive(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) + "ms" }

// search is a search that fails rather than answer from some shards only.
// Elasticsearch's default is to answer 200 with the hits and counts of the
// shards that responded (a node down, a backing index deleted by retention
// under a point in time), which would list a page or count a total short
// of records without a word.
func (s *Store) search() *search.Search {
	return s.es.Search().AllowPartialSearchResults(false)
}

// searchIndex is a search over the store's index that tolerates a pattern
// matching nothing yet.
func (s *Store) searchIndex() *search.Search {
	return s.search().Index(s.index).AllowNoIndices(true).IgnoreUnavailable(true)
}

// Response filters: Elasticsearch leaves out what the store does not read,
// which for bucket-heavy aggregations is a third of the bytes.
var (
	hitsFilter = []string{"pit_id", "hits.total.value", "hits.hits._id", "hits.hits._source", "hits.hits.sort"}
	aggsFilter = []string{"hits.total.value", "aggregations",
		"-**.key_as_string", "-**.doc_count_error_upper_bound", "-**.sum_other_doc_count"}
)

// Get implements querysvc.Store.
func (s *Store) Get(ctx context.Context, id, tenant string) (querysvc.Activity, error) {
	filters, err := scope(ctx, querysvc.Filter{Tenant: tenant}, 0)
	if err != nil {
		return querysvc.Activity{}, err
	}
	var resp hitsAnswer
	// By activity.id; then by document id, under which a record stored
	// without activity.id is listed (see decode). Both within the scope.
	for _, field := range []string{schema.Path(schema.AttrID), "_id"} {
		q := boolQuery(append(slices.Clip(filters), term(field, id)))
		if resp, err = s.searchHits(ctx, "get", indexHits, &search.Request{Query: q, Size: ptr(1), Sort: newestFirst()}); err != nil {
			return querysvc.Activity{}, err
		}
		if len(resp.hits) > 0 {
			break
		}
	}
	if len(resp.hits) == 0 {
		// The same answer whether the record does not exist or belongs to
		// another tenant, so ids cannot be probed across tenants.
		return querysvc.Activity{}, querysvc.Errorf(querysvc.CodeNotFound, "activity %q not found", id)
	}
	return resp.hits[0].activity()
}

// aggregate runs a size-0 search with aggregations over the scoped filter
// and decodes the aggregations into out, returning the total hit count.
// aggregate sends an aggregation request of s and reads the answer's
// aggregations (nil when it has none) with read; it returns what read
// returned and the answer's total.
func aggregate[T any](ctx context.Context, s *Store, filters []types.Query, aggs *fixedAggs, read func(aggs *fastjson.Value) (T, error)) (T, int64, error) {
	var out T
	var total int64
	req := aggRequest(filters, aggs.aggs)
	if aggs.body != nil {
		req.Aggregations = nil
	}
	err := s.performParsed(ctx, "aggregate", indexAggs, req, aggs.body, func(v *fastjson.Value) error {
		var err error
		if total, err = answerTotal(v); err != nil {
			return err
		}
		out, err = read(v.Get("aggregations"))
		return err
	})
	return out, total, err
}

// aggRequest is the request of an aggregation: no hits, an exact total.
func aggRequest(filters []types.Query, aggs map[string]types.Aggregations) *search.Request {
	return &search.Request{Query: boolQuery(filters), Size: ptr(0), TrackTotalHits: true, Aggregations: aggs}
}

func termsAgg(field string, size int, sub map[string]types.Aggregations) types.Aggregations {
	return types.Aggregations{
		Terms:        &types.TermsAggregation{Field: ptr(field), Size: ptr(size), ShardSize: ptr(max(size*4, minShardSize))},
		Aggregations: sub,
	}
}

// Trends implements querysvc.Store.
func (s *Store) Trends(ctx context.Context, f querysvc.Filter, interval querysvc.Interval, splitBy string) (querysvc.Trends, error) {
	filters, err := scope(ctx, f, 0)
	if err != nil {
		return querysvc.Trends{}, err
	}
	if f.From.IsZero() || f.To.IsZero() {
		return querysvc.Trends{}, querysvc.Errorf(querysvc.CodeInvalid, "trends need a time range")
	}
	interval = interval.Resolve(f.From, f.To)
	var ci calendarinterval.CalendarInterval
	switch interval {
	case querysvc.IntervalHour:
		ci = calendarinterval.Hour
	case querysvc.IntervalDay:
		ci = calendarinterval.Day
	case querysvc.IntervalWeek:
		ci = calendarinterval.Week
	default:
		return querysvc.Trends{}, querysvc.Errorf(querysvc.CodeInvalid, "interval must be auto, hour, day or week")
	}
	hist := types.Aggregations{DateHistogram: &types.DateHistogramAggregation{
		Field: ptr(schema.FieldTimestamp), CalendarInterval: &ci, MinDocCount: ptr(1), TimeZone: ptr("UTC"),
	}}
	switch splitBy {
	case "":
	case schema.AttrEvent, schema.AttrCategory:
		hist.Aggregations = map[string]types.Aggregations{"split": termsAgg(schema.Path(splitBy), termsSize, nil)}
	default:
		return querysvc.Trends{}, querysvc.Errorf(querysvc.CodeInvalid, "split must be event or category")
	}
	out := querysvc.Trends{Interval: interval}
	if splitBy != "" {
		out.SplitBy = strings.TrimPrefix(splitBy, "activity.")
	}
	out.Buckets, out.Total, err = aggregate(ctx, s, filters, &fixedAggs{aggs: map[string]types.Aggregations{"over_time": hist}},
		func(aggs *fastjson.Value) ([]querysvc.TrendBucket, error) { return readTrends(aggs, splitBy != "") })
	if err != nil {
		return querysvc.Trends{}, err
	}
	return out, nil
}

// readTrends reads the over_time date histogram, with its split when split.
func readTrends(aggs *fastjson.Value, split bool) ([]querysvc.TrendBucket, error) {
	list, err := bucketsOf(aggs, "over_time")
	if err != nil {
		return nil, err
	}
	out := make([]querysvc.TrendBucket, len(list))
	keys := interner{}
	for i, b := range list {
		ms, n, err := timeKey(b)
		if err != nil {
			return nil, fmt.Errorf("aggregation over_time: %w", err)
		}
		out[i] = querysvc.TrendBucket{Start: time.UnixMilli(ms).UTC(), Count: n}
		if split {
			if out[i].Split, err = countsOf(b, "split", keys); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// Breakdown implements querysvc.Store.
func (s *Store) Breakdown(ctx context.Context, f querysvc.Filter, attr string) (querysvc.Breakdown, error) {
	filters, err := scope(ctx, f, 0)
	if err != nil {
		return querysvc.Breakdown{}, err
	}
	if attr != schema.AttrEvent && attr != schema.AttrCategory {
		return querysvc.Breakdown{}, querysvc.Errorf(querysvc.CodeInvalid, "breakdown by %q is not supported", attr)
	}
	by := &s.byEvent
	if attr == schema.AttrCategory {
		by = &s.byCategory
	}
	aggs, err := by.get(s, 0)
	if err != nil {
		return querysvc.Breakdown{}, err
	}
	buckets, total, err := aggregate(ctx, s, filters, aggs,
		func(aggs *fastjson.Value) ([]querysvc.Count, error) { return countsOf(aggs, "by", nil) })
	if err != nil {
		return querysvc.Breakdown{}, err
	}
	return querysvc.Breakdown{Total: total, Buckets: buckets}, nil
}

// breakdownAggs returns the builder of the aggregations of a breakdown by
// attr, which takes no number of entries.
func breakdownAggs(attr string) func(int) map[string]types.Aggregations {
	return func(int) map[string]types.Aggregations {
		return map[string]types.Aggregations{"by": termsAgg(schema.Path(attr), termsSize, nil)}
	}
}

// TopUsers implements querysvc.Store.
func (s *Store) TopUsers(ctx context.Context, f querysvc.Filter, n int) ([]querysvc.UserCount, error) {
	filters, err := scope(ctx, f, 0)
	if err != nil {
		return nil, err
	}
	aggs, err := s.topUsers.get(s, n)
	if err != nil {
		return nil, err
	}
	out, _, err := aggregate(ctx, s, filters, aggs, readTopUsers)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// topUsersAggs are the aggregations of the n top users.
func topUsersAggs(n int) map[string]types.Aggregations {
	return map[string]types.Aggregations{
		"users": termsAgg(schema.Path(schema.AttrUserID), n, map[string]types.Aggregations{
			"name": termsAgg(schema.Path(schema.AttrUserName), 1, nil),
			"type": termsAgg(schema.Path(schema.AttrActorType), 1, nil),
		}),
	}
}

// readTopUsers reads the users terms aggregation, with each user's most
// frequent name and actor type.
func readTopUsers(aggs *fastjson.Value) ([]querysvc.UserCount, error) {
	list, err := bucketsOf(aggs, "users")
	if err != nil {
		return nil, err
	}
	out := make([]querysvc.UserCount, len(list))
	actorTypes := interner{}
	for i, b := range list {
		u := &out[i]
		if u.UserID, u.Count, err = bucketKey(b, nil); err != nil {
			return nil, fmt.Errorf("aggregation users: %w", err)
		}
		if u.UserName, err = firstKey(b, "name", nil); err != nil {
			return nil, err
		}
		if u.UserType, err = firstKey(b, "type", actorTypes); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// authEvents are the events /v1/analytics/auth summarises.
func authEvents() []string { return schema.AuthEvents() }

// Auth implements querysvc.Store.
func (s *Store) Auth(ctx context.Context, f querysvc.Filter, n int) (querysvc.AuthStats, error) {
	filters, err := scope(ctx, f, 1)
	if err != nil {
		return querysvc.AuthStats{}, err
	}
	filters = append(filters, terms(schema.Path(schema.AttrEvent), authEvents()...))
	aggs, err := s.authAggs.get(s, n)
	if err != nil {
		return querysvc.AuthStats{}, err
	}
	out, _, err := aggregate(ctx, s, filters, aggs, readAuth)
	if err != nil {
		return querysvc.AuthStats{}, err
	}
	return out, nil
}

// authAggs are the aggregations of the auth summary with the n top failing
// addresses and user names.
func authAggs(n int) map[string]types.Aggregations {
	failed := term(schema.Path(schema.AttrEvent), schema.EventLoginFailed)
	return map[string]types.Aggregations{
		"events": termsAgg(schema.Path(schema.AttrEvent), termsSize, nil),
		"failed": {Filter: &failed, Aggregations: map[string]types.Aggregations{
			"ips":   termsAgg(schema.Path(schema.AttrClientAddress), n, nil),
			"users": termsAgg(schema.Path(schema.AttrUserName), n, nil),
		}},
	}
}

// readAuth reads the auth summary: counts per event, and the top failing
// addresses and user names.
func readAuth(aggs *fastjson.Value) (querysvc.AuthStats, error) {
	var out querysvc.AuthStats
	events, err := countsOf(aggs, "events", nil)
	if err != nil {
		return out, err
	}
	for _, c := range events {
		switch c.Key {
		case schema.EventLogin:
			out.Logins = c.Count
		case schema.EventLogout:
			out.Logouts = c.Count
		case schema.EventLoginFailed:
			out.FailedLogins = c.Count
		case schema.EventOTPRequested:
			out.OTPRequested = c.Count
		case schema.EventOTPVerified:
			out.OTPVerified = c.Count
		case schema.EventOTPFailed:
			out.OTPFailed = c.Count
		case schema.EventPasswordChanged:
			out.PasswordChanges = c.Count
		case schema.EventPasswordResetRequested:
			out.PasswordResetRequests = c.Count
		case schema.EventPasswordReset:
			out.PasswordResets = c.Count
		}
	}
	if attempts := out.Logins + out.FailedLogins; attempts > 0 {
		out.FailureRate = float64(out.FailedLogins) / float64(attempts)
	}
	failed := aggs.Get("failed")
	if out.TopFailingIPs, err = countsOf(failed, "ips", nil); err != nil {
		return out, err
	}
	if out.TopFailingUsers, err = countsOf(failed, "users", nil); err != nil {
		return out, err
	}
	return out, nil
}

// Alerts implements querysvc.Store.
func (s *Store) Alerts(ctx context.Context, f querysvc.Filter, n int) ([]querysvc.Activity, error) {
	f.Event = schema.EventFailedLoginBurst
	filters, err := scope(ctx, f, 0)
	if err != nil {
		return nil, err
	}
	resp, err := s.searchHits(ctx, "alerts", indexHits, &search.Request{
		Query: boolQuery(filters), Sort: newestFirst(), Size: ptr(n),
	})
	if err != nil {
		return nil, err
	}
	return activities(resp.hits)
}

// Ready implements querysvc.Store: Elasticsearch answers, and the tenant
// field is mapped as a keyword on every index the pattern matches (which is
// what the schema's index template gives it). It needs only the
// view_index_metadata index privilege.
func (s *Store) Ready(ctx context.Context) error {
	field := schema.Path(schema.AttrTenantID)
	resp, err := s.es.FieldCaps().Index(s.index).Fields(field).AllowNoIndices(true).Do(ctx)
	if err != nil {
		return esError("field caps", err)
	}
	if len(resp.Indices) == 0 {
		return querysvc.Errorf(querysvc.CodeUnavailable, "no index matches %s yet", s.index)
	}
	caps, ok := resp.Fields[field]
	if !ok {
		return querysvc.Errorf(querysvc.CodeUnavailable, "%s is not mapped: the schema is not installed", field)
	}
	for typ := range caps {
		if typ != string(schema.TypeKeyword) {
			return querysvc.Errorf(querysvc.CodeUnavailable, "%s is mapped as %s, not keyword: the schema is not installed", field, typ)
		}
	}
	return nil
}

// causedBy reports whether Elasticsearch's error, or one of its root
// causes, has a type containing kind. A search answers with its own type,
// search_phase_execution_exception, and names what went wrong as a root
// cause.
func causedBy(ee *types.ElasticsearchError, kind string) bool {
	if strings.Contains(ee.ErrorCause.Type, kind) {
		return true
	}
	for _, rc := range ee.ErrorCause.RootCause {
		if strings.Contains(rc.Type, kind) {
			return true
		}
	}
	return false
}

// indexGone reports whether err is Elasticsearch's answer that an index the
// search reads no longer exists.
func indexGone(err error) bool {
	var ee *types.ElasticsearchError
	return errors.As(err, &ee) && ee.Status == 404 && causedBy(ee, "index_not_found")
}

// esError classifies an Elasticsearch client error.
func esError(op string, err error) error {
	var ee *types.ElasticsearchError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return querysvc.Wrap(querysvc.CodeTimeout, "Elasticsearch did not answer in time", err)
	case errors.Is(err, context.Canceled):
		return querysvc.Wrap(querysvc.CodeTimeout, "request cancelled", err)
	case errors.As(err, &ee):
		switch {
		case ee.Status == 404 && causedBy(ee, "search_context_missing"):
			return querysvc.Wrap(querysvc.CodeInvalid, "cursor has expired; start the search again", err)
		case ee.Status == 404:
			return querysvc.Wrap(querysvc.CodeUnavailable, "activity index not found", err)
		case causedBy(ee, "too_many_buckets"):
			return querysvc.Wrap(querysvc.CodeInvalid, "the answer would hold more buckets than Elasticsearch allows "+
				"(search.max_buckets): narrow the time range, widen the interval or window, or raise the threshold", err)
		case ee.Status == 400 || ee.Status == 413:
			return querysvc.Wrap(querysvc.CodeInvalid, "Elasticsearch rejected the query", err)
		case ee.Status == 429 || ee.Status >= 500:
			return querysvc.Wrap(querysvc.CodeUnavailable, "Elasticsearch is unavailable", err)
		}
		return querysvc.Wrap(querysvc.CodeInternal, op+" failed", err)
	}
	return querysvc.Wrap(querysvc.CodeUnavailable, "Elasticsearch is unavailable", fmt.Errorf("%s: %w", op, err))
}
