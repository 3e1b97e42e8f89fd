package activityprocessor

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/activitylog/activitylog/processor/activityprocessor/internal/metadata"
	"github.com/activitylog/activitylog/schema"
)

// fakeTimer is one timer the resend goroutine started: how long it asked
// for, and the channel that fires it.
type fakeTimer struct {
	d time.Duration
	c chan time.Time
}

// fakeTimers replaces the resend goroutine's timers: each one it starts is
// reported on armed, and fires only when the test sends on its channel.
type fakeTimers struct {
	armed chan fakeTimer
	// overflow counts timers started while armed was full: a goroutine
	// that spins instead of waiting.
	overflow atomic.Int64
}

func newFakeTimers() *fakeTimers { return &fakeTimers{armed: make(chan fakeTimer, 64)} }

func (f *fakeTimers) start(d time.Duration) (<-chan time.Time, func() bool) {
	tm := fakeTimer{d: d, c: make(chan time.Time, 1)}
	select {
	case f.armed <- tm:
	default:
		f.overflow.Add(1)
	}
	return tm.c, func() bool { return true }
}

// next waits for the resend goroutine to start a timer.
func (f *fakeTimers) next(t *testing.T) fakeTimer {
	t.Helper()
	select {
	case tm := <-f.armed:
		return tm
	case <-time.After(5 * time.Second):
		t.Fatal("got no resend timer started, want one for the pending alert")
		return fakeTimer{}
	}
}

// waitCall waits for the next consumer's call number n.
func waitCall(t *testing.T, called <-chan int, n int) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case got := <-called:
			if got >= n {
				return
			}
		case <-deadline:
			t.Fatalf("got no call %d of the next consumer, want the alert resent on its own", n)
		}
	}
}

// newResending builds the processor as the factory does, in front of next,
// with its resend timers replaced by start, and starts it.
func newResending(t *testing.T, cfg *Config, next *flakyConsumer, start func(time.Duration) (<-chan time.Time, func() bool)) (processor.Logs, *activityProcessor) {
	t.Helper()
	return newResendingLogged(t, cfg, next, start, zap.NewNop())
}

// newResendingLogged is newResending with the processor logging to logger.
func newResendingLogged(t *testing.T, cfg *Config, next *flakyConsumer, start func(time.Duration) (<-chan time.Time, func() bool), logger *zap.Logger) (processor.Logs, *activityProcessor) {
	t.Helper()
	ap := newTestLogs(t, cfg, func() time.Time { return goldenNow }, nil)
	set := processortest.NewNopSettings(metadata.Type)
	set.Logger = logger
	p, err := ap.logs(context.Background(), set, next)
	if err != nil {
		t.Fatal(err)
	}
	ap.delivery.newTimer = start
	if err := p.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	return p, ap
}

// refusedBurst passes a batch of five failed logins from ip, which the next
// consumer must refuse, and returns the id of the alert it raised.
func refusedBurst(t *testing.T, p processor.Logs, ip string) string {
	t.Helper()
	ld := failedLogins(ip, 5, goldenNow.Add(-10*time.Second))
	err := p.ConsumeLogs(context.Background(), ld)
	alerts := alertsIn(ld)
	if len(alerts) != 1 {
		t.Fatalf("got %d alerts in the batch, want 1", len(alerts))
	}
	if err == nil {
		t.Fatalf("got no error for the refused batch of %s, want the next consumer's", ip)
	}
	return attrStr(alerts[0], schema.AttrID)
}

