package gormlog_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	sdklog "go.opentelemetry.io/otel/sdk/log"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/instrumentation/gormlog"
	"github.com/activitylog/activitylog/internal/logtest"
	"github.com/activitylog/activitylog/schema"
)

// What the tests on real servers (postgres_test.go, mysql_test.go) share:
// the same interleavings and checks, each server's own ways of seeing a
// session wait on a lock and of naming a deadlock aside.

// errorList is the plugin's error handler's errors, from any goroutine.
type errorList struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorList) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func (l *errorList) none(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) != 0 {
		t.Errorf("got recording errors %v, want none", l.errs)
	}
}

// setupServer opens d, a database of its own on a real server, with the
// plugin (WithRowLocks when rowLocks) recording to lp, and the rewards
// table.
func setupServer(tb testing.TB, d gorm.Dialector, lp *sdklog.LoggerProvider, rowLocks bool) (*gorm.DB, *errorList) {
	tb.Helper()
	db := openServer(tb, d)
	errs := &errorList{}
	opts := []gormlog.Option{gormlog.WithErrorHandler(errs.add)}
	if rowLocks {
		opts = append(opts, gormlog.WithRowLocks())
	}
	if err := db.Use(gormlog.New(instrumentation.New(lp), opts...)); err != nil {
		tb.Fatal(err)
	}
	if err := db.AutoMigrate(&Reward{}); err != nil {
		tb.Fatal(err)
	}
	return db.WithContext(staffContext()), errs
}

// openServer opens d, a database of its own on a real server, without the
// plugin; its connections are closed when tb ends.
func openServer(tb testing.TB, d gorm.Dialector) *gorm.DB {
	tb.Helper()
	return openConfigured(tb, d, &gorm.Config{Logger: logger.Discard})
}

// openConfigured opens d with cfg; its connections are closed when tb ends.
func openConfigured(tb testing.TB, d gorm.Dialector, cfg *gorm.Config) *gorm.DB {
	tb.Helper()
	db, err := gorm.Open(d, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = sqlDB.Close() })
	return db
}

// concurrentWriter is T2's statement in the concurrent-writer tests: an
// update of a reward's points to 3, or its delete.
type concurrentWriter struct {
	name    string
	event   string
	run     func(db *gorm.DB, id uint) error
	waitsIn string // the statement T2 waits in without WithRowLocks
}

var concurrentWriters = []concurrentWriter{
	{"update", schema.EventUpdated, func(db *gorm.DB, id uint) error {
		return db.Model(&Reward{ID: id}).Update("points", 3).Error
	}, "UPDATE"},
	{"delete", schema.EventDeleted, func(db *gorm.DB, id uint) error {
		return db.Delete(&Reward{ID: id}).Error
	}, "DELETE"},
}

// checkOldValuesUnderConcurrentWriter runs the interleaving of the
// concurrent-writer tests on db (through the plugin, WithRowLocks when
// rowLocks): T1 updates a reward's points from 1 to 2 and holds the row;
// T2, in another goroutine, runs w. Once awaitLockWait returns the query T2
// waits in, T1 commits. Without WithRowLocks T2 waited in its own UPDATE or
// DELETE, after its plain read, and records points 1: a value its statement
// did not replace. With it, T2 waited in its read, a SELECT ending in lock,
// and records 2, the value it replaced.
func checkOldValuesUnderConcurrentWriter(t *testing.T, db *gorm.DB, exp *logtest.Exporter, errs *errorList,
	w concurrentWriter, rowLocks bool, lock string, awaitLockWait func(t *testing.T) string) {
	t.Helper()
	r := Reward{Name: "Free coffee", Points: 1}
	if err := db.Create(&r).Error; err != nil {
		t.Fatal(err)
	}
	exp.Take()

	t1 := db.Begin()
	if err := t1.Model(&Reward{ID: r.ID}).Update("points", 2).Error; err != nil {
		t1.Rollback()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.run(db, r.ID) }()
	waiting := awaitLockWait(t)
	if err := t1.Commit().Error; err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("T2: %v", err)
	}

	wantWait, wantOld := w.waitsIn, int64(1)
	if rowLocks {
		wantWait, wantOld = "SELECT", 2
	}
	if !strings.HasPrefix(waiting, wantWait) || rowLocks != strings.HasSuffix(waiting, lock) {
		t.Errorf("T2 waited in %q, want a %s", waiting, wantWait)
	}
	recs := exp.Take()
	if len(recs) != 2 {
		t.Fatalf("got %d records, want T1's and T2's", len(recs))
	}
	// Each transaction's record is emitted by its own goroutine once it
	// commits, so T2's can reach the exporter first. T1's is the update to
	// 2, which T2 never writes.
	t1r, t2r := recs[0], recs[1]
	if changes(t2r)["points"]["new"] == int64(2) && t2r.EventName() == schema.EventName(schema.EventUpdated) {
		t1r, t2r = t2r, t1r
	}
	if got := changes(t1r)["points"]; got["old"] != int64(1) || got["new"] != int64(2) {
		t.Errorf("T1 recorded points %v, want 1 -> 2", got)
	}
	if got, want := t2r.EventName(), schema.EventName(w.event); got != want {
		t.Errorf("T2 recorded event %q, want %q", got, want)
	}
	if got := changes(t2r)["points"]; got["old"] != wantOld {
		t.Errorf("T2 recorded points %v, want old %d", got, wantOld)
	}
	errs.none(t)
}

