package otlp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/log/embedded"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/activitylog/activitylog/instrumentation/internal/sdkconfig"
)

// MetricRecords is the observable counter published with WithMeterProvider:
// records by MetricStateKey (accepted, exported, dropped, failed, and
// reduced: exported reduced, counted as exported too; see Stats).
const (
	MetricRecords  = "activitylog.instrumentation.records"
	MetricStateKey = "state"
)

// httpLogsPath is the OTLP/HTTP logs path, added to an endpoint URL that has
// no path of its own.
const httpLogsPath = "/v1/logs"

// ErrInvalidProtocol is returned (wrapped) for a protocol other than GRPC or HTTP.
var ErrInvalidProtocol = errors.New("invalid OTLP protocol")

// ErrInvalidEndpoint is returned (wrapped) for a WithEndpoint endpoint that
// is not a URL with a host or a host:port.
var ErrInvalidEndpoint = errors.New("invalid OTLP endpoint")

// ErrInvalidHeaders is returned by NewProvider when OTEL_EXPORTER_OTLP_HEADERS
// (or its LOGS_ variant) is not a list of key=value pairs.
var ErrInvalidHeaders = errors.New("invalid OTLP headers")

// Stats counts what happened to the records emitted through a Provider.
// Accepted = Exported + Failed + records still queued, being sent or waiting
// for a retry; Dropped records were never accepted.
type Stats struct {
	// Accepted records entered the export queue.
	Accepted uint64
	// Exported records were delivered to the collector.
	Exported uint64
	// Dropped records were discarded because the queue was full or the
	// provider was shut down.
	Dropped uint64
	// Failed records were lost because their export failed for a reason a
	// retry cannot cure (the collector refused the token or the request,
	// refused the record as too large even sent alone and reduced, or
	// rejected them in a partial success),
	// because WithMaxRetryTime passed, or because Shutdown's context ended
	// while they were still queued or being retried.
	Failed uint64
	// Reduced records, counted in Exported too, were delivered reduced:
	// refused as too large even sent alone, they were sent once more with
	// their changed values replaced by MarkerTooLarge and their description
	// cut (see MarkerTooLarge), and taken.
	Reduced uint64
}

// Provider is a log provider that exports over OTLP through a bounded queue.
// Its Shutdown flushes the queue; call it before the process exits.
type Provider struct {
	*sdklog.LoggerProvider
	gate *gate
	reg  metric.Registration

	// emitting is held for reading while a logger of the provider emits,
	// and for writing while Shutdown sets closing: an emit that found the
	// provider open has reached the gate before the SDK stops taking
	// records, and every later one is counted as dropped.
	emitting sync.RWMutex
	closing  atomic.Bool
}

// Logger returns a logger of the provider (see log.LoggerProvider). Unlike
// the SDK's own, it counts a record emitted once Shutdown has begun as
// dropped: the SDK would discard it without a word.
func (p *Provider) Logger(name string, opts ...log.LoggerOption) log.Logger {
	return &closingLogger{next: p.LoggerProvider.Logger(name, opts...), p: p}
}

// closingLogger is a logger of a Provider; see Provider.Logger.
type closingLogger struct {
	embedded.Logger
	next log.Logger
	p    *Provider
}

func (l *closingLogger) Emit(ctx context.Context, r log.Record) {
	l.p.emitting.RLock()
	defer l.p.emitting.RUnlock()
	if l.p.closing.Load() {
		l.p.gate.dropped.Add(1)
		return
	}
	l.next.Emit(ctx, r)
}

// Enabled is true once the provider is closing, so that a caller that asks
// first (the Recorder does) emits the record, to be counted as dropped.
func (l *closingLogger) Enabled(ctx context.Context, param log.EnabledParameters) bool {
	return l.p.closing.Load() || l.next.Enabled(ctx, param)
}

// DefaultValueLengthLimit is the longest string value, in characters, a
// record carries in its attributes at any depth (an activity's old and new
// values included) and in its body (the description) unless
// OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT says otherwise; longer ones are
// cut to it (byte slices to as many bytes). A collector refuses a request larger
// than it accepts (gRPC's 4 MiB by default, 16 MiB in the shipped
// configuration); the provider then sends the batch's records apart, and a
// record too large even alone, one holding a megabytes-long value (an image
// in a changed field), was lost: the only trace of that change. Cut, it
// arrives, its other values whole.
const DefaultValueLengthLimit = sdkconfig.ValueLengthLimit

