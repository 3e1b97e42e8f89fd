package activityprocessor

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/activitylog/activitylog/processor/activityprocessor/internal/burst"
)

// maxPendingAlerts bounds the alerts kept for a later batch: the alerts of
// about a hundred bursts a minute through a ten-minute outage downstream.
const maxPendingAlerts = 1000

// Waits before pending alerts are resent in a batch of their own: the
// first soon after the refusal (alerts are raised while they happen),
// doubling after each refused resend up to the cap, and back to the first
// once downstream accepts alerts again.
const (
	firstResendDelay = time.Second
	maxResendDelay   = 30 * time.Second
)

// alertDelivery stands between the processor and the next consumer and
// makes sure an alert reaches it. The detector raises an alert once per
// burst: when the batch carrying it is refused downstream, the client's
// retry brings failures already counted and a key cooling down, so nothing
// would raise it again. The alerts of a refused batch are kept and appended
// to the next batch instead (same deterministic id, so a batch refused after
// Elasticsearch stored part of it cannot duplicate the alert). No batch may
// come (the attack is over, the emitters are down), so once started a
// goroutine resends them in a batch of their own if none carried them
// first; what is still kept at shutdown is sent then. Every path takes the
// alerts it sends out of pending under the lock, so none is sent twice at
// once. It is safe for concurrent use.
type alertDelivery struct {
	next   consumer.Logs
	logger *zap.Logger
	max    int
	// batch builds the batch of its own that resends alerts.
	batch func([]burst.Alert) plog.Logs
	// newTimer starts a timer (time.NewTimer's channel and Stop); tests
	// replace it before start.
	newTimer func(time.Duration) (<-chan time.Time, func() bool)

	// inFlight and waiting mirror len(batches) and len(pending), read
	// without the lock: a batch without alerts costs two atomic loads.
	inFlight atomic.Int64
	waiting  atomic.Int64
	// wake tells the resend goroutine that alerts are pending, and
	// delivered that downstream accepted a batch carrying alerts (its
	// wait, grown by refused resends, starts over); one slot each, so
	// neither blocks the batch.
	wake      chan struct{}
	delivered chan struct{}
	// cancel and done stop the resend goroutine and tell it has stopped;
	// nil when it is not running. abandoned is closed, under mu, when stop
	// gives up waiting for it. Used by start and stop only, which the
	// collector calls one after the other.
	cancel    context.CancelFunc
	done      chan struct{}
	abandoned chan struct{}

	mu sync.Mutex
	// batches holds the alerts of each batch handed to next and not yet
	// answered; plog.Logs is a pair of pointers, the batch's identity.
	batches map[plog.Logs][]burst.Alert
	// pending are the alerts of refused batches, oldest first (a batch
	// carries the resent alerts before those it raised).
	pending []burst.Alert
}

var _ consumer.Logs = (*alertDelivery)(nil)

// newAlertDelivery returns the delivery in front of next; batch builds the
// batch that resends alerts on their own.
func newAlertDelivery(next consumer.Logs, logger *zap.Logger, batch func([]burst.Alert) plog.Logs) *alertDelivery {
	return &alertDelivery{
		next: next, logger: logger, max: maxPendingAlerts, batch: batch,
		newTimer: func(d time.Duration) (<-chan time.Time, func() bool) {
			t := time.NewTimer(d)
			return t.C, t.Stop
		},
		wake:      make(chan struct{}, 1),
		delivered: make(chan struct{}, 1),
		batches:   map[plog.Logs][]burst.Alert{},
	}
}

// Capabilities are the next consumer's.
func (d *alertDelivery) Capabilities() consumer.Capabilities { return d.next.Capabilities() }

// ConsumeLogs hands ld to the next consumer and, when it refuses ld, keeps
// the alerts ld carried for a later batch.
func (d *alertDelivery) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	err := d.next.ConsumeLogs(ctx, ld)
	if d.inFlight.Load() == 0 {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	alerts, ok := d.batches[ld]
	if !ok {
		return err
	}
	delete(d.batches, ld)
	d.inFlight.Add(-1)
	if err != nil {
		d.keep(alerts)
		return err
	}
	signal(d.delivered)
	return nil
}

// take returns the alerts waiting for a batch, and forgets them.
func (d *alertDelivery) take() []burst.Alert {
	if d.waiting.Load() == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.pending
	d.pending = nil
	d.waiting.Store(0)
	return out
}

// carry notes that ld, about to go to the next consumer, carries alerts.
func (d *alertDelivery) carry(ld plog.Logs, alerts []burst.Alert) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.batches[ld] = alerts
	d.inFlight.Add(1)
}

// keep adds alerts to the pending ones, dropping the oldest beyond the
// bound. Called with d.mu held.
func (d *alertDelivery) keep(alerts []burst.Alert) {
	d.pending = append(d.pending, alerts...)
	d.bound()
}

