package activityprocessor

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"net/netip"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/activitylog/activitylog/internal/safetext"
	"github.com/activitylog/activitylog/processor/activityprocessor/internal/burst"
	"github.com/activitylog/activitylog/processor/activityprocessor/internal/metadata"
	"github.com/activitylog/activitylog/processor/activityprocessor/internal/recordid"
	"github.com/activitylog/activitylog/processor/activityprocessor/internal/redact"
	"github.com/activitylog/activitylog/processor/activityprocessor/internal/tenant"
	"github.com/activitylog/activitylog/schema"
)

// alertServiceName is the service.name of the resource alert records are
// emitted under.
const alertServiceName = "activitycol"

// originalSuffix is appended to a typed attribute's key when its value has a
// type Elasticsearch would reject; the value is kept there as a string.
const originalSuffix = ".original"

// Reasons a record is dropped (telemetry attribute "reason").
const (
	reasonTenantMissing  = "tenant_missing"
	reasonTenantConflict = "tenant_conflict"
	reasonForgedAlert    = "forged_alert"
	reasonTenantNotAllow = "tenant_not_allowed"
	// reasonUnauthenticated: the batch lacks the ingest authenticator's
	// mark while require_ingest_auth is on.
	reasonUnauthenticated = "unauthenticated"
)

// unauthenticatedLogEvery is the least time between two logs of refused
// unauthenticated batches: a misconfigured pipeline refuses every batch.
const unauthenticatedLogEvery = time.Minute

// errUnauthenticated is what a batch refused by require_ingest_auth is
// answered with (permanent: sending it again cannot help).
var errUnauthenticated = errors.New("records not stored: the request carries no ingest authentication (require_ingest_auth)")

// ingestAuthenticated reports whether the request of ctx carries the mark
// the collector's ingest authenticator sets on every request it lets in
// (schema.AuthIngest).
func ingestAuthenticated(ctx context.Context) bool {
	auth := client.FromContext(ctx).Auth
	if auth == nil {
		return false
	}
	ok, _ := auth.GetAttribute(schema.AuthIngest).(bool)
	return ok
}

// allowedTenants returns the tenants the request of ctx may write, and
// whether its token is bound to any; unbound, it may write every tenant. An
// attribute of any other type lets none through: fails closed.
func allowedTenants(ctx context.Context) (tenants []string, bound bool) {
	auth := client.FromContext(ctx).Auth
	if auth == nil {
		return nil, false
	}
	v := auth.GetAttribute(schema.AuthTenants)
	if v == nil {
		return nil, false
	}
	tenants, _ = v.([]string)
	return tenants, true
}

// activityProcessor holds one pipeline's processor state. processLogs is
// safe for concurrent use.
type activityProcessor struct {
	namespace string
	red       *redact.Redactor
	tenants   *tenant.Resolver
	missing   string
	conflict  string
	// platformActors are the actor types whose records have no tenant by
	// design (TenantConfig.PlatformActorTypes).
	platformActors []string
	detector       *burst.Detector // nil when burst detection is off
	// delivery keeps the alerts of batches refused downstream (see
	// alertDelivery); nil when burst detection is off, or when the
	// processor is not in front of a consumer (tests of processLogs).
	delivery *alertDelivery
	// events are the failed-login events; a few, so a linear search beats
	// hashing the event of every record.
	events    []string
	burstKeys []string
	clock     func() time.Time
	types     map[string]schema.FieldType
	// strChecked lists the typed attributes whose string values are checked.
	strChecked []string
	// kinds says what Hook does with each hooked key, indexed by the
	// tag hooked returns for it; kindOf holds the tags of the mapped keys.
	kinds  []attrKind
	kindOf map[string]uint8
	// prefixes and resPrefixes hold the dotted prefixes of the mapped
	// record and resource attributes ("activity", "activity.tenant" for
	// activity.tenant.id): see unnest.
	prefixes, resPrefixes map[string]bool
	// tenantKeys are the tenant record attributes; foldTenant says whether
	// Hook notes their values during the walk for ResolveSeen (see
	// buildKinds), and tenantIDIdx is the index of schema.AttrTenantID
	// among them, or -1.
	tenantKeys  []string
	foldTenant  bool
	tenantIDIdx int

	telemetry   *metadata.TelemetryBuilder
	ruleAttrs   [redact.NumRules]metric.AddOption
	alertAttrs  metric.AddOption
	dropMissing metric.AddOption
	dropConfl   metric.AddOption
	dropForged  metric.AddOption
	dropNotAllw metric.AddOption
	dropUnauth  metric.AddOption
	trustAlerts bool

	// requireIngest refuses batches without the ingest authenticator's
	// mark (Config.RequireIngestAuth); logger says so, at most once per
	// unauthenticatedLogEvery, after lastUnauthLog (clock's UnixNano).
	requireIngest bool
	logger        *zap.Logger
	lastUnauthLog atomic.Int64

	// memos holds cleared batchMemos for the next batches: a bounded free
	// list, about one per batch processed at once, as the redactor keeps
	// its batch caches (a sync.Pool drops what it holds at every other
	// collection).
	memos chan *batchMemos
}

// batchMemos is what one batch remembers of its values beyond the
// redactor's caches: its plain IPv4 addresses and its normal tenants.
type batchMemos struct {
	ips     plainIPs
	tenants tenant.Normal
}

// takeMemos returns cleared memos for a batch.
func (p *activityProcessor) takeMemos() *batchMemos {
	select {
	case m := <-p.memos:
		return m
	default:
		return new(batchMemos)
	}
}

// releaseMemos clears m, a batch's memos, and keeps it for a later batch.
func (p *activityProcessor) releaseMemos(m *batchMemos) {
	*m = batchMemos{}
	select {
	case p.memos <- m:
	default: // enough kept: let this one go
	}
}

func newActivityProcessor(cfg *Config, set processor.Settings, clock func() time.Time) (*activityProcessor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rc, err := cfg.redactConfig()
	if err != nil {
		return nil, err
	}
	p := &activityProcessor{types: typedAttributes()}
	rc.Hooked = p.hooked
	red, err := redact.New(rc)
	if err != nil {
		return nil, fmt.Errorf("redaction: %w", err)
	}
	res, err := tenant.New(cfg.Tenant.resolverConfig())
	if err != nil {
		return nil, fmt.Errorf("tenant: %w", err)
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("creating telemetry: %w", err)
	}
	*p = activityProcessor{
		namespace: cfg.namespace(), red: red, tenants: res,
		missing: cfg.Tenant.Missing, conflict: cfg.Tenant.Conflict, platformActors: slices.Clone(cfg.Tenant.PlatformActorTypes),
		clock: clock, types: p.types, telemetry: tb, tenantKeys: slices.Clone(cfg.Tenant.RecordAttributes),
		alertAttrs:    metric.WithAttributeSet(attribute.NewSet(attribute.String("rule", schema.AlertRuleFailedLoginBurst))),
		dropMissing:   metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reasonTenantMissing))),
		dropConfl:     metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reasonTenantConflict))),
		dropForged:    metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reasonForgedAlert))),
		dropNotAllw:   metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reasonTenantNotAllow))),
		dropUnauth:    metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reasonUnauthenticated))),
		trustAlerts:   cfg.TrustIncomingAlerts,
		requireIngest: cfg.RequireIngestAuth, logger: set.Logger,
		memos: make(chan *batchMemos, max(2, runtime.GOMAXPROCS(0))),
	}
	for attr, typ := range p.types {
		if typ != schema.TypeKeyword && typ != schema.TypeText {
			p.strChecked = append(p.strChecked, attr)
		}
	}
	for r := redact.Rule(0); r < redact.NumRules; r++ {
		p.ruleAttrs[r] = metric.WithAttributeSet(attribute.NewSet(attribute.String("rule", r.String())))
	}
	if cfg.Burst.Enabled {
		d, err := burst.New(cfg.Burst.detectorConfig(), clock)
		if err != nil {
			return nil, fmt.Errorf("burst: %w", err)
		}
		p.detector = d
		p.events = slices.Clone(cfg.Burst.Events)
		p.burstKeys = cfg.Burst.Keys
	}
	if err := p.buildKinds(); err != nil {
		return nil, err
	}
	return p, nil
}

