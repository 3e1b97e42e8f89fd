package instrumentation

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/log/noop"

	"github.com/activitylog/activitylog/schema"
)

// ScopeName is the instrumentation scope of every record a Recorder emits.
const ScopeName = "github.com/activitylog/activitylog/instrumentation"

// Version is this library's version, recorded as the instrumentation scope
// version.
const Version = "0.1.0"

// Option configures a Recorder.
type Option interface {
	apply(*config)
}

type config struct {
	now        func() time.Time
	newID      func() (string, error)
	secrets    []string
	maxChanges int
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithClock sets the clock that timestamps records whose Event.Time is zero.
// The default is time.Now.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.now = now
		}
	})
}

// WithIDGenerator sets the function that makes each record's activity.id. The
// ids must be unique and should be time-ordered, because the collector uses
// them as Elasticsearch document ids. The default makes UUIDv7s.
func WithIDGenerator(newID func() (string, error)) Option {
	return optionFunc(func(c *config) {
		if newID != nil {
			c.newID = newID
		}
	})
}

// WithSecretNames replaces the names that mark a struct field or map key as a
// credential, whose values are never recorded (see [DefaultSecretNames] for
// the default list and how names match). To extend the default list, pass
// append(DefaultSecretNames(), "iban").
func WithSecretNames(names ...string) Option {
	return optionFunc(func(c *config) { c.secrets = append([]string(nil), names...) })
}

// WithMaxChanges sets how many changed fields one record keeps; further
// changes are replaced by a TruncatedField change. The default is
// DefaultMaxChanges; values below one mean the default.
func WithMaxChanges(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.maxChanges = n
		}
	})
}

// Recorder emits activity records. It is safe for concurrent use. Recording
// never blocks on the network and never fails because of it: that is the
// LoggerProvider's processor's job (see the otlp sub-package). The only
// errors a Recorder returns are about the event itself.
type Recorder struct {
	logger     log.Logger
	now        func() time.Time
	newID      func() (string, error)
	secrets    secretRules
	maxChanges int
	fieldCache sync.Map
}

// New returns a Recorder that emits through a logger of lp named ScopeName.
// A nil lp gives a Recorder that records nothing.
func New(lp log.LoggerProvider, opts ...Option) *Recorder {
	if lp == nil {
		lp = noop.NewLoggerProvider()
	}
	c := config{
		now:        time.Now,
		newID:      newUUIDv7,
		secrets:    DefaultSecretNames(),
		maxChanges: DefaultMaxChanges,
	}
	for _, o := range opts {
		o.apply(&c)
	}
	return &Recorder{
		logger:     lp.Logger(ScopeName, log.WithInstrumentationVersion(Version)),
		now:        c.now,
		newID:      c.newID,
		secrets:    newSecretRules(c.secrets),
		maxChanges: c.maxChanges,
	}
}

func newUUIDv7() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("generate activity id: %w", err)
	}
	return id.String(), nil
}

// Diff returns the fields that differ between before and after, applying the
// recorder's secret rules. Either may be nil (a create or a delete). A nil or
// zero Recorder applies the default rules: none would let credentials through.
func (r *Recorder) Diff(before, after any) Changes {
	if !r.usable() {
		return diffValues(newSecretRules(DefaultSecretNames()), DefaultMaxChanges, nil, before, after)
	}
	return diffValues(r.secrets, r.maxChanges, &r.fieldCache, before, after)
}

// usable reports whether r was made by New; a nil or zero Recorder records
// nothing rather than panic.
func (r *Recorder) usable() bool {
	return r != nil && r.logger != nil
}

// Created records that s was created with the values in v. A zero s is
// taken from v when v implements Model.
func (r *Recorder) Created(ctx context.Context, s Subject, v any) error {
	return r.Record(ctx, Event{Action: Created, Subject: subjectOf(s, v), Changes: r.Diff(nil, v)})
}