// valueLengthLimit is the SDK's attribute value length limit:
// OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT read through getenv (the SDK
// would read the process's own environment), or DefaultValueLengthLimit,
// which sdkconfig.ProviderOptions sets.
func valueLengthLimit(getenv func(string) string) (int, error) {
	const name = "OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT"
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return DefaultValueLengthLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("otlp: %s=%q: not an integer (a length in characters, or -1 for none)", name, v)
	}
	return n, nil
}

// NewProvider builds a Provider. It does not connect: a collector that is
// down when the service starts only shows up as exports retried until it is
// up (see WithRetryBackoff).
//
// The provider skips the SDK's de-duplication of attribute keys
// (sdklog.WithAllowKeyDuplication), which was most of the cost of emitting
// an activity record: instrumentation.Recorder already emits each key once
// at every level, as Elasticsearch requires. Records emitted through the
// provider by anything else are therefore not de-duplicated either: a caller
// that puts other logs through it must not repeat a key, in the attributes
// or in any map value, or Elasticsearch may refuse the whole document.
func NewProvider(ctx context.Context, opts ...Option) (*Provider, error) {
	c := newConfig(opts)
	limit, err := valueLengthLimit(c.getenv)
	if err != nil {
		return nil, err
	}
	exp := c.exporter
	if exp == nil {
		if exp, err = newExporter(ctx, c); err != nil {
			return nil, err
		}
	}
	res, err := newResource(ctx, c)
	if err != nil {
		return nil, err
	}
	g := &gate{capacity: int64(c.maxQueueSize), bodyLimit: limit, settledCh: make(chan struct{}), stopping: make(chan struct{})}
	g.next = sdklog.NewBatchProcessor(newCountingExporter(exp, g, c),
		sdklog.WithMaxQueueSize(c.maxQueueSize),
		sdklog.WithExportInterval(c.exportInterval),
		// The countingExporter bounds each attempt itself and retries past
		// the export timeout; the SDK's own bound would end the retries, and
		// make it skip the rest of a flush whose first batch was retried.
		sdklog.WithExportTimeout(time.Duration(math.MaxInt64)),
	)
	lpOpts := append(sdkconfig.ProviderOptions(), sdklog.WithResource(res), sdklog.WithProcessor(g),
		sdklog.WithAttributeValueLengthLimit(limit))
	p := &Provider{LoggerProvider: sdklog.NewLoggerProvider(lpOpts...), gate: g}
	if c.meterProvider != nil {
		if p.reg, err = p.registerMetric(c.meterProvider); err != nil {
			return nil, errors.Join(err, p.LoggerProvider.Shutdown(ctx))
		}
	}
	return p, nil
}

// Stats returns the provider's record counts so far.
func (p *Provider) Stats() Stats {
	return Stats{
		Accepted: p.gate.accepted.Load(),
		Exported: p.gate.exported.Load(),
		Dropped:  p.gate.dropped.Load(),
		Failed:   p.gate.failed.Load(),
		Reduced:  p.gate.reduced.Load(),
	}
}

// Dropped returns how many records were lost: dropped from a full queue or
// after shutdown, or lost to a failed export or to Shutdown's deadline.
func (p *Provider) Dropped() uint64 {
	return p.gate.dropped.Load() + p.gate.failed.Load()
}

// DefaultShutdownTimeout bounds Shutdown when its context has no deadline:
// while the collector is unreachable, Shutdown retries until its context
// ends, and a process must still be able to exit.
const DefaultShutdownTimeout = 30 * time.Second

// shutdownTimeout is DefaultShutdownTimeout, shortened by tests.
var shutdownTimeout = DefaultShutdownTimeout

// Shutdown flushes queued records, stops exporting and unregisters the
// metric. While the collector is unreachable it keeps retrying until ctx
// ends, or for DefaultShutdownTimeout when ctx has no deadline. Records
// still queued or waiting for a retry then are counted as failed and are not
// sent; a batch already being sent then is counted when that attempt ends,
// so Stats may still move by that batch after Shutdown returns. Records
// emitted through the provider's loggers once Shutdown has begun are not
// sent, and are counted as dropped.
func (p *Provider) Shutdown(ctx context.Context) error {
	p.emitting.Lock()
	p.closing.Store(true)
	p.emitting.Unlock()
	// Before the SDK's Shutdown, which first waits for a ForceFlush in
	// progress: that may be the batch waiting for a retry.
	p.gate.beginShutdown()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, shutdownTimeout)
		defer cancel()
	}
	err := p.LoggerProvider.Shutdown(ctx)
	// The SDK skips its processors' Shutdown when ctx ends before the emits
	// in progress finish (or has already ended); the queue must still be
	// closed and settled, and the export goroutine and connection released.
	if gerr := p.gate.Shutdown(ctx); gerr != nil && !errors.Is(err, gerr) {
		err = errors.Join(err, gerr)
	}
	if p.reg != nil {
		err = errors.Join(err, p.reg.Unregister())
	}
	return err
}