// typedAttributes maps every record attribute with a mapped, non-keyword
// Elasticsearch type to that type.
func typedAttributes() map[string]schema.FieldType {
	m := map[string]schema.FieldType{}
	for _, f := range schema.Fields() {
		if f.Attribute != "" && f.Path == schema.Path(f.Attribute) {
			m[f.Attribute] = f.Type
		}
	}
	return m
}

// mappedPrefixes returns the dotted prefixes of the mapped attributes whose
// document path is path(attribute): "a" and "a.b" for "a.b.c". A prefix
// that is itself mapped is left out; its own type rules its values.
func mappedPrefixes(path func(string) string) map[string]bool {
	mapped := map[string]bool{}
	for _, f := range schema.Fields() {
		if f.Attribute != "" && f.Path == path(f.Attribute) {
			mapped[f.Attribute] = true
		}
	}
	prefixes := map[string]bool{}
	for k := range mapped {
		for i := 0; i < len(k); i++ {
			if k[i] == '.' && !mapped[k[:i]] {
				prefixes[k[:i]] = true
			}
		}
	}
	return prefixes
}

// unnest replaces v with its JSON string when it is a map or a list holding
// one. Under a key that is a dotted prefix of mapped fields, the entries of
// a map make paths of those fields: {"activity": {"tenant": {"id": "x"}}}
// gives activity.tenant.id a second value, and a record of one tenant
// would match a query for another. It reports whether it replaced v.
func unnest(v pcommon.Value) bool {
	if !holdsMap(v) {
		return false
	}
	v.SetStr(v.AsString())
	return true
}

func holdsMap(v pcommon.Value) bool {
	switch v.Type() {
	case pcommon.ValueTypeMap:
		return true
	case pcommon.ValueTypeSlice:
		for _, item := range v.Slice().All() {
			if holdsMap(item) {
				return true
			}
		}
	}
	return false
}

// unnestPrefixes applies unnest to the entries of m under the keys in
// prefixes.
func unnestPrefixes(m pcommon.Map, prefixes map[string]bool) {
	for k, v := range m.All() {
		if prefixes[k] {
			unnest(v)
		}
	}
}

// shutdown sends the alerts still waiting for a batch. Receivers are shut
// down before processors, so no batch will come to carry them, and the next
// consumer is shut down after this one.
func (p *activityProcessor) shutdown(ctx context.Context) error {
	defer p.telemetry.Shutdown()
	if p.delivery == nil {
		return nil
	}
	alerts := p.delivery.take()
	if len(alerts) == 0 {
		return nil
	}
	if err := p.delivery.next.ConsumeLogs(ctx, p.alertBatch(alerts)); err != nil {
		p.delivery.logger.Error("failed-login burst alerts lost at shutdown: refused downstream",
			zap.Int("dropped", len(alerts)), zap.Error(err))
		return fmt.Errorf("sending %d pending alerts: %w", len(alerts), err)
	}
	return nil
}

// batchStats accumulates one call's telemetry, recorded once at the end.
type batchStats struct {
	rules           [redact.NumRules]int64
	recordsRedacted int64
	missing         int64
	conflicts       int64
	droppedMissing  int64
	droppedConflict int64
	droppedForged   int64
	// droppedNotAllowed counts the records of a tenant the batch's ingest
	// token may not write (see allowed).
	droppedNotAllowed int64
	evicted           int64
	duplicates        int64
	alerts            []burst.Alert
	// resent are alerts raised earlier whose batch was refused downstream.
	resent []burst.Alert
	// derived counts the records of the batch under each id derived for
	// them (see derivedID); nil until a record needs one.
	derived map[string]int
	// res and scope are those of the records being processed; origin is
	// their digest, computed when a record first needs a derived id
	// (originSet).
	res       pcommon.Resource
	scope     pcommon.InstrumentationScope
	origin    recordid.Origin
	originSet bool
	// allowed are the only tenants the batch may write, when bound (its
	// ingest token was bound to them: see allowedTenants).
	allowed []string
	bound   bool
}

// from notes the resource and scope of the records processed next.
func (st *batchStats) from(res pcommon.Resource, scope pcommon.InstrumentationScope) {
	st.res, st.scope, st.originSet = res, scope, false
}

// derivedID returns the document id of a record without a usable
// activity.id, derived from its content and its origin (its resource and
// scope: the same record from two hosts is two records), and for a record
// identical to an earlier one of the same batch, numbered. Identical records
// in one request are distinct records (an emitter with second-resolution
// timestamps and no ids, logging one client's attempts within a second), and
// Elasticsearch kept only the first of them; a request sent again numbers its
// copies alike, so a resend still maps onto the same ids (not so for records
// with neither timestamp, which the collector's clock dates: see the README).
func (st *batchStats) derivedID(lr plog.LogRecord) string {
	if !st.originSet {
		st.origin, st.originSet = recordid.OriginOf(st.res, st.scope, isRoutingAttr), true
	}
	id := recordid.DeriveFrom(&st.origin, lr, derivedIDSkip, 0)
	if st.derived == nil {
		st.derived = map[string]int{}
	}
	n := st.derived[id]
	st.derived[id] = n + 1
	if n > 0 {
		return recordid.DeriveFrom(&st.origin, lr, derivedIDSkip, n)
	}
	return id
}

// derivedIDSkip leaves the attributes the processor sets itself out of a
// derived id.
func derivedIDSkip(k string) bool { return k == schema.AttrID || isRoutingAttr(k) }

// processLogs applies the processor to every record of ld, in place, and
// appends the alert records it raised.
func (p *activityProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	if p.requireIngest && !ingestAuthenticated(ctx) {
		return ld, p.refuseUnauthenticated(ctx, ld)
	}
	var st batchStats
	// Read once per batch: the whole request came with one token.
	st.allowed, st.bound = allowedTenants(ctx)
	var rep redact.Report
	rs := recordState{p: p, memo: p.takeMemos()}
	defer p.releaseMemos(rs.memo)
	rep.Hook = &rs
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		resAttrs := rl.Resource().Attributes()
		rep.Reset()
		p.red.Attributes(resAttrs, "resource", false, &rep)
		// The exporter stores the schema URLs too, and any emitter sets them.
		if out, changed := p.red.Text("resource.schema_url", rl.SchemaUrl(), &rep); changed {
			rl.SetSchemaUrl(out)
		}
		p.countRules(&st, &rep)
		st.duplicates += int64(rep.Duplicates)
		resPaths := clonePaths(&rep)
		renameEmptyKey(resAttrs)
		stripControl(resAttrs)
		unnestPrefixes(resAttrs, p.resPrefixes)
		separateGeo(resAttrs)
		resTenant := p.tenants.FromResource(resAttrs)
		p.putRouting(resAttrs)
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			rep.Reset()
			p.red.Attributes(sl.Scope().Attributes(), "scope", false, &rep)
			if out, changed := p.red.Text("scope.name", sl.Scope().Name(), &rep); changed {
				sl.Scope().SetName(out)
			}
			if out, changed := p.red.Text("scope.version", sl.Scope().Version(), &rep); changed {
				sl.Scope().SetVersion(out)
			}
			if out, changed := p.red.Text("scope.schema_url", sl.SchemaUrl(), &rep); changed {
				sl.SetSchemaUrl(out)
			}
			renameEmptyKey(sl.Scope().Attributes())
			stripControl(sl.Scope().Attributes())
			p.countRules(&st, &rep)
			st.duplicates += int64(rep.Duplicates)
			scopePaths := clonePaths(&rep)
			st.from(rl.Resource(), sl.Scope())
			sl.LogRecords().RemoveIf(func(lr plog.LogRecord) bool {
				return p.processRecord(lr, resTenant, resPaths, scopePaths, &rep, &rs, &st)
			})
		}
	}
	// The batch's clean cache goes back to the redactor's free list for the next batch.
	rep.Release()
	if p.delivery != nil {
		st.resent = p.delivery.take()
	}
	if len(st.alerts)+len(st.resent) > 0 {
		p.appendAlerts(ld, &st)
		if p.delivery != nil {
			p.delivery.carry(ld, slices.Concat(st.resent, st.alerts))
		}
	}
	p.record(ctx, &st)
	if ld.LogRecordCount() == 0 {
		return ld, processorhelper.ErrSkipProcessingData
	}
	return ld, nil
}

