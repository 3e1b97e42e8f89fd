package otlp

import (
	"context"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/activitylog/activitylog/internal/logtest"
	"github.com/activitylog/activitylog/schema"
)

// TestReduceChanges: each value below a changed field's name longer than
// ReducedValueBytes becomes MarkerTooLarge, whatever its type, and shorter
// ones, {"redacted": true} and the field names stay; a field, or an
// activity.changes, that is not a map is replaced whole when that long; a
// value with nothing that long comes back as it was.
func TestReduceChanges(t *testing.T) {
	long := strings.Repeat("x", ReducedValueBytes+1)
	just := strings.Repeat("x", ReducedValueBytes)
	marker := attribute.StringValue(MarkerTooLarge)
	many := make([]attribute.Value, ReducedValueBytes/8+1) // ints, 8 each
	for i := range many {
		many[i] = attribute.IntValue(i)
	}
	tests := []struct {
		name    string
		in      attribute.Value
		want    attribute.Value
		reduced bool
	}{
		{"old and new", attribute.MapValue(
			attribute.Map("notes", attribute.String("old", long), attribute.String("new", just)),
			attribute.Map("points", attribute.Int("old", 1), attribute.Int("new", 2)),
			attribute.Map("phone", attribute.Bool("redacted", true))),
			attribute.MapValue(
				attribute.Map("notes", attribute.KeyValue{Key: "old", Value: marker}, attribute.String("new", just)),
				attribute.Map("points", attribute.Int("old", 1), attribute.Int("new", 2)),
				attribute.Map("phone", attribute.Bool("redacted", true))), true},
		{"composite values", attribute.MapValue(
			attribute.Map("tags", attribute.StringSlice("old", []string{just, "y"}), attribute.Slice("new", many...)),
			attribute.Map("prefs", attribute.Map("new", attribute.String(just, "y")))),
			attribute.MapValue(
				attribute.Map("tags", attribute.KeyValue{Key: "old", Value: marker}, attribute.KeyValue{Key: "new", Value: marker}),
				attribute.Map("prefs", attribute.KeyValue{Key: "new", Value: marker})), true},
		{"a field that is not a map", attribute.MapValue(attribute.String("notes", long), attribute.String("ok", "y")),
			attribute.MapValue(attribute.KeyValue{Key: "notes", Value: marker}, attribute.String("ok", "y")), true},
		{"not a map", attribute.StringValue(long), marker, true},
		{"nothing to reduce", attribute.MapValue(attribute.Map("notes", attribute.String("old", just))),
			attribute.MapValue(attribute.Map("notes", attribute.String("old", just))), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reduced := reduceChanges(tt.in)
			if reduced != tt.reduced || got.Emit() != tt.want.Emit() || got.Type() != tt.want.Type() {
				t.Errorf("got %.300s (reduced %t), want %.300s (reduced %t)", got.Emit(), reduced, tt.want.Emit(), tt.reduced)
			}
		})
	}
}

// TestReduce: a reduced record has its body cut to ReducedBodyLength
// characters and its changes reduced, every other attribute as it was, in
// its place; the record it was made from is left as it was; a record with
// nothing to reduce is reported as such.
func TestReduce(t *testing.T) {
	long := strings.Repeat("é", ReducedValueBytes)
	attrs := []attribute.KeyValue{
		attribute.String(schema.AttrID, "0190b5b4-0000-7000-8000-000000000001"),
		attribute.String(schema.AttrSubjectName, long),
		{Key: schema.AttrChanges, Value: attribute.MapValue(attribute.Map("notes", attribute.String("new", long)))},
		attribute.StringSlice(schema.AttrChangedFields, []string{"notes"}),
	}
	r := newRecord(t, strings.Repeat("d", 2*ReducedBodyLength), attrs...)
	before := attrsOf(r)
	out, reduced := reduce(r)
	if !reduced {
		t.Fatal("got nothing reduced, want the body and the changes")
	}
	if got := out.Body().AsString(); got != strings.Repeat("d", ReducedBodyLength) {
		t.Errorf("got a body of %d characters, want %d", len(got), ReducedBodyLength)
	}
	wantAttrs := slices.Clone(attrs)
	wantAttrs[2].Value = attribute.MapValue(attribute.Map("notes", attribute.String("new", MarkerTooLarge)))
	if got, want := attrsOf(out), attrsOf(newRecord(t, "", wantAttrs...)); got != want {
		t.Errorf("got attributes %.300s, want %.300s", got, want)
	}
	if got := attrsOf(r); got != before || len(r.Body().AsString()) != 2*ReducedBodyLength {
		t.Errorf("the record reduced became %.300s, want it as it was, %.300s", got, before)
	}

	small := newRecord(t, "Jane Doe (Partner) logged in", attribute.String(schema.AttrUserAgent, strings.Repeat("a", 4*ReducedBodyLength)))
	if _, reduced := reduce(small); reduced {
		t.Error("got a record with nothing to reduce reduced")
	}
}

// newRecord returns a record emitted through an SDK provider without limits,
// with body and attrs.
func newRecord(t *testing.T, body string, attrs ...attribute.KeyValue) sdklog.Record {
	t.Helper()
	lp, exp := logtest.NewProvider(t, sdklog.WithAttributeValueLengthLimit(-1), sdklog.WithAllowKeyDuplication())
	var r log.Record
	r.SetBody(attribute.StringValue(body))
	r.AddAttributes(attrs...)
	lp.Logger("test").Emit(context.Background(), r)
	rs := exp.Records()
	if len(rs) != 1 {
		t.Fatalf("got %d records, want 1", len(rs))
	}
	return rs[0]
}

// attrsOf returns r's attributes, written out in order.
func attrsOf(r sdklog.Record) string {
	var b strings.Builder
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		b.WriteString(string(kv.Key) + "=" + kv.Value.Emit() + ";")
		return true
	})
	return b.String()
}
