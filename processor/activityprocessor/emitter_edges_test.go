package activityprocessor

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/activitylog/activitylog/schema"
)

// Edges of what a hand-written OTLP emitter can send, each of which once got
// past the processor in a form that broke a promise.

// acmeRecord returns a batch of one record of tenant acme with attrs set.
func acmeRecord(set func(pcommon.Map)) plog.Logs {
	return oneRecord(func(lr plog.LogRecord) {
		lr.Attributes().PutStr(schema.AttrTenantID, "acme")
		set(lr.Attributes())
	})
}

// TestForgedAlertAsList: the event or category sent as a one-item list
// would be indexed as the item, so ["failed_login_burst"] claims an alert
// as the string does: the record is dropped as a forgery.
func TestForgedAlertAsList(t *testing.T) {
	p := newTestLogs(t, createDefaultConfig(), func() time.Time { return goldenNow }, nil)
	for key, claim := range map[string]string{schema.AttrEvent: schema.EventFailedLoginBurst, schema.AttrCategory: schema.CategorySecurity} {
		ld := acmeRecord(func(a pcommon.Map) { a.PutEmptySlice(key).AppendEmpty().SetStr(claim) })
		out, err := p.processLogs(context.Background(), ld)
		if err != nil && out.LogRecordCount() != 0 {
			t.Fatal(err)
		}
		if n := out.LogRecordCount(); n != 0 {
			t.Errorf("%s=[%q]: got %d records through, want the forged alert dropped", key, claim, n)
		}
	}
	// Any other list under the event is kept aside, not indexed as the event.
	out, err := p.processLogs(context.Background(), acmeRecord(func(a pcommon.Map) { a.PutEmptySlice(schema.AttrEvent).AppendEmpty().SetStr("updated") }))
	if err != nil {
		t.Fatal(err)
	}
	attrs := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
	if _, ok := attrs.Get(schema.AttrEvent); ok {
		t.Errorf("a list under %s was kept there", schema.AttrEvent)
	}
	if v, ok := attrs.Get(schema.AttrEvent + originalSuffix); !ok || v.AsString() != `["updated"]` {
		t.Errorf("got %s.original %v, want the list as a string", schema.AttrEvent, v.AsRaw())
	}
}

// TestBurstKeyAddressSpellings: one client's failures count under one key
// however its address is spelled.
func TestBurstKeyAddressSpellings(t *testing.T) {
	clk := &fixedClock{now: goldenNow}
	p := newTestLogs(t, createDefaultConfig(), clk.Now, nil)
	spellings := []string{"203.0.113.7", "::ffff:203.0.113.7", "::FFFF:203.0.113.7", "[::ffff:203.0.113.7]:443", "::ffff:cb00:7107"}
	var alerts []plog.LogRecord
	for i, ip := range spellings {
		clk.now = clk.now.Add(time.Second)
		ld := failedLogins(ip, 1, clk.now)
		ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().PutStr(schema.AttrUserName, "user"+string(rune('a'+i)))
		out, err := p.processLogs(context.Background(), ld)
		if err != nil {
			t.Fatal(err)
		}
		alerts = append(alerts, alertsIn(out)...)
	}
	if len(alerts) != 1 {
		t.Fatalf("5 failures from one client in 5 s: got %d alerts, want 1", len(alerts))
	}
	if k, _ := alerts[0].Attributes().Get(schema.AttrAlertKey); k.Str() != "203.0.113.7" {
		t.Errorf("got alert key %q, want the address as 203.0.113.7", k.Str())
	}
	if got := burstAddress("fe80::1%eth0", new(plainIPs)); got != "fe80::1" {
		t.Errorf("burstAddress(fe80::1%%eth0) = %q, want the zone dropped", got)
	}
	if got := burstAddress("not an address", new(plainIPs)); got != "not an address" {
		t.Errorf("burstAddress kept %q as %q", "not an address", got)
	}
}