// refuseUnauthenticated counts the records of ld, a batch without the ingest
// authenticator's mark, as dropped, logs it at most once per
// unauthenticatedLogEvery, and returns the permanent error that keeps the
// whole batch from going downstream. Nothing of it is processed: its failed
// logins count for no burst, and alerts waiting for a batch stay waiting.
func (p *activityProcessor) refuseUnauthenticated(ctx context.Context, ld plog.Logs) error {
	n := int64(ld.LogRecordCount())
	if n > 0 {
		p.telemetry.ProcessorActivityRecordsDropped.Add(ctx, n, p.dropUnauth)
	}
	now := p.clock().UnixNano()
	if last := p.lastUnauthLog.Load(); (last == 0 || now-last >= int64(unauthenticatedLogEvery)) &&
		p.lastUnauthLog.CompareAndSwap(last, now) {
		p.logger.Error("records refused: the batch carries no ingest authentication, and require_ingest_auth is on; "+
			"a processor before activity in the pipeline, such as batch, drops the request's client info: put activity first",
			zap.Int64("records", n))
	}
	return consumererror.NewPermanent(errUnauthenticated)
}

// clonePaths copies the report's paths (nil, without allocating, when none).
func clonePaths(rep *redact.Report) []string {
	if !rep.Any() {
		return nil
	}
	return slices.Clone(rep.Paths())
}

func (p *activityProcessor) countRules(st *batchStats, rep *redact.Report) {
	for r, n := range rep.Counts {
		st.rules[r] += int64(n)
	}
}

// processRecord redacts, type-checks, tags and routes one record, feeding
// failed logins to the burst detector. It reports whether to drop lr.
func (p *activityProcessor) processRecord(lr plog.LogRecord, resTenant tenant.Resource, resPaths, scopePaths []string, rep *redact.Report, rs *recordState, st *batchStats) bool {
	attrs := lr.Attributes()
	rep.Reset()
	rs.reset()
	p.red.Attributes(attrs, "", true, rep)
	p.red.Body(lr.Body(), rep)
	// Free-standing strings an emitter controls are indexed too.
	if out, changed := p.red.Text("event_name", lr.EventName(), rep); changed {
		lr.SetEventName(out)
	}
	if out, changed := p.red.Text("severity_text", lr.SeverityText(), rep); changed {
		lr.SetSeverityText(out)
	}
	// Room for what the processor adds: one exact allocation instead of
	// append doubling. After the walk, the copy reads attributes already in
	// the processor cache.
	attrs.EnsureCapacity(attrs.Len() + p.added(attrs, rep, rs, len(resPaths)+len(scopePaths) > 0))
	redacted := rep.Any() || len(resPaths)+len(scopePaths) > 0
	if redacted {
		p.recordRedactedKeys(attrs, resPaths, scopePaths, rep.Paths())
	}
	finishTypes(attrs, rs)
	clampTimestamps(lr)
	if lr.Timestamp() == 0 && lr.ObservedTimestamp() == 0 {
		// OTLP makes both optional. Without either, the exporter dates the
		// document 1970-01-01, outside every query range, and every such
		// record with the same content had the same derived id, so
		// Elasticsearch kept only the first ever. The observed timestamp is
		// the collection system's to set.
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(p.clock()))
	}
	if rs.claimsAlert && !p.trustAlerts {
		// Only this processor raises security alerts; a record from an
		// emitter that looks like one is a forgery (it could implicate any
		// address or bury a real alert). Dropped and counted.
		p.countRecord(st, rep, redacted)
		st.droppedForged++
		return true
	}
	enforceBodyType(lr.Body())

	// The tenant attributes Hook noted are still what attrs holds
	// unless a value moved or the empty key was renamed.
	folded := p.foldTenant && len(rs.moves) == 0 && !rs.empty && !rs.tenantComposite
	var t string
	var outcome tenant.Outcome
	if folded {
		t, outcome = p.tenants.ResolveSeen(rs.tenantRaw[:], rs.tenantSeen[:], resTenant, &rs.memo.tenants)
	} else {
		t, outcome = p.tenants.Resolve(attrs, resTenant)
	}
	if st.bound && !p.allowed(st.allowed, t, outcome) {
		// Another tenant's record, from an emitter whose ingest token
		// is bound to its own tenants: a forgery of that tenant's
		// audit trail. Dropped and counted, and nothing else: not a
		// failed login, a missing tenant or a conflict.
		st.droppedNotAllowed++
		return true
	}
	p.countRecord(st, rep, redacted)
	drop := false
	switch outcome {
	case tenant.Missing:
		t = schema.TenantUnknown
		if p.platformRecord(attrs) {
			break // tagged unknown, admin-only; neither counted nor dropped
		}
		st.missing++
		if p.missing == PolicyDrop {
			drop = true
			st.droppedMissing++
		}
	case tenant.Conflict:
		st.conflicts++
		switch p.conflict {
		case PolicyUnknown:
			t = schema.TenantUnknown
		case PolicyDrop:
			drop = true
			st.droppedConflict++
		}
	}
	if drop {
		// A dropped record still counts as a failed login: the signal
		// matters more than the record.
		if p.detector != nil {
			p.observe(lr, attrs, rs, t, "", st)
		}
		return true
	}
	// Rewriting an unchanged tenant would allocate a new value.
	if j := p.tenantIDIdx; folded && j >= 0 {
		if !rs.tenantSeen[j] || !rs.tenantStr[j] || rs.tenantRaw[j] != t {
			attrs.PutStr(schema.AttrTenantID, t)
		}
	} else if v, ok := attrs.Get(schema.AttrTenantID); !ok || v.Type() != pcommon.ValueTypeStr || v.Str() != t {
		attrs.PutStr(schema.AttrTenantID, t)
	}
	id := route(lr, rs.idStr, rs.idSeen, rs.docID, rs.docIDStr, t, st)
	if p.detector != nil {
		p.observe(lr, attrs, rs, t, id, st)
	}
	return false
}

// countRecord adds a record to the redaction counters, once its tenant
// check passed: a record of a tenant its token may not write counts for
// nothing.
func (p *activityProcessor) countRecord(st *batchStats, rep *redact.Report, redacted bool) {
	if rep.Any() {
		// Every count comes with a path: a clean record has nothing to add.
		p.countRules(st, rep)
	}
	if rep.Duplicates > 0 {
		st.duplicates += int64(rep.Duplicates)
	}
	if redacted {
		st.recordsRedacted++
	}
}

// allowed reports whether a record whose tenant resolved to t, with
// outcome, is one of the tenants a bound ingest token may write. A record
// stored as schema.TenantUnknown (no tenant, or a conflict under the
// "unknown" policy) is no tenant's: only admins read it, and only an unbound
// token may write it.
func (p *activityProcessor) allowed(tenants []string, t string, outcome tenant.Outcome) bool {
	switch {
	case outcome == tenant.Missing:
		return false
	case outcome == tenant.Conflict && p.conflict == PolicyUnknown:
		return false
	}
	return slices.Contains(tenants, t)
}

// added returns how many attributes processRecord may add to a record
// after its walk: the document id, the redacted keys, tenant, id and the
// renamed empty key, each when the record may lack it. Too few would only
// cost a second allocation.
func (p *activityProcessor) added(attrs pcommon.Map, rep *redact.Report, rs *recordState, redactedAbove bool) int {
	n := 0
	if !rs.docID {
		n++
	}
	if rep.Any() || redactedAbove {
		n++
	}
	if j := p.tenantIDIdx; !p.foldTenant || j < 0 || !rs.tenantSeen[j] || len(rs.moves) > 0 {
		n++
	}
	if !rs.idSeen {
		if _, ok := attrs.Get(schema.AttrID); !ok {
			n++
		}
	}
	if rs.empty {
		n++
	}
	return n
}

// recordRedactedKeys appends the redacted paths (names only) to
// activity.redacted_keys, keeping names an emitter already listed there.
func (p *activityProcessor) recordRedactedKeys(attrs pcommon.Map, groups ...[]string) {
	v, ok := attrs.Get(schema.AttrRedactedKeys)
	var s pcommon.Slice
	if ok && v.Type() == pcommon.ValueTypeSlice {
		s = v.Slice()
	} else {
		s = attrs.PutEmptySlice(schema.AttrRedactedKeys)
	}
	for _, g := range groups {
		for _, path := range g {
			s.AppendEmpty().SetStr(path)
		}
	}
}

