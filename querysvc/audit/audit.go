package audit

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"

	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/schema"
)

// ScopeName is the instrumentation scope of audit records.
const ScopeName = "github.com/activitylog/activitylog/querysvc"

// SubjectType is the activity.subject.type of audit records: the thing read
// is the activity log itself (or one record of it, whose id is the subject id).
const SubjectType = "activity_log"

// Auditor emits audit records. It is safe for concurrent use.
type Auditor struct {
	logger log.Logger
	now    func() time.Time
	newID  func() (string, error)
}

var _ querysvc.Auditor = (*Auditor)(nil)

// Option configures an Auditor.
type Option interface{ apply(*Auditor) }

type optionFunc func(*Auditor)

func (f optionFunc) apply(a *Auditor) { f(a) }

// WithClock sets the clock that timestamps records. Default time.Now.
func WithClock(now func() time.Time) Option { return optionFunc(func(a *Auditor) { a.now = now }) }

// WithIDGenerator sets how record ids are made. Default UUIDv7.
func WithIDGenerator(f func() (string, error)) Option {
	return optionFunc(func(a *Auditor) { a.newID = f })
}

// New returns an Auditor emitting through a logger of lp.
func New(lp log.LoggerProvider, opts ...Option) *Auditor {
	a := &Auditor{
		logger: lp.Logger(ScopeName),
		now:    time.Now,
		newID: func() (string, error) {
			id, err := uuid.NewV7()
			return id.String(), err
		},
	}
	for _, o := range opts {
		o.apply(a)
	}
	return a
}

// Viewed implements querysvc.Auditor.
func (a *Auditor) Viewed(ctx context.Context, p querysvc.Principal, v querysvc.View) {
	id, err := a.newID()
	if err != nil {
		id = uuid.NewString() // random v4: a record without an id would be worse
	}
	outcome, severity, severityText := schema.OutcomeSuccess, log.SeverityInfo, "INFO"
	if v.Status >= 400 {
		outcome, severity, severityText = schema.OutcomeFailure, log.SeverityWarn, "WARN"
	}
	var rec log.Record
	rec.SetEventName(schema.EventName(schema.EventViewed))
	rec.SetTimestamp(a.now())
	rec.SetSeverity(severity)
	rec.SetSeverityText(severityText)
	rec.SetBody(attribute.StringValue(describe(p, v)))

	actorType := p.Role.ActorType()
	attrs := []attribute.KeyValue{
		attribute.String(schema.AttrID, id),
		attribute.String(schema.AttrCategory, schema.CategoryAudit),
		attribute.String(schema.AttrEvent, schema.EventViewed),
		attribute.String(schema.AttrOutcome, outcome),
		attribute.String(schema.AttrUserID, p.Subject),
		attribute.String(schema.AttrSubjectType, SubjectType),
		attribute.String(schema.AttrQueryEndpoint, v.Endpoint),
		attribute.Int(schema.AttrQueryStatus, v.Status),
	}
	if actorType != "" {
		attrs = append(attrs,
			attribute.StringSlice(schema.AttrUserRoles, []string{actorType}),
			attribute.String(schema.AttrActorType, actorType))
	}
	add := func(k, val string) {
		if val != "" {
			attrs = append(attrs, attribute.String(k, val))
		}
	}
	add(schema.AttrUserName, p.Name)
	// A partner's reads belong to its tenant; an admin's to the tenant it
	// filtered on, so that tenant can see that its records were read.
	tenant := p.Tenant
	if tenant == "" {
		tenant = v.Params["tenant"]
	}
	add(schema.AttrTenantID, tenant)
	add(schema.AttrSubjectID, v.ID)
	add(schema.AttrClientAddress, v.ClientAddress)
	add(schema.AttrUserAgent, v.UserAgent)
	add(schema.AttrRequestID, v.RequestID)
	if v.Status >= 400 {
		add(schema.AttrFailureReason, fmt.Sprintf("http_%d", v.Status))
	}
	if len(v.Params) > 0 {
		kvs := make([]attribute.KeyValue, 0, len(v.Params))
		for _, k := range slices.Sorted(maps.Keys(v.Params)) {
			kvs = append(kvs, attribute.String(k, v.Params[k]))
		}
		attrs = append(attrs, attribute.Map(schema.AttrQueryParams, kvs...))
	}
	rec.AddAttributes(attrs...)
	a.logger.Emit(ctx, rec)
}

// describe is the record's plain-English body.
func describe(p querysvc.Principal, v querysvc.View) string {
	var b strings.Builder
	who := p.Name
	if who == "" {
		who = p.Subject
	}
	fmt.Fprintf(&b, "%s (%s) viewed %s", who, p.Role.ActorType(), v.Endpoint)
	if v.ID != "" {
		fmt.Fprintf(&b, " for %q", v.ID)
	}
	if len(v.Params) > 0 {
		b.WriteString(" with ")
		for i, k := range slices.Sorted(maps.Keys(v.Params)) {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s=%q", k, v.Params[k])
		}
	}
	if v.Status >= 400 {
		fmt.Fprintf(&b, " (refused: HTTP %d)", v.Status)
	}
	return b.String()
}