func (p *Provider) registerMetric(mp metric.MeterProvider) (metric.Registration, error) {
	meter := mp.Meter("github.com/activitylog/activitylog/instrumentation/otlp")
	counter, err := meter.Int64ObservableCounter(MetricRecords,
		metric.WithDescription("Activity records by what happened to them: accepted into the export queue, exported, dropped (queue full or shut down) or failed (export error); reduced counts the exported ones sent with their changed values replaced, refused whole as too large."),
		metric.WithUnit("{record}"))
	if err != nil {
		return nil, fmt.Errorf("create %s counter: %w", MetricRecords, err)
	}
	states := []attribute.Set{
		attribute.NewSet(attribute.String(MetricStateKey, "accepted")),
		attribute.NewSet(attribute.String(MetricStateKey, "exported")),
		attribute.NewSet(attribute.String(MetricStateKey, "dropped")),
		attribute.NewSet(attribute.String(MetricStateKey, "failed")),
		attribute.NewSet(attribute.String(MetricStateKey, "reduced")),
	}
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := p.Stats()
		for i, v := range []uint64{s.Accepted, s.Exported, s.Dropped, s.Failed, s.Reduced} {
			o.ObserveInt64(counter, int64(min(v, 1<<63-1)), metric.WithAttributeSet(states[i]))
		}
		return nil
	}, counter)
	if err != nil {
		return nil, fmt.Errorf("register %s callback: %w", MetricRecords, err)
	}
	return reg, nil
}

func protocol(c config) (Protocol, error) {
	p := c.protocol
	if p == "" {
		p = Protocol(c.getenv("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL"))
	}
	if p == "" {
		p = Protocol(c.getenv("OTEL_EXPORTER_OTLP_PROTOCOL"))
	}
	switch p {
	case "", GRPC:
		return GRPC, nil
	case HTTP:
		return HTTP, nil
	}
	return "", fmt.Errorf("%w %q: want %q or %q", ErrInvalidProtocol, p, GRPC, HTTP)
}

func newExporter(ctx context.Context, c config) (sdklog.Exporter, error) {
	p, err := protocol(c)
	if err != nil {
		return nil, err
	}
	var endpoint string
	if c.endpoint != "" {
		if endpoint, err = endpointURL(c, p); err != nil {
			return nil, err
		}
	}
	if c.headers == nil {
		if c.headers, err = envHeaders(c.getenv); err != nil {
			return nil, err
		}
	}
	if p == HTTP {
		// The provider retries (countingExporter): the exporter's own
		// retries would wait seconds inside an attempt and, over HTTP, give
		// up at once on a refused connection.
		o := []otlploghttp.Option{otlploghttp.WithRetry(otlploghttp.RetryConfig{Enabled: false})}
		if endpoint != "" {
			o = append(o, otlploghttp.WithEndpointURL(endpoint))
		}
		if c.insecure {
			o = append(o, otlploghttp.WithInsecure())
		}
		if c.headers != nil {
			o = append(o, otlploghttp.WithHeaders(c.headers))
		}
		exp, err := otlploghttp.New(ctx, o...)
		if err != nil {
			return nil, fmt.Errorf("create OTLP/HTTP log exporter: %w", err)
		}
		return exp, nil
	}
	o := []otlploggrpc.Option{
		otlploggrpc.WithRetry(otlploggrpc.RetryConfig{Enabled: false}),
		// gRPC redials a collector that is down on its own schedule, up to
		// two minutes apart by default, failing calls at once meanwhile; cap
		// that at the provider's longest wait between retries, so a batch is
		// not held back long after the collector is up.
		otlploggrpc.WithDialOption(grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: c.retryInitial, Multiplier: 1.6, Jitter: 0.2, MaxDelay: c.retryMax},
			MinConnectTimeout: 20 * time.Second,
		})),
	}
	if endpoint != "" {
		o = append(o, otlploggrpc.WithEndpointURL(endpoint))
	}
	if c.insecure {
		o = append(o, otlploggrpc.WithInsecure())
	}
	if c.headers != nil {
		o = append(o, otlploggrpc.WithHeaders(c.headers))
	}
	exp, err := otlploggrpc.New(ctx, o...)
	if err != nil {
		return nil, fmt.Errorf("create OTLP/gRPC log exporter: %w", err)
	}
	return exp, nil
}

