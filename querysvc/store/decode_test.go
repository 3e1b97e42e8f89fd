package store

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/schema"
)

func TestDecode(t *testing.T) {
	src := `{"@timestamp":"2026-11-01T10:00:00.123456789Z","body":{"text":"Jane (Partner) updated reward Free coffee"},
	"attributes":{"activity.id":"id-1","activity.category":"rewards","activity.event":"updated","activity.outcome":"success",
	"user.id":"u-1","user.name":"Jane","activity.actor.type":"Partner","user.roles":["Partner"],
	"activity.tenant.id":"t-1","activity.tenant.name":"Alpha","activity.subject.type":"reward","activity.subject.id":"r-1",
	"activity.subject.name":"Free coffee","client.address":"203.0.113.9","activity.changes":{"price":{"old":1,"new":2}},
	"activity.changed_fields":["price"],"activity.alert.count":"7"},
	"resource":{"attributes":{"service.name":"loyalty-api"}}}`
	got, err := decode("doc-1", json.RawMessage(src))
	if err != nil {
		t.Fatal(err)
	}
	want := querysvc.Activity{
		ID: "id-1", Timestamp: time.Date(2026, 11, 1, 10, 0, 0, 123456789, time.UTC),
		Description: "Jane (Partner) updated reward Free coffee", Category: "rewards", Event: "updated", Outcome: "success",
		Actor: querysvc.Actor{Type: "Partner", ID: "u-1", Name: "Jane"}, Tenant: querysvc.Tenant{ID: "t-1", Name: "Alpha"},
		Subject: &querysvc.Subject{Type: "reward", ID: "r-1", Name: "Free coffee"}, ClientAddress: "203.0.113.9",
		Service: "loyalty-api", ChangedFields: []string{"price"}, Changes: json.RawMessage(`{"price":{"old":1,"new":2}}`),
	}
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("got  %s\nwant %s", g, w)
	}
	if got, _ := decode("doc-2", json.RawMessage(`{"attributes":{}}`)); got.ID != "doc-2" {
		t.Errorf("got id %q, want the document id doc-2 when activity.id is missing", got.ID)
	}
	if _, err := decode("x", json.RawMessage(`[1,2]`)); querysvc.ErrorCode(err) != querysvc.CodeInternal {
		t.Errorf("got %v, want an internal error for a non-object source", err)
	}
}

// FuzzDecode: documents come from every emitter; whatever their shape,
// decoding returns an Activity or an error, and what it returns encodes.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"attributes":{"activity.id":1,"user.roles":[],"activity.changes":[1]}}`,
		`{"@timestamp":12345,"attributes":{"activity.alert.count":"x","activity.changed_fields":"one"}}`,
		`{"@timestamp":"not a time","body":{"text":null},"resource":{"attributes":{"service.name":{"a":1}}}}`,
		`{"attributes":{"activity.changes":{"a":{"old":"\u0000"}}}}`, `null`, `"x"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		a, err := decode("id", json.RawMessage(src))
		if err != nil {
			return
		}
		// The service's own encoder is held to encoding/json by the
		// httpapi package's FuzzAppendJSON.
		if _, err := json.Marshal(a); err != nil {
			t.Fatalf("decoded activity does not encode: %v", err)
		}
	})
}

func TestParseTimestamp(t *testing.T) {
	want := time.Date(2026, 11, 26, 10, 40, 40, 324428193, time.UTC)
	tests := []struct {
		raw  string
		want time.Time
	}{
		// What the contrib elasticsearch exporter writes into @timestamp.
		{`"1795689640324.428193"`, want},
		{`1795689640324.428193`, want},
		{`"1795689640324"`, want.Truncate(time.Millisecond)},
		{`1795689640324`, want.Truncate(time.Millisecond)},
		{`"2026-11-26T10:40:40.324428193Z"`, want},
		{`"1795689640324."`, time.Time{}},
		{`"1795689640324.1234567"`, time.Time{}},
		{`"-5"`, time.Time{}},
		{`"99999999999999999999"`, time.Time{}},
		{`"yesterday"`, time.Time{}},
		{`{}`, time.Time{}},
	}
	for _, tt := range tests {
		if got := parseTimestamp(json.RawMessage(tt.raw)); !got.Equal(tt.want) {
			t.Errorf("parseTimestamp(%s) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}

// sourceShape is an activity document's shape as a Go struct, for
// FuzzUnmarshalMatchesStd.
type sourceShape struct {
	Timestamp  json.RawMessage            `json:"@timestamp"`
	Body       struct{ Text string }      `json:"body"`
	Attributes map[string]json.RawMessage `json:"attributes"`
	Resource   struct {
		Attributes map[string]json.RawMessage `json:"attributes"`
	} `json:"resource"`
}

// referenceDocument reads a document the slow and obvious way, for
// FuzzReadDocument: encoding/json into maps (keys match exactly, the last of
// duplicates counts), every value kept as written.
func referenceDocument(src []byte) (document, error) {
	var d document
	if !json.Valid(src) {
		return d, errors.New("not valid JSON")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(src, &top); err != nil {
		return d, err
	}
	object := func(raw json.RawMessage) map[string]json.RawMessage {
		var m map[string]json.RawMessage
		if len(raw) > 0 && raw[0] == '{' {
			_ = json.Unmarshal(raw, &m)
		}
		return m
	}
	val := func(raw json.RawMessage) value {
		if raw == nil {
			return value{}
		}
		return value{raw: raw}
	}
	d.timestamp = top["@timestamp"]
	d.text = val(object(top["body"])["text"])
	d.service = val(object(object(top["resource"])["attributes"])[schema.AttrServiceName])
	attrs := object(top["attributes"])
	for i, name := range fieldNames {
		d.attrs[i] = val(attrs[name])
	}
	return d, nil
}

// FuzzReadDocument holds the one-pass reader of activity documents to
// referenceDocument: for valid JSON, both refuse a document or both give the
// same Activity; for anything else, the reader must not panic.
func FuzzReadDocument(f *testing.F) {
	for _, s := range []string{
		`{"@timestamp":"2026-11-01T10:00:00Z","body":{"text":"Jane updated reward"},"attributes":{"activity.id":"a","user.roles":["Partner"],` +
			`"activity.changes":{"price":{"old":1,"new":2}},"activity.changed_fields":["price"],"activity.tenant.id":"t-1"},` +
			`"resource":{"attributes":{"service.name":"api"}}}`,
		`{"attributes":{"activity.alert.rule":"r","activity.alert.count":"7","activity.alert.threshold":5,"activity.alert.window_seconds":1.5}}`,
		`{"attributes":{"activity.id":"a","activity.id":"b"},"attributes":{"activity.event":"x"}}`,
		`{"body":"plain","attributes":5,"resource":{"attributes":[1]}}`,
		`{"body":{"text":7,"TEXT":"x"},"Attributes":{"activity.id":"no"}}`,
		`{"attributes":{"activity\u002eid":"escaped key","activity.changes":  {"a":1} ,"activity.changed_fields":null}}`,
		`{"attributes":{"user.id":["first","second"],"user.name":[],"client.address":{"ip":1},"activity.event":null}}`,
		`{"@timestamp": 1795689640324.428193, "body": {"text": "\u00e9\ud83d\ude00"}}`,
		`null`, `[1,2]`, `"x"`, `{"a":1} trailing`, `{"attributes":{"activity.id":"\"quoted\""}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		var got document
		gotErr := readDocument(src, &got)
		if !json.Valid(src) {
			return
		}
		want, wantErr := referenceDocument(src)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%q: got error %v, reference got %v", src, gotErr, wantErr)
		}
		if gotErr != nil {
			return
		}
		if g, w := got.activity("doc"), want.activity("doc"); !reflect.DeepEqual(g, w) {
			t.Fatalf("%q:\ngot  %+v\nwant %+v", src, g, w)
		}
	})
}