// recordState collects what Hook found in one record's attributes.
type recordState struct {
	claimsAlert bool
	empty       bool
	geo         bool // a geo.location attribute: see separateGeo
	docID       bool // an elasticsearch.document_id attribute, which route fills in place
	// docIDStr is that attribute's value when it is a string, which route
	// compares with the document id before it looks the attribute up.
	docIDStr string
	// idStr is the activity.id attribute's value when idSeen: the walk
	// handed it over as a string that stays (see route).
	idStr  string
	idSeen bool
	// event is the record's event attribute, when eventSeen, for burst
	// detection.
	event     string
	eventSeen bool
	moves     []string // keys whose values must move to "<key>.original"
	movesBuf  [4]string
	// tenantRaw[i] is the string form of the first value of the i-th tenant
	// record attribute, when tenantSeen[i]; tenantStr[i] says whether it
	// was a string. Noted only when the processor's foldTenant is set.
	tenantRaw  [maxFoldTenants]string
	tenantSeen [maxFoldTenants]bool
	tenantStr  [maxFoldTenants]bool
	// tenantComposite says a tenant attribute holds a list or a map, which
	// tenant.Resolver.Resolve reads item by item.
	tenantComposite bool
	// memo outlives reset: the batch's.
	memo *batchMemos
	p    *activityProcessor
}

// plainIPs remembers, for one batch, the addresses of 8 to 16 bytes that
// isPlainIPv4 accepted, as their first and last 8 bytes and their length,
// which together cover every byte: a batch's client addresses repeat (a
// client sends many records), and a lookup costs a tenth of the check.
// A collision only costs a check, never a wrong answer.
type plainIPs [plainIPSlots]struct {
	a, b uint64
	n    int
}

const plainIPBits, plainIPSlots = 9, 1 << 9

// plain reports whether s is a plain IPv4 address (isPlainIPv4).
func (m *plainIPs) plain(s string) bool {
	n := len(s)
	if n < 8 || n > 16 {
		return isPlainIPv4(s)
	}
	a, b := load64(s, 0), load64(s, n-8)
	e := &m[(a*0x9e3779b97f4a7c15^b*0xc2b2ae3d27d4eb4f)>>(64-plainIPBits)]
	if e.n == n && e.a == a && e.b == b {
		return true
	}
	if !isPlainIPv4(s) {
		return false
	}
	e.a, e.b, e.n = a, b, n
	return true
}

// maxFoldTenants is the most tenant record attributes whose values
// Hook notes; with more, the tenant is looked up after the walk.
const maxFoldTenants = 4

func (rs *recordState) reset() {
	rs.claimsAlert, rs.empty, rs.geo, rs.docID, rs.docIDStr = false, false, false, false, ""
	rs.event, rs.eventSeen = "", false
	rs.idStr, rs.idSeen = "", false
	rs.moves = rs.movesBuf[:0]
	rs.tenantSeen = [maxFoldTenants]bool{}
	rs.tenantComposite = false
}

// attrKind is what Hook does with the values of one hooked key,
// worked out once per key rather than once per value.
type attrKind struct {
	empty  bool             // the empty key: renamed after the walk
	remove bool             // an exporter control or data stream attribute
	alert  bool             // an activity.alert.* attribute
	claim  string           // a string value equal to claim makes the record claim to be an alert
	event  bool             // the event attribute, which burst detection reads
	typed  bool             // the key has a mapped Elasticsearch type
	typ    schema.FieldType // that type, when typed
	strOK  bool             // any string value is right for the key
	tenant int              // 1 + the key's index among the tenant record attributes, or 0
	prefix bool             // a dotted prefix of mapped attributes
	geo    bool             // a geo.location attribute
	docID  bool             // the document id attribute: see route
	// tenantID marks schema.AttrTenantID, which processRecord overwrites
	// with the record's tenant: its type is not fixed.
	tenantID bool
	// id marks schema.AttrID, whose string value Hook notes for route.
	id bool
	// special is set for the fixed kinds empty, remove, prefix, geo and
	// docID (one each), which Hook handles apart; strCheck when a string
	// value needs the type check: typed, not strOK, not the tenant id.
	special, strCheck bool
}

// derive sets the fields of kd that follow from the others.
func (kd *attrKind) derive() {
	kd.special = kd.empty || kd.remove || kd.prefix || kd.geo || kd.docID
	kd.strCheck = kd.typed && !kd.strOK && !kd.tenantID
}

// Tags of the hooked keys that are not mapped attributes; the mapped ones
// follow, one each.
const (
	tagEmptyKey uint8 = iota + 1
	tagRemove
	tagAlert
	tagPrefix // a dotted prefix of mapped attributes: see unnest
	tagGeo    // a geo.location attribute: see separateGeo
	tagDocID  // the document id attribute: see route
	numFixedTags
)

// errTooManyTypes reports a schema with more typed attributes than a hook
// tag can tell apart.
var errTooManyTypes = errors.New("too many typed attributes for the hook tags")

