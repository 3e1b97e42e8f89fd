package instrumentation

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/activitylog/activitylog/instrumentation/internal/sdkconfig"
	"github.com/activitylog/activitylog/internal/logtest"
	"github.com/activitylog/activitylog/schema"
)

// twinRecorders emits every event through two providers: one with the SDK's
// default key de-duplication, and one configured as otlp.NewProvider
// configures its own (no de-duplication). Both recorders have a fixed clock
// and id, so the records differ only by what the SDK did to them.
type twinRecorders struct {
	dedup, plain       *Recorder
	dedupExp, plainExp *logtest.Exporter
}

func newTwinRecorders(t testing.TB, opts ...Option) *twinRecorders {
	t.Helper()
	opts = append([]Option{
		WithClock(func() time.Time { return time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC) }),
		WithIDGenerator(func() (string, error) { return "0193a1b2-0000-7000-8000-000000000001", nil }),
	}, opts...)
	dedupLP, dedupExp := logtest.NewProvider(t)
	plainLP, plainExp := logtest.NewProvider(t, sdkconfig.ProviderOptions()...)
	return &twinRecorders{
		dedup: New(dedupLP, opts...), plain: New(plainLP, opts...),
		dedupExp: dedupExp, plainExp: plainExp,
	}
}

// record records e through both providers and returns the two records.
func (tr *twinRecorders) record(t testing.TB, e Event) (dedup, plain sdklog.Record) {
	t.Helper()
	ctx := WithActor(context.Background(), Actor{ID: "u-1", Name: "Jane Doe", Type: ActorPartner})
	ctx = WithTenant(ctx, Tenant{ID: "t-1", Name: "Bean There"})
	ctx = WithRequest(ctx, Request{ClientAddress: "203.0.113.7", UserAgent: "loyalty-app/2.1", ID: "req-9"})
	for _, r := range []*Recorder{tr.dedup, tr.plain} {
		if err := r.Record(ctx, e); err != nil {
			t.Fatalf("got error %v, want nil", err)
		}
	}
	d, p := tr.dedupExp.Take(), tr.plainExp.Take()
	if len(d) != 1 || len(p) != 1 {
		t.Fatalf("got %d and %d records, want 1 and 1", len(d), len(p))
	}
	return d[0], p[0]
}

// recordDiff describes the first difference between two records (the
// observed timestamp, which is the SDK's clock, aside), or returns "".
func recordDiff(a, b sdklog.Record) string {
	switch {
	case a.EventName() != b.EventName():
		return fmt.Sprintf("event name %q, %q", a.EventName(), b.EventName())
	case !a.Timestamp().Equal(b.Timestamp()):
		return fmt.Sprintf("timestamp %v, %v", a.Timestamp(), b.Timestamp())
	case a.Severity() != b.Severity() || a.SeverityText() != b.SeverityText():
		return fmt.Sprintf("severity %v %q, %v %q", a.Severity(), a.SeverityText(), b.Severity(), b.SeverityText())
	case a.DroppedAttributes() != b.DroppedAttributes():
		return fmt.Sprintf("dropped attributes %d, %d", a.DroppedAttributes(), b.DroppedAttributes())
	}
	if d := valueDiff("body", a.Body(), b.Body()); d != "" {
		return d
	}
	return kvsDiff("attributes", recordAttrs(a), recordAttrs(b))
}

func recordAttrs(r sdklog.Record) []attribute.KeyValue {
	var kvs []attribute.KeyValue
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		kvs = append(kvs, kv)
		return true
	})
	return kvs
}

// kvsDiff compares two key-value lists in order, keys and values alike.
func kvsDiff(path string, a, b []attribute.KeyValue) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%s: %d keys, %d keys", path, len(a), len(b))
	}
	for i := range a {
		if a[i].Key != b[i].Key {
			return fmt.Sprintf("%s[%d]: key %q, %q", path, i, a[i].Key, b[i].Key)
		}
		if d := valueDiff(path+"."+string(a[i].Key), a[i].Value, b[i].Value); d != "" {
			return d
		}
	}
	return ""
}

