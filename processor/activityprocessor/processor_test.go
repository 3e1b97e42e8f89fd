package activityprocessor

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/activitylog/activitylog/processor/activityprocessor/internal/metadatatest"
	"github.com/activitylog/activitylog/schema"
)

// failedLogins builds n failed logins from ip, one second apart from start.
func failedLogins(ip string, n int, start time.Time) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(schema.AttrServiceName, "legacy-auth")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i := 0; i < n; i++ {
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(i) * time.Second)))
		lr.SetEventName(schema.EventName(schema.EventLoginFailed))
		a := lr.Attributes()
		a.PutStr(schema.AttrEvent, schema.EventLoginFailed)
		a.PutStr(schema.AttrCategory, schema.CategoryAuth)
		a.PutStr(schema.AttrClientAddress, ip)
		a.PutStr(schema.AttrTenantID, "acme")
	}
	return ld
}

// alertsIn returns the alert records of ld.
func alertsIn(ld plog.Logs) []plog.LogRecord {
	var out []plog.LogRecord
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				if lrs.At(k).EventName() == schema.EventName(schema.EventFailedLoginBurst) {
					out = append(out, lrs.At(k))
				}
			}
		}
	}
	return out
}

// TestBurstAcrossBatches runs the burst scenarios through the
// processor, one record per batch, with an injected clock.
func TestBurstAcrossBatches(t *testing.T) {
	clk := &fixedClock{now: goldenNow}
	p := newTestLogs(t, createDefaultConfig(), clk.Now, nil)
	ctx := context.Background()
	send := func(ip string) int {
		clk.now = clk.now.Add(time.Second)
		out, err := p.processLogs(ctx, failedLogins(ip, 1, clk.now))
		if err != nil {
			t.Fatal(err)
		}
		return len(alertsIn(out))
	}
	for i := 0; i < 4; i++ {
		if n := send("203.0.113.7"); n != 0 {
			t.Fatalf("failure %d: got %d alerts, want 0", i+1, n)
		}
	}
	if n := send("203.0.113.7"); n != 1 {
		t.Fatalf("5th failure: got %d alerts, want exactly 1", n)
	}
	total := 0
	for i := 0; i < 50; i++ {
		total += send("203.0.113.7")
	}
	if total != 0 {
		t.Errorf("50 more inside the cooldown: got %d alerts, want 0", total)
	}
	// Two more addresses bursting together: one alert each.
	got := map[string]int{}
	for i := 0; i < 5; i++ {
		clk.now = clk.now.Add(time.Second)
		ld := failedLogins("198.51.100.1", 1, clk.now)
		failedLogins("198.51.100.2", 1, clk.now).ResourceLogs().MoveAndAppendTo(ld.ResourceLogs())
		out, err := p.processLogs(ctx, ld)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range alertsIn(out) {
			v, _ := a.Attributes().Get(schema.AttrAlertKey)
			got[v.Str()]++
		}
	}
	if len(got) != 2 || got["198.51.100.1"] != 1 || got["198.51.100.2"] != 1 {
		t.Errorf("two addresses: got alerts %v, want one per address", got)
	}
}

// TestBurstAcrossTenants: one address failing against two businesses
// raises an alert only admins read (tenant unknown); one failing against
// one business, an alert of that business.
func TestBurstAcrossTenants(t *testing.T) {
	clk := &fixedClock{now: goldenNow}
	p := newTestLogs(t, createDefaultConfig(), clk.Now, nil)
	tenantOfAlert := func(ip string, tenants ...string) string {
		ld := failedLogins(ip, len(tenants), clk.now)
		lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i, tn := range tenants {
			lrs.At(i).Attributes().PutStr(schema.AttrTenantID, tn)
		}
		out, err := p.processLogs(context.Background(), ld)
		if err != nil {
			t.Fatal(err)
		}
		alerts := alertsIn(out)
		if len(alerts) != 1 {
			t.Fatalf("%s: got %d alerts, want 1", ip, len(alerts))
		}
		v, _ := alerts[0].Attributes().Get(schema.AttrTenantID)
		return v.Str()
	}
	if got := tenantOfAlert("203.0.113.7", "acme", "beta", "acme", "acme", "acme"); got != schema.TenantUnknown {
		t.Errorf("two tenants: got alert tenant %q, want %q", got, schema.TenantUnknown)
	}
	if got := tenantOfAlert("203.0.113.8", "acme", "acme", "acme", "acme", "acme"); got != "acme" {
		t.Errorf("one tenant: got alert tenant %q, want acme", got)
	}
}

