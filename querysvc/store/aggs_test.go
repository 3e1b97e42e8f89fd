package store

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
		all := []querysvc.Burst{}
		ws := ref.Aggregations.Windows.Buckets
		for i := len(ws) - 1; i >= 0; i-- {
			for _, c := range ws[i].Keys.list() {
				all = append(all, querysvc.Burst{WindowStart: time.UnixMilli(ws[i].Key).UTC(), Key: c.Key, Count: c.Count})
			}
		}
		if len(all) < 3 {
			t.Fatalf("the recorded answer holds %d bursts, want several", len(all))
		}
		for _, limit := range []int{0, 1, 2, 7, len(all) - 1, len(all), len(all) + 1} {
			got, total, err := readBursts(v.Get("aggregations"), limit)
			want := all
			if limit > 0 && limit < len(all) {
				want = all[:limit]
			}
			if err != nil || total != len(all) || !reflect.DeepEqual(got, want) {
				t.Errorf("limit %d: got %d bursts of %d, %v\nwant %d of %d", limit, len(got), total, err, len(want), len(all))
			}
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
		if got, total, err := readBursts(aggs, 0); err != nil || got == nil || len(got) != 0 || total != 0 {
			t.Errorf("%s: bursts: got %#v, %d, %v", src, got, total, err)
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
	for _, c := range []struct{ src, want string }{
		{`{"windows":{"buckets":[{"key":1,"keys":{"buckets":[{"key":null,"doc_count":5}]}}]}}`, "aggregation keys: bucket key"},
		{`{"windows":{"buckets":[{"key":1,"keys":{"buckets":[{"key":"a","doc_count":"5"}]}}]}}`, "doc_count"},
		{`{"windows":{"buckets":[{"key":1,"keys":{"buckets":[{"doc_count":5}]}}]}}`, "bucket without a key"},
		{`{"windows":{"buckets":[{"keys":{"buckets":[{"key":"a","doc_count":5}]}}]}}`, "aggregation windows: bucket without a key"},
		{`{"windows":{"buckets":[{"key":"2026-08-01","keys":{"buckets":[{"key":"a","doc_count":5}]}}]}}`, "aggregation windows: bucket key"},
		{`{"windows":{"buckets":[{"key":1,"keys":{"buckets":{}}}]}}`, "aggregation keys: buckets"},
		{`{"windows":{"buckets":[{"key":1,"keys":[]}]}}`, "aggregation keys: not an object"},
		{`{"windows":[]}`, "aggregation windows: not an object"},
	} {
		if _, _, err := readBursts(fastjson.MustParse(c.src), 0); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("bursts %s: got %v, want an error with %q", c.src, err, c.want)
		}
	}
	// Windows past the page are counted, their keys' shape checked too.
	if _, _, err := readBursts(fastjson.MustParse(`{"windows":{"buckets":[{"key":1,"keys":{"buckets":{}}},`+
		`{"key":2,"keys":{"buckets":[{"key":"a","doc_count":5}]}}]}}`), 1); err == nil {
		t.Error("bursts: an older window's keys that are not an array were taken for none")
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
		if all, total, err := readBursts(aggs, 0); err == nil {
			// A page is the start of all of them, and the total the same.
			page, pageTotal, err := readBursts(aggs, 2)
			if err != nil || pageTotal != total || len(all) != total || !reflect.DeepEqual(page, all[:min(2, len(all))]) {
				t.Fatalf("%q: page of 2 %v, %d, %v; all %v, %d", src, page, pageTotal, err, all, total)
			}
		}
		if got, err := countsOf(aggs, "by", nil); err == nil && len(got) != len(aggs.GetArray("by", "buckets")) {
			t.Fatalf("%q: %d counts for %d buckets", src, len(got), len(aggs.GetArray("by", "buckets")))
		}
	})
}

// BenchmarkReadAnswers reads recorded aggregation answers (testdata/answers:
// trends' 20 days split by event) into the store's results: fastjson is the
// store's reader (parseAnswer, then the endpoint's reader); json-iterator, the
// baseline in the same run, is how the store read them before: json-iterator
// decoding the answer into structs of the same shape, then copying the
// buckets out. Bursts have BenchmarkReadBursts.
func BenchmarkReadAnswers(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("testdata", "answers", "trends.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("trends/fastjson", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			err := parseAnswer(bytes.NewReader(raw), int64(len(raw)), func(v *fastjson.Value) error {
				out, err := readTrends(v.Get("aggregations"), true)
				if err == nil && len(out) == 0 {
					err = errors.New("nothing read")
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("trends/json-iterator", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			var ref refAnswer
			if err := jsoniter.ConfigCompatibleWithStandardLibrary.NewDecoder(bytes.NewReader(raw)).Decode(&ref); err != nil {
				b.Fatal(err)
			}
			out := make([]querysvc.TrendBucket, 0, len(ref.Aggregations.OverTime.Buckets))
			for _, b := range ref.Aggregations.OverTime.Buckets {
				out = append(out, querysvc.TrendBucket{Start: time.UnixMilli(b.Key).UTC(), Count: b.DocCount, Split: b.Split.list()})
			}
			if len(out) == 0 {
				b.Fatal("nothing read")
			}
		}
	})
}

// BenchmarkReadBursts reads the burst view of the benchmark data stream's 90
// days (testdata/answers/bursts_90d.json.gz: hourly windows, threshold 5, by
// client address; 2,160 windows, 7,683 bursts, 422 KB) into the endpoint's
// default page of 100 and the total, the answer parsed with fastjson in both:
// page is the store's reader (readBursts: the page made, the rest counted);
// all, the baseline in the same run, is how the store read it before: every
// burst made, then the page cut from them.
func BenchmarkReadBursts(b *testing.B) {
	zipped, err := os.ReadFile(filepath.Join("testdata", "answers", "bursts_90d.json.gz"))
	if err != nil {
		b.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		b.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		b.Fatal(err)
	}
	const limit = 100
	b.Run("page", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			err := parseAnswer(bytes.NewReader(raw), int64(len(raw)), func(v *fastjson.Value) error {
				page, total, err := readBursts(v.Get("aggregations"), limit)
				if err == nil && (len(page) != limit || total <= limit) {
					err = fmt.Errorf("got %d bursts of %d", len(page), total)
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("all", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			err := parseAnswer(bytes.NewReader(raw), int64(len(raw)), func(v *fastjson.Value) error {
				all, err := previousReadBursts(v.Get("aggregations"))
				if err == nil && len(all) <= limit {
					err = fmt.Errorf("got %d bursts", len(all))
				}
				_ = all[:limit]
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// previousReadBursts is the store's reader of a burst view before
// readBursts, kept as BenchmarkReadBursts' baseline: every window and every
// burst made, newest first.
func previousReadBursts(aggs *fastjson.Value) ([]querysvc.Burst, error) {
	list, err := bucketsOf(aggs, "windows")
	if err != nil {
		return nil, err
	}
	n := 0
	for _, w := range list {
		n += len(w.GetArray("keys", "buckets"))
	}
	out := make([]querysvc.Burst, 0, n)
	keys := interner{}
	for i := len(list) - 1; i >= 0; i-- {
		w := list[i]
		ms, _, err := timeKey(w)
		if err != nil {
			return nil, err
		}
		start := time.UnixMilli(ms).UTC()
		inner, err := bucketsOf(w, "keys")
		if err != nil {
			return nil, err
		}
		for _, b := range inner {
			k, c, err := bucketKey(b, keys)
			if err != nil {
				return nil, err
			}
			out = append(out, querysvc.Burst{WindowStart: start, Key: k, Count: c})
		}
	}
	return out, nil
}