// buildKinds fills kinds and kindOf: the fixed tags, then one tag per typed
// attribute and per attribute whose value can claim an alert.
func (p *activityProcessor) buildKinds() error {
	p.kinds = make([]attrKind, numFixedTags)
	p.kinds[tagEmptyKey] = attrKind{empty: true}
	p.kinds[tagRemove] = attrKind{remove: true}
	p.kinds[tagAlert] = attrKind{alert: true, strOK: true}
	p.kinds[tagPrefix] = attrKind{prefix: true}
	p.kinds[tagGeo] = attrKind{geo: true}
	p.kinds[tagDocID] = attrKind{docID: true}
	p.prefixes, p.resPrefixes = mappedPrefixes(schema.Path), mappedPrefixes(schema.ResourcePath)
	keys := []string{schema.AttrCategory, schema.AttrEvent, schema.AttrID}
	for k := range p.types {
		keys = append(keys, k)
	}
	p.foldTenant = p.canFoldTenant()
	if p.foldTenant {
		keys = append(keys, p.tenantKeys...)
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	if len(keys)+int(numFixedTags) > int(redact.HookNonMaps) {
		return fmt.Errorf("%d typed attributes: %w", len(keys), errTooManyTypes)
	}
	p.kindOf = make(map[string]uint8, len(keys))
	for _, k := range keys {
		typ, typed := p.types[k]
		kd := attrKind{alert: strings.HasPrefix(k, alertAttrPrefix), typed: typed, typ: typ, strOK: !p.stringNeedsCheck(k),
			tenantID: k == schema.AttrTenantID, id: k == schema.AttrID}
		switch k {
		case schema.AttrCategory:
			kd.claim = schema.CategorySecurity
		case schema.AttrEvent:
			kd.claim, kd.event = schema.EventFailedLoginBurst, true
		}
		if i := slices.Index(p.tenantKeys, k); p.foldTenant && i >= 0 {
			kd.tenant = i + 1
		}
		tag := uint8(len(p.kinds))
		if kd.strOK && !kd.alert && kd.claim == "" && kd.tenant == 0 && !kd.id && (!kd.typed || kd.typ == schema.TypeKeyword) {
			// Any string, number or bool is right for the key, and any
			// list of them (a keyword field): Hook has nothing to
			// do but for a map or a list holding a container.
			tag |= redact.HookContainers
		}
		if kd.typed && kd.typ == schema.TypeFlattened && !kd.alert && kd.claim == "" && kd.tenant == 0 && !kd.id {
			// Any map is right for the key (fixType keeps it).
			tag |= redact.HookNonMaps
		}
		p.kindOf[k] = tag
		p.kinds = append(p.kinds, kd)
	}
	for i := range p.kinds {
		p.kinds[i].derive()
	}
	return nil
}

// canFoldTenant reports whether Hook can note the tenant record
// attributes' values during the walk, so that the tenant is resolved
// without looking them up again: when there are few, each once, and none
// is a key the walk treats specially (the empty key, exporter control,
// data stream and alert attributes, the document id, activity.redacted_keys,
// which the processor appends to). It also sets tenantIDIdx.
func (p *activityProcessor) canFoldTenant() bool {
	p.tenantIDIdx = -1
	if len(p.tenantKeys) > maxFoldTenants {
		return false
	}
	for i, k := range p.tenantKeys {
		if k == "" || k == schema.AttrRedactedKeys || k == schema.AttrDocumentID || isExporterControl(k) || isDataStreamAttr(k) ||
			strings.HasPrefix(k, alertAttrPrefix) || slices.Index(p.tenantKeys, k) != i {
			return false
		}
		if k == schema.AttrTenantID {
			p.tenantIDIdx = i
		}
	}
	return true
}

// hooked selects the top-level record attributes Hook must see: the
// empty key, exporter control and data stream attributes, the document id,
// alert markers, every typed field and the dotted prefixes of typed
// fields. The redaction walk hands them over after redacting them, so the
// processor needs no second pass over the attributes. The tag it returns
// indexes kinds.
func (p *activityProcessor) hooked(k string) uint8 {
	switch {
	case isBlank(k):
		return tagEmptyKey
	case isExporterControl(k) || isDataStreamAttr(k):
		return tagRemove
	case k == schema.AttrDocumentID:
		return tagDocID
	}
	if tag, ok := p.kindOf[k]; ok {
		return tag
	}
	if strings.HasPrefix(k, alertAttrPrefix) {
		return tagAlert
	}
	if p.prefixes[k] {
		// Strings, numbers and bools under it are harmless, and so are
		// lists of them (unnest turns only a map, or a list holding one,
		// into JSON).
		return tagPrefix | redact.HookContainers
	}
	if isGeoKey(k) {
		return tagGeo
	}
	return 0
}

// Hook, the redaction walk's Report.Hook, makes a mapped attribute
// acceptable to its Elasticsearch field type, so that no record is ever
// rejected, and notes what the record claims. tag is what hooked returned
// for k. (An interface method rather than a closure: one call per hooked
// attribute instead of two.) It returns true to remove the attribute
// (exporter control attributes, and data stream attributes, which the
// processor sets on the resource).
//   - keyword: a map, or a list holding maps or lists, becomes its JSON string;
//   - ip (client.address): "ip:port" becomes the ip; any other non-ip value
//     is moved to "client.address.original" as a string;
//   - long: an integral double or a numeric string becomes an int; anything
//     else is moved to "<key>.original" as a string;
//   - date: a map, list, bool or double is moved to "<key>.original" as a string;
//   - flattened (activity.changes): anything but a map is moved to
//     "<key>.original" as a string;
//   - an empty key, which Elasticsearch refuses, is moved to "empty_key".
//
// A record claims to be an alert when it has an activity.alert.* attribute,
// or the security category or failed-login-burst event that only the
// processor's own alerts carry.
func (rs *recordState) Hook(k string, tag uint8, v pcommon.Value) (remove bool) {
	kd := &rs.p.kinds[tag&^(redact.HookContainers|redact.HookNonMaps)]
	if kd.special {
		return rs.checkSpecial(kd, v)
	}
	if v.Type() == pcommon.ValueTypeStr {
		// A string, as most values handed over are: the cases below for
		// a string only.
		s := v.Str()
		if kd.alert || kd.claim != "" && s == kd.claim {
			rs.claimsAlert = true
		}
		// A string is fine for every keyword and text field (strOK). The
		// tenant attribute is left as it came, for the tenant to be read
		// from: processRecord overwrites it with the tenant, or drops the
		// record.
		if kd.strCheck && !(kd.typ == schema.TypeIP && rs.memo.ips.plain(s)) {
			if !fixType(kd.typ, v) {
				rs.moves = append(rs.moves, k)
				return false
			}
			// fixType may have made it another type.
			rs.noteFirst(kd, v)
			return false
		}
		if kd.event && !rs.eventSeen {
			rs.event, rs.eventSeen = s, true
		}
		if i := kd.tenant - 1; i >= 0 && !rs.tenantSeen[i] {
			rs.tenantRaw[i], rs.tenantStr[i], rs.tenantSeen[i] = s, true, true
		}
		if kd.id && !rs.idSeen {
			rs.idStr, rs.idSeen = s, true
		}
		return false
	}
	if kd.alert {
		rs.claimsAlert = true
	}
	if kd.claim != "" {
		// The event and the category are one string. A list is indexed
		// item by item, so ["failed_login_burst"] claims an alert as the
		// string does; any other value goes to <key>.original.
		if v.Type() == pcommon.ValueTypeSlice && holds(v.Slice(), kd.claim) {
			rs.claimsAlert = true
		}
		rs.moves = append(rs.moves, k)
		return false
	}
	// The tenant attribute is left as it came (a list is read item by
	// item, a map as none).
	if kd.typed && !kd.tenantID && !fixType(kd.typ, v) {
		rs.moves = append(rs.moves, k)
		return false
	}
	rs.noteFirst(kd, v)
	return false
}

// checkSpecial is Hook for the fixed kinds (see attrKind.special).
func (rs *recordState) checkSpecial(kd *attrKind, v pcommon.Value) (remove bool) {
	switch {
	case kd.prefix:
		unnest(v)
	case kd.geo:
		rs.geo = true
	case kd.docID:
		rs.docID = true
		if v.Type() == pcommon.ValueTypeStr {
			rs.docIDStr = v.Str()
		}
	case kd.empty:
		rs.empty = true
	case kd.remove:
		return true
	}
	return false
}

// noteFirst notes the first event attribute that stays, as attrs.Get would
// find it after the walk, and the id when it is a string; likewise the
// first value of each tenant attribute, in the form tenant.Resolver.Resolve
// reads.
func (rs *recordState) noteFirst(kd *attrKind, v pcommon.Value) {
	if kd.event && !rs.eventSeen && v.Type() == pcommon.ValueTypeStr {
		rs.event, rs.eventSeen = v.Str(), true
	}
	if kd.id && !rs.idSeen && v.Type() == pcommon.ValueTypeStr {
		rs.idStr, rs.idSeen = v.Str(), true
	}
	if i := kd.tenant - 1; i >= 0 && !rs.tenantSeen[i] {
		switch v.Type() {
		case pcommon.ValueTypeStr:
			rs.tenantRaw[i], rs.tenantStr[i] = v.Str(), true
		case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
			rs.tenantComposite = true // read by Resolve, not as a string
		default:
			rs.tenantRaw[i], rs.tenantStr[i] = v.AsString(), false
		}
		rs.tenantSeen[i] = true
	}
}

// finishTypes does what Hook could not do during the walk: moving
// values to other keys.
func finishTypes(attrs pcommon.Map, rs *recordState) {
	for _, k := range rs.moves {
		v, ok := attrs.Get(k)
		if !ok {
			continue
		}
		s := v.AsString()
		attrs.Remove(k)
		attrs.PutStr(k+originalSuffix, s)
	}
	if rs.empty {
		renameEmptyKey(attrs)
	}
	if rs.geo {
		separateGeo(attrs)
	}
}

// geoLocation is the attribute the Elasticsearch exporter writes, as
// [lon, lat], in place of the double attributes <prefix>geo.location.lat
// and <prefix>geo.location.lon (prefix empty or ending with a dot).
const geoLocation = "geo.location"

func isGeoKey(k string) bool {
	return strings.HasSuffix(k, geoLocation) || strings.HasSuffix(k, geoLocation+".lat") ||
		strings.HasSuffix(k, geoLocation+".lon")
}

// separateGeo moves <prefix>geo.location to <prefix>geo.location.original,
// as a string, when m also holds the double attributes
// <prefix>geo.location.lat and .lon: the exporter writes the pair under
// <prefix>geo.location too, and Elasticsearch refuses a document that
// repeats a field.
func separateGeo(m pcommon.Map) {
	for _, p := range geoPairs(m) {
		if v, ok := m.Get(p + geoLocation); ok {
			s := v.AsString()
			m.Remove(p + geoLocation)
			m.PutStr(p+geoLocation+originalSuffix, s)
		}
	}
}

// geoPairs returns the prefixes p for which m holds the double attributes
// <p>geo.location.lat and <p>geo.location.lon, which the exporter writes as
// <p>geo.location.
func geoPairs(m pcommon.Map) []string {
	var lat, lon []string
	for k, v := range m.All() {
		if v.Type() != pcommon.ValueTypeDouble {
			continue
		}
		if p, ok := strings.CutSuffix(k, geoLocation+".lat"); ok && (p == "" || strings.HasSuffix(p, ".")) {
			lat = append(lat, p)
		}
		if p, ok := strings.CutSuffix(k, geoLocation+".lon"); ok && (p == "" || strings.HasSuffix(p, ".")) {
			lon = append(lon, p)
		}
	}
	pairs := lat[:0]
	for _, p := range lat {
		if slices.Contains(lon, p) {
			pairs = append(pairs, p)
		}
	}
	return pairs
}

// alertAttrPrefix starts every alert attribute (schema.AttrAlert*).
const alertAttrPrefix = "activity.alert."

// isExporterControl reports whether key is an attribute through which the
// Elasticsearch exporter lets a record choose its index, ingest pipeline,
// value encoding or mapping mode. No emitter may: they are removed from
// records, scopes and resources.
func isExporterControl(key string) bool {
	switch key {
	case schema.AttrIndex, schema.AttrIngestPipeline, schema.AttrMappingHints, schema.AttrMappingMode:
		return true
	}
	return false
}

// stripControl removes exporter control and routing attributes from a
// resource or scope; the processor then sets the data stream on the resource.
func stripControl(m pcommon.Map) {
	m.RemoveIf(func(k string, _ pcommon.Value) bool { return isExporterControl(k) || isRoutingAttr(k) })
}

// emptyKey replaces an empty or blank attribute key: Elasticsearch rejects
// a document with an empty field name, or one of whitespace only.
const emptyKey = "empty_key"

// renameEmptyKey moves the value of the first blank key (see isBlank), if
// any, to emptyKey; other blank keys are removed, as repeats of it.
func renameEmptyKey(m pcommon.Map) {
	found := false
	v := pcommon.NewValueEmpty()
	for k, kv := range m.All() {
		if isBlank(k) {
			kv.CopyTo(v)
			found = true
			break
		}
	}
	if !found {
		return
	}
	m.RemoveIf(func(k string, _ pcommon.Value) bool { return isBlank(k) })
	v.CopyTo(m.PutEmpty(emptyKey))
}

// isBlank reports whether Elasticsearch would refuse k as a field name for
// being empty or whitespace only. Its test is Java's Character.isWhitespace
// on every character; this one is a little wider (it also counts the
// no-break spaces and U+0085), which only renames a few more keys.
func isBlank(k string) bool {
	if k != "" && k[0] > ' ' && k[0] < utf8.RuneSelf {
		return false // nearly every key
	}
	for _, r := range k {
		if !unicode.IsSpace(r) && (r < 0x1c || r > 0x1f) {
			return false
		}
	}
	return true
}

// stringNeedsCheck reports whether a string value under key k may still be
// wrong for its field type: true for the mapped attributes that are neither
// keyword nor text. buildKinds asks once per key, at start-up.
func (p *activityProcessor) stringNeedsCheck(k string) bool {
	return slices.Contains(p.strChecked, k)
}

// fixType converts v in place when it can; false means it must be moved.
func fixType(typ schema.FieldType, v pcommon.Value) bool {
	switch typ {
	case schema.TypeKeyword:
		switch v.Type() {
		case pcommon.ValueTypeMap:
			v.SetStr(v.AsString())
		case pcommon.ValueTypeSlice:
			s := v.Slice()
			for i := 0; i < s.Len(); i++ {
				if t := s.At(i).Type(); t == pcommon.ValueTypeMap || t == pcommon.ValueTypeSlice {
					v.SetStr(v.AsString())
					break
				}
			}
		}
		return true
	case schema.TypeIP:
		if v.Type() != pcommon.ValueTypeStr {
			return false
		}
		s := v.Str()
		if isPlainIPv4(s) {
			return true
		}
		if _, err := netip.ParseAddr(s); err == nil {
			return true
		}
		if ap, err := netip.ParseAddrPort(s); err == nil {
			v.SetStr(ap.Addr().String())
			return true
		}
		return false
	case schema.TypeLong:
		switch v.Type() {
		case pcommon.ValueTypeInt:
			return true
		case pcommon.ValueTypeDouble:
			f := v.Double()
			if f == float64(int64(f)) {
				v.SetInt(int64(f))
				return true
			}
		case pcommon.ValueTypeStr:
			if n, err := strconv.ParseInt(v.Str(), 10, 64); err == nil {
				v.SetInt(n)
				return true
			}
		}
		return false
	case schema.TypeDate:
		switch v.Type() {
		case pcommon.ValueTypeStr, pcommon.ValueTypeInt:
			return true
		}
		return false
	case schema.TypeFlattened:
		return v.Type() == pcommon.ValueTypeMap
	}
	return true
}

// isPlainIPv4 reports whether s is an IPv4 address in dotted decimal
// without leading zeros: the common client address, which netip.ParseAddr
// accepts as it is. It is a shortcut only; anything else goes to ParseAddr.
func isPlainIPv4(s string) bool {
	if len(s) < len("0.0.0.0") || len(s) > len("255.255.255.255") {
		return false
	}
	// One pass: dots counts the fields closed so far, n is the value of
	// the current field and digits its length.
	dots, n, digits := 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			if digits == 0 || dots == 3 {
				return false
			}
			dots, n, digits = dots+1, 0, 0
			continue
		}
		d := int(c) - '0'
		if uint(d) > 9 || digits > 0 && n == 0 {
			// Not a digit, or a digit after a leading zero.
			return false
		}
		n, digits = n*10+d, digits+1
		if n > 255 {
			return false
		}
	}
	return dots == 3 && digits > 0
}