// TestRedactedIDNotShared: an activity.id a value detector masked (a
// 13 – 19 digit id that passes Luhn) would make every such record's
// document id "[REDACTED]", and Elasticsearch keeps only the first: each
// gets a derived id instead. So do ids that are not UTF-8, which the
// exporter would write with U+FFFD in place of each invalid byte.
func TestRedactedIDNotShared(t *testing.T) {
	p := newTestLogs(t, createDefaultConfig(), func() time.Time { return goldenNow }, nil)
	ld := plog.NewLogs()
	for i, id := range []string{"4111111111111111", "5555555555554444", "\xff", "\xfe", strings.Repeat("\xff", 200)} {
		lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(goldenNow))
		lr.Body().SetStr("record " + string(rune('a'+i)))
		lr.Attributes().PutStr(schema.AttrTenantID, "acme")
		lr.Attributes().PutStr(schema.AttrEvent, "updated")
		lr.Attributes().PutStr(schema.AttrID, id)
	}
	out, err := p.processLogs(context.Background(), ld)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, rl := range out.ResourceLogs().All() {
		for _, lr := range rl.ScopeLogs().At(0).LogRecords().All() {
			v, _ := lr.Attributes().Get(schema.AttrDocumentID)
			id := v.Str()
			if seen[id] || strings.Contains(id, "REDACTED") || !utf8.ValidString(id) {
				t.Errorf("document id %q: shared, redacted or not UTF-8", id)
			}
			seen[id] = true
		}
	}
	// Derived ids are the same on a retry.
	again, err := p.processLogs(context.Background(), acmeRecord(func(a pcommon.Map) { a.PutStr(schema.AttrID, "4111111111111111") }))
	if err != nil {
		t.Fatal(err)
	}
	retry, err := p.processLogs(context.Background(), acmeRecord(func(a pcommon.Map) { a.PutStr(schema.AttrID, "4111111111111111") }))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := again.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get(schema.AttrDocumentID)
	b, _ := retry.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get(schema.AttrDocumentID)
	if a.Str() != b.Str() {
		t.Errorf("a retried record got document id %q, then %q", a.Str(), b.Str())
	}
}

// TestTimestampBeyondDateNanos: OTLP timestamps are unsigned; one past
// 2262 would be refused by Elasticsearch (date_nanos) and read as 1677 by
// the burst detector. It is clamped to the latest date_nanos, the value sent
// is kept, and the failed login counts as now.
func TestTimestampBeyondDateNanos(t *testing.T) {
	clk := &fixedClock{now: goldenNow}
	p := newTestLogs(t, createDefaultConfig(), clk.Now, nil)
	const bogus = pcommon.Timestamp(17956871400000000000)
	alerts := 0
	for i := 0; i < 5; i++ {
		ld := failedLogins("203.0.113.7", 1, goldenNow)
		lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
		lr.SetTimestamp(bogus)
		lr.SetObservedTimestamp(bogus)
		lr.Attributes().PutStr(schema.AttrUserName, "user"+string(rune('a'+i))) // five failures, not one resent
		out, err := p.processLogs(context.Background(), ld)
		if err != nil {
			t.Fatal(err)
		}
		alerts += len(alertsIn(out))
		got := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
		if got.Timestamp() != maxTimestamp || got.ObservedTimestamp() != maxTimestamp {
			t.Errorf("record %d: timestamps %d / %d, want both clamped to %d", i, got.Timestamp(), got.ObservedTimestamp(), maxTimestamp)
		}
		if v, _ := got.Attributes().Get(attrTimestampOriginal); v.Str() != "17956871400000000000" {
			t.Errorf("record %d: %s = %q, want the timestamp sent", i, attrTimestampOriginal, v.Str())
		}
	}
	if alerts != 1 {
		t.Errorf("5 failed logins with a timestamp past 2262: got %d alerts, want 1 (the future counts as now)", alerts)
	}
}