// endpointURL returns the WithEndpoint endpoint as a whole URL: scheme, host
// and, over HTTP, path. Given only a host and port, the exporters would take
// the scheme (so plaintext or TLS) and the HTTP path from the
// OTEL_EXPORTER_OTLP_*ENDPOINT variables, which may name another collector.
func endpointURL(c config, p Protocol) (string, error) {
	raw := c.endpoint
	if !strings.Contains(raw, "://") {
		scheme := "https"
		if c.insecure {
			scheme = "http"
		}
		raw = scheme + "://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w %q: %w", ErrInvalidEndpoint, c.endpoint, err)
	}
	if u.Host == "" {
		return "", fmt.Errorf("%w %q: no host", ErrInvalidEndpoint, c.endpoint)
	}
	if p == HTTP && (u.Path == "" || u.Path == "/") {
		u.Path = httpLogsPath
	}
	return u.String(), nil
}

func newResource(ctx context.Context, c config) (*resource.Resource, error) {
	var attrs []attribute.KeyValue
	if c.serviceName != "" {
		attrs = append(attrs, semconv.ServiceName(c.serviceName))
	}
	if c.serviceVersion != "" {
		attrs = append(attrs, semconv.ServiceVersion(c.serviceVersion))
	}
	if c.environment != "" {
		attrs = append(attrs, semconv.DeploymentEnvironmentName(c.environment))
	}
	// Later sources win: the SDK's defaults, then the environment, then options.
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName("unknown_service")),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
		resource.WithAttributes(attrs...),
	)
	if err != nil {
		return nil, fmt.Errorf("build resource: %w", err)
	}
	return res, nil
}

// gate admits a record into the batch processor only while fewer than
// capacity records are waiting for export. Records it turns away are counted;
// so the batch processor's own queue, which silently drops its oldest record
// when full, never overflows.
type gate struct {
	next     sdklog.Processor
	capacity int64
	// bodyLimit is the value length limit, which the SDK applies to
	// attributes only: OnEmit cuts a record's body to it too (see cutBody).
	bodyLimit int
	// pending counts records admitted but not yet handed to the exporter.
	pending atomic.Int64

	// admit is held for reading while a record is admitted and handed to the
	// batch processor, and for writing to stop admitting: a record admitted
	// is then always in the batch processor's queue before that queue
	// closes, never accepted and then discarded by the closed queue.
	admit   sync.RWMutex
	stopped bool
	// shutdown is set once Shutdown has begun.
	shutdown atomic.Bool
	// stopping is closed once Shutdown has begun, so that a batch waiting
	// for a retry is tried again at once: its wait may be longer than
	// Shutdown's deadline.
	stopping     chan struct{}
	stoppingOnce sync.Once

	// settle guards settled and the exporter's claims on pending. Once
	// Shutdown has returned, settled is true and whatever was still pending
	// has been counted as failed; the exporter then neither sends nor counts
	// those records again.
	settle  sync.Mutex
	settled bool
	// settledCh is closed when settled is set, to end the retries of the
	// batch the exporter holds.
	settledCh chan struct{}
	// flushMu guards flushing and flushNext: one goroutine runs the
	// flushes ForceFlush asks for, one at a time, and every call that comes
	// while one runs shares the next. A ForceFlush whose context ends
	// leaves its flush running, so that during an outage calls would
	// otherwise each leave a goroutine behind.
	flushMu             sync.Mutex
	flushing, flushNext *flushCall
	// parked counts the records of a batch waiting between two attempts;
	// Shutdown counts them as failed with the pending ones, so that they
	// are in Stats when it returns.
	parked int64

	accepted, exported, dropped, failed atomic.Uint64
	// reduced counts the records exported reduced (see reduce), which
	// exported counts too.
	reduced atomic.Uint64
}

var _ sdklog.Processor = (*gate)(nil)

func (g *gate) OnEmit(ctx context.Context, r *sdklog.Record) error {
	g.admit.RLock()
	defer g.admit.RUnlock()
	if g.stopped {
		g.dropped.Add(1)
		return nil
	}
	for {
		n := g.pending.Load()
		if n >= g.capacity {
			g.dropped.Add(1)
			return nil
		}
		if g.pending.CompareAndSwap(n, n+1) {
			break
		}
	}
	g.accepted.Add(1)
	cutBody(r, g.bodyLimit)
	return g.next.OnEmit(ctx, r)
}