// valueDiff compares two attribute values at every nesting level; floats
// are compared by their bits, so NaNs compare and -0 differs from 0.
func valueDiff(path string, a, b attribute.Value) string {
	if a.Type() != b.Type() {
		return fmt.Sprintf("%s: type %v, %v", path, a.Type(), b.Type())
	}
	var equal bool
	switch a.Type() {
	case attribute.EMPTY:
		equal = true
	case attribute.BOOL:
		equal = a.AsBool() == b.AsBool()
	case attribute.INT64:
		equal = a.AsInt64() == b.AsInt64()
	case attribute.FLOAT64:
		equal = math.Float64bits(a.AsFloat64()) == math.Float64bits(b.AsFloat64())
	case attribute.STRING:
		equal = a.AsString() == b.AsString()
	case attribute.BOOLSLICE:
		equal = slices.Equal(a.AsBoolSlice(), b.AsBoolSlice())
	case attribute.INT64SLICE:
		equal = slices.Equal(a.AsInt64Slice(), b.AsInt64Slice())
	case attribute.FLOAT64SLICE:
		equal = slices.EqualFunc(a.AsFloat64Slice(), b.AsFloat64Slice(), func(x, y float64) bool {
			return math.Float64bits(x) == math.Float64bits(y)
		})
	case attribute.STRINGSLICE:
		equal = slices.Equal(a.AsStringSlice(), b.AsStringSlice())
	case attribute.BYTESLICE:
		equal = slices.Equal(a.AsByteSlice(), b.AsByteSlice())
	case attribute.SLICE:
		as, bs := a.AsSlice(), b.AsSlice()
		if len(as) != len(bs) {
			return fmt.Sprintf("%s: %d elements, %d elements", path, len(as), len(bs))
		}
		for i := range as {
			if d := valueDiff(path+"["+strconv.Itoa(i)+"]", as[i], bs[i]); d != "" {
				return d
			}
		}
		return ""
	case attribute.MAP:
		return kvsDiff(path, a.AsMap(), b.AsMap())
	}
	if !equal {
		return fmt.Sprintf("%s: %s, %s", path, a, b)
	}
	return ""
}

// repeatedKey returns the path of a key that occurs twice in the same map,
// at any level of a record's attributes and body, or "".
func repeatedKey(r sdklog.Record) string {
	if p := repeatedKeyIn("attributes", recordAttrs(r)); p != "" {
		return p
	}
	return repeatedKeyInValue("body", r.Body())
}

func repeatedKeyIn(path string, kvs []attribute.KeyValue) string {
	seen := make(map[attribute.Key]bool, len(kvs))
	for _, kv := range kvs {
		if seen[kv.Key] {
			return path + "." + string(kv.Key)
		}
		seen[kv.Key] = true
		if p := repeatedKeyInValue(path+"."+string(kv.Key), kv.Value); p != "" {
			return p
		}
	}
	return ""
}

func repeatedKeyInValue(path string, v attribute.Value) string {
	switch v.Type() {
	case attribute.MAP:
		return repeatedKeyIn(path, v.AsMap())
	case attribute.SLICE:
		for i, e := range v.AsSlice() {
			if p := repeatedKeyInValue(path+"["+strconv.Itoa(i)+"]", e); p != "" {
				return p
			}
		}
	}
	return ""
}

// repeatedMap is a map value that gives key k three times and key j once.
func repeatedMap(first, last string) attribute.Value {
	return attribute.MapValue(
		attribute.String("k", first),
		attribute.Int("j", 1),
		attribute.String("k", "middle"),
		attribute.String("k", last),
	)
}

// nested returns v inside depth maps, each of which also repeats its key.
func nested(depth int, v attribute.Value) attribute.Value {
	for i := range depth {
		v = attribute.MapValue(
			attribute.String("d", "dropped at "+strconv.Itoa(i)),
			attribute.KeyValue{Key: "d", Value: v},
			attribute.Int("n", i),
		)
	}
	return v
}

