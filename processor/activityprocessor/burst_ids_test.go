package activityprocessor

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/activitylog/activitylog/processor/activityprocessor/internal/redact"
	"github.com/activitylog/activitylog/schema"
)

// TestDroppedFailuresWithPlaceholderIDsCount proves that failed logins
// dropped by the tenant policy, from an emitter that never sets its ids
// (every record carries the nil or the max UUID), count as the distinct
// failures they are: before, the burst detector took the placeholder for the
// records' id, saw the second failure as a resend of the first, and a burst
// of any size raised no alert. Kept records, which route gives derived ids,
// were not affected.
func TestDroppedFailuresWithPlaceholderIDsCount(t *testing.T) {
	for _, placeholder := range []string{nilUUID, maxUUID, "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"} {
		t.Run(placeholder, func(t *testing.T) {
			clk := &fixedClock{now: goldenNow}
			cfg := createDefaultConfig()
			cfg.Tenant.Missing = PolicyDrop
			p := newTestLogs(t, cfg, clk.Now, nil)
			ld := failedLogins("203.0.113.9", 5, clk.now.Add(-10*time.Second))
			lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			for i := 0; i < lrs.Len(); i++ {
				lrs.At(i).Attributes().Remove(schema.AttrTenantID)
				lrs.At(i).Attributes().PutStr(schema.AttrID, placeholder)
			}
			out, err := p.processLogs(context.Background(), ld)
			if err != nil {
				t.Fatal(err)
			}
			// Every failure is dropped; what is left are the alerts, one
			// per key (client.address; the records have no user name).
			if got, want := len(alertsIn(out)), 1; got != want {
				t.Errorf("5 dropped failures with id %s: got %d alerts, want %d", placeholder, got, want)
			}
			if got := out.LogRecordCount(); got != 1 {
				t.Errorf("got %d records out, want only the alert", got)
			}
		})
	}
}

// TestMaskedBurstKeysAreNotCounted proves that failed logins whose user
// name a value detector masked (a card number typed into the name field) are
// not counted under the mask: five accounts' failures, from five addresses,
// raised "5 failed logins for user [redacted]" before. Their addresses still
// count, each on its own.
func TestMaskedBurstKeysAreNotCounted(t *testing.T) {
	clk := &fixedClock{now: goldenNow}
	p := newTestLogs(t, createDefaultConfig(), clk.Now, nil)
	names := []string{"4111 1111 1111 1111", "5555 5555 5555 4444", "4012 8888 8888 1881", "3782 822463 10005", "6011 1111 1111 1117"}
	ld := failedLogins("", len(names), clk.now.Add(-10*time.Second))
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i, name := range names {
		a := lrs.At(i).Attributes()
		a.PutStr(schema.AttrClientAddress, "198.51.100."+strconv.Itoa(i+1))
		a.PutStr(schema.AttrUserName, name)
	}
	out, err := p.processLogs(context.Background(), ld)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alertsIn(out) {
		t.Errorf("got alert %q, want none", a.Body().Str())
	}
	// The names were masked indeed: the test is about the mask.
	if v, _ := lrs.At(0).Attributes().Get(schema.AttrUserName); v.Str() != redact.Mask {
		t.Fatalf("user.name: got %q, want %q", v.Str(), redact.Mask)
	}
}