// cutBody cuts the strings of r's body, at any depth, to limit characters
// (none when limit is negative), as the SDK cuts attribute values. The body
// is the activity's description, which holds the names it was given (a
// subject's, an actor's) or the caller's own text: uncut, a megabytes-long
// name made a record the collector refuses even sent alone, and it was
// lost.
func cutBody(r *sdklog.Record, limit int) {
	if limit < 0 {
		return
	}
	if v, cut := cutValue(r.Body(), limit); cut {
		r.SetBody(v)
	}
}

// cutValue returns v with its strings cut to limit characters and its byte
// slices to limit bytes, as the SDK cuts attribute values, and whether any
// was.
func cutValue(v attribute.Value, limit int) (attribute.Value, bool) {
	switch v.Type() {
	case attribute.STRING:
		if s, cut := cutString(v.AsString(), limit); cut {
			return attribute.StringValue(s), true
		}
	case attribute.STRINGSLICE:
		ss := v.AsStringSlice()
		changed := false
		for i, s := range ss {
			var cut bool
			if ss[i], cut = cutString(s, limit); cut {
				changed = true
			}
		}
		if changed {
			return attribute.StringSliceValue(ss), true
		}
	case attribute.BYTESLICE:
		if bs := v.AsByteSlice(); len(bs) > limit {
			return attribute.ByteSliceValue(bs[:limit]), true
		}
	case attribute.SLICE:
		vs := v.AsSlice()
		changed := false
		for i, e := range vs {
			var cut bool
			if vs[i], cut = cutValue(e, limit); cut {
				changed = true
			}
		}
		if changed {
			return attribute.SliceValue(vs...), true
		}
	case attribute.MAP:
		kvs := v.AsMap()
		changed := false
		for i, kv := range kvs {
			var cut bool
			if kvs[i].Value, cut = cutValue(kv.Value, limit); cut {
				changed = true
			}
		}
		if changed {
			return attribute.MapValue(kvs...), true
		}
	}
	return v, false
}

// cutString returns s cut to limit characters (an invalid byte counts as
// one), and whether it was.
func cutString(s string, limit int) (string, bool) {
	if len(s) <= limit {
		return s, false
	}
	n := 0
	for i := range s {
		if n == limit {
			return s[:i], true
		}
		n++
	}
	return s, false
}

func (g *gate) Enabled(ctx context.Context, p sdklog.EnabledParameters) bool {
	return g.next.Enabled(ctx, p)
}

func (g *gate) Shutdown(ctx context.Context) error {
	g.beginShutdown()
	if g.shutdown.Swap(true) {
		return nil
	}
	g.admit.Lock()
	g.stopped = true
	g.admit.Unlock()
	err := g.next.Shutdown(ctx)
	// The batch processor returns early only when ctx ends; its goroutine
	// may still be sending a batch, which is counted when that export ends.
	// The records still waiting behind it are lost now: the goroutine will
	// only try them with the expired context.
	g.settle.Lock()
	g.settled = true
	close(g.settledCh)
	n := g.pending.Swap(0) + g.parked
	g.parked = 0
	g.settle.Unlock()
	if n > 0 {
		g.failed.Add(uint64(n))
	}
	return err
}

// beginShutdown wakes a batch waiting for a retry; Shutdown calls it first.
func (g *gate) beginShutdown() {
	g.stoppingOnce.Do(func() { close(g.stopping) })
}

// ForceFlush returns when the queued records are delivered or ctx ends. The
// flush itself goes on without ctx: the batch processor skips the rest of a
// flush whose context has ended, and its records, already taken off its
// queue, would be lost, and their places in the gate never released.
func (g *gate) ForceFlush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := g.joinFlush(context.WithoutCancel(ctx))
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flushCall is one flush of the batch processor, shared by the ForceFlush
// calls waiting for it.
type flushCall struct {
	done chan struct{}
	err  error // set before done is closed
}

// joinFlush returns the flush that covers the records emitted so far: the
// one to start now when none runs, else the next one, shared by every caller
// that comes while the current one runs (which may have taken the queue
// before their records).
func (g *gate) joinFlush(ctx context.Context) *flushCall {
	g.flushMu.Lock()
	defer g.flushMu.Unlock()
	if g.flushing == nil {
		g.flushing = &flushCall{done: make(chan struct{})}
		go g.runFlushes(ctx)
		return g.flushing
	}
	if g.flushNext == nil {
		g.flushNext = &flushCall{done: make(chan struct{})}
	}
	return g.flushNext
}

