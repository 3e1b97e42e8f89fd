package durableexporter

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
)

// batch returns records under two resources of two scopes each, with
// bodies of the given sizes, cycled.
func batch(sizes ...int) plog.Logs {
	ld := plog.NewLogs()
	k := 0
	for r := range 2 {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d", r))
		rl.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
		for s := range 2 {
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName(fmt.Sprintf("scope-%d", s))
			for range 5 {
				lr := sl.LogRecords().AppendEmpty()
				lr.Body().SetStr(fmt.Sprintf("%d:%s", k, strings.Repeat("x", sizes[k%len(sizes)])))
				k++
			}
		}
	}
	return ld
}

// records returns each record of ld, in order, as the protobuf of a Logs
// holding it alone under its resource and scope: what a chunk must keep.
func records(t testing.TB, ld plog.Logs) [][]byte {
	var out [][]byte
	var m plog.ProtoMarshaler
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				one := plog.NewLogs()
				orl := one.ResourceLogs().AppendEmpty()
				rl.Resource().CopyTo(orl.Resource())
				orl.SetSchemaUrl(rl.SchemaUrl())
				osl := orl.ScopeLogs().AppendEmpty()
				sl.Scope().CopyTo(osl.Scope())
				osl.SetSchemaUrl(sl.SchemaUrl())
				lr.CopyTo(osl.LogRecords().AppendEmpty())
				b, err := m.MarshalLogs(one)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, b)
			}
		}
	}
	return out
}

// checkSplit fails t unless parts hold the records of ld, in order, each
// under its own resource and scope, every part's records weighing at most
// limit unless it holds one record, and ld is as it was (before: its
// protobuf).
func checkSplit(t testing.TB, ld plog.Logs, before []byte, parts []plog.Logs, limit int, weight func(plog.LogRecord) int) {
	t.Helper()
	var got [][]byte
	for i, p := range parts {
		w := 0
		for _, rl := range p.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					w += weight(lr)
				}
			}
		}
		if n := p.LogRecordCount(); n == 0 || (n > 1 && w > limit) {
			t.Errorf("part %d: %d records weighing %d, want at least one, weighing at most %d unless alone", i, n, w, limit)
		}
		got = append(got, records(t, p)...)
	}
	want := records(t, ld)
	if !slices.EqualFunc(got, want, bytes.Equal) {
		t.Errorf("parts hold %d records, want the %d of the batch, in order, each under its resource and scope", len(got), len(want))
	}
	var m plog.ProtoMarshaler
	if after, _ := m.MarshalLogs(ld); !bytes.Equal(after, before) {
		t.Error("the batch was changed; it must stay as queued for a retry")
	}
}

// TestChunks: a batch over the limit goes in several requests that keep
// every record, in order, under its own resource and scope; a record over
// the limit goes alone; a batch within the limit goes whole, as it is.
func TestChunks(t *testing.T) {
	var m plog.ProtoMarshaler
	for _, tt := range []struct {
		name      string
		sizes     []int
		limit     int
		wantParts int
	}{
		{"fits", []int{10}, 1 << 20, 1},
		{"even records", []int{1000}, 3500, 7},
		{"uneven records", []int{100, 2000, 700, 30}, 3000, 0},
		{"a record over the limit", []int{100, 10_000, 100}, 3000, 0},
		{"every record over the limit", []int{5000}, 3000, 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ld := batch(tt.sizes...)
			before, err := m.MarshalLogs(ld)
			if err != nil {
				t.Fatal(err)
			}
			parts := chunks(ld, tt.limit)
			checkSplit(t, ld, before, parts, tt.limit, m.LogRecordSize)
			if tt.wantParts > 0 && len(parts) != tt.wantParts {
				t.Errorf("got %d parts, want %d", len(parts), tt.wantParts)
			}
			if len(parts) == 1 && parts[0] != ld {
				t.Error("a batch within the limit was copied, want it sent as it is")
			}
		})
	}
}

// TestHalves: a request refused as too large is sent again as two of half
// its records each.
func TestHalves(t *testing.T) {
	var m plog.ProtoMarshaler
	ld := batch(100)
	ld.ResourceLogs().At(1).ScopeLogs().At(1).LogRecords().RemoveIf(func(plog.LogRecord) bool { return true })
	before, _ := m.MarshalLogs(ld)
	parts := halves(ld) // 15 records
	checkSplit(t, ld, before, parts, 8, func(plog.LogRecord) int { return 1 })
	if len(parts) != 2 || parts[0].LogRecordCount() != 8 || parts[1].LogRecordCount() != 7 {
		t.Errorf("got %d parts, want two of 8 and 7 records", len(parts))
	}
}

// FuzzChunks: whatever records arrive, chunks loses, reorders and moves
// none of them, and every part fits unless it holds one record.
func FuzzChunks(f *testing.F) {
	var m plog.ProtoMarshaler
	for _, ld := range []plog.Logs{batch(10), batch(100, 2000, 700), plog.NewLogs()} {
		b, err := m.MarshalLogs(ld)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint16(1500))
	}
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		var u plog.ProtoUnmarshaler
		ld, err := u.UnmarshalLogs(data)
		if err != nil {
			return
		}
		before, err := m.MarshalLogs(ld)
		if err != nil {
			return
		}
		parts := chunks(ld, int(limit))
		if ld.LogRecordCount() == 0 {
			return
		}
		checkSplit(t, ld, before, parts, int(limit), m.LogRecordSize)
	})
}