func TestChangesKeepTheLastOfARepeatedField(t *testing.T) {
	tests := []struct {
		name       string
		changes    Changes
		wantFields []string
		wantValue  attribute.Value
	}{
		{
			name: "no repeats",
			changes: Changes{
				{Field: "tier", Old: attribute.StringValue("silver"), New: attribute.StringValue("gold")},
				{Field: "points", Old: attribute.IntValue(100), New: attribute.IntValue(120)},
			},
			wantFields: []string{"tier", "points"},
			wantValue: attribute.MapValue(
				attribute.Map("tier", attribute.String("old", "silver"), attribute.String("new", "gold")),
				attribute.Map("points", attribute.Int("old", 100), attribute.Int("new", 120))),
		},
		{
			name: "a repeated field keeps its last change at its first place",
			changes: Changes{
				{Field: "tier", Old: attribute.StringValue("bronze"), New: attribute.StringValue("silver")},
				{Field: "points", Old: attribute.IntValue(100), New: attribute.IntValue(120)},
				{Field: "tier", New: attribute.StringValue("gold")},
			},
			wantFields: []string{"tier", "points"},
			wantValue: attribute.MapValue(
				attribute.Map("tier", attribute.String("new", "gold")),
				attribute.Map("points", attribute.Int("old", 100), attribute.Int("new", 120))),
		},
		{
			name: "a redacted change is replaced whole, not merged",
			changes: Changes{
				{Field: "phone", Redacted: true},
				{Field: "phone", Old: attribute.StringValue("a"), New: attribute.StringValue("b")},
				{Field: "pin", Old: attribute.StringValue("1"), New: attribute.StringValue("2")},
				{Field: "pin", Redacted: true},
			},
			wantFields: []string{"phone", "pin"},
			wantValue: attribute.MapValue(
				attribute.Map("phone", attribute.String("old", "a"), attribute.String("new", "b")),
				attribute.Map("pin", attribute.Bool("redacted", true))),
		},
		{
			name: "maps in old and new values keep a key's last value, in slices too",
			changes: Changes{{
				Field: "prefs",
				Old:   repeatedMap("first", "last"),
				New:   attribute.SliceValue(attribute.StringValue("x"), repeatedMap("a", "b")),
			}},
			wantFields: []string{"prefs"},
			wantValue: attribute.MapValue(attribute.Map("prefs",
				attribute.Map("old", attribute.String("k", "last"), attribute.Int("j", 1)),
				attribute.KeyValue{Key: "new", Value: attribute.SliceValue(attribute.StringValue("x"),
					attribute.MapValue(attribute.String("k", "b"), attribute.Int("j", 1)))})),
		},
		{
			name: "nested maps are de-duplicated at every level",
			changes: Changes{{
				Field: "deep",
				New:   nested(2, attribute.StringValue("leaf")),
			}},
			wantFields: []string{"deep"},
			wantValue: attribute.MapValue(attribute.Map("deep", attribute.Map("new",
				attribute.Map("d", attribute.String("d", "leaf"), attribute.Int("n", 0)),
				attribute.Int("n", 1)))),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.changes.Fields(); !slices.Equal(got, tt.wantFields) {
				t.Errorf("got fields %v, want %v", got, tt.wantFields)
			}
			got := tt.changes.Value()
			if d := valueDiff("changes", got, tt.wantValue); d != "" {
				t.Errorf("got value %s, want %s: %s", got, tt.wantValue, d)
			}
			if p := repeatedKeyInValue("changes", got); p != "" {
				t.Errorf("got a repeated key at %s, want none", p)
			}
		})
	}
}

func TestChangesWithoutRepeatsAreNotCopied(t *testing.T) {
	c := Changes{
		{Field: "tier", Old: attribute.StringValue("silver"), New: attribute.StringValue("gold")},
		{Field: "tags", Old: attribute.SliceValue(attribute.StringValue("a")), New: attribute.SliceValue()},
		{Field: "prefs", New: attribute.MapValue(attribute.String("k", "v"), attribute.String("l", "w"))},
	}
	if u := c.unique(); &u[0] != &c[0] {
		t.Errorf("got a copy of changes without repeated fields, want the same slice")
	}
	for _, ch := range c {
		for _, v := range []attribute.Value{ch.Old, ch.New} {
			if _, changed := dedupValue(v); changed {
				t.Errorf("got %s changed by de-duplication, want it as it is", v)
			}
		}
	}
	scalar := attribute.StringValue("gold")
	if allocs := testing.AllocsPerRun(100, func() { _ = uniqueKeys(scalar) }); allocs != 0 {
		t.Errorf("got %v allocations for a scalar, want 0", allocs)
	}
	many := make(Changes, 3*linearFind)
	for i := range many {
		many[i].Field = "f" + strconv.Itoa(i)
	}
	if many.repeatsField() {
		t.Errorf("got a repeated field in %v, want none", many.Fields())
	}
	many[len(many)-1].Field = "f0"
	if !many.repeatsField() {
		t.Errorf("got no repeated field with f0 twice in a long list, want one")
	}
}

