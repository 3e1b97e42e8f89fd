package activityprocessor

import (
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/activitylog/activitylog/processor/activityprocessor/internal/recordid"
	"github.com/activitylog/activitylog/schema"
)

// routeReference is route as it was before it recognised a UUID once
// (commit 3271492): validID and placeholderUUID each on the id, and the
// document id's own UUID check (uniqueUUIDReference).
func routeReference(lr plog.LogRecord, tenantID string, st *batchStats) string {
	attrs := lr.Attributes()
	id := ""
	v, ok := attrs.Get(schema.AttrID)
	if ok {
		id = v.AsString()
	}
	if !validID(id) || placeholderUUID(id) {
		id = st.derivedID(lr)
		attrs.PutStr(schema.AttrID, id)
	} else if v.Type() != pcommon.ValueTypeStr {
		attrs.PutStr(schema.AttrID, id)
	}
	if !uniqueUUIDReference(id) {
		service := ""
		if v, ok := st.res.Attributes().Get(schema.AttrServiceName); ok {
			service = v.AsString()
		}
		id = recordid.Scoped(tenantID, service, id)
	}
	attrs.PutStr(schema.AttrDocumentID, id)
	return id
}

// uniqueUUIDReference is the previous uniqueUUID, which checked the form
// itself rather than trusting its caller.
func uniqueUUIDReference(id string) bool {
	return isUUID(id) && strings.ContainsRune("1467", rune(id[14])) && strings.ContainsRune("89abAB", rune(id[19]))
}

// FuzzRouteAgainstPrevious holds route, which recognises a canonical UUID
// once for validID, placeholderUUID and the document id, and takes a string
// id as the walk saw it, to the previous logic (routeReference): for any
// id, of any type, with or without a document id attribute, both leave the
// same activity.id and document id.
func FuzzRouteAgainstPrevious(f *testing.F) {
	for _, id := range []string{
		"0190f0e4-1111-7aaa-8bbb-123456789abc", "0190F0E4-1111-7AAA-8BBB-123456789ABC", nilUUID, maxUUID,
		strings.ToUpper(maxUUID), "FFFFFFFF-ffff-ffff-ffff-ffffffffffff", "0190f0e4-1111-7aaa-8bbb-123456789abc ",
		" 0190f0e4-1111-7aaa-8bbb-123456789abc", "0190f0e4-1111-5aaa-8bbb-123456789abc", "0190f0e4-1111-7aaa-cbbb-123456789abc",
		"17", "", "[REDACTED]", "a\x00b", "\xff\xfe", strings.Repeat("x", maxIDLen), strings.Repeat("x", maxIDLen+1),
		"0190f0e4-1111-7aaa-8bbb-123456789abg", "00000000-0000-0000-0000-00000000000\x00",
	} {
		for typ := range uint8(4) {
			f.Add(id, typ, typ%2 == 0)
		}
	}
	f.Fuzz(func(t *testing.T, id string, typ uint8, hasDocID bool) {
		build := func() plog.Logs {
			ld := plog.NewLogs()
			rl := ld.ResourceLogs().AppendEmpty()
			rl.Resource().Attributes().PutStr(schema.AttrServiceName, "billing")
			lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
			lr.SetTimestamp(goldenTS)
			attrs := lr.Attributes()
			switch typ % 4 {
			case 0:
				attrs.PutStr(schema.AttrID, id)
			case 1:
				attrs.PutEmptyBytes(schema.AttrID).FromRaw([]byte(id))
			case 2:
				attrs.PutEmptySlice(schema.AttrID).AppendEmpty().SetStr(id)
			case 3:
				attrs.PutInt(schema.AttrID, int64(len(id)))
			}
			if hasDocID {
				attrs.PutStr(schema.AttrDocumentID, id)
			}
			return ld
		}
		route1 := func(ld plog.Logs, fn func(plog.LogRecord, *batchStats) string) (string, string, string) {
			rl := ld.ResourceLogs().At(0)
			sl := rl.ScopeLogs().At(0)
			var st batchStats
			st.from(rl.Resource(), sl.Scope())
			lr := sl.LogRecords().At(0)
			doc := fn(lr, &st)
			return doc, attrStr(lr, schema.AttrID), attrStr(lr, schema.AttrDocumentID)
		}
		gotDoc, gotID, gotAttr := route1(build(), func(lr plog.LogRecord, st *batchStats) string {
			seen := ""
			if hasDocID {
				seen = id // the document id attribute's value, as the walk saw it
			}
			// A string id, as Hook notes it during the walk.
			return route(lr, id, typ%4 == 0, hasDocID, seen, "acme", st)
		})
		wantDoc, wantID, wantAttr := route1(build(), func(lr plog.LogRecord, st *batchStats) string {
			return routeReference(lr, "acme", st)
		})
		if gotDoc != wantDoc || gotID != wantID || gotAttr != wantAttr {
			t.Errorf("id %q (type %d): got document id %q, activity.id %q, attribute %q; want %q, %q, %q (previous route)",
				id, typ%4, gotDoc, gotID, gotAttr, wantDoc, wantID, wantAttr)
		}
	})
}
