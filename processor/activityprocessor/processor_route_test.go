package activityprocessor

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/activitylog/activitylog/processor/activityprocessor/internal/metadata"
	"github.com/activitylog/activitylog/processor/activityprocessor/internal/recordid"
	"github.com/activitylog/activitylog/schema"
)

var uuidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func runOnce(t *testing.T, cfg *Config, ld plog.Logs) plog.Logs {
	t.Helper()
	sink := new(consumertest.LogsSink)
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	if err != nil {
		t.Fatalf("CreateLogs: %v", err)
	}
	if err := p.Start(context.Background(), nil); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	if err := p.ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatalf("ConsumeLogs: %v", err)
	}
	all := sink.AllLogs()
	if len(all) != 1 {
		t.Fatalf("got %d batches, want 1", len(all))
	}
	return all[0]
}

func oneRecord(fill func(lr plog.LogRecord)) plog.Logs {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.Timestamp(1764150000123456789))
	lr.SetEventName(schema.EventName(schema.EventLogin))
	lr.Body().SetStr("Jane logged in")
	fill(lr)
	return ld
}

func firstRecord(ld plog.Logs) plog.LogRecord {
	return ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
}

func attrStr(lr plog.LogRecord, key string) string {
	v, ok := lr.Attributes().Get(key)
	if !ok {
		return "<absent>"
	}
	return v.AsString()
}

func TestRouting(t *testing.T) {
	tests := []struct {
		name      string
		namespace string
		fill      func(plog.LogRecord)
		wantNS    string
		wantID    string // "" means: a derived UUIDv7
	}{
		{
			name:   "library record keeps its id",
			fill:   func(lr plog.LogRecord) { lr.Attributes().PutStr(schema.AttrID, "0190f0e4-1111-7aaa-8bbb-123456789abc") },
			wantNS: schema.DefaultNamespace,
			wantID: "0190f0e4-1111-7aaa-8bbb-123456789abc",
		},
		{
			name:      "configured namespace",
			namespace: "prod",
			fill:      func(lr plog.LogRecord) { lr.Attributes().PutStr(schema.AttrID, "abc") },
			wantNS:    "prod",
			wantID:    "abc",
		},
		{
			name: "emitter routing attributes are overwritten",
			fill: func(lr plog.LogRecord) {
				a := lr.Attributes()
				a.PutStr(schema.AttrID, "abc")
				a.PutStr(schema.AttrDataStreamType, "metrics")
				a.PutStr(schema.AttrDataStreamDataset, "other")
				a.PutStr(schema.AttrDataStreamNamespace, "victim")
				a.PutStr(schema.AttrDocumentID, "someone-elses-id")
			},
			wantNS: schema.DefaultNamespace,
			wantID: "abc",
		},
		{
			name: "the library's document id is kept in place",
			fill: func(lr plog.LogRecord) {
				lr.Attributes().PutStr(schema.AttrID, "0190f0e4-1111-7aaa-8bbb-123456789abc")
				lr.Attributes().PutStr(schema.AttrDocumentID, "0190f0e4-1111-7aaa-8bbb-123456789abc")
			},
			wantNS: schema.DefaultNamespace,
			wantID: "0190f0e4-1111-7aaa-8bbb-123456789abc",
		},
		{
			name: "a document id of another type is replaced",
			fill: func(lr plog.LogRecord) {
				lr.Attributes().PutStr(schema.AttrID, "abc")
				lr.Attributes().PutEmptyMap(schema.AttrDocumentID).PutStr("_id", "someone-elses-id")
			},
			wantNS: schema.DefaultNamespace,
			wantID: "abc",
		},
		{
			name: "a document id beside a derived id is replaced",
			fill: func(lr plog.LogRecord) {
				lr.Attributes().PutStr(schema.AttrDocumentID, "someone-elses-id")
			},
			wantNS: schema.DefaultNamespace,
		},
		{
			name:   "missing id is derived",
			fill:   func(plog.LogRecord) {},
			wantNS: schema.DefaultNamespace,
		},
		{
			name:   "integer id is stringified",
			fill:   func(lr plog.LogRecord) { lr.Attributes().PutInt(schema.AttrID, 42) },
			wantNS: schema.DefaultNamespace,
			wantID: "42",
		},
		{
			name:   "id with control characters is replaced",
			fill:   func(lr plog.LogRecord) { lr.Attributes().PutStr(schema.AttrID, "a\nb") },
			wantNS: schema.DefaultNamespace,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig()
			if tt.namespace != "" {
				cfg.Namespace = tt.namespace
			}
			ld := runOnce(t, cfg, oneRecord(tt.fill))
			out := firstRecord(ld)
			// The exporter takes data_stream.* from the record, then the
			// scope, then the resource: only the resource may carry them.
			res := ld.ResourceLogs().At(0).Resource().Attributes()
			for _, tc := range []struct{ key, want string }{
				{schema.AttrDataStreamType, schema.DataStreamType},
				{schema.AttrDataStreamDataset, schema.Dataset},
				{schema.AttrDataStreamNamespace, tt.wantNS},
			} {
				if got, ok := res.Get(tc.key); !ok || got.AsString() != tc.want {
					t.Errorf("resource %s: got %q (present %v), want %q", tc.key, got.AsString(), ok, tc.want)
				}
				if got := attrStr(out, tc.key); got != "<absent>" {
					t.Errorf("record %s: got %q, want <absent>", tc.key, got)
				}
				if _, ok := ld.ResourceLogs().At(0).ScopeLogs().At(0).Scope().Attributes().Get(tc.key); ok {
					t.Errorf("scope %s: present, want absent", tc.key)
				}
			}
			n := 0
			for k := range out.Attributes().All() {
				if k == schema.AttrDocumentID {
					n++
				}
			}
			if n != 1 {
				t.Errorf("got %d %s attributes, want 1", n, schema.AttrDocumentID)
			}
			id, docID := attrStr(out, schema.AttrID), attrStr(out, schema.AttrDocumentID)
			// A UUID is the document id as it is; another id is scoped by
			// the record's tenant and service (here none: unknown, "").
			wantDoc := id
			if !uuidV7.MatchString(id) {
				wantDoc = recordid.Scoped(schema.TenantUnknown, "", id)
			}
			if docID != wantDoc {
				t.Errorf("document id: got %q, want %q (activity.id %q)", docID, wantDoc, id)
			}
			if tt.wantID != "" && id != tt.wantID {
				t.Errorf("activity.id: got %q, want %q", id, tt.wantID)
			}
			if tt.wantID == "" && !uuidV7.MatchString(id) {
				t.Errorf("derived activity.id: got %q, want a UUIDv7", id)
			}
		})
	}
}