// runFlushes runs the current flush, then the next while there is one.
func (g *gate) runFlushes(ctx context.Context) {
	for {
		g.flushMu.Lock()
		c := g.flushing
		g.flushMu.Unlock()
		c.err = g.next.ForceFlush(ctx)
		close(c.done)
		g.flushMu.Lock()
		g.flushing, g.flushNext = g.flushNext, nil
		last := g.flushing == nil
		g.flushMu.Unlock()
		if last {
			return
		}
	}
}

// claim takes n records off pending as they are handed to the exporter. It
// reports false once Shutdown has counted them as failed.
func (g *gate) claim(n int) bool {
	g.settle.Lock()
	defer g.settle.Unlock()
	if g.settled {
		return false
	}
	g.pending.Add(-int64(n))
	return true
}

// park records that n claimed records wait for a retry. It reports false
// once Shutdown has settled the count, which then did not include them.
func (g *gate) park(n int) bool {
	g.settle.Lock()
	defer g.settle.Unlock()
	if g.settled {
		return false
	}
	g.parked = int64(n)
	return true
}

// unpark takes the parked records back for another attempt. It reports
// false when Shutdown has settled the count meanwhile and so counted them
// as failed.
func (g *gate) unpark() bool {
	g.settle.Lock()
	defer g.settle.Unlock()
	if g.settled {
		return false
	}
	g.parked = 0
	return true
}

// failParked counts the n parked records as failed, unless Shutdown's
// settling already has: once either way. Unparking first and counting after
// would leave a moment in which the settling finds nothing parked and
// Shutdown returns before the records are counted.
func (g *gate) failParked(n int) {
	g.settle.Lock()
	defer g.settle.Unlock()
	if g.settled {
		return
	}
	g.parked = 0
	g.failed.Add(uint64(n))
}

// errSettled is returned for records handed to the exporter after Shutdown
// has counted them as failed.
var errSettled = errors.New("activity records not sent: the provider's shutdown deadline passed")

// countingExporter retries batches whose export failed with a retryable
// error, counts delivered and failed records, and releases their places in
// the gate.
//
// The batch processor calls it from its one export goroutine, so while a
// batch is retried no other is sent, and new records wait in the gate's
// queue: memory stays bounded by the queue plus the one batch in retry.
type countingExporter struct {
	next sdklog.Exporter
	gate *gate
	// attemptTimeout bounds one attempt.
	attemptTimeout time.Duration
	// initialWait and maxWait bound the backoff between attempts; maxRetry,
	// when positive, how long a batch is retried after its first failure.
	initialWait, maxWait, maxRetry time.Duration
	// jitter returns a number in [0, 1).
	jitter func() float64
	// report hands the error of a failed attempt that will be retried to
	// the OpenTelemetry error handler (otel.Handle), at most once per
	// retryReportEvery (reported: when last, UnixNano): the batch
	// processor sees an error only when a batch is given up, so an outage
	// would otherwise show nowhere but in the counts.
	report   func(error)
	reported atomic.Int64
}

var _ sdklog.Exporter = (*countingExporter)(nil)

func newCountingExporter(next sdklog.Exporter, g *gate, c config) *countingExporter {
	return &countingExporter{
		next: next, gate: g,
		attemptTimeout: c.exportTimeout,
		initialWait:    c.retryInitial, maxWait: c.retryMax, maxRetry: c.maxRetryTime,
		jitter: rand.Float64,
		report: otel.Handle,
	}
}

func (e *countingExporter) Export(ctx context.Context, records []sdklog.Record) error {
	if len(records) == 0 {
		return nil
	}
	if !e.gate.claim(len(records)) {
		// Already counted as failed: sending them now could deliver records
		// the provider has reported lost.
		return errSettled
	}
	return e.send(ctx, &batch{outstanding: len(records)}, records)
}

// batch is what the countingExporter knows of the batch it is sending, in
// one request or, when the collector refuses it as too large, in parts.
type batch struct {
	// outstanding counts the batch's records not yet counted as exported or
	// failed: the part being sent and those after it. A part waiting for a
	// retry parks them all, so that Shutdown counts them all as failed.
	outstanding int
	// settled is set once the gate's settling has counted the outstanding
	// records as failed; no part is then sent or counted again.
	settled bool
	// split is set once the batch is sent in parts.
	split bool
}

