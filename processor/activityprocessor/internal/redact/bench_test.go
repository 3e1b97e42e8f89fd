package redact

import (
	"fmt"
	"strconv"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/activitylog/activitylog/schema"
)

// benchRecords returns n realistic, secret-free record attribute maps.
func benchRecords(n int) []pcommon.Map {
	out := make([]pcommon.Map, n)
	for i := range out {
		m := pcommon.NewMap()
		m.PutStr(schema.AttrID, fmt.Sprintf("0199a0e4-%04x-7aaa-8bbb-%012x", i, i))
		m.PutStr(schema.AttrCategory, schema.CategoryRewards)
		m.PutStr(schema.AttrEvent, schema.EventUpdated)
		m.PutStr(schema.AttrOutcome, schema.OutcomeSuccess)
		m.PutStr(schema.AttrActorType, schema.ActorPartner)
		m.PutStr(schema.AttrTenantID, "tenant-"+strconv.Itoa(i%40))
		m.PutStr(schema.AttrTenantName, "Acme Coffee Roasters")
		m.PutStr(schema.AttrSubjectType, "reward")
		m.PutStr(schema.AttrSubjectID, "rw_"+strconv.Itoa(100000+i))
		m.PutStr(schema.AttrSubjectName, "Free coffee with any pastry")
		m.PutStr(schema.AttrRequestID, "req-"+strconv.Itoa(7919*i))
		m.PutStr(schema.AttrUserID, "usr_"+strconv.Itoa(5000+i%300))
		m.PutStr(schema.AttrUserName, "jane.doe@example.com")
		m.PutStr(schema.AttrClientAddress, "198.51.100."+strconv.Itoa(i%50))
		m.PutStr(schema.AttrUserAgent, "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15")
		ch := m.PutEmptyMap(schema.AttrChanges)
		t := ch.PutEmptyMap("title")
		t.PutStr("old", "Free coffee")
		t.PutStr("new", "Free coffee with any pastry")
		p := ch.PutEmptyMap("points_cost")
		p.PutInt("old", 100)
		p.PutInt("new", 120)
		out[i] = m
	}
	return out
}

// visit walks every value without inspecting it: the floor any walker pays.
func visit(m pcommon.Map) int {
	n := 0
	m.RemoveIf(func(k string, v pcommon.Value) bool {
		n += len(k)
		switch v.Type() {
		case pcommon.ValueTypeStr:
			n += len(v.Str())
		case pcommon.ValueTypeMap:
			n += visit(v.Map())
		}
		return false
	})
	return n
}

// BenchmarkAttributes measures the redaction walk of clean records (the
// common case) against a walk that only visits the values.
func BenchmarkAttributes(b *testing.B) {
	recs := benchRecords(1000)
	cfg := testConfig()
	r := mustNew(b, cfg)
	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		var rep Report
		for i := 0; i < b.N; i++ {
			rep.Reset()
			r.Attributes(recs[i%len(recs)], "", true, &rep)
		}
	})
	b.Run("visit_only", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for i := 0; i < b.N; i++ {
			n += visit(recs[i%len(recs)])
		}
		_ = n
	})
}