// FuzzUnmarshalMatchesStd: the one-pass decoder reads valid JSON documents
// exactly as encoding/json does, or both refuse them.
// (It accepts some invalid JSON that encoding/json refuses, such as raw
// control characters in strings; Elasticsearch never sends that, and such
// input must only not make it panic.)
func FuzzUnmarshalMatchesStd(f *testing.F) {
	for _, s := range []string{
		`{"@timestamp":"2026-11-01T10:00:00Z","body":{"text":"x"},"attributes":{"a":1,"b":"\u00e9"},"resource":{"attributes":{}}}`,
		`{"Body":{"TEXT":"case"},"attributes":{"a":1,"a":2}}`, `{"body":{"text":"\xff\xfe"}}`, `{"attributes":null}`,
		`{"buckets":[{"key":"198.51.100.7","doc_count":12},{"key":"x","doc_count":1e2}]}`, `{"buckets":[{"doc_count":-1}]}`,
		`{"attributes":{"x":01}}`, ` {"attributes":{}} trailing`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if !json.Valid(src) {
			var s sourceShape
			_ = unmarshal(src, &s)
			return
		}
		var gotSrc, wantSrc sourceShape
		gotErr, wantErr := unmarshal(src, &gotSrc), json.Unmarshal(src, &wantSrc)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("source %q: got error %v, encoding/json got %v", src, gotErr, wantErr)
		}
		if gotErr == nil && !reflect.DeepEqual(gotSrc, wantSrc) {
			t.Fatalf("source %q: got %+v, encoding/json got %+v", src, gotSrc, wantSrc)
		}
	})
}

// BenchmarkDecode reads a page of 20 hits, as Elasticsearch answered a
// listing of the benchmark's data stream (testdata/hits.json), into
// Activities: one-pass is the store's reader; previous, the baseline in the
// same run, is how the store read documents before it: json-iterator into a
// struct with a map of raw attributes, then each value decoded again.
func BenchmarkDecode(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("testdata", "hits.json"))
	if err != nil {
		b.Fatal(err)
	}
	var resp hitsResponse
	if err := unmarshal(raw, &resp); err != nil || len(resp.Hits.Hits) != 20 {
		b.Fatalf("testdata/hits.json: %v, %d hits", err, len(resp.Hits.Hits))
	}
	read := map[string]func(src []byte) (document, error){
		"one-pass": func(src []byte) (document, error) {
			var d document
			return d, readDocument(src, &d)
		},
		"previous": func(src []byte) (document, error) {
			var s sourceShape
			var d document
			if err := unmarshal(src, &s); err != nil {
				return d, err
			}
			d.timestamp, d.text = s.Timestamp, value{str: s.Body.Text, isStr: true}
			if raw, ok := s.Resource.Attributes[schema.AttrServiceName]; ok {
				d.service = value{raw: raw}
			}
			for i, name := range fieldNames {
				if raw, ok := s.Attributes[name]; ok {
					d.attrs[i] = value{raw: raw}
				}
			}
			return d, nil
		},
	}
	for _, name := range []string{"one-pass", "previous"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				var r hitsResponse
				if err := unmarshal(raw, &r); err != nil {
					b.Fatal(err)
				}
				for _, h := range r.Hits.Hits {
					d, err := read[name](h.Source)
					if err != nil {
						b.Fatal(err)
					}
					_ = d.activity(h.ID)
				}
			}
		})
	}
}