// TestPlatformRecords: under the drop policy for missing tenants, the
// records an admin makes without a tenant (on the platform itself, or
// reading across tenants) are kept, tagged unknown and not counted; other
// records without a tenant are dropped and counted. With no platform actor
// types, admins' records are treated like any other.
func TestPlatformRecords(t *testing.T) {
	records := func() plog.Logs {
		ld := plog.NewLogs()
		lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		for _, r := range []struct{ id, actor, tenant string }{
			{"0199a0e4-0000-7000-8000-000000000001", schema.ActorAdmin, ""},
			{"0199a0e4-0000-7000-8000-000000000002", "admin", ""},
			{"0199a0e4-0000-7000-8000-000000000003", schema.ActorPartner, ""},
			{"0199a0e4-0000-7000-8000-000000000004", "", ""},
			{"0199a0e4-0000-7000-8000-000000000005", schema.ActorAdmin, "Acme"},
		} {
			a := lrs.AppendEmpty().Attributes()
			a.PutStr(schema.AttrID, r.id)
			a.PutStr(schema.AttrEvent, schema.EventCreated)
			if r.actor != "" {
				a.PutStr(schema.AttrActorType, r.actor)
			}
			if r.tenant != "" {
				a.PutStr(schema.AttrTenantID, r.tenant)
			}
		}
		return ld
	}
	tests := []struct {
		name        string
		platform    []string
		wantTenants map[string]string // id suffix -> tenant of the records kept
		wantMissing int64
	}{
		{"admins by default", createDefaultConfig().Tenant.PlatformActorTypes,
			map[string]string{"01": schema.TenantUnknown, "02": schema.TenantUnknown, "05": "acme"}, 2},
		{"none", nil, map[string]string{"05": "acme"}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tel := componenttest.NewTelemetry()
			t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
			cfg := createDefaultConfig()
			cfg.Tenant.Missing = PolicyDrop
			cfg.Tenant.PlatformActorTypes = tt.platform
			clk := &fixedClock{now: goldenNow}
			p, err := newActivityProcessor(cfg, metadatatest.NewSettings(tel), clk.Now)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.shutdown(context.Background()) })
			out, err := p.processLogs(context.Background(), records())
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			lrs := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			for i := 0; i < lrs.Len(); i++ {
				id, _ := lrs.At(i).Attributes().Get(schema.AttrID)
				tn, _ := lrs.At(i).Attributes().Get(schema.AttrTenantID)
				got[id.Str()[len(id.Str())-2:]] = tn.Str()
			}
			if !maps.Equal(got, tt.wantTenants) {
				t.Errorf("got records (id suffix: tenant) %v, want %v", got, tt.wantTenants)
			}
			opts := []metricdatatest.Option{metricdatatest.IgnoreTimestamp()}
			metadatatest.AssertEqualProcessorActivityTenantMissing(t, tel, []metricdata.DataPoint[int64]{{Value: tt.wantMissing}}, opts...)
		})
	}
}

