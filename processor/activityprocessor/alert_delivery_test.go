package activityprocessor

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/activitylog/activitylog/processor/activityprocessor/internal/metadata"
	"github.com/activitylog/activitylog/schema"
)

// flakyConsumer refuses the calls for which fail returns true, as the
// exporter's persistent queue refuses a batch when it is full, and keeps
// what it accepts.
type flakyConsumer struct {
	consumertest.LogsSink
	mu    sync.Mutex
	calls int
	fail  func(call int) bool
	// called, when set, receives each call's number once it is answered.
	called chan int
}

func (c *flakyConsumer) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	c.mu.Lock()
	c.calls++
	call := c.calls
	refuse := c.fail(call)
	c.mu.Unlock()
	if c.called != nil {
		defer func() { c.called <- call }()
	}
	if refuse {
		return errors.New("sending queue is full")
	}
	return c.LogsSink.ConsumeLogs(ctx, ld)
}

func (c *flakyConsumer) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

// acceptedAlerts returns the ids of the alert records next accepted.
func acceptedAlerts(next *flakyConsumer) []string {
	var ids []string
	for _, ld := range next.AllLogs() {
		for _, lr := range alertsIn(ld) {
			ids = append(ids, attrStr(lr, schema.AttrID))
		}
	}
	return ids
}

// newDelivered builds the processor as the factory does, in front of next,
// and returns it with its state.
func newDelivered(t *testing.T, cfg *Config, clock func() time.Time, next consumer.Logs) (processor.Logs, *activityProcessor) {
	t.Helper()
	ap := newTestLogs(t, cfg, clock, nil)
	p, err := ap.logs(context.Background(), processortest.NewNopSettings(metadata.Type), next)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	return p, ap
}

// TestAlertOfRefusedBatchIsResent: the batch carrying an alert is refused
// downstream and the client retries it. On the retry the failures are
// already counted and the key is cooling down, so the detector raises
// nothing; the alert must still reach the next consumer, exactly once.
func TestAlertOfRefusedBatchIsResent(t *testing.T) {
	next := &flakyConsumer{fail: func(call int) bool { return call == 1 }}
	p, _ := newDelivered(t, createDefaultConfig(), func() time.Time { return goldenNow }, next)
	batch := failedLogins("203.0.113.7", 5, goldenNow.Add(-10*time.Second))
	send := func() error {
		ld := plog.NewLogs()
		batch.CopyTo(ld)
		return p.ConsumeLogs(context.Background(), ld)
	}
	if err := send(); err == nil {
		t.Fatal("got no error for the refused batch, want the next consumer's")
	}
	if err := send(); err != nil {
		t.Fatalf("retry: %v", err)
	}
	// A later batch brings nothing more: the alert was delivered.
	if err := p.ConsumeLogs(context.Background(), acmeRecord(func(pcommon.Map) {})); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ids := acceptedAlerts(next); len(ids) != 1 {
		t.Errorf("got %d alerts accepted downstream (%v), want 1", len(ids), ids)
	}
}

// TestPendingAlertSentAtShutdown: an alert whose batch was refused, with no
// batch after it, is sent when the processor shuts down (before the next
// consumer does).
func TestPendingAlertSentAtShutdown(t *testing.T) {
	next := &flakyConsumer{fail: func(call int) bool { return call == 1 }}
	p, _ := newDelivered(t, createDefaultConfig(), func() time.Time { return goldenNow }, next)
	if err := p.ConsumeLogs(context.Background(), failedLogins("203.0.113.7", 5, goldenNow.Add(-10*time.Second))); err == nil {
		t.Fatal("got no error for the refused batch, want the next consumer's")
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ids := acceptedAlerts(next); len(ids) != 1 {
		t.Errorf("got %d alerts accepted downstream (%v), want 1", len(ids), ids)
	}
}

// TestPendingAlertsBounded: while downstream refuses everything, the alerts
// kept for later stop at the bound, the newest kept, and are all delivered
// once it accepts again.
func TestPendingAlertsBounded(t *testing.T) {
	refusing := true
	next := &flakyConsumer{fail: func(int) bool { return refusing }}
	cfg := createDefaultConfig()
	cfg.Burst.Threshold = 1
	p, ap := newDelivered(t, cfg, func() time.Time { return goldenNow }, next)
	const bound, bursts = 3, 5
	ap.delivery.max = bound
	for i := range bursts {
		ip := "203.0.113." + string(rune('1'+i))
		_ = p.ConsumeLogs(context.Background(), failedLogins(ip, 1, goldenNow.Add(-time.Second)))
	}
	refusing = false
	if err := p.ConsumeLogs(context.Background(), acmeRecord(func(pcommon.Map) {})); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, ld := range next.AllLogs() {
		for _, lr := range alertsIn(ld) {
			got[attrStr(lr, schema.AttrAlertKey)] = true
		}
	}
	if len(got) != bound || got["203.0.113.1"] || !got["203.0.113.5"] {
		t.Errorf("got alerts for %v delivered, want the newest %d", got, bound)
	}
	_ = p.Shutdown(context.Background())
}

// TestConcurrentRefusalsDeliverEveryAlert: many goroutines, as the receiver
// calls the processor, each a burst of its own address, downstream refusing
// every other call and each client retrying until accepted: every alert
// arrives, once per burst (run with -race).
func TestConcurrentRefusalsDeliverEveryAlert(t *testing.T) {
	next := &flakyConsumer{fail: func(call int) bool { return call%2 == 1 }}
	p, _ := newDelivered(t, createDefaultConfig(), func() time.Time { return goldenNow }, next)
	const clients = 16
	burstsRetried(p, clients)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	oneAlertPerClient(t, next, clients)
}

// burstsRetried sends, from as many concurrent clients, a burst of failed
// logins of each client's own address, each client sending its batch again
// until the processor accepts it.
func burstsRetried(p processor.Logs, clients int) {
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			batch := failedLogins("198.51.100."+strconv.Itoa(i), 5, goldenNow.Add(-10*time.Second))
			for {
				ld := plog.NewLogs()
				batch.CopyTo(ld)
				if p.ConsumeLogs(context.Background(), ld) == nil {
					return
				}
			}
		})
	}
	wg.Wait()
}

// oneAlertPerClient checks that next accepted exactly one alert for each of
// the clients burstsRetried sent.
func oneAlertPerClient(t *testing.T, next *flakyConsumer, clients int) {
	t.Helper()
	keys := map[string]int{}
	for _, ld := range next.AllLogs() {
		for _, lr := range alertsIn(ld) {
			keys[attrStr(lr, schema.AttrAlertKey)]++
		}
	}
	if len(keys) != clients {
		t.Errorf("got alerts for %d addresses, want %d", len(keys), clients)
	}
	for k, n := range keys {
		if n != 1 {
			t.Errorf("%s: got %d alerts accepted downstream, want 1", k, n)
		}
	}
}