// TestRecordsSameWithoutSDKDeduplication is the property the otlp provider's
// sdklog.WithAllowKeyDuplication rests on: for any event, the record emitted
// without the SDK's key de-duplication is the record emitted with it,
// attribute by attribute and at every nesting level, and holds no key twice.
func TestRecordsSameWithoutSDKDeduplication(t *testing.T) {
	subject := Subject{Category: Cards, Type: "card", ID: "c-1", Name: "Ann Lee's card"}
	type card struct {
		Tier   string            `json:"tier"`
		Points int               `json:"points"`
		Tags   []string          `json:"tags"`
		Prefs  map[string]string `json:"prefs"`
		Phone  string            `json:"phone" activity:"redact"`
	}
	before := card{Tier: "silver", Points: 100, Tags: []string{"a"}, Prefs: map[string]string{"lang": "en"}, Phone: "1"}
	after := card{Tier: "gold", Points: 120, Tags: []string{"a", "b"}, Prefs: map[string]string{"lang": "fr", "a.b": "x"}, Phone: "2"}
	manyRepeats := make(Changes, 0, 60)
	for i := range 60 {
		manyRepeats = append(manyRepeats, Change{Field: "f" + strconv.Itoa(i%23), New: attribute.IntValue(i)})
	}
	rec := New(nil)

	tests := []struct {
		name  string
		event Event
	}{
		{name: "update from a diff", event: Event{Action: Updated, Subject: subject, Changes: rec.Diff(before, after)}},
		{name: "create from a diff", event: Event{Action: Created, Subject: subject, Changes: rec.Diff(nil, after)}},
		{name: "failed login", event: Event{Action: LoginFailed, Actor: Actor{Name: "jane@example.com", Type: ActorPartner}, Outcome: Failure, FailureReason: "invalid_password"}},
		{name: "read of the log", event: Event{Action: Viewed, Subject: Subject{Type: "activity_log"},
			Query: &Query{Endpoint: "/v1/activities", Params: map[string]string{"q": "coffee", "": "empty", "a.b": "dot"}, Status: 403}}},
		{name: "every attribute at once", event: Event{Action: Viewed, Subject: Subject{Type: "activity_log", ID: "a-1", Name: "log"},
			Changes: rec.Diff(before, after), Query: &Query{Endpoint: "/v1/activities", Params: map[string]string{"q": "x"}, Status: 500},
			Outcome: Failure, FailureReason: "http_500"}},
		{name: "repeated fields", event: Event{Action: Updated, Subject: subject, Changes: Changes{
			{Field: "tier", Old: attribute.StringValue("bronze"), New: attribute.StringValue("silver")},
			{Field: "points", Old: attribute.IntValue(1), New: attribute.IntValue(2)},
			{Field: "tier", New: attribute.StringValue("gold")},
			{Field: "phone", Redacted: true},
			{Field: "phone", Old: attribute.StringValue("a")},
			{Field: "", New: attribute.StringValue("empty name")},
			{Field: "", New: attribute.StringValue("empty name again")},
		}}},
		{name: "repeated fields in a long list", event: Event{Action: Updated, Subject: subject, Changes: manyRepeats}},
		{name: "maps with repeated keys", event: Event{Action: Updated, Subject: subject, Changes: Changes{
			{Field: "prefs", Old: repeatedMap("a", "b"), New: repeatedMap("c", "d")},
			{Field: "lines", Old: attribute.SliceValue(repeatedMap("a", "b"), attribute.SliceValue(repeatedMap("c", "d"))),
				New: attribute.SliceValue(attribute.IntValue(1), attribute.MapValue())},
			{Field: "prefs", Old: attribute.MapValue(attribute.KeyValue{Key: "k", Value: repeatedMap("e", "f")}, attribute.Int("k", 2))},
		}}},
		{name: "nested deeper than the SDK keeps", event: Event{Action: Updated, Subject: subject, Changes: Changes{
			{Field: "deep", Old: nested(70, attribute.StringValue("leaf")), New: nested(3, repeatedMap("a", "b"))},
		}}},
		{
			name:  "a map key named like the truncation marker's field",
			event: Event{Action: Updated, Subject: subject, Changes: New(nil, WithMaxChanges(2)).Diff(nil, map[string]int{TruncatedField: 1, "a": 2, "b": 3})},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTwinRecorders(t)
			dedup, plain := tr.record(t, tt.event)
			if d := recordDiff(plain, dedup); d != "" {
				t.Errorf("got a record without SDK de-duplication that differs from the de-duplicated one: %s", d)
			}
			if p := repeatedKey(plain); p != "" {
				t.Errorf("got key %s twice, want every key once", p)
			}
			if len(tt.event.Changes) > 0 {
				fields := logtest.Attributes(plain)[schema.AttrChangedFields].AsStringSlice()
				var keys []string
				for _, kv := range logtest.Attributes(plain)[schema.AttrChanges].AsMap() {
					keys = append(keys, string(kv.Key))
				}
				if !slices.Equal(slices.Sorted(slices.Values(fields)), keys) {
					t.Errorf("got changed fields %v, want the keys of the changes %v", fields, keys)
				}
			}
		})
	}
}