// TestPendingAlertResentOnItsOwn: the batch carrying an alert is refused
// and no batch follows (the attack is over). The alert reaches the next
// consumer in a batch of its own, with the same id, once the timer fires a
// second after the refusal, not at shutdown; once delivered, the goroutine
// starts no timer until another alert waits. The consumer refuses on demand
// (a fake: refusal by the exporter's queue is what the test needs).
func TestPendingAlertResentOnItsOwn(t *testing.T) {
	next := &flakyConsumer{fail: func(call int) bool { return call == 1 }, called: make(chan int, 16)}
	timers := newFakeTimers()
	p, _ := newResending(t, createDefaultConfig(), next, timers.start)
	id := refusedBurst(t, p, "203.0.113.7")
	tm := timers.next(t)
	if tm.d != firstResendDelay {
		t.Errorf("first resend after %v, want %v", tm.d, firstResendDelay)
	}
	tm.c <- goldenNow
	waitCall(t, next.called, 2)
	if ids := acceptedAlerts(next); len(ids) != 1 || ids[0] != id {
		t.Errorf("got alerts %v accepted before shutdown, want [%s]", ids, id)
	}
	if n := next.LogRecordCount(); n != 1 {
		t.Errorf("got %d records in the resend, want the alert alone", n)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ids := acceptedAlerts(next); len(ids) != 1 {
		t.Errorf("got %d alerts accepted downstream (%v), want 1", len(ids), ids)
	}
	if n := len(timers.armed) + int(timers.overflow.Load()); n != 0 {
		t.Errorf("got %d timers started with nothing pending, want 0", n)
	}
}

// TestRefusedResendKeptAndRetried: while the next consumer refuses the
// resends too, the alert stays pending and is tried again, each wait twice
// the one before up to the cap, until one is accepted: delivered once.
func TestRefusedResendKeptAndRetried(t *testing.T) {
	const refusals = 8 // the batch and seven resends
	next := &flakyConsumer{fail: func(call int) bool { return call <= refusals }, called: make(chan int, 16)}
	timers := newFakeTimers()
	p, _ := newResending(t, createDefaultConfig(), next, timers.start)
	id := refusedBurst(t, p, "203.0.113.7")
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		16 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second}
	for i, w := range want {
		tm := timers.next(t)
		if tm.d != w {
			t.Errorf("resend %d after %v, want %v", i+1, tm.d, w)
		}
		tm.c <- goldenNow
		waitCall(t, next.called, i+2)
	}
	if ids := acceptedAlerts(next); len(ids) != 1 || ids[0] != id {
		t.Errorf("got alerts %v accepted, want [%s]", ids, id)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ids := acceptedAlerts(next); len(ids) != 1 {
		t.Errorf("got %d alerts accepted downstream (%v), want 1", len(ids), ids)
	}
}

// TestBatchCarriesPendingAlertFirst: a batch that comes before the timer
// fires carries the pending alert; the timer then sends nothing.
func TestBatchCarriesPendingAlertFirst(t *testing.T) {
	next := &flakyConsumer{fail: func(call int) bool { return call == 1 }, called: make(chan int, 16)}
	timers := newFakeTimers()
	p, _ := newResending(t, createDefaultConfig(), next, timers.start)
	id := refusedBurst(t, p, "203.0.113.7")
	tm := timers.next(t)
	if err := p.ConsumeLogs(context.Background(), acmeRecord(func(pcommon.Map) {})); err != nil {
		t.Fatal(err)
	}
	tm.c <- goldenNow
	// Shutdown waits for the goroutine: whatever the timer sent is sent.
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ids := acceptedAlerts(next); len(ids) != 1 || ids[0] != id {
		t.Errorf("got alerts %v accepted, want [%s]", ids, id)
	}
	if got := len(next.AllLogs()); got != 1 {
		t.Errorf("got %d batches accepted, want 1: the one that carried the alert", got)
	}
}

// TestResendGoroutineStopsAtShutdown: Shutdown stops the goroutine waiting
// to resend, and sends what it was waiting for, as before.
func TestResendGoroutineStopsAtShutdown(t *testing.T) {
	before := goleak.IgnoreCurrent()
	next := &flakyConsumer{fail: func(call int) bool { return call == 1 }, called: make(chan int, 16)}
	timers := newFakeTimers()
	p, _ := newResending(t, createDefaultConfig(), next, timers.start)
	refusedBurst(t, p, "203.0.113.7")
	timers.next(t)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, before)
	if ids := acceptedAlerts(next); len(ids) != 1 {
		t.Errorf("got %d alerts accepted downstream (%v), want 1 (sent at shutdown)", len(ids), ids)
	}
}

// TestConcurrentResendsDeliverEveryAlert: the resend goroutine fires as
// soon as anything is pending while many clients, each a burst of its own
// address, retry batches downstream refuses every other time: every alert
// arrives once, none twice through both paths (run with -race).
func TestConcurrentResendsDeliverEveryAlert(t *testing.T) {
	// Refusals stop once every client is through, so that the last
	// resend and the shutdown are accepted.
	var through atomic.Bool
	next := &flakyConsumer{fail: func(call int) bool { return !through.Load() && call%2 == 1 }}
	immediate := func(time.Duration) (<-chan time.Time, func() bool) {
		c := make(chan time.Time, 1)
		c <- goldenNow
		return c, func() bool { return true }
	}
	p, _ := newResending(t, createDefaultConfig(), next, immediate)
	const clients = 16
	burstsRetried(p, clients)
	through.Store(true)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	oneAlertPerClient(t, next, clients)
}

