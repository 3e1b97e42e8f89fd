package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	jsoniter "github.com/json-iterator/go"
	"github.com/valyala/fastjson"

	"github.com/activitylog/activitylog/querysvc"
)

// The reference decoding of the tests below: encoding/json into the shapes
// of Elasticsearch's answers.
type (
	refCounts struct {
		Buckets []struct {
			Key      string `json:"key"`
			DocCount int64  `json:"doc_count"`
		} `json:"buckets"`
	}
	refAnswer struct {
		Hits struct {
			Total struct {
				Value int64 `json:"value"`
			} `json:"total"`
		} `json:"hits"`
		Aggregations struct {
			By       refCounts `json:"by"`
			OverTime struct {
				Buckets []struct {
					Key      int64     `json:"key"`
					DocCount int64     `json:"doc_count"`
					Split    refCounts `json:"split"`
				} `json:"buckets"`
			} `json:"over_time"`
			Users struct {
				Buckets []struct {
					Key      string    `json:"key"`
					DocCount int64     `json:"doc_count"`
					Name     refCounts `json:"name"`
					Type     refCounts `json:"type"`
				} `json:"buckets"`
			} `json:"users"`
			Events refCounts `json:"events"`
			Failed struct {
				IPs   refCounts `json:"ips"`
				Users refCounts `json:"users"`
			} `json:"failed"`
			Windows struct {
				Buckets []struct {
					Key  int64     `json:"key"`
					Keys refCounts `json:"keys"`
				} `json:"buckets"`
			} `json:"windows"`
		} `json:"aggregations"`
	}
)

func (c refCounts) list() []querysvc.Count {
	out := []querysvc.Count{}
	for _, b := range c.Buckets {
		out = append(out, querysvc.Count{Key: b.Key, Count: b.DocCount})
	}
	return out
}

// parsed reads one of Elasticsearch's recorded answers in testdata/answers
// (from the benchmark's 1,000,000 records, the larger ones cut short), and
// its reference decoding.
func parsed(t *testing.T, name string) (*fastjson.Value, refAnswer) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "answers", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref refAnswer
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	v, err := fastjson.ParseBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	return v, ref
}

// TestReadAnswers proves that each endpoint's reader gives what encoding/json
// gives for the same recorded answer.
func TestReadAnswers(t *testing.T) {
	t.Run("total", func(t *testing.T) {
		v, ref := parsed(t, "events")
		if got, err := answerTotal(v); err != nil || got != ref.Hits.Total.Value || got == 0 {
			t.Errorf("got %d, %v; want %d", got, err, ref.Hits.Total.Value)
		}
	})
	for _, name := range []string{"events", "categories"} {
		t.Run(name, func(t *testing.T) {
			v, ref := parsed(t, name)
			got, err := countsOf(v.Get("aggregations"), "by", nil)
			want := ref.Aggregations.By.list()
			if err != nil || len(want) == 0 || !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, %v\nwant %v", got, err, want)
			}
		})
	}
	t.Run("trends", func(t *testing.T) {
		v, ref := parsed(t, "trends")
		got, err := readTrends(v.Get("aggregations"), true)
		var want []querysvc.TrendBucket
		for _, b := range ref.Aggregations.OverTime.Buckets {
			want = append(want, querysvc.TrendBucket{Start: time.UnixMilli(b.Key).UTC(), Count: b.DocCount, Split: b.Split.list()})
		}
		if err != nil || len(want) == 0 || !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, %v\nwant %v", got, err, want)
		}
		// Without the split, the buckets have none.
		got, err = readTrends(v.Get("aggregations"), false)
		for i := range want {
			want[i].Split = nil
		}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("without split: got %v, %v\nwant %v", got, err, want)
		}
	})
	t.Run("users_top", func(t *testing.T) {
		v, ref := parsed(t, "users_top")
		got, err := readTopUsers(v.Get("aggregations"))
		var want []querysvc.UserCount
		for _, b := range ref.Aggregations.Users.Buckets {
			want = append(want, querysvc.UserCount{UserID: b.Key, Count: b.DocCount,
				UserName: b.Name.list()[0].Key, UserType: b.Type.list()[0].Key})
		}
		if err != nil || len(want) == 0 || !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, %v\nwant %v", got, err, want)
		}
	})
	t.Run("auth", func(t *testing.T) {
		v, ref := parsed(t, "auth")
		got, err := readAuth(v.Get("aggregations"))
		want := querysvc.AuthStats{TopFailingIPs: ref.Aggregations.Failed.IPs.list(), TopFailingUsers: ref.Aggregations.Failed.Users.list()}
		for _, c := range ref.Aggregations.Events.list() {
			*map[string]*int64{
				"login": &want.Logins, "logout": &want.Logouts, "login_failed": &want.FailedLogins,
				"otp_requested": &want.OTPRequested, "otp_verified": &want.OTPVerified, "otp_failed": &want.OTPFailed,
				"password_changed": &want.PasswordChanges, "password_reset_requested": &want.PasswordResetRequests,
				"password_reset": &want.PasswordResets,
			}[c.Key] = c.Count
		}
		want.FailureRate = float64(want.FailedLogins) / float64(want.Logins+want.FailedLogins)
		if err != nil || want.Logins == 0 || !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, %v\nwant %+v", got, err, want)
		}
	})
	t.Run("bursts", func(t *testing.T) {
		v, ref := parsed(t, "bursts")
		got, err := readBursts(v.Get("aggregations"))
		want := []querysvc.Burst{}
		ws := ref.Aggregations.Windows.Buckets
		for i := len(ws) - 1; i >= 0; i-- {
			for _, c := range ws[i].Keys.list() {
				want = append(want, querysvc.Burst{WindowStart: time.UnixMilli(ws[i].Key).UTC(), Key: c.Key, Count: c.Count})
			}
		}
		if err != nil || len(want) == 0 || !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, %v\nwant %v", got, err, want)
		}
	})
}

