package httpapi

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	jsoniter "github.com/json-iterator/go"

	"github.com/activitylog/activitylog/querysvc"
)

// sameAsStd fails t unless encodeJSON writes what encoding/json writes for
// v, or both fail.
func sameAsStd(t *testing.T, v any) {
	t.Helper()
	if _, ok := v.(appender); !ok {
		t.Fatalf("%T has no appendJSON", v)
	}
	got, gotErr := encodeJSON(v)
	want, wantErr := json.Marshal(v)
	switch {
	case (gotErr == nil) != (wantErr == nil):
		t.Fatalf("%T: got error %v, encoding/json got %v", v, gotErr, wantErr)
	case gotErr == nil && string(got) != string(want):
		t.Fatalf("%T:\ngot  %s\nwant %s", v, got, want)
	}
}

// awkward strings: everything encoding/json escapes, and what it does not.
var awkward = []string{
	"", "plain", "a<b", "a>b", "a&b", `quote " and \ backslash`, "<script>&</script>", "tab\there\nnewline\r\x00\x1f\x7f",
	"\b\f", "é ü 日本", "line\u2028sep\u2029", "bad \xff utf-8 \xc3", "emoji 😀", "\ufffd",
}

func activityOf(s string, i int) querysvc.Activity {
	a := querysvc.Activity{
		ID: s, Timestamp: time.Date(2026, 11, 26, 10, 0, i, i*1001, time.UTC), Description: s, Category: s,
		Event: s, Outcome: s, Actor: querysvc.Actor{Type: s, ID: s, Name: s}, Tenant: querysvc.Tenant{ID: s},
		ClientAddress: s, UserAgent: s, RequestID: s, Service: s, FailureReason: s,
	}
	if i%2 == 0 {
		a.Subject = &querysvc.Subject{Type: s, Name: s}
		a.ChangedFields = []string{s, "price"}
		a.Changes = json.RawMessage(` { "price" : { "old" : 1 , "new" : "<b>&` + "\u2028" + `" } } `)
	}
	if i%3 == 0 {
		a.Alert = &querysvc.Alert{Rule: s, Key: s, Count: int64(i), WindowSeconds: 60, LastSeen: s}
	}
	if i%5 == 1 {
		a.Alert = &querysvc.Alert{Threshold: 5}
		a.ChangedFields = []string{}
		a.Changes = json.RawMessage{}
		a.Timestamp = time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	}
	return a
}

