package activityprocessor

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/activitylog/activitylog/processor/activityprocessor/internal/metadatatest"
	"github.com/activitylog/activitylog/schema"
)

// ingestAuth is the client.AuthData of a request let in by
// collector/ingestauth: the ingest mark, and the token's tenants when bound.
type ingestAuth struct{ tenants []string }

func (a ingestAuth) GetAttribute(name string) any {
	switch {
	case name == schema.AuthIngest:
		return true
	case name == schema.AuthTenants && a.tenants != nil:
		return a.tenants
	}
	return nil
}

func (a ingestAuth) GetAttributeNames() []string {
	if a.tenants == nil {
		return []string{schema.AuthIngest}
	}
	return []string{schema.AuthIngest, schema.AuthTenants}
}

// tenantsBatch is 4 failed logins for bean-there from one address (a burst
// with one more) and a record for acme.
func tenantsBatch() plog.Logs {
	ld := failedLogins("203.0.113.9", 4, goldenNow)
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < lrs.Len(); i++ {
		lrs.At(i).Attributes().PutStr(schema.AttrTenantID, "bean-there")
	}
	a := lrs.AppendEmpty().Attributes()
	a.PutStr(schema.AttrEvent, schema.EventCreated)
	a.PutStr(schema.AttrTenantID, "acme")
	return ld
}

// tenantsOf returns the tenants of the records of the batches, in order.
func tenantsOf(batches []plog.Logs) []string {
	var got []string
	for _, ld := range batches {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					tn, _ := lr.Attributes().Get(schema.AttrTenantID)
					got = append(got, tn.Str())
				}
			}
		}
	}
	return got
}

// startLogs puts ap in front of next, as the factory does, and starts it.
func startLogs(t *testing.T, ap *activityProcessor, set processor.Settings, next consumer.Logs) processor.Logs {
	t.Helper()
	p, err := ap.logs(context.Background(), set, next)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

// TestRequireIngestAuth proves that with require_ingest_auth a batch whose
// context lacks the ingest authenticator's mark (a batch processor before
// activity dropped the request's client.Info) is refused as a whole: nothing
// goes downstream, its records are counted as unauthenticated and as nothing
// else, its failed logins count for no burst, and the error is permanent.
// With the mark, bound and unbound tokens are handled as without the option;
// without the option, a context without client.Info is an unbound token's.
func TestRequireIngestAuth(t *testing.T) {
	bound := client.NewContext(context.Background(), client.Info{Auth: ingestAuth{tenants: []string{"acme"}}})
	unbound := client.NewContext(context.Background(), client.Info{Auth: ingestAuth{}})
	lost := context.Background()
	all := []string{"bean-there", "bean-there", "bean-there", "bean-there", "acme"}
	for _, tt := range []struct {
		name        string
		require     bool
		ctx         context.Context
		wantTenants []string
		wantReason  string // of records_dropped, "" for none
		wantDropped int64
	}{
		{"required, client info lost", true, lost, nil, reasonUnauthenticated, 5},
		{"required, metadata kept, auth lost", true, client.NewContext(context.Background(), client.Info{
			Metadata: client.NewMetadata(map[string][]string{"x-tenant": {"acme"}}),
		}), nil, reasonUnauthenticated, 5},
		{"required, bound to acme", true, bound, []string{"acme"}, reasonTenantNotAllow, 4},
		{"required, unbound", true, unbound, all, "", 0},
		{"not required, client info lost", false, lost, all, "", 0},
		{"not required, bound to acme", false, bound, []string{"acme"}, reasonTenantNotAllow, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tel := componenttest.NewTelemetry()
			t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
			cfg := createDefaultConfig()
			cfg.RequireIngestAuth = tt.require
			clk := &fixedClock{now: goldenNow}
			ap, err := newActivityProcessor(cfg, metadatatest.NewSettings(tel), clk.Now)
			if err != nil {
				t.Fatal(err)
			}
			next := new(consumertest.LogsSink)
			p := startLogs(t, ap, metadatatest.NewSettings(tel), next)

			err = p.ConsumeLogs(tt.ctx, tenantsBatch())
			if tt.wantReason == reasonUnauthenticated {
				if !consumererror.IsPermanent(err) {
					t.Errorf("got error %v, want a permanent one", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got := tenantsOf(next.AllLogs()); !slices.Equal(got, tt.wantTenants) {
				t.Errorf("got records of tenants %v downstream, want %v", got, tt.wantTenants)
			}

			// One more failed login from the address, as an unbound
			// token's: a burst only if the refused batch's 4 counted.
			next.Reset()
			clk.now = clk.now.Add(time.Second)
			if err := p.ConsumeLogs(unbound, failedLogins("203.0.113.9", 1, clk.now)); err != nil {
				t.Fatal(err)
			}
			wantAlerts := 1
			if tt.wantReason != "" {
				wantAlerts = 0 // bean-there's failed logins were dropped, or refused
			}
			var alerts int
			for _, ld := range next.AllLogs() {
				alerts += len(alertsIn(ld))
			}
			if alerts != wantAlerts {
				t.Errorf("got %d alerts after one more failed login, want %d", alerts, wantAlerts)
			}

			// Counted once, for the first batch: the second drops nothing.
			opts := []metricdatatest.Option{metricdatatest.IgnoreTimestamp()}
			if tt.wantReason != "" {
				metadatatest.AssertEqualProcessorActivityRecordsDropped(t, tel, []metricdata.DataPoint[int64]{
					{Value: tt.wantDropped, Attributes: attribute.NewSet(attribute.String("reason", tt.wantReason))},
				}, opts...)
			} else if _, err := tel.GetMetric("otelcol_processor_activity_records_dropped"); err == nil {
				t.Error("records dropped, want none")
			}
		})
	}
}

// TestRequireIngestAuthLogsOncePerMinute proves that refused batches are
// logged, naming the likely cause, at most once a minute: a misconfigured
// pipeline refuses every batch.
func TestRequireIngestAuthLogsOncePerMinute(t *testing.T) {
	core, logs := observer.New(zapcore.ErrorLevel)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	set := metadatatest.NewSettings(tel)
	set.Logger = zap.New(core)
	cfg := createDefaultConfig()
	cfg.RequireIngestAuth = true
	clk := &fixedClock{now: goldenNow}
	ap, err := newActivityProcessor(cfg, set, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	next := new(consumertest.LogsSink)
	p := startLogs(t, ap, set, next)
	for _, step := range []struct {
		advance  time.Duration
		wantLogs int
	}{
		{0, 1}, {time.Second, 1}, {58 * time.Second, 1}, {time.Second, 2}, {30 * time.Second, 2},
	} {
		clk.now = clk.now.Add(step.advance)
		if err := p.ConsumeLogs(context.Background(), tenantsBatch()); !errors.Is(err, errUnauthenticated) {
			t.Fatalf("got error %v, want %v", err, errUnauthenticated)
		}
		if got := logs.Len(); got != step.wantLogs {
			t.Fatalf("after %s more: got %d error logs, want %d", step.advance, got, step.wantLogs)
		}
	}
	if n := next.LogRecordCount(); n != 0 {
		t.Errorf("got %d records downstream, want none", n)
	}
	for _, e := range logs.All() {
		if want := "such as batch, drops the request's client info: put activity first"; !strings.Contains(e.Message, want) {
			t.Errorf("got log %q, want it to name the cause (%q)", e.Message, want)
		}
	}
}