func TestDerivedIDIsDeterministic(t *testing.T) {
	mk := func(extra string) plog.Logs {
		return oneRecord(func(lr plog.LogRecord) {
			lr.Attributes().PutStr(schema.AttrEvent, schema.EventLogin)
			lr.Attributes().PutStr("x", extra)
		})
	}
	a := attrStr(firstRecord(runOnce(t, createDefaultConfig(), mk("1"))), schema.AttrID)
	b := attrStr(firstRecord(runOnce(t, createDefaultConfig(), mk("1"))), schema.AttrID)
	c := attrStr(firstRecord(runOnce(t, createDefaultConfig(), mk("2"))), schema.AttrID)
	if a != b {
		t.Errorf("same record twice: got ids %q and %q, want equal", a, b)
	}
	if a == c {
		t.Errorf("different records: got the same id %q, want different", a)
	}
	// The same record from another host, or through another scope, is
	// another record: two instances of a service that stamp whole seconds
	// each log one client's failed login in the same second. Sharing an id,
	// Elasticsearch kept only the first.
	from := func(host, scope string) string {
		ld := mk("1")
		ld.ResourceLogs().At(0).Resource().Attributes().PutStr("host.name", host)
		ld.ResourceLogs().At(0).ScopeLogs().At(0).Scope().SetName(scope)
		return attrStr(firstRecord(runOnce(t, createDefaultConfig(), ld)), schema.AttrID)
	}
	if h1, h2 := from("web-1", "auth"), from("web-2", "auth"); h1 == h2 {
		t.Errorf("same record from two hosts: got the same id %q, want different", h1)
	}
	if s1, s2 := from("web-1", "auth"), from("web-1", "billing"); s1 == s2 {
		t.Errorf("same record through two scopes: got the same id %q, want different", s1)
	}
	if r1, r2 := from("web-1", "auth"), from("web-1", "auth"); r1 != r2 {
		t.Errorf("same record from the same host, twice: got ids %q and %q, want equal", r1, r2)
	}
	// The id is time-ordered: its first 48 bits are the record's Unix milliseconds.
	wantPrefix := fmt.Sprintf("%012x", int64(1764150000123456789)/1e6)
	if got := a[:8] + a[9:13]; got != wantPrefix {
		t.Errorf("id time prefix: got %s, want %s", got, wantPrefix)
	}
}

