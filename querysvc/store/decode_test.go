package store

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/activitylog/activitylog/querysvc"
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

// FuzzUnmarshalMatchesStd: the one-pass decoder reads valid JSON documents
// and aggregation buckets exactly as encoding/json does, or both refuse them.
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
			var s source
			var c counts
			_, _ = unmarshal(src, &s), unmarshal(src, &c)
			return
		}
		var gotSrc, wantSrc source
		gotErr, wantErr := unmarshal(src, &gotSrc), json.Unmarshal(src, &wantSrc)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("source %q: got error %v, encoding/json got %v", src, gotErr, wantErr)
		}
		if gotErr == nil && !reflect.DeepEqual(gotSrc, wantSrc) {
			t.Fatalf("source %q: got %+v, encoding/json got %+v", src, gotSrc, wantSrc)
		}
		var gotC, wantC counts
		gotErr, wantErr = unmarshal(src, &gotC), json.Unmarshal(src, &wantC)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("counts %q: got error %v, encoding/json got %v", src, gotErr, wantErr)
		}
		if gotErr == nil && !reflect.DeepEqual(gotC, wantC) {
			t.Fatalf("counts %q: got %+v, encoding/json got %+v", src, gotC, wantC)
		}
	})
}