// Updated records that s changed from before to after, keeping only the
// fields that changed. An update that changed nothing is not recorded. A zero
// s is taken from after when it implements Model.
func (r *Recorder) Updated(ctx context.Context, s Subject, before, after any) error {
	ch := r.Diff(before, after)
	if len(ch) == 0 {
		return nil
	}
	return r.Record(ctx, Event{Action: Updated, Subject: subjectOf(s, after), Changes: ch})
}

// Deleted records that s, last holding the values in v, was deleted. A zero
// s is taken from v when v implements Model.
func (r *Recorder) Deleted(ctx context.Context, s Subject, v any) error {
	return r.Record(ctx, Event{Action: Deleted, Subject: subjectOf(s, v), Changes: r.Diff(v, nil)})
}

// subjectOf returns s, or v's own subject when s is zero and v is a Model.
func subjectOf(s Subject, v any) Subject {
	if s != (Subject{}) {
		return s
	}
	if m, ok := v.(Model); ok {
		return modelSubject(m)
	}
	return s
}

// modelSubject calls m.ActivitySubject, treating a panic (a nil pointer
// receiver, say) as no subject: bad input is an error, never a crash.
func modelSubject(m Model) (s Subject) {
	defer func() {
		if recover() != nil {
			s = Subject{}
		}
	}()
	return m.ActivitySubject()
}

