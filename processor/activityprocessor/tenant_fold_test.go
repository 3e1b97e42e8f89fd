package activityprocessor

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/activitylog/activitylog/schema"
)

// foldKeys are the keys foldRecords builds records from: the tenant
// attributes of foldConfig, one a key pattern matches, and keys the walk
// treats specially.
var foldKeys = []string{schema.AttrTenantID, "tenant", "tenant_secret", "", schema.AttrEvent, schema.AttrCategory, "activity.alert.rule", schema.AttrClientAddress, schema.AttrDocumentID}

// foldValue returns an OTLP JSON value of one of several shapes built from s.
func foldValue(kind byte, s string) map[string]any {
	switch kind % 6 {
	case 0:
		return map[string]any{"stringValue": s}
	case 1:
		return map[string]any{"intValue": strconv.Itoa(len(s))}
	case 2:
		return map[string]any{"kvlistValue": map[string]any{"values": []any{map[string]any{"key": "k", "value": map[string]any{"stringValue": s}}}}}
	case 3:
		return map[string]any{"arrayValue": map[string]any{"values": []any{map[string]any{"stringValue": s}}}}
	case 4:
		return map[string]any{"stringValue": "  " + s + " Acme\t"}
	}
	return map[string]any{"stringValue": "Bearer abcdefghijklmnop " + s}
}

// foldRecords decodes a batch built from data: records of up to six
// attributes, keys repeated as OTLP allows, values of every shape, and a
// resource that may carry a tenant of its own.
func foldRecords(t *testing.T, data []byte, text string) plog.Logs {
	t.Helper()
	return foldRecordsOf(t, foldKeys, data, text)
}

// foldRecordsOf is foldRecords with the keys keys.
func foldRecordsOf(t *testing.T, keys []string, data []byte, text string) plog.Logs {
	t.Helper()
	var records []any
	for len(data) > 0 {
		n := int(data[0]%6) + 1
		data = data[1:]
		var attrs []any
		for i := 0; i < n && len(data) >= 2; i++ {
			k := keys[int(data[0])%len(keys)]
			attrs = append(attrs, map[string]any{"key": k, "value": foldValue(data[1], text[:min(len(text), int(data[1]>>3))])})
			data = data[2:]
		}
		records = append(records, map[string]any{"attributes": attrs, "body": map[string]any{"stringValue": "r" + strconv.Itoa(len(records))}})
	}
	var resAttrs []any
	if len(text)%3 == 0 {
		resAttrs = append(resAttrs, map[string]any{"key": schema.AttrTenantID, "value": map[string]any{"stringValue": text}})
	}
	doc := map[string]any{"resourceLogs": []any{map[string]any{
		"resource":  map[string]any{"attributes": resAttrs},
		"scopeLogs": []any{map[string]any{"logRecords": records}},
	}}}
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var u plog.JSONUnmarshaler
	ld, err := u.UnmarshalLogs(raw)
	if err != nil {
		t.Fatal(err)
	}
	return ld
}

// foldConfig resolves the tenant from three record attributes, one of
// which a key pattern matches, with the policies chosen by policy.
func foldConfig(policy byte) *Config {
	cfg := createDefaultConfig()
	cfg.Tenant.RecordAttributes = []string{"tenant", schema.AttrTenantID, "tenant_secret"}
	cfg.Tenant.Missing = []string{PolicyTag, PolicyDrop}[policy%2]
	cfg.Tenant.Conflict = []string{PolicyFirst, PolicyUnknown, PolicyDrop}[(policy/2)%3]
	return cfg
}

// checkTenantFold processes the batch data describes twice: with the
// tenant attributes noted during the walk (foldTenant) and looked up
// afterwards, which must give the same batch.
func checkTenantFold(t *testing.T, data []byte, text string, policy byte) {
	cfg := foldConfig(policy)
	cfg.Redaction.KeyPatterns = append(cfg.Redaction.KeyPatterns, "tenantsecret")
	outputs := make([]string, 2)
	for i, fold := range []bool{true, false} {
		p := newTestLogs(t, cfg, func() (now time.Time) { return goldenNow }, nil)
		if !p.foldTenant {
			t.Fatal("foldTenant is off for the test configuration")
		}
		p.foldTenant = fold
		out := processedOrSkipped(t, p, foldRecords(t, data, text))
		checkDocumentIDs(t, out)
		outputs[i] = logsJSON(t, out)
	}
	if outputs[0] != outputs[1] {
		t.Errorf("tenant noted during the walk:\n%s\nlooked up after it:\n%s", outputs[0], outputs[1])
	}
}

// checkDocumentIDs checks that every record of out has exactly one
// document id attribute, the string its activity.id holds, whatever the
// emitter sent there (foldKeys include the document id, so records may
// arrive with one, several, or one of another type).
func checkDocumentIDs(t *testing.T, out plog.Logs) {
	t.Helper()
	for _, rl := range out.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				n, docID := 0, pcommon.NewValueEmpty()
				for k, v := range lr.Attributes().All() {
					if k == schema.AttrDocumentID {
						n++
						docID = v
					}
				}
				id, _ := lr.Attributes().Get(schema.AttrID)
				if n != 1 || docID.Type() != pcommon.ValueTypeStr || docID.Str() != id.AsString() {
					t.Errorf("got %d %s attributes, the last %v; want one, the string %q", n, schema.AttrDocumentID, docID.AsRaw(), id.AsString())
				}
			}
		}
	}
}