// TestTelemetry checks every counter through the generated telemetry
// builder.
func TestTelemetry(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	cfg := createDefaultConfig()
	cfg.Tenant.Missing = PolicyDrop
	cfg.Tenant.ServiceTenants = map[string]string{"legacy-auth": "beta"}
	cfg.Burst.MaxKeys = 3
	cfg.Burst.Keys = []string{schema.AttrClientAddress}
	clk := &fixedClock{now: goldenNow}
	p, err := newActivityProcessor(cfg, metadatatest.NewSettings(tel), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.shutdown(context.Background()) })
	ctx := context.Background()

	// 5 failures from one address (tenant acme vs service tenant beta: 5
	// conflicts), then 3 single failures from other addresses: 4 keys for a
	// limit of 3, so one eviction.
	if _, err := p.processLogs(ctx, failedLogins("203.0.113.7", 5, goldenNow)); err != nil {
		t.Fatal(err)
	}
	for _, ip := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"} {
		if _, err := p.processLogs(ctx, failedLogins(ip, 1, goldenNow)); err != nil {
			t.Fatal(err)
		}
	}
	// Two records with secrets, one of them without any tenant source.
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	a := lrs.AppendEmpty().Attributes()
	a.PutStr("password", "x")
	a.PutStr("note", "Bearer abcdefghijklmnop")
	a.PutStr(schema.AttrTenantID, "acme")
	lrs.AppendEmpty().Attributes().PutStr("token", "y")
	// A record claiming the reserved tenant has none.
	lrs.AppendEmpty().Attributes().PutStr(schema.AttrTenantID, " Unknown")
	forged := lrs.AppendEmpty().Attributes()
	forged.PutStr(schema.AttrEvent, schema.EventFailedLoginBurst)
	forged.PutStr(schema.AttrTenantID, "acme")
	// Two repeated keys, at the top and nested.
	mustRaw(`{"activity.tenant.id":"acme","x":"1","x":"2","m":{"y":1,"y":2}}`).CopyTo(lrs.AppendEmpty().Attributes())
	if _, err := p.processLogs(ctx, ld); err != nil {
		t.Fatal(err)
	}

	opts := []metricdatatest.Option{metricdatatest.IgnoreTimestamp()}
	metadatatest.AssertEqualProcessorActivityAlertsEmitted(t, tel, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("rule", schema.AlertRuleFailedLoginBurst))},
	}, opts...)
	metadatatest.AssertEqualProcessorActivityBurstKeysEvicted(t, tel, []metricdata.DataPoint[int64]{{Value: 1}}, opts...)
	metadatatest.AssertEqualProcessorActivityTenantConflicts(t, tel, []metricdata.DataPoint[int64]{{Value: 8}}, opts...)
	metadatatest.AssertEqualProcessorActivityTenantMissing(t, tel, []metricdata.DataPoint[int64]{{Value: 2}}, opts...)
	metadatatest.AssertEqualProcessorActivityRecordsDropped(t, tel, []metricdata.DataPoint[int64]{
		{Value: 2, Attributes: attribute.NewSet(attribute.String("reason", reasonTenantMissing))},
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", reasonForgedAlert))},
	}, opts...)
	metadatatest.AssertEqualProcessorActivityRecordsRedacted(t, tel, []metricdata.DataPoint[int64]{{Value: 2}}, opts...)
	metadatatest.AssertEqualProcessorActivityDuplicateKeys(t, tel, []metricdata.DataPoint[int64]{{Value: 2}}, opts...)
	metadatatest.AssertEqualProcessorActivityRedactions(t, tel, []metricdata.DataPoint[int64]{
		{Value: 2, Attributes: attribute.NewSet(attribute.String("rule", "key"))},
		{Value: 1, Attributes: attribute.NewSet(attribute.String("rule", "bearer"))},
	}, append(opts, metricdatatest.IgnoreValue())...)
	redactions, err := tel.GetMetric("otelcol_processor_activity_redactions")
	if err != nil {
		t.Fatal(err)
	}
	byRule := map[string]int64{}
	for _, dp := range redactions.Data.(metricdata.Sum[int64]).DataPoints {
		r, _ := dp.Attributes.Value("rule")
		byRule[r.AsString()] = dp.Value
	}
	if byRule["key"] != 2 || byRule["bearer"] != 1 || len(byRule) != 2 {
		t.Errorf("redactions by rule: got %v, want key=2 bearer=1", byRule)
	}
}