// enforceBodyType keeps the body a string (body.text) or a map
// (body.structured); any other body becomes its string form.
func enforceBodyType(b pcommon.Value) {
	switch b.Type() {
	case pcommon.ValueTypeStr, pcommon.ValueTypeMap, pcommon.ValueTypeEmpty:
		return
	}
	b.SetStr(b.AsString())
}

// platformRecord reports whether a record without a tenant has one of the
// actor types whose records have none by design. It reads attrs only for
// records without a tenant, which are rare.
func (p *activityProcessor) platformRecord(attrs pcommon.Map) bool {
	if len(p.platformActors) == 0 {
		return false
	}
	v, ok := attrs.Get(schema.AttrActorType)
	if !ok || v.Type() != pcommon.ValueTypeStr {
		return false
	}
	return slices.ContainsFunc(p.platformActors, func(a string) bool { return strings.EqualFold(v.Str(), a) })
}

// observe feeds a failed login to the burst detector, once per key type.
// The event is the one Hook noted during the redaction walk. docID is
// the record's document id, or "" for a record that is dropped.
func (p *activityProcessor) observe(lr plog.LogRecord, attrs pcommon.Map, rs *recordState, tenantID, docID string, st *batchStats) {
	if !rs.eventSeen {
		return
	}
	if !slices.Contains(p.events, rs.event) {
		return
	}
	at := lr.Timestamp().AsTime()
	if lr.Timestamp() == 0 {
		at = time.Time{}
	}
	// The record's id, so that a record resent (a retried batch) counts
	// once, as Elasticsearch stores it once.
	id := docID
	if id == "" {
		// The id route would give the record, had it been kept: a
		// placeholder UUID, shared by every record of an emitter that never
		// set its ids, is no id, or all such failures would count as one.
		v, ok := attrs.Get(schema.AttrID)
		var usable, uuid bool
		if ok {
			usable, uuid = usableID(v.AsString())
		}
		if usable {
			id = documentIDOf(st.res, v.AsString(), tenantID, uuid)
		} else {
			id = st.derivedID(lr)
		}
	}
	idHash := maphash.String(burstIDSeed, id) | 1
	for _, kt := range p.burstKeys {
		key := tenantID
		if kt != schema.AttrTenantID {
			v, ok := attrs.Get(kt)
			if !ok && kt == schema.AttrClientAddress {
				// An address the ip field cannot hold was moved aside;
				// its failures still count, under what was sent.
				v, ok = attrs.Get(kt + originalSuffix)
			}
			if !ok {
				continue
			}
			key = v.AsString()
			if strings.Contains(key, redact.Mask) {
				// A value detector masked (part of) it: what is left is
				// no one's, and the masked names of several accounts, or
				// addresses, would be one key and raise a false alert.
				continue
			}
			switch kt {
			case schema.AttrClientAddress:
				key = burstAddress(key, &rs.memo.ips)
			case schema.AttrUserName:
				// Sign-in names are compared without case almost everywhere:
				// "Jane" and "JANE" are one account under attack.
				key = strings.ToLower(strings.TrimSpace(key))
			}
		}
		if key == "" {
			continue
		}
		alert, fired, evicted := p.detector.ObserveOnce(kt, key, tenantID, at, idHash)
		st.evicted += int64(evicted)
		if fired {
			st.alerts = append(st.alerts, alert)
		}
	}
}

// holds reports whether s, or a list inside it, has an item that reads as
// claim.
func holds(s pcommon.Slice, claim string) bool {
	for _, v := range s.All() {
		switch v.Type() {
		case pcommon.ValueTypeSlice:
			if holds(v.Slice(), claim) {
				return true
			}
		case pcommon.ValueTypeMap:
		default:
			if v.AsString() == claim {
				return true
			}
		}
	}
	return false
}