// send sends records, the next part of b, counts them and, when the
// collector refuses them as too large (see tooLarge), sends them again in
// halves, first half first, down to single records: one record too large
// to be taken is sent once more reduced (see sendReduced), alone, not with
// the rest of its batch.
func (e *countingExporter) send(ctx context.Context, b *batch, records []sdklog.Record) error {
	if b.settled {
		return errSettled
	}
	n := uint64(len(records))
	if b.split {
		if err := e.notSent(ctx, b, n); err != nil {
			return err
		}
	}
	counted, err := e.exportWithRetry(ctx, b, records)
	switch {
	case counted:
		b.settled = true
	case err == nil:
		e.count(b, n, 0)
	default:
		if rejected, ok := partialSuccess(err); ok {
			// The collector took the request and stored all but the
			// rejected records; sending it again would duplicate them.
			rejected = min(rejected, n)
			e.count(b, n-rejected, rejected)
			return err
		}
		if len(records) > 1 && tooLarge(err) {
			b.split = true
			half := len(records) / 2
			first := e.send(ctx, b, records[:half])
			return errors.Join(first, e.send(ctx, b, records[half:]))
		}
		if tooLarge(err) {
			return e.sendReduced(ctx, b, records[0], err)
		}
		e.count(b, 0, n)
	}
	return err
}

// notSent tells whether a part of b not yet tried, n records, must not be
// sent: Shutdown has settled the gate (while no part was parked) or ctx has
// ended, and the exporter may be shut down, Shutdown may have returned. It
// then counts them as failed and returns why; nil otherwise.
func (e *countingExporter) notSent(ctx context.Context, b *batch, n uint64) error {
	select {
	case <-e.gate.settledCh:
		e.count(b, 0, n)
		return errSettled
	default:
	}
	if err := ctx.Err(); err != nil {
		e.count(b, 0, n)
		return err
	}
	return nil
}

// sendReduced sends r, the record of b the collector refused as too large
// even alone (refusal), once more reduced (see reduce), retried through an
// outage as any part of a batch is, and counts it: exported and reduced
// when it is taken, failed when it is refused again or there was nothing
// to reduce. An audit record lost whole because its changed values are
// large loses who did what, when and from where with them.
func (e *countingExporter) sendReduced(ctx context.Context, b *batch, r sdklog.Record, refusal error) error {
	reduced, ok := reduce(r)
	if !ok {
		e.count(b, 0, 1)
		return fmt.Errorf("activity record refused as too large to send, even alone, with nothing to reduce: %w", refusal)
	}
	// As a part of a split batch is.
	if err := e.notSent(ctx, b, 1); err != nil {
		return err
	}
	counted, err := e.exportWithRetry(ctx, b, []sdklog.Record{reduced})
	switch {
	case counted:
		b.settled = true
		return err
	case err == nil:
		e.count(b, 1, 0)
		e.gate.reduced.Add(1)
		return nil
	}
	if rejected, ok := partialSuccess(err); ok {
		if rejected == 0 {
			e.count(b, 1, 0)
			e.gate.reduced.Add(1)
		} else {
			e.count(b, 0, 1)
		}
		return err
	}
	e.count(b, 0, 1)
	if tooLarge(err) {
		return fmt.Errorf("activity record refused as too large to send, even alone and reduced: %w", err)
	}
	return fmt.Errorf("activity record refused as too large to send, even alone (%w), and its reduced form not sent: %w", refusal, err)
}

// count counts exported and failed records of b.
func (e *countingExporter) count(b *batch, exported, failed uint64) {
	b.outstanding -= int(exported + failed)
	if exported > 0 {
		e.gate.exported.Add(exported)
	}
	if failed > 0 {
		e.gate.failed.Add(failed)
	}
}