// TestRecordsHoldOnlyValidUTF8 proves that no string of a record, key or
// value, at any level, is invalid UTF-8, whichever part of the event held the
// invalid bytes: the OTLP exporter cannot encode such a string and loses the
// whole batch the record is in (see otlp's
// TestProviderDeliversABatchHoldingInvalidUTF8). Keys that only invalid
// bytes told apart are kept once.
func TestRecordsHoldOnlyValidUTF8(t *testing.T) {
	const bad = "caf\xe9" // Latin-1, as a form post or an old database column may hold
	type profile struct {
		Name  string            `json:"name"`
		Tags  []string          `json:"tags"`
		Prefs map[string]string `json:"prefs"`
	}
	rec := New(nil)
	subject := Subject{Category: Members, Type: "member", ID: "m-1", Name: "Ann"}
	tests := []struct {
		name  string
		event Event
	}{
		{name: "failed login with the user name typed", event: Event{Action: LoginFailed,
			Actor: Actor{Name: "jane" + bad + "@example.com", Type: ActorPartner}, Outcome: Failure, FailureReason: "invalid_" + bad}},
		{name: "actor, tenant, subject and request", event: Event{Action: Updated,
			Actor:   Actor{ID: "u" + bad, Name: bad},
			Tenant:  Tenant{ID: "t" + bad, Name: bad},
			Subject: Subject{Category: Members, Type: "member" + bad, ID: "m" + bad, Name: bad},
			Request: Request{ClientAddress: bad, UserAgent: bad, ID: bad}}},
		{name: "description given", event: Event{Action: Created, Subject: subject, Description: "made " + bad}},
		{name: "diff of text fields, slices and map keys", event: Event{Action: Updated, Subject: subject,
			Changes: rec.Diff(
				profile{Name: "Ann", Tags: []string{"a"}, Prefs: map[string]string{"lang": "en"}},
				profile{Name: bad, Tags: []string{"a", bad}, Prefs: map[string]string{"lang" + bad: "fr", "lang\xff": "de", "x": bad}})}},
		{name: "hand-built changes", event: Event{Action: Updated, Subject: subject, Changes: Changes{
			{Field: "f\xe9", New: attribute.StringValue(bad)},
			{Field: "f\xff", Old: attribute.StringSliceValue([]string{bad}), New: attribute.MapValue(
				attribute.String("k\xe9", "1"), attribute.String("k\xff", bad), attribute.String("a", "2"))},
			{Field: "g", New: attribute.SliceValue(attribute.StringValue(bad), attribute.MapValue(attribute.String(bad, bad)))},
		}}},
		{name: "read of the log", event: Event{Action: Viewed, Subject: Subject{Type: "activity_log"},
			Query: &Query{Endpoint: "/v1/" + bad, Params: map[string]string{"q\xe9": bad, "q\xff": "x", "a": bad}, Status: 200}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTwinRecorders(t)
			_, plain := tr.record(t, tt.event)
			if p := invalidUTF8In("attributes", recordAttrs(plain)); p != "" {
				t.Errorf("got invalid UTF-8 at %s, want none", p)
			}
			if !utf8.ValidString(plain.Body().AsString()) {
				t.Errorf("got body %q, want valid UTF-8", plain.Body().AsString())
			}
			if p := repeatedKey(plain); p != "" {
				t.Errorf("got key %s twice, want every key once", p)
			}
		})
	}
}

// invalidUTF8In returns the path of the first key or string that is not
// valid UTF-8, at any level of kvs, or "".
func invalidUTF8In(path string, kvs []attribute.KeyValue) string {
	for _, kv := range kvs {
		p := path + "." + string(kv.Key)
		if !utf8.ValidString(string(kv.Key)) {
			return strconv.Quote(p)
		}
		if q := invalidUTF8InValue(p, kv.Value); q != "" {
			return q
		}
	}
	return ""
}

func invalidUTF8InValue(path string, v attribute.Value) string {
	switch v.Type() {
	case attribute.STRING:
		if !utf8.ValidString(v.AsString()) {
			return strconv.Quote(path)
		}
	case attribute.STRINGSLICE:
		for i, s := range v.AsStringSlice() {
			if !utf8.ValidString(s) {
				return strconv.Quote(path + "[" + strconv.Itoa(i) + "]")
			}
		}
	case attribute.SLICE:
		for i, e := range v.AsSlice() {
			if p := invalidUTF8InValue(path+"["+strconv.Itoa(i)+"]", e); p != "" {
				return p
			}
		}
	case attribute.MAP:
		return invalidUTF8In(path, v.AsMap())
	}
	return ""
}