// TestResentFailuresCountOnce: a batch of 3 failed logins sent twice (an
// emitter's retry) is stored once by Elasticsearch (document ids), and the
// burst detector counts it once: no alert at threshold 5. Records without
// an id of their own are recognised by their derived id.
func TestResentFailuresCountOnce(t *testing.T) {
	for _, withIDs := range []bool{true, false} {
		clk := &fixedClock{now: goldenNow}
		p := newTestLogs(t, createDefaultConfig(), clk.Now, nil)
		batch := failedLogins("203.0.113.7", 3, goldenNow.Add(-10*time.Second))
		for i, lr := range batch.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().All() {
			if withIDs {
				lr.Attributes().PutStr(schema.AttrID, "0199a0e4-0000-7000-8000-00000000000"+string(rune('a'+i)))
			}
			lr.Attributes().PutStr(schema.AttrUserName, "user"+string(rune('a'+i)))
		}
		alerts := 0
		for range 2 {
			ld := plog.NewLogs()
			batch.CopyTo(ld)
			out, err := p.processLogs(context.Background(), ld)
			if err != nil {
				t.Fatal(err)
			}
			alerts += len(alertsIn(out))
		}
		if alerts != 0 {
			t.Errorf("ids %v: 3 failed logins sent twice: got %d alerts, want 0 (threshold 5)", withIDs, alerts)
		}
	}
}

// TestRedactedTenantIsMissing: a tenant value a detector masked (bytes,
// which cannot be inspected; a card-like number) is no business's tenant;
// it is tagged unknown and counted missing, not kept as a pseudo-tenant
// "[redacted]" that no partner can read and a partner so named could.
func TestRedactedTenantIsMissing(t *testing.T) {
	p := newTestLogs(t, createDefaultConfig(), func() time.Time { return goldenNow }, nil)
	for _, set := range []func(pcommon.Map){
		func(a pcommon.Map) { a.PutEmptyBytes(schema.AttrTenantID).FromRaw([]byte("acme")) },
		func(a pcommon.Map) { a.PutStr(schema.AttrTenantID, "4111111111111111") },
	} {
		out, err := p.processLogs(context.Background(), oneRecord(func(lr plog.LogRecord) {
			lr.Attributes().PutStr(schema.AttrEvent, "updated")
			set(lr.Attributes())
		}))
		if err != nil {
			t.Fatal(err)
		}
		v, _ := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get(schema.AttrTenantID)
		if v.Str() != schema.TenantUnknown {
			t.Errorf("got tenant %q, want %q", v.Str(), schema.TenantUnknown)
		}
	}
}

// TestBurstKeyUserNameCase: failures against one account spelled in other
// cases count under one user-name key.
func TestBurstKeyUserNameCase(t *testing.T) {
	clk := &fixedClock{now: goldenNow}
	cfg := createDefaultConfig()
	cfg.Burst.Keys = []string{schema.AttrUserName}
	p := newTestLogs(t, cfg, clk.Now, nil)
	var alerts []plog.LogRecord
	for i, name := range []string{"jane@example.com", "Jane@example.com", "JANE@EXAMPLE.COM", " jane@example.com", "jAne@example.com"} {
		clk.now = clk.now.Add(time.Second)
		ld := failedLogins("198.51.100."+string(rune('1'+i)), 1, clk.now)
		ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().PutStr(schema.AttrUserName, name)
		out, err := p.processLogs(context.Background(), ld)
		if err != nil {
			t.Fatal(err)
		}
		alerts = append(alerts, alertsIn(out)...)
	}
	if len(alerts) != 1 {
		t.Fatalf("5 failures against one account in 5 spellings: got %d alerts, want 1", len(alerts))
	}
	if k, _ := alerts[0].Attributes().Get(schema.AttrAlertKey); k.Str() != "jane@example.com" {
		t.Errorf("got alert key %q, want jane@example.com", k.Str())
	}
}

// TestRecordWithoutTimestamps: OTLP makes both timestamps optional, and a
// hand-written emitter may send neither. Such a record is dated when the
// collector observed it (the exporter would otherwise write @timestamp
// 1970-01-01, outside every query range), and two identical ones sent at
// different times are two records: with the timestamp zero, their derived
// ids were equal, so Elasticsearch kept only the first such record ever.
func TestRecordWithoutTimestamps(t *testing.T) {
	clk := &fixedClock{now: goldenNow}
	p := newTestLogs(t, createDefaultConfig(), clk.Now, nil)
	send := func() plog.LogRecord {
		ld := acmeRecord(func(a pcommon.Map) { a.PutStr(schema.AttrEvent, schema.EventLogin) })
		lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
		lr.SetTimestamp(0)
		out, err := p.processLogs(context.Background(), ld)
		if err != nil {
			t.Fatal(err)
		}
		return out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	}
	first := send()
	if got, want := first.ObservedTimestamp().AsTime(), goldenNow; !got.Equal(want) || first.Timestamp() != 0 {
		t.Errorf("got timestamp %d, observed %s; want no timestamp, observed %s (the collector's clock)", first.Timestamp(), got, want)
	}
	clk.now = clk.now.Add(time.Hour)
	second := send()
	a, b := attrStr(first, schema.AttrDocumentID), attrStr(second, schema.AttrDocumentID)
	if a == b {
		t.Errorf("two logins an hour apart without timestamps: got the same document id %q, want two", a)
	}
}