// exportWithRetry tries records, part of b, until they are delivered, the
// error is not retryable, maxRetry has passed, ctx ends (only Shutdown's
// can: the provider gives the batch processor no other deadline) or the gate
// is settled. An attempt under way when the gate is settled is not cut
// short, so a batch the collector did take is counted as exported. counted
// reports that the gate's settling has already counted b's outstanding
// records, these and the parts after them, as failed.
func (e *countingExporter) exportWithRetry(ctx context.Context, b *batch, records []sdklog.Record) (counted bool, err error) {
	var start time.Time
	wait := e.initialWait
	// Once Shutdown begins, a batch waiting for a retry is tried again at
	// once, and then with waits from the initial one, so that the retries
	// fit in Shutdown's deadline. Only once: a closed channel in the select
	// below would turn the waits into a tight loop. A batch first sent
	// after Shutdown began starts from the initial wait anyway.
	stopping := e.gate.stopping
	select {
	case <-stopping:
		stopping = nil
	default:
	}
	for {
		actx, cancel := context.WithTimeout(ctx, e.attemptTimeout)
		err = e.next.Export(actx, records)
		cancel()
		if err == nil || !retryable(err) {
			return false, err
		}
		if start.IsZero() {
			start = time.Now()
		}
		// Equal jitter: between half the wait and the whole of it; and no
		// sooner than the collector asked (Retry-After, RetryInfo), up to
		// the longest wait.
		d := wait/2 + time.Duration(e.jitter()*float64(wait/2))
		asked := min(throttleDelay(err), e.maxWait)
		d = max(d, asked)
		wait = min(2*wait, e.maxWait)
		if e.maxRetry > 0 && time.Since(start)+d > e.maxRetry {
			return false, fmt.Errorf("activity records not sent after retrying for %s: %w", e.maxRetry, err)
		}
		if !e.gate.park(b.outstanding) {
			return false, fmt.Errorf("%w: %w", errSettled, err)
		}
		e.reportRetry(err, b.outstanding, d)
		now := time.Now()
		until, earliest := now.Add(d), now.Add(asked)
		for waiting := true; waiting; {
			t := time.NewTimer(time.Until(until))
			select {
			case <-t.C:
				waiting = false
			case <-stopping:
				stopping, wait, until = nil, e.initialWait, earliest
			case <-ctx.Done():
				waiting = false
			case <-e.gate.settledCh:
				waiting = false
			}
			t.Stop()
		}
		if ctx.Err() != nil {
			// Shutdown's deadline: counted as failed under the gate's
			// lock, by this call or by the settling racing it, so that
			// Stats hold them when Shutdown returns.
			e.gate.failParked(b.outstanding)
			return true, errors.Join(err, ctx.Err())
		}
		if !e.gate.unpark() {
			return true, fmt.Errorf("%w: %w", errSettled, err)
		}
	}
}

// retryReportEvery is the least time between two reports of failed
// attempts: one per minute of an outage, not one per attempt.
var retryReportEvery = time.Minute

// reportRetry reports a failed attempt whose n records wait d for the next
// one, unless another was reported less than retryReportEvery ago.
func (e *countingExporter) reportRetry(err error, n int, d time.Duration) {
	now := time.Now().UnixNano()
	last := e.reported.Load()
	if last != 0 && now-last < int64(retryReportEvery) || !e.reported.CompareAndSwap(last, now) {
		return
	}
	e.report(fmt.Errorf("activity records: export failed; %d records kept, tried again in %s, until delivered "+
		"(reported at most once a minute while it fails): %w", n, d.Round(time.Millisecond), err))
}

func (e *countingExporter) Shutdown(ctx context.Context) error   { return e.next.Shutdown(ctx) }
func (e *countingExporter) ForceFlush(ctx context.Context) error { return e.next.ForceFlush(ctx) }

// envHeaders reads OTEL_EXPORTER_OTLP_LOGS_HEADERS, else (unset or blank)
// OTEL_EXPORTER_OTLP_HEADERS, through getenv: comma-separated key=value
// pairs, read as the Go SDK reads them (the key trimmed, the value
// percent-decoded, then trimmed). The exporters read the process environment
// themselves, but a WithGetenv function must be able to carry the
// collector's token too. Where the exporters skip a malformed pair (and so
// would send no token, and every record would be refused), this is an error
// that names the pair, and its key only when that is a header name: written
// with ':' for '=' ("Authorization: Bearer <token>=="), what reads as the key
// holds the token, and the message is logged.
func envHeaders(getenv func(string) string) (map[string]string, error) {
	name := "OTEL_EXPORTER_OTLP_LOGS_HEADERS"
	raw := getenv(name)
	if strings.TrimSpace(raw) == "" {
		name = "OTEL_EXPORTER_OTLP_HEADERS"
		raw = getenv(name)
	}
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	h := map[string]string{}
	for i, pair := range strings.Split(raw, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		key := strings.TrimSpace(k)
		if !ok || !validHeaderName(key) {
			return nil, fmt.Errorf("%w: %s: pair %d is not key=value with a header name as key (is ':' written for '='?)",
				ErrInvalidHeaders, name, i+1)
		}
		val, err := url.PathUnescape(v)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%w: %s: pair %d (key %q): the value has a malformed percent escape", ErrInvalidHeaders, name, i+1, key)
		case strings.ContainsAny(val, "\r\n\x00"):
			return nil, fmt.Errorf("%w: %s: pair %d (key %q): a value may not hold a line break or NUL", ErrInvalidHeaders, name, i+1, key)
		}
		h[key] = strings.TrimSpace(val)
	}
	return h, nil
}

// validHeaderName reports whether k is an HTTP token (RFC 9110), which both
// HTTP and gRPC metadata accept as a name.
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