// keepOlder puts alerts taken from pending back before those kept since,
// dropping the oldest beyond the bound. Called with d.mu held.
func (d *alertDelivery) keepOlder(alerts []burst.Alert) {
	d.pending = append(alerts, d.pending...)
	d.bound()
}

// bound drops the oldest pending alerts beyond d.max, and wakes the resend
// goroutine. Called with d.mu held.
func (d *alertDelivery) bound() {
	if n := len(d.pending) - d.max; n > 0 {
		d.logger.Error("failed-login burst alerts lost: their batches were refused downstream and too many alerts wait to be sent again",
			zap.Int("dropped", n), zap.Int("kept", d.max))
		d.pending = append(d.pending[:0], d.pending[n:]...)
	}
	d.waiting.Store(int64(len(d.pending)))
	signal(d.wake)
}

// signal tells the resend goroutine through c, without waiting.
func signal(c chan<- struct{}) {
	select {
	case c <- struct{}{}:
	default: // already told
	}
}

// start starts the goroutine that resends pending alerts, unless it runs
// already: a second goroutine would outlive stop, which cancels only the
// last one started.
func (d *alertDelivery) start() {
	if d.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel, d.done, d.abandoned = cancel, make(chan struct{}), make(chan struct{})
	go d.resendLoop(ctx, d.done, d.abandoned)
}

// stop stops the resend goroutine and waits for it, or for ctx; a resend
// in progress is cancelled, and what it was sending stays pending. When
// ctx ends first, shutdown cannot send what the resend holds, so the
// goroutine logs its loss itself if it is refused.
func (d *alertDelivery) stop(ctx context.Context) {
	if d.cancel == nil {
		return
	}
	d.cancel()
	select {
	case <-d.done:
	case <-ctx.Done():
		d.mu.Lock()
		close(d.abandoned)
		d.mu.Unlock()
	}
	d.cancel, d.done, d.abandoned = nil, nil, nil
}

// resendLoop waits while nothing is pending; once alerts are, it waits the
// current delay and sends those still pending (a batch may have carried
// them meanwhile) in a batch of their own. A refused resend keeps them and
// doubles the delay, up to maxResendDelay; an accepted one, finding nothing
// left, or a batch carrying alerts accepted meanwhile brings it back to
// firstResendDelay (a longer timer running then is replaced, so an alert
// refused after that waits no longer). A resend refused after stop gave up
// waiting (abandoned) is logged as lost: nothing would send it any more.
func (d *alertDelivery) resendLoop(ctx context.Context, done chan<- struct{}, abandoned <-chan struct{}) {
	defer close(done)
	delay := firstResendDelay
	for {
		if d.waiting.Load() == 0 {
			select {
			case <-d.wake:
				continue
			case <-d.delivered:
				delay = firstResendDelay
				continue
			case <-ctx.Done():
				return
			}
		}
		fire, stopTimer := d.newTimer(delay)
		// A delivery cuts only a wait longer than the first: replacing a
		// first wait could put a pending alert off again and again.
		delivered := d.delivered
		if delay == firstResendDelay {
			delivered = nil
		}
		select {
		case <-fire:
			// A delivery told while the first wait ran is older than
			// the resend about to go: its answer sets the next wait.
			select {
			case <-d.delivered:
			default:
			}
		case <-delivered:
			stopTimer()
			delay = firstResendDelay
			continue
		case <-ctx.Done():
			stopTimer()
			return
		}
		alerts := d.take()
		if len(alerts) == 0 {
			delay = firstResendDelay
			continue
		}
		if err := d.next.ConsumeLogs(ctx, d.batch(alerts)); err != nil {
			d.mu.Lock()
			select {
			case <-abandoned:
				d.logger.Error("failed-login burst alerts lost at shutdown: refused downstream",
					zap.Int("dropped", len(alerts)), zap.Error(err))
			default:
				d.keepOlder(alerts)
			}
			d.mu.Unlock()
			delay = min(2*delay, maxResendDelay)
			continue
		}
		delay = firstResendDelay
	}
}

// alertBatch returns a batch of the alert records of alerts alone, as
// processLogs would append them.
func (p *activityProcessor) alertBatch(alerts []burst.Alert) plog.Logs {
	ld := plog.NewLogs()
	st := batchStats{resent: alerts}
	p.appendAlerts(ld, &st)
	return ld
}

// startDelivery starts resending the alerts of refused batches on their
// own.
func (p *activityProcessor) startDelivery(context.Context, component.Host) error {
	if p.delivery != nil {
		p.delivery.start()
	}
	return nil
}

// stopDelivery stops the resend goroutine before shutdown sends what is
// still pending, so the two cannot send at once.
func (p *activityProcessor) stopDelivery(ctx context.Context) error {
	if p.delivery != nil {
		p.delivery.stop(ctx)
	}
	return p.shutdown(ctx)
}