// TestDocumentIDScopedByTenant proves that ids unique only within a tenant
// (two emitters numbering their records from 1) no longer share a document
// id in the data stream, where Elasticsearch kept only the first of each
// pair; that a UUID stays the document id; that the same ids sent again,
// even with new timestamps, map onto the same document ids; and that the burst detector, which counts a record once per document
// id, counts both tenants' failed logins.
func TestDocumentIDScopedByTenant(t *testing.T) {
	batch := func(at time.Time) plog.Logs {
		now := pcommon.NewTimestampFromTime(at)
		ld := plog.NewLogs()
		lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		for _, r := range []struct{ tenant, id string }{
			{"bean-there", "17"}, {"acme", "17"}, {"acme", "0190f0e4-1111-7aaa-8bbb-123456789abc"},
		} {
			lr := lrs.AppendEmpty()
			lr.SetTimestamp(now)
			lr.SetEventName(schema.EventName(schema.EventLoginFailed))
			a := lr.Attributes()
			a.PutStr(schema.AttrID, r.id)
			a.PutStr(schema.AttrTenantID, r.tenant)
			a.PutStr(schema.AttrEvent, schema.EventLoginFailed)
			a.PutStr(schema.AttrClientAddress, "203.0.113.9")
		}
		return ld
	}
	cfg := createDefaultConfig()
	cfg.Burst.Threshold = 3
	docIDs := func(ld plog.Logs) (ids, docs []string) {
		lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := 0; i < lrs.Len(); i++ {
			ids = append(ids, attrStr(lrs.At(i), schema.AttrID))
			docs = append(docs, attrStr(lrs.At(i), schema.AttrDocumentID))
		}
		return ids, docs
	}
	out := runOnce(t, cfg, batch(time.Now()))
	ids, docs := docIDs(out)
	if ids[0] != "17" || ids[1] != "17" {
		t.Errorf("activity.id: got %q, want the emitters' ids kept", ids)
	}
	if docs[0] == docs[1] {
		t.Errorf("two tenants' records with activity.id 17 share the document id %q", docs[0])
	}
	if docs[2] != ids[2] {
		t.Errorf("UUID activity.id %q: got document id %q, want it unchanged", ids[2], docs[2])
	}
	if n := len(alertsIn(out)); n != 1 {
		t.Errorf("three failed logins from one address (two with id 17, in two tenants): got %d alerts, want 1", n)
	}
	// Sent again a second later (an outbox publishing its rows twice).
	_, again := docIDs(runOnce(t, cfg, batch(time.Now().Add(time.Second))))
	if !slices.Equal(again, docs) {
		t.Errorf("batch sent again: got document ids %q, want %q", again, docs)
	}
}

// TestDocumentIDOfUUIDs proves that only UUIDs unique across tenants by
// construction are document ids as they are. Two tenants' emitters that
// derive name-based UUIDs (version 5) from the same name, or send the same
// custom one (version 8), or a UUID of another variant, got one document id
// for two records, and Elasticsearch kept only the first; and an emitter
// that never set its ids (the nil or max UUID on every record) had all its
// records after the first dropped.
func TestDocumentIDOfUUIDs(t *testing.T) {
	const (
		v4 = "9b2f6c1e-3d4a-4f5b-8c6d-7e8f9a0b1c2d"
		v1 = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
		v6 = "1ec9414c-232a-6b00-b3c8-9e6bdeced846"
		v5 = "886313e1-3b8a-5372-9b90-0c9aee199e5d" // uuid.NewSHA1(uuid.NameSpaceURL, "order 17")-like
		v3 = "a3bb189e-8bf9-3888-9912-ace4e6543002"
		v8 = "0190f0e4-1111-8aaa-8bbb-123456789abc"
		nc = "0190f0e4-1111-7aaa-cbbb-123456789abc" // version 7, Microsoft's variant
	)
	docOf := func(tenant, id, body string) (gotID, doc string) {
		out := firstRecord(runOnce(t, createDefaultConfig(), oneRecord(func(lr plog.LogRecord) {
			lr.Body().SetStr(body)
			lr.Attributes().PutStr(schema.AttrID, id)
			lr.Attributes().PutStr(schema.AttrTenantID, tenant)
			lr.Attributes().PutStr(schema.AttrEvent, schema.EventLogin)
		})))
		return attrStr(out, schema.AttrID), attrStr(out, schema.AttrDocumentID)
	}
	for _, id := range []string{v4, v1, v6, "0190F0E4-1111-7AAA-8BBB-123456789ABC"} {
		if _, doc := docOf("acme", id, "x"); doc != id {
			t.Errorf("activity.id %s: got document id %s, want it unchanged", id, doc)
		}
	}
	for _, id := range []string{v5, v3, v8, nc} {
		_, a := docOf("acme", id, "x")
		_, b := docOf("bean-there", id, "x")
		if a == b || a == id {
			t.Errorf("activity.id %s in two tenants: got document ids %s and %s, want two, scoped", id, a, b)
		}
		if _, again := docOf("acme", id, "y"); again != a {
			t.Errorf("activity.id %s sent again: got document id %s, want %s", id, again, a)
		}
	}
	for _, id := range []string{"00000000-0000-0000-0000-000000000000", "FFFFFFFF-ffff-ffff-ffff-ffffffffffff"} {
		id1, doc1 := docOf("acme", id, "first")
		id2, doc2 := docOf("acme", id, "second")
		if doc1 == doc2 || id1 == id || id2 == id {
			t.Errorf("two records with activity.id %s: got ids %s, %s and document ids %s, %s; want each its own derived id",
				id, id1, id2, doc1, doc2)
		}
		if !uuidV7.MatchString(id1) {
			t.Errorf("activity.id %s: got %s, want a derived UUIDv7", id, id1)
		}
	}
}