// burstIDSeed keys the hashes of record ids the burst detector keeps.
var burstIDSeed = maphash.MakeSeed()

// maxTimestamp is the latest time Elasticsearch's date_nanos holds
// (2262-04-11T23:47:16.854775807Z); OTLP's timestamps are unsigned, so an
// emitter can send later ones, and Elasticsearch would refuse the record.
const maxTimestamp = pcommon.Timestamp(math.MaxInt64)

// Attributes that keep a timestamp clampTimestamps replaced, in nanoseconds.
const (
	attrTimestampOriginal         = "activity.timestamp.original"
	attrObservedTimestampOriginal = "activity.observed_timestamp.original"
)

// clampTimestamps brings a timestamp past maxTimestamp back to it, keeping
// what was sent in an attribute. The replacement is the same on a retry, so
// the record keeps its derived id.
func clampTimestamps(lr plog.LogRecord) {
	if ts := lr.Timestamp(); ts > maxTimestamp {
		lr.Attributes().PutStr(attrTimestampOriginal, strconv.FormatUint(uint64(ts), 10))
		lr.SetTimestamp(maxTimestamp)
	}
	if ts := lr.ObservedTimestamp(); ts > maxTimestamp {
		lr.Attributes().PutStr(attrObservedTimestampOriginal, strconv.FormatUint(uint64(ts), 10))
		lr.SetObservedTimestamp(maxTimestamp)
	}
}

// burstAddress is the form of a client address a burst is counted under:
// one client is one key however its address is spelled (an IPv4 address
// mapped into IPv6, as dual-stack sockets report it, in any case, with a
// zone, in brackets with a port). Anything that is not an address is
// counted as it is. A plain IPv4 address (ips, the batch's memo of them,
// knows the client addresses the type check saw) is its own form, as
// FuzzPlainIPv4 checks: parsing and printing it cost about 900 instructions
// and an allocation per failed login.
func burstAddress(s string, ips *plainIPs) string {
	if ips.plain(s) {
		return s
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("").String()
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("").String()
	}
	return s
}

// appendAlerts adds one record per alert of st, raised or resent, under a
// resource of its own.
func (p *activityProcessor) appendAlerts(ld plog.Logs, st *batchStats) {
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(schema.AttrServiceName, alertServiceName)
	p.putRouting(rl.Resource().Attributes())
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	st.from(rl.Resource(), sl.Scope())
	now := p.clock()
	for _, a := range slices.Concat(st.resent, st.alerts) {
		lr := sl.LogRecords().AppendEmpty()
		fillAlert(lr, a, now)
		route(lr, "", false, false, "", a.Tenant, st)
	}
}

// fillAlert writes the documented failed-login burst security event.
func fillAlert(lr plog.LogRecord, a burst.Alert, now time.Time) {
	lr.SetTimestamp(pcommon.NewTimestampFromTime(a.LastSeen))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(now))
	lr.SetEventName(schema.EventName(schema.EventFailedLoginBurst))
	lr.SetSeverityNumber(plog.SeverityNumberWarn)
	lr.SetSeverityText("WARN")
	lr.Body().SetStr(alertBody(a))
	tenantID := a.Tenant
	if tenantID == "" {
		tenantID = schema.TenantUnknown
	}
	attrs := lr.Attributes()
	attrs.EnsureCapacity(16)
	attrs.PutStr(schema.AttrID, alertID(a))
	attrs.PutStr(schema.AttrCategory, schema.CategorySecurity)
	attrs.PutStr(schema.AttrEvent, schema.EventFailedLoginBurst)
	attrs.PutStr(schema.AttrOutcome, schema.OutcomeFailure)
	attrs.PutStr(schema.AttrTenantID, tenantID)
	attrs.PutStr(schema.AttrAlertRule, schema.AlertRuleFailedLoginBurst)
	attrs.PutStr(schema.AttrAlertKeyType, a.KeyType)
	attrs.PutStr(schema.AttrAlertKey, a.Key)
	attrs.PutInt(schema.AttrAlertCount, int64(a.Count))
	attrs.PutInt(schema.AttrAlertThreshold, int64(a.Threshold))
	attrs.PutInt(schema.AttrAlertWindowSeconds, int64(a.Window/time.Second))
	attrs.PutStr(schema.AttrAlertFirstSeen, a.FirstSeen.Format(time.RFC3339Nano))
	attrs.PutStr(schema.AttrAlertLastSeen, a.LastSeen.Format(time.RFC3339Nano))
	switch a.KeyType {
	case schema.AttrClientAddress:
		// A key that is not an IP was counted from client.address.original,
		// and stays there: the ip field would ignore it.
		if _, err := netip.ParseAddr(a.Key); err != nil {
			attrs.PutStr(schema.AttrClientAddress+originalSuffix, a.Key)
			break
		}
		attrs.PutStr(a.KeyType, a.Key)
	case schema.AttrUserName:
		attrs.PutStr(a.KeyType, a.Key)
	}
}

// alertBody is the alert's plain-English description. The key is what an
// emitter sent, a user name as typed at a login form: escaped, it cannot make
// the description read as two alerts.
func alertBody(a burst.Alert) string {
	key := safetext.Escape(a.Key)
	switch a.KeyType {
	case schema.AttrClientAddress:
		return fmt.Sprintf("%d failed logins from %s in %s", a.Count, key, a.Window)
	case schema.AttrUserName:
		return fmt.Sprintf("%d failed logins for user %s in %s", a.Count, key, a.Window)
	}
	return fmt.Sprintf("%d failed logins in tenant %s in %s", a.Count, key, a.Window)
}