func TestStringNeedsCheck(t *testing.T) {
	p := newTestLogs(t, createDefaultConfig(), time.Now, nil)
	for attr, typ := range typedAttributes() {
		want := typ != schema.TypeKeyword && typ != schema.TypeText
		if got := p.stringNeedsCheck(attr); got != want {
			t.Errorf("stringNeedsCheck(%q) for a %s field: got %v, want %v", attr, typ, got, want)
		}
	}
	if p.stringNeedsCheck("free.form") {
		t.Errorf("stringNeedsCheck(free.form): got true, want false")
	}
}

// TestConcurrentBatches runs batches from several goroutines at once, as
// several receivers would; with -race it checks the shared burst state.
func TestConcurrentBatches(t *testing.T) {
	clk := &fixedClock{now: goldenNow}
	p := newTestLogs(t, createDefaultConfig(), clk.Now, nil)
	const workers, perWorker = 4, 25
	alerts := make(chan int, workers)
	for w := 0; w < workers; w++ {
		go func() {
			n := 0
			for i := 0; i < perWorker; i++ {
				// 100 distinct failures (the detector counts a resent one once).
				ld := failedLogins("203.0.113.99", 1, goldenNow)
				ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().PutStr(schema.AttrUserName, "u"+strconv.Itoa(w*perWorker+i))
				out, err := p.processLogs(context.Background(), ld)
				if err != nil {
					t.Error(err)
				}
				n += len(alertsIn(out))
			}
			alerts <- n
		}()
	}
	total := 0
	for w := 0; w < workers; w++ {
		total += <-alerts
	}
	// 100 failures inside one window and cooldown: exactly one alert.
	if total != 1 {
		t.Errorf("got %d alerts from %d concurrent failures, want 1", total, workers*perWorker)
	}
}

// TestManyMalformedTypedAttributes checks every malformed typed attribute is
// moved, however many a record has (each would make Elasticsearch reject it).
func TestManyMalformedTypedAttributes(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.TrustIncomingAlerts = true // the alert fields are the long and date ones
	p := newTestLogs(t, cfg, time.Now, nil)
	bad := []string{schema.AttrAlertCount, schema.AttrAlertThreshold, schema.AttrAlertWindowSeconds,
		schema.AttrAlertFirstSeen, schema.AttrAlertLastSeen, schema.AttrChanges, schema.AttrClientAddress}
	ld := oneRecord(func(lr plog.LogRecord) {
		for _, k := range bad {
			lr.Attributes().PutEmptySlice(k).AppendEmpty().SetEmptyMap().PutStr("x", "y")
		}
	})
	out, err := p.processLogs(context.Background(), ld)
	if err != nil {
		t.Fatal(err)
	}
	attrs := firstRecord(out).Attributes()
	for _, k := range bad {
		if _, ok := attrs.Get(k); ok {
			t.Errorf("%s: got it kept, want it moved", k)
		}
		if v, ok := attrs.Get(k + originalSuffix); !ok || v.Str() != `[{"x":"y"}]` {
			t.Errorf("%s%s: got %q, want the JSON of the value", k, originalSuffix, v.AsString())
		}
	}
}

func TestRenameBlankKeys(t *testing.T) {
	runMapCases(t, renameEmptyKey, []mapCase{
		{"none", `{"a":"1"}`, `{"a":"1"}`},
		{"empty", `{"":"e","a":"1"}`, `{"a":"1","empty_key":"e"}`},
		{"space, tab, no-break space, unit separator", `{" ":"s","\t":"t","\u00a0":"n","\u001f":"u","a":"1"}`, `{"a":"1","empty_key":"s"}`},
		{"the first blank key wins", `{"\t":"t","":"e"}`, `{"empty_key":"t"}`},
		{"an emitter's empty_key is replaced", `{"empty_key":"mine","":"e"}`, `{"empty_key":"e"}`},
		{"spaces around a name are kept", `{" a ":"1","a b":"2"}`, `{" a ":"1","a b":"2"}`},
	})
	for _, k := range []string{"", " ", "\u3000\u2028", "\x1c"} {
		if !isBlank(k) {
			t.Errorf("isBlank(%q): got false, want true", k)
		}
	}
	for _, k := range []string{"a", " a", "\u200b", "\x00", "\x7f"} {
		if isBlank(k) {
			t.Errorf("isBlank(%q): got true, want false", k)
		}
	}
}

