package activityprocessor

import (
	"context"
	"testing"
	"time"

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