// TestReadAnswersEmpty: an answer without the aggregation (or without any)
// reads as no buckets, encoded as [] rather than null.
func TestReadAnswersEmpty(t *testing.T) {
	for _, src := range []string{`{}`, `{"hits":{"total":{"value":0}},"aggregations":{}}`,
		`{"aggregations":{"by":{"buckets":[]},"over_time":{},"users":{"buckets":[]},"windows":{"buckets":[]}}}`} {
		v := fastjson.MustParse(src)
		aggs := v.Get("aggregations")
		if got, err := countsOf(aggs, "by", nil); err != nil || got == nil || len(got) != 0 {
			t.Errorf("%s: counts: got %#v, %v", src, got, err)
		}
		if got, err := readTrends(aggs, true); err != nil || got == nil || len(got) != 0 {
			t.Errorf("%s: trends: got %#v, %v", src, got, err)
		}
		if got, err := readTopUsers(aggs); err != nil || got == nil || len(got) != 0 {
			t.Errorf("%s: users: got %#v, %v", src, got, err)
		}
		if got, err := readBursts(aggs); err != nil || got == nil || len(got) != 0 {
			t.Errorf("%s: bursts: got %#v, %v", src, got, err)
		}
		got, err := readAuth(aggs)
		if err != nil || got.TopFailingIPs == nil || got.TopFailingUsers == nil || got.FailureRate != 0 {
			t.Errorf("%s: auth: got %#v, %v", src, got, err)
		}
		if n, err := answerTotal(v); err != nil || n != 0 {
			t.Errorf("%s: total: got %d, %v", src, n, err)
		}
	}
}

// TestReadAnswersRefuse: an answer of another shape is an error that says
// what is wrong, not a partial or made-up result.
func TestReadAnswersRefuse(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`{"by":[]}`, "aggregation by: not an object"},
		{`{"by":{"buckets":{}}}`, "aggregation by: buckets"},
		{`{"by":{"buckets":[{"doc_count":1}]}}`, "bucket without a key"},
		{`{"by":{"buckets":[{"key":7,"doc_count":1}]}}`, "bucket key"},
		{`{"by":{"buckets":[{"key":"a","doc_count":"1"}]}}`, "doc_count"},
		{`{"by":{"buckets":[{"key":"a","doc_count":1.5}]}}`, "doc_count"},
	} {
		if _, err := countsOf(fastjson.MustParse(c.src), "by", nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error with %q", c.src, err, c.want)
		}
	}
	for _, c := range []struct{ src, want string }{
		{`{"over_time":{"buckets":[{"key":"2026-08-01","doc_count":1}]}}`, "aggregation over_time: bucket key"},
		{`{"over_time":{"buckets":[{"key":1,"doc_count":1,"split":{"buckets":[{"key":1}]}}]}}`, "aggregation split: bucket key"},
	} {
		if _, err := readTrends(fastjson.MustParse(c.src), true); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error with %q", c.src, err, c.want)
		}
	}
	if _, err := readBursts(fastjson.MustParse(`{"windows":{"buckets":[{"key":1,"keys":{"buckets":[{"key":null,"doc_count":5}]}}]}}`)); err == nil ||
		!strings.Contains(err.Error(), "aggregation keys: bucket key") {
		t.Errorf("bursts: got %v", err)
	}
	if _, err := readTopUsers(fastjson.MustParse(`{"users":{"buckets":[{"key":"u","doc_count":1,"name":{"buckets":[{"key":false}]}}]}}`)); err == nil ||
		!strings.Contains(err.Error(), "aggregation name") {
		t.Errorf("users: got %v", err)
	}
	if _, err := answerTotal(fastjson.MustParse(`{"hits":{"total":{"value":"many"}}}`)); err == nil {
		t.Error("total: a string was taken for a number")
	}
}