// checkLockTimeoutFailsStatement: with WithRowLocks, while another
// transaction holds a reward's row (hold takes it and returns what releases
// it), the caller's transaction runs setTimeout, a short lock timeout of the
// server's, and updates the reward through the plugin. The plugin's locked
// read fails with the server's timeout (isTimeout, which names it); the
// statement fails with that error before it runs, nothing is recorded for
// it and nothing goes to the error handler.
func checkLockTimeoutFailsStatement(t *testing.T, db *gorm.DB, exp *logtest.Exporter, errs *errorList,
	hold func(id uint) (release func()), setTimeout string, isTimeout func(error) (name string, ok bool)) {
	t.Helper()
	r := Reward{Name: "Free coffee", Points: 1}
	if err := db.Create(&r).Error; err != nil {
		t.Fatal(err)
	}
	exp.Take()

	release := hold(r.ID)
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(setTimeout).Error; err != nil {
			return err
		}
		return tx.Model(&Reward{ID: r.ID}).Update("points", 2).Error
	})
	if name, ok := isTimeout(err); !ok {
		t.Fatalf("got error %v, want %s", err, name)
	}
	if !strings.Contains(err.Error(), "gormlog: read rewards before change") {
		t.Errorf("got error %q, want the plugin's read's", err)
	}
	release()
	var got Reward
	if err := db.First(&got, r.ID).Error; err != nil || got.Points != 1 {
		t.Errorf("got points %d (%v), want 1: neither transaction's change", got.Points, err)
	}
	if recs := exp.Take(); len(recs) != 0 {
		t.Errorf("got %d records, want none", len(recs))
	}
	errs.none(t)
}