func TestAppendJSON(t *testing.T) {
	r := timeRange{From: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 10, 30, 12, 30, 0, 5, time.UTC)}
	var counts []querysvc.Count
	var acts []querysvc.Activity
	for i, s := range awkward {
		counts = append(counts, querysvc.Count{Key: s, Count: int64(i * 1000)})
		acts = append(acts, activityOf(s, i))
	}
	values := []any{
		&activityResponse{acts[0]}, &activityResponse{},
		&activitiesResponse{Activities: acts, Total: 12345, NextCursor: "abc.def"}, &activitiesResponse{},
		&activitiesResponse{Activities: []querysvc.Activity{}},
		&trendsResponse{r, querysvc.Trends{Interval: querysvc.IntervalDay, SplitBy: "event", Total: 7, Buckets: []querysvc.TrendBucket{
			{Start: r.From, Count: 3, Split: counts}, {Start: r.To, Count: 4}, {Start: r.To, Split: []querysvc.Count{}},
		}}},
		&trendsResponse{}, &trendsResponse{timeRange: r, Trends: querysvc.Trends{Buckets: []querysvc.TrendBucket{}}},
		&breakdownResponse{r, querysvc.Breakdown{Total: 9, Buckets: counts}}, &breakdownResponse{},
		&usersResponse{r, []querysvc.UserCount{{UserID: "u<1>", UserName: "Zoë", UserType: "Staff", Count: 3}, {UserID: ""}}},
		&usersResponse{},
		&authResponse{r, querysvc.AuthStats{Logins: 5, FailedLogins: 2, FailureRate: 2.0 / 7, TopFailingIPs: counts}},
		&burstsResponse{r, 300, 5, "client.address", 2, []querysvc.Burst{{WindowStart: r.From, Key: "203.0.113.9", Count: 6}}},
		&burstsResponse{}, &alertsResponse{r, acts}, &alertsResponse{},
		// encoding/json refuses years past 9999: so must the encoder.
		&trendsResponse{timeRange: timeRange{From: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}
	for _, f := range []float64{0, math.Copysign(0, -1), 1, 0.5, 1.0 / 3, 1e-6, 9.99e-7, 1e20, 1e21, -1e-9, 123456789.125,
		math.NaN(), math.Inf(1), math.Inf(-1), math.SmallestNonzeroFloat64, math.MaxFloat64} {
		values = append(values, &authResponse{r, querysvc.AuthStats{FailureRate: f}})
	}
	for i, v := range values {
		t.Run(fmt.Sprintf("%d %T", i, v), func(t *testing.T) { sameAsStd(t, v) })
	}
}

// FuzzAppendJSON: for any strings, numbers, times and raw JSON, every
// response's own encoder writes what encoding/json writes, or both fail.
func FuzzAppendJSON(f *testing.F) {
	for i, s := range awkward {
		f.Add(s, "k<"+s, int64(i), float64(i)/7, int64(i)*1e15, []byte(`{"a":[1, "<&>"]}`))
	}
	f.Add("", "", int64(-1), math.Inf(1), int64(math.MinInt64), []byte("not json"))
	f.Add("x", "y", int64(math.MaxInt64), 1e-7, int64(253402300800)<<20, []byte(" null "))
	f.Fuzz(func(t *testing.T, s, k string, n int64, rate float64, when int64, raw []byte) {
		// when reaches about 280,000 years either side of 1970, past
		// encoding/json's limit of year 9999.
		ts := time.Unix(when>>20, n&(1<<29-1)).In(time.FixedZone("z", int(n%50000)))
		r := timeRange{From: ts, To: ts.Add(time.Duration(n))}
		c := []querysvc.Count{{Key: k, Count: n}, {Key: s}}
		a := querysvc.Activity{ID: s, Timestamp: ts, Description: k, Actor: querysvc.Actor{Name: s}, Tenant: querysvc.Tenant{Name: k},
			ClientAddress: k, ChangedFields: []string{s, k}, Changes: raw}
		if n%2 == 0 {
			a.Subject = &querysvc.Subject{ID: k}
			a.Alert = &querysvc.Alert{KeyType: s, Count: n, FirstSeen: k}
		}
		for _, v := range []any{
			&activityResponse{a},
			&activitiesResponse{Activities: []querysvc.Activity{a, a}, Total: n, NextCursor: k},
			&trendsResponse{r, querysvc.Trends{Interval: querysvc.Interval(s), SplitBy: k, Total: n,
				Buckets: []querysvc.TrendBucket{{Start: ts, Count: n, Split: c}}}},
			&breakdownResponse{r, querysvc.Breakdown{Total: n, Buckets: c}},
			&usersResponse{r, []querysvc.UserCount{{UserID: s, UserName: k, Count: n}}},
			&authResponse{r, querysvc.AuthStats{Logins: n, FailureRate: rate, TopFailingUsers: c}},
			&alertsResponse{r, []querysvc.Activity{a}},
			&burstsResponse{r, n, int(n), k, int(n), []querysvc.Burst{{WindowStart: ts, Key: s, Count: n}}},
		} {
			sameAsStd(t, v)
		}
	})
}

// trendsAnswer is a realistic trends answer: 90 days split by 30 events.
func trendsAnswer() *trendsResponse {
	start := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	out := &trendsResponse{timeRange{start, start.Add(90 * 24 * time.Hour)},
		querysvc.Trends{Interval: querysvc.IntervalDay, SplitBy: "event", Total: 1_000_000}}
	for d := range 90 {
		b := querysvc.TrendBucket{Start: start.Add(time.Duration(d) * 24 * time.Hour), Count: 11111}
		for e := range 30 {
			b.Split = append(b.Split, querysvc.Count{Key: fmt.Sprintf("event.%s_%d", strings.Repeat("x", e%7), e), Count: int64(1000 - e)})
		}
		out.Buckets = append(out.Buckets, b)
	}
	return out
}

// BenchmarkEncode compares the responses' own encoders with encoding/json
// and json-iterator (which encoded the responses before) in the same run.
func BenchmarkEncode(b *testing.B) {
	var acts []querysvc.Activity
	for i := range 20 {
		acts = append(acts, activityOf(fmt.Sprintf("value-%d", i), i))
	}
	cases := []struct {
		name string
		v    any
	}{
		{"trends", trendsAnswer()},
		{"activities", &activitiesResponse{Activities: acts, Total: 1_000_000, NextCursor: strings.Repeat("c", 200)}},
	}
	var buf []byte // reused, as writeJSON reuses its buffers
	for _, c := range cases {
		want, _ := json.Marshal(c.v)
		for _, enc := range []struct {
			name string
			f    func(any) ([]byte, error)
		}{
			{"appendJSON", func(v any) (out []byte, err error) {
				buf, err = appendResponse(buf[:0], v)
				return buf, err
			}},
			{"encoding_json", json.Marshal},
			{"jsoniter", jsoniter.ConfigCompatibleWithStandardLibrary.Marshal},
		} {
			b.Run(c.name+"/"+enc.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(want)))
				for b.Loop() {
					if _, err := enc.f(c.v); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
