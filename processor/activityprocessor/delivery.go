package activityprocessor

import (
	"context"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/activitylog/activitylog/processor/activityprocessor/internal/burst"
)

// maxPendingAlerts bounds the alerts kept for a later batch: the alerts of
// about a hundred bursts a minute through a ten-minute outage downstream.
const maxPendingAlerts = 1000

// alertDelivery stands between the processor and the next consumer and
// makes sure an alert reaches it. The detector raises an alert once per
// burst: when the batch carrying it is refused downstream, the client's
// retry brings failures already counted and a key cooling down, so nothing
// would raise it again. The alerts of a refused batch are kept and appended
// to the next batch instead (same deterministic id, so a batch refused after
// Elasticsearch stored part of it cannot duplicate the alert), and what is
// still kept at shutdown is sent then. It is safe for concurrent use.
type alertDelivery struct {
	next   consumer.Logs
	logger *zap.Logger
	max    int

	// inFlight and waiting mirror len(batches) and len(pending), read
	// without the lock: a batch without alerts costs two atomic loads.
	inFlight atomic.Int64
	waiting  atomic.Int64

	mu sync.Mutex
	// batches holds the alerts of each batch handed to next and not yet
	// answered; plog.Logs is a pair of pointers, the batch's identity.
	batches map[plog.Logs][]burst.Alert
	// pending are the alerts of refused batches, oldest first (a batch
	// carries the resent alerts before those it raised).
	pending []burst.Alert
}

var _ consumer.Logs = (*alertDelivery)(nil)

func newAlertDelivery(next consumer.Logs, logger *zap.Logger) *alertDelivery {
	return &alertDelivery{next: next, logger: logger, max: maxPendingAlerts, batches: map[plog.Logs][]burst.Alert{}}
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
	}
	return err
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
	if n := len(d.pending) - d.max; n > 0 {
		d.logger.Error("failed-login burst alerts lost: their batches were refused downstream and too many alerts wait to be sent again",
			zap.Int("dropped", n), zap.Int("kept", d.max))
		d.pending = append(d.pending[:0], d.pending[n:]...)
	}
	d.waiting.Store(int64(len(d.pending)))
}