// checkConcurrentUpdateChains: goroutines update a few rows of db (through
// the plugin, WithRowLocks) at once, each statement setting points to a
// value no other sets: one row by its key, several with Where("id IN ?"), or
// two rows in one transaction in either order. Per row, the (old, new) pairs
// recorded then form one chain from the initial value to the row's final
// value, each value replaced once, as many links as committed changes.
//
// A statement or transaction that fails with an error retryable names (a
// deadlock, with the server's code) is retried, as an application would;
// the retries are counted by code, where the error surfaced (the plugin's
// locked read or the statement) and kind of statement, and returned.
func checkConcurrentUpdateChains(t *testing.T, db *gorm.DB, exp *logtest.Exporter, errs *errorList,
	retryable func(error) (code string, ok bool)) map[string]int {
	t.Helper()
	const workers, ops = 4, 40
	rows := []uint{1, 2, 3}
	for _, id := range rows {
		if err := db.Create(&Reward{ID: id, Name: fmt.Sprint("reward ", id), Points: 0}).Error; err != nil {
			t.Fatal(err)
		}
	}
	exp.Take()

	var (
		mu        sync.Mutex
		committed = map[uint]int{} // changes committed per row
		retried   = map[string]int{}
		next      = 0 // the last value set
	)
	value := func() int {
		mu.Lock()
		defer mu.Unlock()
		next++
		return next
	}
	var wg sync.WaitGroup
	failures := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), 1))
			for range ops {
				var touched []uint
				var op func() error
				var kind string
				switch rnd.IntN(3) {
				case 0:
					kind = "one-row update"
					id := rows[rnd.IntN(len(rows))]
					touched = []uint{id}
					op = func() error { return db.Model(&Reward{ID: id}).Update("points", value()).Error }
				case 1:
					kind = "several-row update"
					ids := []uint{rows[0], rows[1], rows[2]}
					rnd.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
					touched = ids[:2+rnd.IntN(2)]
					op = func() error {
						return db.Model(&Reward{}).Where("id IN ?", touched).Update("points", value()).Error
					}
				default:
					kind = "two-update transaction"
					a := rows[rnd.IntN(len(rows))]
					b := rows[(slices.Index(rows, a)+1+rnd.IntN(len(rows)-1))%len(rows)]
					touched = []uint{a, b}
					op = func() error {
						return db.Transaction(func(tx *gorm.DB) error {
							if err := tx.Model(&Reward{ID: a}).Update("points", value()).Error; err != nil {
								return err
							}
							return tx.Model(&Reward{ID: b}).Update("points", value()).Error
						})
					}
				}
				for attempt := 1; ; attempt++ {
					err := op()
					if err == nil {
						break
					}
					code, ok := retryable(err)
					if !ok || attempt == 20 {
						failures <- err
						return
					}
					where := "the statement"
					if strings.Contains(err.Error(), "gormlog: read") {
						where = "the plugin's locked read"
					}
					mu.Lock()
					retried[code+" in "+where+", "+kind]++
					mu.Unlock()
				}
				mu.Lock()
				for _, id := range touched {
					committed[id]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(failures)
	for err := range failures {
		t.Fatalf("a worker failed: %v", err)
	}
	t.Logf("%d statements or transactions; retried after %v", workers*ops, retried)

	links := map[string]map[int64]int64{} // row: old -> new
	for _, rec := range exp.Take() {
		if got, want := rec.EventName(), schema.EventName(schema.EventUpdated); got != want {
			t.Fatalf("got event %q, want %q", got, want)
		}
		id := logtest.Attributes(rec)[schema.AttrSubjectID].AsString()
		p := changes(rec)["points"]
		old, _ := p["old"].(int64)
		nu, _ := p["new"].(int64)
		if links[id] == nil {
			links[id] = map[int64]int64{}
		}
		if prev, dup := links[id][old]; dup {
			t.Errorf("reward %s: value %d recorded as replaced twice, by %d and by %d", id, old, prev, nu)
		}
		links[id][old] = nu
	}
	for _, id := range rows {
		var final Reward
		if err := db.First(&final, id).Error; err != nil {
			t.Fatal(err)
		}
		chain := links[fmt.Sprint(id)]
		v, n := int64(0), 0
		for {
			nu, ok := chain[v]
			if !ok {
				break
			}
			v, n = nu, n+1
			if n > len(chain) {
				t.Fatalf("reward %d: the recorded changes loop", id)
			}
		}
		if v != int64(final.Points) || n != len(chain) || n != committed[id] {
			t.Errorf("reward %d: the chain from 0 ends at %d after %d links; want the table's %d, all %d records, %d committed changes",
				id, v, n, final.Points, len(chain), committed[id])
		}
	}
	errs.none(t)
	return retried
}

// benchmarkPlugin runs op, a statement prepare makes ready on a fresh
// database that database gives, uncontended, in GORM's default transaction:
// with GORM alone (no-plugin), then through the plugin in each of variants,
// whose options opts holds. "x-gorm" is a variant's time over GORM alone's,
// and ratio names the second variant's time over the first's, measured in
// the same run.
func benchmarkPlugin(b *testing.B, database func(tb testing.TB) gorm.Dialector, variants [2]string, ratio string,
	opts map[string][]gormlog.Option, prepare func(b *testing.B, db *gorm.DB) (op func() error)) {
	ns := map[string]float64{}
	for _, name := range []string{"no-plugin", variants[0], variants[1]} {
		b.Run(name, func(b *testing.B) {
			lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(logtest.Discard{})))
			b.Cleanup(func() { _ = lp.Shutdown(context.Background()) })
			db := openServer(b, database(b))
			if name != "no-plugin" {
				if err := db.Use(gormlog.New(instrumentation.New(lp), opts[name]...)); err != nil {
					b.Fatal(err)
				}
			}
			if err := db.AutoMigrate(&Reward{}); err != nil {
				b.Fatal(err)
			}
			op := prepare(b, db.WithContext(staffContext()))
			// Warmed up first: the pool's connection and its prepared plans.
			for range 20 {
				if err := op(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := op(); err != nil {
					b.Fatal(err)
				}
			}
			ns[name] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if name != "no-plugin" && ns["no-plugin"] > 0 {
				b.ReportMetric(ns[name]/ns["no-plugin"], "x-gorm")
			}
			if name == variants[1] && ns[variants[0]] > 0 {
				b.ReportMetric(ns[name]/ns[variants[0]], ratio)
			}
		})
	}
}

// benchmarkUpdate is benchmarkPlugin for a single-row update: through the
// plugin with plain reads of the old and new values (plain, the default),
// and with WithRowLocks' locked ones (row-locks); "x-plain" is row-locks'
// time over plain's.
func benchmarkUpdate(b *testing.B, database func(tb testing.TB) gorm.Dialector) {
	opts := map[string][]gormlog.Option{"row-locks": {gormlog.WithRowLocks()}}
	benchmarkPlugin(b, database, [2]string{"plain", "row-locks"}, "x-plain", opts, func(b *testing.B, db *gorm.DB) func() error {
		r := Reward{Name: "Free coffee", Points: 0}
		if err := db.Create(&r).Error; err != nil {
			b.Fatal(err)
		}
		points := 0
		return func() error {
			points++
			return db.Model(&Reward{ID: r.ID}).Update("points", points).Error
		}
	})
}

// benchmarkCreate is benchmarkPlugin for a one-row create: through the
// plugin recording the struct's values (default), and with
// WithCreatesAsStored reading the row back (as-stored); "x-default" is
// as-stored's time over default's.
func benchmarkCreate(b *testing.B, database func(tb testing.TB) gorm.Dialector) {
	opts := map[string][]gormlog.Option{"as-stored": {gormlog.WithCreatesAsStored()}}
	benchmarkPlugin(b, database, [2]string{"default", "as-stored"}, "x-default", opts, func(_ *testing.B, db *gorm.DB) func() error {
		n := 0 // reward names are unique
		return func() error {
			n++
			return db.Create(&Reward{Name: "Free coffee " + strconv.Itoa(n), Points: 1}).Error
		}
	})
}
