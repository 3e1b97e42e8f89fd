package audit

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/log"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/internal/safetext"
	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/schema"
)

// ScopeName is the instrumentation scope of audit records: the
// instrumentation library's, because they are emitted through its Recorder.
const ScopeName = instrumentation.ScopeName

// SubjectType is the activity.subject.type of audit records: the thing read
// is the activity log itself (or one record of it, whose id is the subject id).
const SubjectType = "activity_log"

// Auditor emits audit records through an instrumentation.Recorder. It is
// safe for concurrent use.
type Auditor struct {
	rec     *instrumentation.Recorder
	onError func(error)
}

var _ querysvc.Auditor = (*Auditor)(nil)

// Option configures an Auditor.
type Option interface{ apply(*config) }

type config struct {
	now     func() time.Time
	newID   func() (string, error)
	onError func(error)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithClock sets the clock that timestamps records. Default time.Now; nil
// means the default.
func WithClock(now func() time.Time) Option { return optionFunc(func(c *config) { c.now = now }) }

// WithIDGenerator sets how record ids are made. Default UUIDv7; nil means the
// default. When f fails, the record gets a random UUIDv4 instead: an audit
// record is never dropped for want of an id.
func WithIDGenerator(f func() (string, error)) Option {
	return optionFunc(func(c *config) {
		if f != nil {
			c.newID = f
		}
	})
}

// WithErrorHandler sets what receives the errors of recording, which can only
// be about the event itself (see instrumentation.Recorder.Record). Default
// otel.Handle; nil means the default.
func WithErrorHandler(h func(error)) Option {
	return optionFunc(func(c *config) {
		if h != nil {
			c.onError = h
		}
	})
}

// New returns an Auditor emitting through an instrumentation.Recorder on lp.
// A nil lp gives an Auditor that records nothing.
func New(lp log.LoggerProvider, opts ...Option) *Auditor {
	c := config{newID: newUUIDv7, onError: otel.Handle}
	for _, o := range opts {
		o.apply(&c)
	}
	newID := c.newID
	rec := instrumentation.New(lp,
		instrumentation.WithClock(c.now), // nil keeps the Recorder's time.Now
		instrumentation.WithIDGenerator(func() (string, error) {
			id, err := newID()
			if err != nil {
				return uuid.NewString(), nil // random v4: a record without an id would be worse
			}
			return id, nil
		}))
	return &Auditor{rec: rec, onError: c.onError}
}

func newUUIDv7() (string, error) {
	id, err := uuid.NewV7()
	return id.String(), err
}

// Viewed implements querysvc.Auditor: it records that p read v, as a
// Viewed event of category Audit.
func (a *Auditor) Viewed(ctx context.Context, p querysvc.Principal, v querysvc.View) {
	// A partner's reads belong to its tenant; an admin's to the tenant it
	// filtered on (named as the collector stores tenants), so that tenant
	// can see that its records were read. Only an admin's: staff and
	// customers may not read at all, and one without a tenant of its own
	// would otherwise file its refused request, and the words it chose, in
	// the trail of whatever business it named.
	tenant := p.Tenant
	if tenant == "" && p.Role == querysvc.RoleAdmin {
		tenant, _ = schema.NormalizeTenant(v.Params["tenant"])
	}
	e := instrumentation.Event{
		Action:  instrumentation.Viewed,
		Subject: instrumentation.Subject{Category: instrumentation.Audit, Type: SubjectType, ID: v.ID},
		Actor: instrumentation.Actor{
			ID: p.Subject, Name: p.Name, Type: instrumentation.ActorType(p.Role.ActorType()),
		},
		Tenant:      instrumentation.Tenant{ID: tenant},
		Request:     instrumentation.Request{ClientAddress: v.ClientAddress, UserAgent: v.UserAgent, ID: v.RequestID},
		Query:       &instrumentation.Query{Endpoint: v.Endpoint, Params: v.Params, Status: v.Status},
		Description: describe(p, v),
	}
	if v.Status >= 400 {
		e.Outcome, e.FailureReason = instrumentation.Failure, fmt.Sprintf("http_%d", v.Status)
	}
	if err := a.rec.Record(viewOnly{ctx}, e); err != nil {
		a.onError(fmt.Errorf("audit %s by %s: %w", v.Endpoint, p.Subject, err))
	}
}

// viewOnly hides the actor, tenant and request data of the instrumentation
// library that a context may carry, so that the Recorder cannot fill in what
// the principal and the view left empty: an audit record says who read the
// log from the verified principal alone. Everything else in the context, such
// as the trace the record is correlated with, passes through.
type viewOnly struct{ context.Context }

// Value implements context.Context.
func (c viewOnly) Value(key any) any {
	v := c.Context.Value(key)
	switch v.(type) {
	case instrumentation.Actor, instrumentation.Tenant, instrumentation.Request:
		return nil
	}
	return v
}

// describe is the record's plain-English body. Unlike the Recorder's own
// description it names the endpoint and parameters: the reader of the audit
// trail wants to know what was searched for.
func describe(p querysvc.Principal, v querysvc.View) string {
	// Written with strconv's appenders rather than fmt, and the parameter
	// names sorted in a buffer on the stack: the audit record is built for
	// every request, and this was half its cost.
	var b strings.Builder
	b.Grow(64 + len(v.Endpoint) + len(v.ID) + 16*len(v.Params))
	who := p.Name
	if who == "" {
		who = p.Subject
	}
	// The name and subject are a token's claims, which the user may have
	// chosen: written as they are, "Pat\nAdmin (Admin) viewed ..." would
	// read as two records. Quoted values (strconv.Quote, as %q) are
	// escaped already.
	writeText(&b, who)
	b.WriteString(" (")
	b.WriteString(p.Role.ActorType())
	b.WriteString(") viewed ")
	writeText(&b, v.Endpoint)
	var num [64]byte
	if v.ID != "" {
		b.WriteString(" for ")
		b.Write(strconv.AppendQuote(num[:0], v.ID))
	}
	if len(v.Params) > 0 {
		b.WriteString(" with ")
		var kbuf [16]string
		keys := kbuf[:0]
		for k := range v.Params {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeText(&b, k)
			b.WriteByte('=')
			b.Write(strconv.AppendQuote(num[:0], v.Params[k]))
		}
	}
	if v.Status >= 400 {
		b.WriteString(" (refused: HTTP ")
		b.Write(strconv.AppendInt(num[:0], int64(v.Status), 10))
		b.WriteByte(')')
	}
	return b.String()
}

// writeText writes s as safetext.Write does, which leaves printable ASCII as
// it is: such text, the usual name, endpoint and parameter name, is copied
// without safetext's test of each character against Unicode's tables.
func writeText(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' {
			safetext.Write(b, s)
			return
		}
	}
	b.WriteString(s)
}