// alertID is deterministic (the same burst always gets the same id, so a
// retried batch cannot duplicate the alert) and time-ordered.
func alertID(a burst.Alert) string {
	h := sha256.New()
	for _, s := range []string{schema.AlertRuleFailedLoginBurst, a.KeyType, a.Key, a.FirstSeen.Format(time.RFC3339Nano)} {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	return recordid.FromHash(a.LastSeen, h.Sum(nil))
}

// record reports one call's telemetry.
func (p *activityProcessor) record(ctx context.Context, st *batchStats) {
	t := p.telemetry
	for r, n := range st.rules {
		if n > 0 {
			t.ProcessorActivityRedactions.Add(ctx, n, p.ruleAttrs[r])
		}
	}
	if st.recordsRedacted > 0 {
		t.ProcessorActivityRecordsRedacted.Add(ctx, st.recordsRedacted)
	}
	if st.missing > 0 {
		t.ProcessorActivityTenantMissing.Add(ctx, st.missing)
	}
	if st.conflicts > 0 {
		t.ProcessorActivityTenantConflicts.Add(ctx, st.conflicts)
	}
	if st.droppedMissing > 0 {
		t.ProcessorActivityRecordsDropped.Add(ctx, st.droppedMissing, p.dropMissing)
	}
	if st.droppedConflict > 0 {
		t.ProcessorActivityRecordsDropped.Add(ctx, st.droppedConflict, p.dropConfl)
	}
	if st.droppedForged > 0 {
		t.ProcessorActivityRecordsDropped.Add(ctx, st.droppedForged, p.dropForged)
	}
	if st.droppedNotAllowed > 0 {
		t.ProcessorActivityRecordsDropped.Add(ctx, st.droppedNotAllowed, p.dropNotAllw)
	}
	if n := len(st.alerts); n > 0 {
		t.ProcessorActivityAlertsEmitted.Add(ctx, int64(n), p.alertAttrs)
	}
	if st.evicted > 0 {
		t.ProcessorActivityBurstKeysEvicted.Add(ctx, st.evicted)
	}
	if st.duplicates > 0 {
		t.ProcessorActivityDuplicateKeys.Add(ctx, st.duplicates)
	}
}

// isRoutingAttr reports whether key is one of the routing attributes the
// processor owns; they are excluded from a derived id because the processor
// overwrites them anyway.
func isRoutingAttr(key string) bool {
	switch key {
	case schema.AttrDataStreamType, schema.AttrDataStreamDataset, schema.AttrDataStreamNamespace, schema.AttrDocumentID:
		return true
	}
	return false
}

// isDataStreamAttr reports whether key is a data stream attribute, through
// which the Elasticsearch exporter routes a record.
func isDataStreamAttr(key string) bool {
	switch key {
	case schema.AttrDataStreamType, schema.AttrDataStreamDataset, schema.AttrDataStreamNamespace:
		return true
	}
	return false
}

// putRouting sets the data stream on a resource's attributes, once for all
// its records. The Elasticsearch exporter resolves each data_stream.* key
// record first, then scope, then resource, and leaves them out of the
// document at every level; the processor removes them from every record and
// scope, so the resource's values decide and no emitter can write into
// another index (exporter control attributes such as elasticsearch.index
// are removed too).
func (p *activityProcessor) putRouting(attrs pcommon.Map) {
	attrs.PutStr(schema.AttrDataStreamType, schema.DataStreamType)
	attrs.PutStr(schema.AttrDataStreamDataset, schema.Dataset)
	attrs.PutStr(schema.AttrDataStreamNamespace, p.namespace)
}

// route sets the document id of lr, overwriting any the emitter sent, and
// returns it. A record without a usable activity.id gets a deterministic
// one (st.derivedID), derived after redaction so the id cannot leak a
// secret by brute force. An activity.id that is a UUID is the document id;
// any other (a database sequence, an order number) is unique only within
// its emitter's tenant, and every tenant writes into the same data stream,
// so its document id is scoped by tenant (see documentIDOf).
//
// The decoder sizes a record's attribute list exactly, so adding the
// document id attribute copies the list into a new array (768 bytes for
// a record of 17 attributes, almost all the processor allocates). A record
// that already has the attribute is filled in place instead, and left as
// it is when it holds the id already: the instrumentation library sends
// activity.id there for that reason. What an emitter sends there is never
// trusted. hasDocID says whether the record has the attribute (Hook
// saw it during the walk, which is the last pass that can remove it), and
// seenDocID is its value then when a string (nothing changes it after the
// walk), else "". Likewise idSeen says that Hook saw activity.id as a
// string, seenID: then route need not look it up.
func route(lr plog.LogRecord, seenID string, idSeen, hasDocID bool, seenDocID, tenantID string, st *batchStats) string {
	attrs := lr.Attributes()
	id, ok, str := seenID, idSeen, idSeen
	if !idSeen {
		var v pcommon.Value
		if v, ok = attrs.Get(schema.AttrID); ok {
			id, str = v.AsString(), v.Type() == pcommon.ValueTypeStr
		}
	}
	// A canonical UUID, the common id, is a valid one (hex digits and
	// dashes only), and the only form of a placeholder: it is recognised
	// once, for validID and placeholderUUID here and uniqueVersion in
	// documentIDOf.
	usable, uuid := usableID(id)
	if !usable {
		id = st.derivedID(lr)
		attrs.PutStr(schema.AttrID, id)
		uuid = isUUID(id)
	} else if ok && !str {
		// A non-string id becomes the string the keyword field and the
		// document id agree on.
		attrs.PutStr(schema.AttrID, id)
	}
	id = documentIDOf(st.res, id, tenantID, uuid)
	if hasDocID && seenDocID != "" && seenDocID == id {
		// The record carries the document id already, as the walk saw
		// it (our library sends it so): nothing to look up or set.
		return id
	}
	if hasDocID {
		if v, ok := attrs.Get(schema.AttrDocumentID); ok {
			if v.Type() != pcommon.ValueTypeStr || v.Str() != id {
				v.SetStr(id)
			}
			return id
		}
	}
	attrs.PutStr(schema.AttrDocumentID, id)
	return id
}

// usableID reports whether id, an emitter's activity.id, identifies its
// record (it is valid, and not a placeholder UUID), and whether it is a UUID
// in its canonical form. route derives an id for a record whose id is not
// usable, and observe does the same for a dropped record, which route never
// sees: the two must agree.
func usableID(id string) (usable, uuid bool) {
	uuid = isUUID(id)
	return !(uuid && placeholderUUID(id) || !uuid && !validID(id)), uuid
}

// documentIDOf returns the document id of a record from a service with
// resource res whose activity.id is the usable id (uuid says whether it is a
// UUID in its canonical form, isUUID): the id itself when it is
// a UUID unique across tenants by construction (uniqueVersion: random or
// time-ordered, as the instrumentation library's are), else the id scoped by the record's
// tenant and service.name (recordid.Scoped). Two tenants' (or services')
// emitters that both number their records from 1 would otherwise share
// document ids in the one data stream, and Elasticsearch would keep only the
// first of each pair (the 409 of the second is the de-duplication the
// exporter does not report). The same id sent again maps onto the same id.
func documentIDOf(res pcommon.Resource, id, tenantID string, uuid bool) string {
	if uuid && uniqueVersion(id) {
		return id
	}
	service := ""
	if v, ok := res.Attributes().Get(schema.AttrServiceName); ok {
		service = v.AsString()
	}
	return recordid.Scoped(tenantID, service, id)
}

// isUUID reports whether id is a UUID in its canonical text form
// (8-4-4-4-12 hexadecimal digits, either case), eight digits at a time.
func isUUID(id string) bool { return redact.IsUUID(id) }

// uniqueVersion reports whether id, a UUID in its canonical form (isUUID),
// is unique across tenants by construction: RFC 9562's variant, version 1
// or 6 (time and node), 4 (random) or 7 (time and random). A name-based
// UUID (versions 3 and 5) is the same for two tenants' emitters that hash
// the same name ("order 17"), a custom one (version 8) is whatever its
// emitter made it, and other variants follow no rule: those are scoped
// like any other id.
func uniqueVersion(id string) bool {
	switch id[14] {
	case '1', '4', '6', '7':
	default:
		return false
	}
	switch id[19] {
	case '8', '9', 'a', 'b', 'A', 'B':
		return true
	}
	return false
}

// placeholderUUID reports whether id is the nil or the max UUID: what an
// emitter sends when it never set the id (a zero uuid.UUID), the same for
// every record, so no id at all. Taken for one, every such record of a
// tenant and service would share a document id, and Elasticsearch would keep
// only the first.
func placeholderUUID(id string) bool {
	if len(id) != uuidLen {
		return false
	}
	switch id[0] {
	case '0':
		return id == nilUUID
	case 'f', 'F':
		return strings.EqualFold(id, maxUUID)
	}
	return false
}

const (
	uuidLen = len(nilUUID)
	nilUUID = "00000000-0000-0000-0000-000000000000"
	maxUUID = "ffffffff-ffff-ffff-ffff-ffffffffffff"
)

// maxIDLen bounds an emitter-supplied id: Elasticsearch refuses _id values
// longer than 512 bytes.
const maxIDLen = 512

// validID reports whether an emitter-supplied id can be used as a document
// id as it is: not empty, not too long, valid UTF-8 (the exporter writes an
// invalid byte as U+FFFD, so "\xff" and "\xfe" would share an id), no
// control character, and not redacted (a card number in an id is masked, and
// every such record would share the id "[REDACTED]", Elasticsearch keeping
// only the first). The bytes are checked eight at a time, in the same pass
// that looks for the mask's '[': only an id with one is searched for the
// mask, and only one with a byte above 0x7f is checked for UTF-8.
func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	const (
		ones = 0x0101010101010101
		high = 0x80 * ones
	)
	if len(id) < 8 {
		for i := 0; i < len(id); i++ {
			if id[i] < 0x20 || id[i] == 0x7f {
				return false
			}
		}
		return utf8.ValidString(id) && !strings.Contains(id, redact.Mask)
	}
	var above, bracket uint64
	// Words from the start, and the last 8 bytes, which may overlap the
	// word before: reading a byte twice changes nothing.
	for i := 0; ; i += 8 {
		if i+8 > len(id) {
			i = len(id) - 8
		}
		x := load64(id, i)
		// Some byte is below 0x20, or some byte is 0x7f (a zero byte of
		// x ^ 0x7f...): exact for the word as a whole.
		if (x-0x20*ones)&^x&high != 0 {
			return false
		}
		if y := x ^ 0x7f*ones; (y-ones)&^y&high != 0 {
			return false
		}
		above |= x & high
		// A zero byte of x ^ '['...; a byte above 0x7f may also set it,
		// which only costs the search below.
		y := x ^ '['*ones
		bracket |= (y - ones) &^ y & high
		if i+8 == len(id) {
			break
		}
	}
	if bracket != 0 && strings.Contains(id, redact.Mask) {
		return false
	}
	return above == 0 || utf8.ValidString(id)
}

// load64 reads the 8 bytes of s from i, little-endian (one load on amd64
// and arm64).
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}