func TestMappedPrefixes(t *testing.T) {
	rec := mappedPrefixes(schema.Path)
	for _, k := range []string{"activity", "activity.tenant", "user", "client"} {
		if !rec[k] {
			t.Errorf("record prefixes: %q missing", k)
		}
	}
	for _, k := range []string{schema.AttrTenantID, schema.AttrChanges, "activity.tenant.id.x", "act"} {
		if rec[k] {
			t.Errorf("record prefixes: got %q, want it left out", k)
		}
	}
	res := mappedPrefixes(schema.ResourcePath)
	if !res["service"] || !res["deployment.environment"] || res["activity"] {
		t.Errorf("resource prefixes: got %v, want service and deployment.environment, not activity", res)
	}
}

func TestUnnest(t *testing.T) {
	m := mustRaw(`{"map":{"a":1},"list":["x",[{"b":2}]],"flat":["x","y"],"s":"str","n":3}`)
	var got []string
	for k, v := range m.All() {
		if unnest(v) {
			got = append(got, k+"="+v.Str())
		}
	}
	want := []string{`map={"a":1}`, `list=["x",[{"b":2}]]`}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSeparateGeo(t *testing.T) {
	runMapCases(t, separateGeo, []mapCase{
		{"the pair and the merged name", `{"geo.location":"Berlin","geo.location.lat":52.5,"geo.location.lon":13.4}`,
			`{"geo.location.lat":52.5,"geo.location.lon":13.4,"geo.location.original":"Berlin"}`},
		{"under a prefix", `{"client.geo.location":[1,2],"client.geo.location.lat":1.5,"client.geo.location.lon":2.5}`,
			`{"client.geo.location.lat":1.5,"client.geo.location.lon":2.5,"client.geo.location.original":"[1,2]"}`},
		{"half a pair", `{"geo.location":"x","geo.location.lat":1.5}`, `{"geo.location":"x","geo.location.lat":1.5}`},
		{"not doubles", `{"geo.location":"x","geo.location.lat":"1.5","geo.location.lon":2}`,
			`{"geo.location":"x","geo.location.lat":"1.5","geo.location.lon":2}`},
		{"another prefix", `{"a.geo.location":"x","b.geo.location.lat":1.5,"b.geo.location.lon":2.5}`,
			`{"a.geo.location":"x","b.geo.location.lat":1.5,"b.geo.location.lon":2.5}`},
		{"no dot before", `{"xgeo.location":"x","xgeo.location.lat":1.5,"xgeo.location.lon":2.5}`,
			`{"xgeo.location":"x","xgeo.location.lat":1.5,"xgeo.location.lon":2.5}`},
	})
}

// mapCase is a map, as a JSON object whose keys may repeat, and the map a
// change in place must leave, as JSON with sorted keys.
type mapCase struct{ name, doc, want string }

// runMapCases applies change to each case's map and compares the result.
func runMapCases(t *testing.T, change func(pcommon.Map), cases []mapCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := mustRaw(c.doc)
			change(m)
			got, _ := json.Marshal(m.AsRaw())
			if string(got) != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
}

// tokenAuth is the client.AuthData of a request whose ingest token is bound
// to tenants, as collector/ingestauth makes it.
type tokenAuth []string

func (a tokenAuth) GetAttribute(name string) any {
	if name == schema.AuthTenants {
		return []string(a)
	}
	return nil
}

func (tokenAuth) GetAttributeNames() []string { return []string{schema.AuthTenants} }

// TestTenantNotAllowed proves that a batch whose ingest token is bound to
// acme keeps acme's records and drops, counted as tenant_not_allowed and as
// nothing else, those of another tenant and those without a tenant (even an
// admin's, which would be stored as unknown); and that failed logins so
// dropped raise no burst alert. Without a binding, every record is kept.
func TestTenantNotAllowed(t *testing.T) {
	batch := func() plog.Logs {
		// 5 failed logins from one address for bean-there (a burst if
		// counted), one acme record, and an admin's record without a tenant.
		ld := failedLogins("203.0.113.9", 5, goldenNow)
		lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := 0; i < lrs.Len(); i++ {
			lrs.At(i).Attributes().PutStr(schema.AttrTenantID, "bean-there")
		}
		a := lrs.AppendEmpty().Attributes()
		a.PutStr(schema.AttrEvent, schema.EventCreated)
		a.PutStr(schema.AttrTenantID, "ACME")
		a.PutStr("password", "x")
		admin := lrs.AppendEmpty().Attributes()
		admin.PutStr(schema.AttrEvent, schema.EventCreated)
		admin.PutStr(schema.AttrActorType, schema.ActorAdmin)
		return ld
	}
	for _, tt := range []struct {
		name        string
		ctx         context.Context
		wantTenants []string // of the records kept, alerts aside
		wantAlerts  int
		wantDropped int64
	}{
		{"bound to acme", client.NewContext(context.Background(), client.Info{Auth: tokenAuth{"acme"}}),
			[]string{"acme"}, 0, 7 - 1},
		{"bound to none", client.NewContext(context.Background(), client.Info{Auth: tokenAuth{}}), nil, 0, 7},
		{"unbound", context.Background(),
			[]string{"bean-there", "bean-there", "bean-there", "bean-there", "bean-there", "acme", schema.TenantUnknown}, 1, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tel := componenttest.NewTelemetry()
			t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
			p, err := newActivityProcessor(createDefaultConfig(), metadatatest.NewSettings(tel), (&fixedClock{now: goldenNow}).Now)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.shutdown(context.Background()) })
			out, err := p.processLogs(tt.ctx, batch())
			if len(tt.wantTenants) == 0 {
				if !errors.Is(err, processorhelper.ErrSkipProcessingData) {
					t.Fatalf("got error %v, want ErrSkipProcessingData", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			var got []string
			lrs := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			for i := 0; i < lrs.Len(); i++ {
				tn, _ := lrs.At(i).Attributes().Get(schema.AttrTenantID)
				got = append(got, tn.Str())
			}
			if !slices.Equal(got, tt.wantTenants) {
				t.Errorf("got records of tenants %v, want %v", got, tt.wantTenants)
			}
			if n := len(alertsIn(out)); n != tt.wantAlerts {
				t.Errorf("got %d alerts, want %d", n, tt.wantAlerts)
			}
			opts := []metricdatatest.Option{metricdatatest.IgnoreTimestamp()}
			if tt.wantDropped > 0 {
				metadatatest.AssertEqualProcessorActivityRecordsDropped(t, tel, []metricdata.DataPoint[int64]{
					{Value: tt.wantDropped, Attributes: attribute.NewSet(attribute.String("reason", reasonTenantNotAllow))},
				}, opts...)
			} else if _, err := tel.GetMetric("otelcol_processor_activity_records_dropped"); err == nil {
				t.Error("records dropped, want none")
			}
			// Nothing else counts the dropped records: acme's password
			// is the only redaction when bound to acme.
			wantRedacted := int64(1)
			if tt.wantTenants == nil {
				wantRedacted = 0
			}
			if wantRedacted > 0 {
				metadatatest.AssertEqualProcessorActivityRecordsRedacted(t, tel, []metricdata.DataPoint[int64]{{Value: wantRedacted}}, opts...)
			} else if _, err := tel.GetMetric("otelcol_processor_activity_records_redacted"); err == nil {
				t.Error("records counted as redacted, want none")
			}
			if _, err := tel.GetMetric("otelcol_processor_activity_tenant_missing"); err == nil && tt.ctx != context.Background() {
				t.Error("a dropped record counted as missing its tenant")
			}
		})
	}
}