// FuzzReadAnswers: any answer, valid JSON or not, gives a result or an error,
// never a panic; and a terms aggregation that reads gives one count per
// bucket.
func FuzzReadAnswers(f *testing.F) {
	for _, name := range []string{"events", "users_top", "auth", "bursts"} {
		raw, err := os.ReadFile(filepath.Join("testdata", "answers", name+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte(`{"aggregations":{"by":{"buckets":[{"key":"a\u00e9\"","doc_count":1},{"key":"a\u00e9\"","doc_count":2}]}}}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		var p fastjson.Parser
		v, err := p.ParseBytes(src)
		if err != nil {
			return
		}
		_, _ = answerTotal(v)
		aggs := v.Get("aggregations")
		_, _ = readTrends(aggs, true)
		_, _ = readTopUsers(aggs)
		_, _ = readAuth(aggs)
		_, _ = readBursts(aggs)
		if got, err := countsOf(aggs, "by", nil); err == nil && len(got) != len(aggs.GetArray("by", "buckets")) {
			t.Fatalf("%q: %d counts for %d buckets", src, len(got), len(aggs.GetArray("by", "buckets")))
		}
	})
}

// BenchmarkReadAnswers reads recorded aggregation answers (testdata/answers:
// trends' 20 days split by event, 60 hourly burst windows) into the store's
// results: fastjson is the store's reader (parseAnswer, then the endpoint's
// reader); json-iterator, the baseline in the same run, is how the store read
// them before: json-iterator decoding the answer into structs of the same
// shape, then copying the buckets out.
func BenchmarkReadAnswers(b *testing.B) {
	for _, name := range []string{"trends", "bursts"} {
		raw, err := os.ReadFile(filepath.Join("testdata", "answers", name+".json"))
		if err != nil {
			b.Fatal(err)
		}
		read := func(aggs *fastjson.Value) (int, error) {
			if name == "trends" {
				out, err := readTrends(aggs, true)
				return len(out), err
			}
			out, err := readBursts(aggs)
			return len(out), err
		}
		previous := func(ref *refAnswer) int {
			if name == "trends" {
				out := make([]querysvc.TrendBucket, 0, len(ref.Aggregations.OverTime.Buckets))
				for _, b := range ref.Aggregations.OverTime.Buckets {
					out = append(out, querysvc.TrendBucket{Start: time.UnixMilli(b.Key).UTC(), Count: b.DocCount, Split: b.Split.list()})
				}
				return len(out)
			}
			out := []querysvc.Burst{}
			ws := ref.Aggregations.Windows.Buckets
			for i := len(ws) - 1; i >= 0; i-- {
				for _, c := range ws[i].Keys.list() {
					out = append(out, querysvc.Burst{WindowStart: time.UnixMilli(ws[i].Key).UTC(), Key: c.Key, Count: c.Count})
				}
			}
			return len(out)
		}
		b.Run(name+"/fastjson", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				err := parseAnswer(bytes.NewReader(raw), int64(len(raw)), func(v *fastjson.Value) error {
					n, err := read(v.Get("aggregations"))
					if err == nil && n == 0 {
						err = errors.New("nothing read")
					}
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/json-iterator", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				var ref refAnswer
				if err := jsoniter.ConfigCompatibleWithStandardLibrary.NewDecoder(bytes.NewReader(raw)).Decode(&ref); err != nil {
					b.Fatal(err)
				}
				if previous(&ref) == 0 {
					b.Fatal("nothing read")
				}
			}
		})
	}
}
