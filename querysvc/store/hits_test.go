package store

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/activitylog/activitylog/querysvc"
)

// readHitsRef reads src as the store did before readHits: encoding/json into
// hitsResponse, then each hit's _source with decode.
func readHitsRef(src []byte) (hitsResponse, []querysvc.Activity, []error, error) {
	var r hitsResponse
	if err := json.Unmarshal(src, &r); err != nil {
		return r, nil, nil, err
	}
	acts := make([]querysvc.Activity, len(r.Hits.Hits))
	errs := make([]error, len(r.Hits.Hits))
	for i, h := range r.Hits.Hits {
		acts[i], errs[i] = decode(h.ID, h.Source)
	}
	return r, acts, errs, nil
}

// sameHits reports how a (readHits') differs from the reference reading of
// src, or "" when they agree.
func sameHits(src []byte) string {
	got, gotErr := readHits(src)
	ref, acts, errs, refErr := readHitsRef(src)
	if (gotErr == nil) != (refErr == nil) {
		return "error " + errString(gotErr) + ", reference error " + errString(refErr)
	}
	if gotErr != nil {
		return ""
	}
	if got.pitID != ref.PitID || got.total != ref.Hits.Total.Value || len(got.hits) != len(ref.Hits.Hits) {
		return "envelope differs"
	}
	for i := range got.hits {
		h := &got.hits[i]
		a, err := h.activity()
		if (err == nil) != (errs[i] == nil) {
			return "hit error " + errString(err) + ", reference " + errString(errs[i])
		}
		if err == nil && !reflect.DeepEqual(a, acts[i]) {
			return "activity differs"
		}
		if len(h.sort) != len(ref.Hits.Hits[i].Sort) {
			return "sort differs"
		}
		for j := range h.sort {
			if string(h.sort[j]) != string(ref.Hits.Hits[i].Sort[j]) {
				return "sort value differs"
			}
		}
	}
	return ""
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestReadHits proves that the one-pass reader gives what encoding/json and
// the document reader gave, on a page Elasticsearch answered from the
// benchmark data stream and on envelopes of every shape the reference
// accepts or refuses.
func TestReadHits(t *testing.T) {
	page, err := os.ReadFile(filepath.Join("testdata", "hits.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := readHits(page)
	if err != nil || len(got.hits) != 20 || got.total == 0 || len(got.hits[19].sort) == 0 {
		t.Fatalf("testdata/hits.json: %v, %d hits, total %d", err, len(got.hits), got.total)
	}
	for _, src := range []string{
		string(page),
		`{"pit_id":"p1","hits":{"total":{"value":3},"hits":[{"_id":"a","_source":{"attributes":{"activity.id":"x"}},"sort":[1,"b"]}]}}`,
		`{"PIT_ID":"p2","Hits":{"TOTAL":{"Value":4},"HITS":[{"_ID":"a","_Source":{},"SORT":[ 7 ]}]}}`,
		`{"pit_id":"p","pit_id":"q","hits":{"total":{"value":1}},"hits":{"hits":[{"_id":"z","_source":null}]}}`,
		`{"hits":{"hits":[{"_id":"a","_source":{"attributes":{"activity.id":"1"}},"_source":{"body":{"text":"second"}}}]}}`,
		`{"hits":{"hits":[{"_id":"no-source"}, null, {"_id":null,"sort":null,"_source":{}}]}}`,
		`{"hits":{"hits":[{"_id":"a","_source":[1,2]}]}}`,
		`{"hits":{"hits":[{"_id":"a","_source":"text"}],"total":null}}`,
		`{"pit_id":null,"hits":null}`, `null`, `{}`,
		`{"hits":{"total":{"value":1.5}}}`, `{"hits":{"total":{"value":"7"}}}`, `{"hits":{"total":{"value":1e2}}}`,
		`{"hits":{"total":{"value":-0}}}`, `{"hits":{"total":{"value":99999999999999999999}}}`,
		`{"pit_id":5}`, `{"hits":[]}`, `{"hits":{"hits":{}}}`, `{"hits":{"hits":[5]}}`, `{"hits":{"hits":[{"_id":1}]}}`,
		`{"hits":{"hits":[{"sort":{}}]}}`, `[]`, `"x"`,
	} {
		if diff := sameHits([]byte(src)); diff != "" {
			t.Errorf("%.120s: %s", src, diff)
		}
	}
}

// FuzzReadHits: for valid JSON the reader agrees with the reference reading;
// for anything else it must not panic.
func FuzzReadHits(f *testing.F) {
	for _, s := range []string{
		`{"pit_id":"p1","hits":{"total":{"value":3},"hits":[{"_id":"a","_source":{"attributes":{"activity.id":"x"}},"sort":[1,"b"]}]}}`,
		`{"hits":{"hits":[{"_id":"no-source"}, null, {"_id":null,"sort":null,"_source":{"body":{"text":"\u00e9"}}}]}}`,
		`{"Hits":{"TOTAL":{"value":-0}},"hits":{"hits":[{"_Source":[1]}]}}`, `{"hits":{"total":{"value":1.5}}}`,
		`{"hits":{"hits":[{"_id":"a","_source":{"@timestamp":"2026-11-01T10:00:00Z"},"sort":[1793318396767925113,"id"]}]}} x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if !json.Valid(src) {
			_, _ = readHits(src)
			return
		}
		if diff := sameHits(src); diff != "" {
			t.Fatalf("%q: %s", src, diff)
		}
	})
}

// BenchmarkReadHits reads a listing page of 20 hits as Elasticsearch
// answered it (testdata/hits.json) into Activities: one-pass is readHits;
// reference, the baseline in the same run, is how the store read it before
// (json-iterator into hitsResponse with each _source raw, then each document
// read again).
func BenchmarkReadHits(b *testing.B) {
	page, err := os.ReadFile(filepath.Join("testdata", "hits.json"))
	if err != nil {
		b.Fatal(err)
	}
	read := map[string]func() (int, error){
		"one-pass": func() (int, error) {
			a, err := readHits(page)
			if err != nil {
				return 0, err
			}
			acts, err := activities(a.hits)
			return len(acts), err
		},
		"reference": func() (int, error) {
			var r hitsResponse
			if err := unmarshal(page, &r); err != nil {
				return 0, err
			}
			for _, h := range r.Hits.Hits {
				if _, err := decode(h.ID, h.Source); err != nil {
					return 0, err
				}
			}
			return len(r.Hits.Hits), nil
		},
	}
	ns := map[string]float64{}
	for _, name := range []string{"reference", "one-pass"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				if n, err := read[name](); err != nil || n != 20 {
					b.Fatalf("%d hits, %v", n, err)
				}
			}
			ns[name] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if name == "one-pass" && ns["reference"] > 0 {
				b.ReportMetric(ns[name]/ns["reference"], "x-reference")
			}
		})
	}
}

// TestReadHitsTruncated proves that an answer cut short is an error, not a
// shorter listing: a body that ends early without a transport error (a proxy
// that closes the connection to end it) would otherwise give a page with a
// total and a cursor cut mid-number. Every prefix of the first hits of a
// real page, and of its end, is tried.
func TestReadHitsTruncated(t *testing.T) {
	page, err := os.ReadFile(filepath.Join("testdata", "hits.json"))
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n < len(page); n++ {
		if n > 3000 && n < len(page)-300 {
			continue
		}
		if got, err := readHits(page[:n]); err == nil {
			t.Fatalf("first %d bytes (...%s): got %d hits, total %d, no error; want an error",
				n, page[max(0, n-30):n], len(got.hits), got.total)
		}
	}
}
