package instrumentation_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/instrumentation/internal/sdkconfig"
	"github.com/activitylog/activitylog/schema"
)

// discard is a processor that drops every record, so the benchmarks measure
// building and emitting a record, not exporting it.
type discard struct{}

func (discard) OnEmit(context.Context, *sdklog.Record) error           { return nil }
func (discard) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (discard) Shutdown(context.Context) error                         { return nil }
func (discard) ForceFlush(context.Context) error                       { return nil }

// card has twelve fields; the benchmark changes three of them.
type card struct {
	ID        string    `json:"id"`
	Number    string    `json:"number"`
	Holder    string    `json:"holder"`
	Tier      string    `json:"tier"`
	Points    int       `json:"points"`
	Stamps    int       `json:"stamps"`
	Active    bool      `json:"active"`
	Balance   float64   `json:"balance"`
	Tenant    string    `json:"tenant"`
	Issued    time.Time `json:"issued"`
	ExpiresAt time.Time `json:"expires_at"`
	Notes     string    `json:"notes"`
}

// serviceProvider is configured as otlp.NewProvider configures the
// providers services get (sdkconfig.ProviderOptions: no key
// de-duplication by the SDK), with a discarding processor. The "ours"
// sub-benchmarks use it.
func serviceProvider(b *testing.B) *sdklog.LoggerProvider {
	lp := sdklog.NewLoggerProvider(append(sdkconfig.ProviderOptions(), sdklog.WithProcessor(discard{}))...)
	b.Cleanup(func() { _ = lp.Shutdown(context.Background()) })
	return lp
}

// defaultProvider is an SDK provider with its defaults (keys
// de-duplicated) and a discarding processor: what a hand-built record
// emitted with no configuration costs. The "baseline" sub-benchmarks use it.
func defaultProvider(b *testing.B) *sdklog.LoggerProvider {
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(discard{}))
	b.Cleanup(func() { _ = lp.Shutdown(context.Background()) })
	return lp
}