// TestStartTwiceLeavesOneResendGoroutine: a second Start (which the
// component contract does not forbid a host to make) starts no second
// resend goroutine, so Shutdown stops every goroutine Start began.
func TestStartTwiceLeavesOneResendGoroutine(t *testing.T) {
	before := goleak.IgnoreCurrent()
	next := &flakyConsumer{fail: func(int) bool { return false }}
	p, _ := newResending(t, createDefaultConfig(), next, newFakeTimers().start)
	if err := p.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, before)
}

// TestRefusalAfterDeliveryResentSoon: refused resends have pushed the wait
// to its cap when a batch carries the pending alert and is accepted. A
// refusal after that is resent about a second later, not when the capped
// timer (started for an alert no longer pending) fires, and a refused
// resend of it backs off from the start again.
func TestRefusalAfterDeliveryResentSoon(t *testing.T) {
	// Calls 1-6: the first burst's batch and five resends (waits 1 s to
	// 16 s), refused; 7: the batch that carries it; 8: the second burst's
	// batch and 9: its first resend, refused; 10: its second resend.
	next := &flakyConsumer{fail: func(call int) bool { return call <= 6 || call == 8 || call == 9 }, called: make(chan int, 16)}
	timers := newFakeTimers()
	p, _ := newResending(t, createDefaultConfig(), next, timers.start)
	first := refusedBurst(t, p, "203.0.113.7")
	for i := range 5 {
		tm := timers.next(t)
		tm.c <- goldenNow
		waitCall(t, next.called, i+2)
	}
	if tm := timers.next(t); tm.d != maxResendDelay {
		t.Fatalf("got a wait of %v after five refused resends, want %v", tm.d, maxResendDelay)
	}
	if err := p.ConsumeLogs(context.Background(), acmeRecord(func(pcommon.Map) {})); err != nil {
		t.Fatal(err)
	}
	second := refusedBurst(t, p, "198.51.100.9")
	for i, want := range []time.Duration{firstResendDelay, 2 * firstResendDelay} {
		tm := timers.next(t)
		if tm.d != want {
			t.Errorf("resend %d of the alert refused after a delivery after %v, want %v", i+1, tm.d, want)
		}
		tm.c <- goldenNow
		waitCall(t, next.called, 9+i)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ids := acceptedAlerts(next); len(ids) != 2 || ids[0] != first || ids[1] != second {
		t.Errorf("got alerts %v accepted, want [%s %s]", ids, first, second)
	}
}

// TestResendRefusedAfterShutdownGaveUpIsLogged: Shutdown's context ends
// while a resend is in flight (an exporter that does not give up when its
// context ends), so Shutdown returns before the resend is answered and
// cannot send its alert; when the resend is then refused, the alert's loss
// is logged as every other lost alert is, with the count, not kept where
// nothing sends it any more.
func TestResendRefusedAfterShutdownGaveUpIsLogged(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	next := &flakyConsumer{fail: func(call int) bool {
		if call == 2 { // the resend: held until released, then refused
			close(entered)
			<-release
		}
		return call <= 2
	}}
	core, logs := observer.New(zapcore.ErrorLevel)
	timers := newFakeTimers()
	p, ap := newResendingLogged(t, createDefaultConfig(), next, timers.start, zap.New(core))
	refusedBurst(t, p, "203.0.113.7")
	timers.next(t).c <- goldenNow
	<-entered
	stopped := ap.delivery.done
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = p.Shutdown(ctx)
	close(release)
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the resend goroutine did not stop once its resend was answered")
	}
	var dropped int64
	for _, e := range logs.All() {
		if strings.Contains(e.Message, "failed-login burst alerts lost") {
			n, _ := e.ContextMap()["dropped"].(int64)
			dropped += n
		}
	}
	if dropped != 1 {
		t.Errorf("got %d alerts logged as lost, want 1 (logs: %v)", dropped, logs.All())
	}
}