func TestTenantFold(t *testing.T) {
	for policy := byte(0); policy < 6; policy++ {
		checkTenantFold(t, []byte{5, 0, 0, 1, 8, 0, 3, 2, 16, 1, 24, 3, 0, 4, 1, 0, 40, 7, 2, 0, 1}, "Beta", policy)
		checkTenantFold(t, []byte{2, 3, 0, 0, 8, 1, 4, 5, 8}, "acme", policy)
		// Document ids: a string, an int, a map; then two in one record.
		checkTenantFold(t, []byte{3, 8, 0, 8, 1, 0, 0, 8, 2, 5, 8, 2, 8, 0}, "0199a0e4-0000-7aaa-8bbb-000000000001", policy)
	}
}

// FuzzTenantFold is the differential test of the tenant noted during the
// walk against the tenant looked up after it.
func FuzzTenantFold(f *testing.F) {
	f.Add([]byte{5, 0, 0, 1, 8, 0, 3, 2, 16, 1, 24, 3, 0, 4, 1, 0, 40, 7, 2, 0, 1}, "Beta", byte(0))
	f.Add([]byte{2, 3, 0, 0, 8, 1, 4, 5, 8}, "acme", byte(3))
	f.Add([]byte{1, 2, 9, 0, 1}, "x\x00y", byte(5))
	f.Fuzz(func(t *testing.T, data []byte, text string, policy byte) {
		if len(data) > 200 {
			return
		}
		checkTenantFold(t, data, text, policy)
	})
}

// TestTenantFromDocumentID: a tenant taken from the document id attribute
// (an odd choice, but a valid one) is looked up after the walk, since the
// walk notes that key for routing instead.
func TestTenantFromDocumentID(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.Tenant.RecordAttributes = []string{schema.AttrDocumentID}
	p := newTestLogs(t, cfg, func() time.Time { return goldenNow }, nil)
	if p.foldTenant {
		t.Fatal("foldTenant is on with the document id as a tenant attribute")
	}
	ld := oneRecord(func(lr plog.LogRecord) { lr.Attributes().PutStr(schema.AttrDocumentID, " Acme ") })
	out, err := p.processLogs(context.Background(), ld)
	if err != nil {
		t.Fatal(err)
	}
	if got := attrStr(firstRecord(out), schema.AttrTenantID); got != "acme" {
		t.Errorf("tenant: got %q, want %q", got, "acme")
	}
}

// idKeys are the keys of the records checkIDNoted builds: the id, the
// document id, a key pattern (so that a record may be redacted) and the
// tenant.
var idKeys = []string{schema.AttrID, schema.AttrID, schema.AttrDocumentID, "token", schema.AttrTenantID, ""}

// checkIDNoted processes the batch data describes twice: with activity.id
// noted during the walk (attrKind.id) and looked up by route afterwards,
// which must give the same batch.
func checkIDNoted(t *testing.T, data []byte, text string) {
	outputs := make([]string, 2)
	for i, note := range []bool{true, false} {
		p := newTestLogs(t, createDefaultConfig(), func() (now time.Time) { return goldenNow }, nil)
		if !note {
			for j := range p.kinds {
				p.kinds[j].id = false
			}
		}
		outputs[i] = logsJSON(t, processedOrSkipped(t, p, foldRecordsOf(t, idKeys, data, text)))
	}
	if outputs[0] != outputs[1] {
		t.Errorf("id noted during the walk:\n%s\nlooked up after it:\n%s", outputs[0], outputs[1])
	}
}

// TestIDNoted: ids of every shape (a string, a number, a map, a list, one
// padded, one holding a bearer token), repeated, beside document ids, an
// empty key and a redacted attribute.
func TestIDNoted(t *testing.T) {
	for _, text := range []string{"0199a0e4-0000-7aaa-8bbb-000000000001", "00000000-0000-0000-0000-000000000000", "17", ""} {
		for kind := byte(0); kind < 6; kind++ {
			v := kind | 0xf8
			checkIDNoted(t, []byte{5, 0, v, 1, v ^ 1, 2, v, 3, 0, 4, 0, 5, 5, 2, 0, 0, 3, 2, v, 0, v}, text)
		}
	}
}

// FuzzIDNoted is the differential test of the id noted during the walk
// against the id route looks up.
func FuzzIDNoted(f *testing.F) {
	f.Add([]byte{5, 0, 0, 1, 1, 2, 0, 3, 0, 4, 0}, "0199a0e4-0000-7aaa-8bbb-000000000001")
	f.Add([]byte{2, 0, 1, 0, 2, 3, 0, 2, 8}, "17")
	f.Fuzz(func(t *testing.T, data []byte, text string) {
		if len(data) > 200 {
			return
		}
		checkIDNoted(t, data, text)
	})
}

// processedOrSkipped is what p makes of ld, a batch it may drop whole.
func processedOrSkipped(t *testing.T, p *activityProcessor, ld plog.Logs) plog.Logs {
	t.Helper()
	out, err := p.processLogs(context.Background(), ld)
	if err != nil && !errors.Is(err, processorhelper.ErrSkipProcessingData) {
		t.Fatal(err)
	}
	return out
}

// logsJSON is ld as OTLP JSON.
func logsJSON(t *testing.T, ld plog.Logs) string {
	t.Helper()
	var m plog.JSONMarshaler
	raw, err := m.MarshalLogs(ld)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}