// TestIdenticalRecordsInOneBatch: an emitter with second-resolution
// timestamps and no ids sends five identical failed logins (one client
// trying one account five times in a second) in one request. They are five
// records: each gets its own document id, and the burst detector counts
// five. The same request sent again (a retry) gets the same five ids, so
// Elasticsearch still stores each once, and raises no second alert.
func TestIdenticalRecordsInOneBatch(t *testing.T) {
	clk := &fixedClock{now: goldenNow}
	cfg := createDefaultConfig()
	cfg.Burst.Keys = []string{schema.AttrClientAddress}
	p := newTestLogs(t, cfg, clk.Now, nil)
	batch := failedLogins("203.0.113.7", 5, goldenNow.Add(-10*time.Second))
	for _, lr := range batch.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().All() {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(goldenNow.Add(-10 * time.Second)))
		lr.Attributes().PutStr(schema.AttrUserName, "jane")
	}
	var runs [2][]string
	alerts := 0
	for i := range runs {
		ld := plog.NewLogs()
		batch.CopyTo(ld)
		out, err := p.processLogs(context.Background(), ld)
		if err != nil {
			t.Fatal(err)
		}
		alerts += len(alertsIn(out))
		for _, lr := range out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().All() {
			runs[i] = append(runs[i], attrStr(lr, schema.AttrDocumentID))
		}
	}
	seen := map[string]bool{}
	for _, id := range runs[0] {
		seen[id] = true
	}
	if len(seen) != 5 {
		t.Errorf("five identical records in one batch: got %d distinct document ids %v, want 5", len(seen), runs[0])
	}
	if fmt.Sprint(runs[0]) != fmt.Sprint(runs[1]) {
		t.Errorf("the batch sent again: got ids %v, then %v; want the same", runs[0], runs[1])
	}
	if alerts != 1 {
		t.Errorf("five failures from one address, sent twice: got %d alerts, want 1", alerts)
	}
}

// TestAlertOnAddressThatIsNotAnIP: failures from an emitter that sends a
// client address that is not an IP (moved to client.address.original, where
// the burst detector still counts it) raise an alert that keeps the address
// there too. Written back to client.address, an ip field, Elasticsearch
// would ignore the value and the alert could not be found by its address.
func TestAlertOnAddressThatIsNotAnIP(t *testing.T) {
	clk := &fixedClock{now: goldenNow}
	cfg := createDefaultConfig()
	cfg.Burst.Keys = []string{schema.AttrClientAddress}
	p := newTestLogs(t, cfg, clk.Now, nil)
	out, err := p.processLogs(context.Background(), failedLogins("gateway-7", 5, goldenNow.Add(-10*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	alerts := alertsIn(out)
	if len(alerts) != 1 {
		t.Fatalf("got %d alerts, want 1", len(alerts))
	}
	a := alerts[0]
	if v, ok := a.Attributes().Get(schema.AttrClientAddress); ok {
		t.Errorf("alert %s = %q, want no value that is not an IP there", schema.AttrClientAddress, v.AsString())
	}
	if got := attrStr(a, schema.AttrClientAddress+originalSuffix); got != "gateway-7" {
		t.Errorf("alert %s%s = %q, want %q", schema.AttrClientAddress, originalSuffix, got, "gateway-7")
	}
	if got := attrStr(a, schema.AttrAlertKey); got != "gateway-7" {
		t.Errorf("alert key = %q, want %q", got, "gateway-7")
	}
}