func BenchmarkUpdated(b *testing.B) {
	issued := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	before := card{ID: "c-1", Number: "6012 0000 0000 0001", Holder: "Ann Lee", Tier: "silver", Points: 120, Stamps: 3,
		Active: true, Balance: 12.5, Tenant: "t-1", Issued: issued, ExpiresAt: issued.AddDate(2, 0, 0), Notes: "vip"}
	after := before
	after.Tier, after.Points, after.Stamps = "gold", 220, 4
	subject := instrumentation.Subject{Category: instrumentation.Cards, Type: "card", ID: "c-1", Name: "Ann Lee's card"}
	ctx := requestContext()

	b.Run("ours", func(b *testing.B) {
		r := instrumentation.New(serviceProvider(b))
		b.ReportAllocs()
		for b.Loop() {
			if err := r.Updated(ctx, subject, before, after); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline", func(b *testing.B) {
		logger := defaultProvider(b).Logger(instrumentation.ScopeName)
		b.ReportAllocs()
		for b.Loop() {
			var rec log.Record
			rec.SetEventName(schema.EventName(schema.EventUpdated))
			rec.SetTimestamp(time.Now())
			rec.SetSeverity(log.SeverityInfo)
			rec.SetSeverityText("INFO")
			rec.SetBody(attribute.StringValue("Jane Doe (Partner) updated card 'Ann Lee's card'"))
			rec.AddAttributes(
				attribute.String(schema.AttrID, "0193a1b2-0000-7000-8000-000000000001"),
				attribute.String(schema.AttrDocumentID, "0193a1b2-0000-7000-8000-000000000001"),
				attribute.String(schema.AttrCategory, schema.CategoryCards),
				attribute.String(schema.AttrEvent, schema.EventUpdated),
				attribute.String(schema.AttrOutcome, schema.OutcomeSuccess),
				attribute.String(schema.AttrUserID, "u-1"),
				attribute.String(schema.AttrUserName, "Jane Doe"),
				attribute.StringSlice(schema.AttrUserRoles, []string{schema.ActorPartner}),
				attribute.String(schema.AttrActorType, schema.ActorPartner),
				attribute.String(schema.AttrTenantID, "t-1"),
				attribute.String(schema.AttrTenantName, "Bean There"),
				attribute.String(schema.AttrSubjectType, "card"),
				attribute.String(schema.AttrSubjectID, "c-1"),
				attribute.String(schema.AttrSubjectName, "Ann Lee's card"),
				attribute.String(schema.AttrClientAddress, "203.0.113.7"),
				attribute.String(schema.AttrUserAgent, "loyalty-app/2.1"),
				attribute.String(schema.AttrRequestID, "req-9"),
				attribute.Map(schema.AttrChanges,
					attribute.Map("tier", attribute.String("old", "silver"), attribute.String("new", "gold")),
					attribute.Map("points", attribute.Int("old", 120), attribute.Int("new", 220)),
					attribute.Map("stamps", attribute.Int("old", 3), attribute.Int("new", 4))),
				attribute.StringSlice(schema.AttrChangedFields, []string{"tier", "points", "stamps"}),
			)
			logger.Emit(ctx, rec)
		}
	})
}

func BenchmarkLoginFailed(b *testing.B) {
	ctx := requestContext()
	tried := instrumentation.Actor{Name: "jane@example.com", Type: instrumentation.ActorPartner}
	b.Run("ours", func(b *testing.B) {
		r := instrumentation.New(serviceProvider(b))
		b.ReportAllocs()
		for b.Loop() {
			if err := r.LoginFailed(ctx, tried, "invalid_password"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline", func(b *testing.B) {
		logger := defaultProvider(b).Logger(instrumentation.ScopeName)
		b.ReportAllocs()
		for b.Loop() {
			var rec log.Record
			rec.SetEventName(schema.EventName(schema.EventLoginFailed))
			rec.SetTimestamp(time.Now())
			rec.SetSeverity(log.SeverityWarn)
			rec.SetSeverityText("WARN")
			rec.SetBody(attribute.StringValue("jane@example.com (Partner) failed to log in: invalid password"))
			rec.AddAttributes(
				attribute.String(schema.AttrID, "0193a1b2-0000-7000-8000-000000000001"),
				attribute.String(schema.AttrDocumentID, "0193a1b2-0000-7000-8000-000000000001"),
				attribute.String(schema.AttrCategory, schema.CategoryAuth),
				attribute.String(schema.AttrEvent, schema.EventLoginFailed),
				attribute.String(schema.AttrOutcome, schema.OutcomeFailure),
				attribute.String(schema.AttrUserName, "jane@example.com"),
				attribute.StringSlice(schema.AttrUserRoles, []string{schema.ActorPartner}),
				attribute.String(schema.AttrActorType, schema.ActorPartner),
				attribute.String(schema.AttrTenantID, "t-1"),
				attribute.String(schema.AttrTenantName, "Bean There"),
				attribute.String(schema.AttrClientAddress, "203.0.113.7"),
				attribute.String(schema.AttrUserAgent, "loyalty-app/2.1"),
				attribute.String(schema.AttrRequestID, "req-9"),
				attribute.String(schema.AttrFailureReason, "invalid_password"),
			)
			logger.Emit(ctx, rec)
		}
	})
}

// BenchmarkChangesValue measures the map attribute of three scalar changes,
// with Value's check for repeated fields and keys, against the same map
// built by hand.
func BenchmarkChangesValue(b *testing.B) {
	changes := instrumentation.Changes{
		{Field: "tier", Old: attribute.StringValue("silver"), New: attribute.StringValue("gold")},
		{Field: "points", Old: attribute.IntValue(120), New: attribute.IntValue(220)},
		{Field: "stamps", Old: attribute.IntValue(3), New: attribute.IntValue(4)},
	}
	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = changes.Value()
		}
	})
	b.Run("baseline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = attribute.MapValue(
				attribute.Map("tier", attribute.String("old", "silver"), attribute.String("new", "gold")),
				attribute.Map("points", attribute.Int("old", 120), attribute.Int("new", 220)),
				attribute.Map("stamps", attribute.Int("old", 3), attribute.Int("new", 4)))
		}
	})
}