// Record emits one activity record. Missing actor, tenant and request data
// come from ctx; a missing description is generated. An event with a Query
// also carries the activity.query attributes. It returns an error
// wrapping ErrInvalidEvent, and emits nothing, when the event's action,
// category, actor type or outcome is not one the schema knows.
//
// Every key of the record is unique at every level, whatever the event
// holds (repeated fields in Changes, repeated keys in a map value are
// resolved as [Changes.Value] says), so the record comes out the same
// whether or not the provider's SDK de-duplicates keys.
//
// A nil ctx is taken as an empty one; a nil or zero Recorder (not made by
// New) records nothing, as New(nil) does.
func (r *Recorder) Record(ctx context.Context, e Event) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if e.Actor.ID == "" && e.Actor.Name == "" {
		if a, ok := ActorFrom(ctx); ok {
			e.Actor = a
		}
	}
	if e.Tenant.ID == "" {
		if t, ok := TenantFrom(ctx); ok {
			e.Tenant = t
		}
	}
	if req, ok := RequestFrom(ctx); ok {
		if e.Request.ClientAddress == "" {
			e.Request.ClientAddress = req.ClientAddress
		}
		if e.Request.UserAgent == "" {
			e.Request.UserAgent = req.UserAgent
		}
		if e.Request.ID == "" {
			e.Request.ID = req.ID
		}
	}
	if err := e.validate(); err != nil {
		return err
	}
	e.validEventText()
	if !r.usable() {
		return nil
	}

	severity, severityText := log.SeverityInfo, "INFO"
	if e.Outcome == Failure {
		severity, severityText = log.SeverityWarn, "WARN"
	}
	eventName := eventName(e.Action)
	if !r.logger.Enabled(ctx, log.EnabledParameters{Severity: severity, EventName: eventName}) {
		return nil
	}
	id, err := r.newID()
	if err != nil {
		return err
	}
	if e.Time.IsZero() {
		e.Time = r.now()
	}
	if e.Description == "" {
		e.Description = describe(&e)
	}

	var rec log.Record
	rec.SetEventName(eventName)
	rec.SetTimestamp(e.Time)
	rec.SetSeverity(severity)
	rec.SetSeverityText(severityText)
	rec.SetBody(attribute.StringValue(e.Description))

	var buf [24]attribute.KeyValue
	attrs := append(buf[:0],
		attribute.String(schema.AttrID, id),
		// The collector's activity processor makes activity.id the
		// Elasticsearch document id through this attribute, which it
		// checks and overwrites whatever it holds. Sent here, it is filled
		// in place; otherwise the processor must copy the record's whole
		// attribute list into a larger one to add it.
		attribute.String(schema.AttrDocumentID, id),
		attribute.String(schema.AttrCategory, string(e.Subject.Category)),
		attribute.String(schema.AttrEvent, string(e.Action)),
		attribute.String(schema.AttrOutcome, string(e.Outcome)),
	)
	attrs = appendString(attrs, schema.AttrUserID, e.Actor.ID)
	attrs = appendString(attrs, schema.AttrUserName, e.Actor.Name)
	if e.Actor.Type != "" {
		attrs = append(attrs,
			attribute.StringSlice(schema.AttrUserRoles, []string{string(e.Actor.Type)}),
			attribute.String(schema.AttrActorType, string(e.Actor.Type)))
	}
	attrs = appendString(attrs, schema.AttrTenantID, e.Tenant.ID)
	attrs = appendString(attrs, schema.AttrTenantName, e.Tenant.Name)
	attrs = appendString(attrs, schema.AttrSubjectType, e.Subject.Type)
	attrs = appendString(attrs, schema.AttrSubjectID, e.Subject.ID)
	attrs = appendString(attrs, schema.AttrSubjectName, e.Subject.Name)
	attrs = appendString(attrs, schema.AttrClientAddress, e.Request.ClientAddress)
	attrs = appendString(attrs, schema.AttrUserAgent, e.Request.UserAgent)
	attrs = appendString(attrs, schema.AttrRequestID, e.Request.ID)
	if len(e.Changes) > 0 {
		changes := e.Changes.unique()
		attrs = append(attrs,
			attribute.KeyValue{Key: schema.AttrChanges, Value: changes.value()},
			attribute.StringSlice(schema.AttrChangedFields, changes.fields()))
	}
	if q := e.Query; q != nil {
		attrs = appendString(attrs, schema.AttrQueryEndpoint, validUTF8(q.Endpoint))
		if len(q.Params) > 0 {
			// uniqueKeys makes the keys and values valid UTF-8, and keeps
			// once a key that only its invalid bytes told apart.
			attrs = append(attrs, attribute.KeyValue{Key: schema.AttrQueryParams,
				Value: uniqueKeys(attribute.MapValue(sortedParams(q.Params, r.secrets)...))})
		}
		if q.Status != 0 {
			attrs = append(attrs, attribute.Int(schema.AttrQueryStatus, q.Status))
		}
	}
	attrs = appendString(attrs, schema.AttrFailureReason, e.FailureReason)
	rec.AddAttributes(attrs...)
	r.logger.Emit(ctx, rec)
	return nil
}

// eventName is schema.EventName for the known actions, as constants, so that
// recording does not build the same string again for every record.
func eventName(a Action) string {
	switch a {
	case Created:
		return "activity." + schema.EventCreated
	case Updated:
		return "activity." + schema.EventUpdated
	case Deleted:
		return "activity." + schema.EventDeleted
	case LoginFailed:
		return "activity." + schema.EventLoginFailed
	}
	return schema.EventName(string(a))
}

// sortedParams returns query parameters as attributes sorted by key, so that
// the same query always makes the same record. A parameter named like a
// credential (?token=, ?api_key=) keeps its name, and its value is masked, as
// in a recorded URL.
func sortedParams(params map[string]string, rules secretRules) []attribute.KeyValue {
	kvs := make([]attribute.KeyValue, 0, len(params))
	for _, k := range slices.Sorted(maps.Keys(params)) {
		v := params[k]
		if rules.match(k) {
			v = maskedSecret
		}
		kvs = append(kvs, attribute.String(k, v))
	}
	return kvs
}

func appendString(attrs []attribute.KeyValue, key, value string) []attribute.KeyValue {
	if value == "" {
		return attrs
	}
	return append(attrs, attribute.String(key, value))
}
