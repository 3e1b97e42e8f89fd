package gormlog_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	gormmysql "gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/activitylog/activitylog/internal/logtest"
	"github.com/activitylog/activitylog/internal/mysqltest"
	"github.com/activitylog/activitylog/schema"
)

// The tests in this file run on a real MySQL server (internal/mysqltest:
// MYSQL_DSN, or scripts/mariadb: MariaDB 10.11, whose InnoDB locks rows and
// gaps as MySQL's does), each in a database of its own, under InnoDB's
// default REPEATABLE READ: a plain read in a transaction reads the
// transaction's snapshot, while UPDATE and DELETE act on the latest
// committed rows.

// setupMySQL opens a database of its own on the MySQL server, with the
// plugin (WithRowLocks when rowLocks) recording to lp, and the rewards
// table. It returns the database's DSN too, for connections of the test's
// own that the plugin does not see.
func setupMySQL(tb testing.TB, lp *sdklog.LoggerProvider, rowLocks bool) (db *gorm.DB, dsn string, errs *errorList) {
	tb.Helper()
	dsn = mysqltest.Database(tb)
	db, errs = setupServer(tb, gormmysql.Open(dsn), lp, rowLocks)
	var isolation string
	if err := db.Raw("SELECT @@tx_isolation").Scan(&isolation).Error; err != nil || isolation != "REPEATABLE-READ" {
		tb.Fatalf("the server's isolation is %q (%v), want InnoDB's default REPEATABLE-READ", isolation, err)
	}
	return db, dsn, errs
}

// connectMySQL opens a connection of the test's own to dsn, closed when t
// ends.
func connectMySQL(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// awaitMySQLLockWait returns the query of a transaction in watch's database
// that waits on a row lock, once there is one: polled, as InnoDB tells no
// one when a transaction starts waiting. It fails t if none waits within a
// minute (the transaction never reached its lock).
func awaitMySQLLockWait(t *testing.T, watch *sql.DB) string {
	t.Helper()
	query, _, _ := awaitMySQLLockWaitOrDone(t, watch, nil)
	return query
}

// awaitMySQLLockWaitOrDone is awaitMySQLLockWait that also returns, with
// finished true, when the statement whose error done gives ends first.
//
// InnoDB serves INNODB_TRX from a cache that it refreshes only when nobody
// has read it for 0.1 s: polled more often, the table never shows the wait.
func awaitMySQLLockWaitOrDone(t *testing.T, watch *sql.DB, done <-chan error) (query string, err error, finished bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		select {
		case err := <-done:
			return "", err, true
		case <-time.After(150 * time.Millisecond):
		}
		var q sql.NullString
		err := watch.QueryRow(`SELECT t.trx_query FROM information_schema.INNODB_TRX t
			JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
			WHERE t.trx_state = 'LOCK WAIT' AND p.DB = DATABASE() LIMIT 1`).Scan(&q)
		if err == nil && q.Valid {
			return q.String, nil, false
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			t.Fatal(err)
		}
	}
	t.Fatal("no transaction waits on a lock")
	return "", nil, false
}

// TestMySQLOldValuesUnderConcurrentWriter shows, on MySQL, the race the
// package doc describes, and WithRowLocks closing it
// (checkOldValuesUnderConcurrentWriter). Without WithRowLocks T2's plain
// read is a snapshot read: it neither waits nor sees T1's change, and T2
// waits in its UPDATE or DELETE, which then act on the row T1 committed,
// and records points 1, a value it did not replace. With it, T2 waits in its
// read (SELECT ... FOR UPDATE, before an update as before a delete), which
// then reads the row T1 committed, and records 2.
func TestMySQLOldValuesUnderConcurrentWriter(t *testing.T) {
	for _, w := range concurrentWriters {
		for _, rowLocks := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/rowLocks=%v", w.name, rowLocks), func(t *testing.T) {
				lp, exp := logtest.NewProvider(t)
				db, dsn, errs := setupMySQL(t, lp, rowLocks)
				watch := connectMySQL(t, dsn)
				checkOldValuesUnderConcurrentWriter(t, db, exp, errs, w, rowLocks, "FOR UPDATE",
					func(t *testing.T) string { return awaitMySQLLockWait(t, watch) })
			})
		}
	}
}

// TestMySQLRowLocksReadBackUnchangedRow: with WithRowLocks, the rows read
// back after an update are read with a lock, which reads the latest
// committed rows, as the UPDATE does. A plain read there would read the
// transaction's snapshot, and a row the statement matched but left as it was
// (InnoDB writes no new version of it) would be read as it was when the
// snapshot was taken, before another transaction's change.
//
// Here the caller's transaction reads reward A (its snapshot: points 1);
// another transaction sets A's points to 2 and commits; the caller's then
// sets the points of A and B to 2 (UpdateColumn: no updated_at either), which
// changes B and leaves A as it was. B is recorded 1 -> 2, and A not at all.
// Read back from the snapshot, A would be recorded 2 -> 1: a change nobody
// made, undoing the other transaction's in the trail.
func TestMySQLRowLocksReadBackUnchangedRow(t *testing.T) {
	lp, exp := logtest.NewProvider(t)
	db, dsn, errs := setupMySQL(t, lp, true)
	a, b := Reward{Name: "Free coffee", Points: 1}, Reward{Name: "Free tea", Points: 1}
	if err := db.Create(&a).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Create(&b).Error; err != nil {
		t.Fatal(err)
	}
	exp.Take()

	tx := db.Begin()
	defer tx.Rollback()
	var seen Reward
	if err := tx.First(&seen, a.ID).Error; err != nil || seen.Points != 1 {
		t.Fatalf("the snapshot's reward A: points %d (%v), want 1", seen.Points, err)
	}
	if _, err := connectMySQL(t, dsn).Exec("UPDATE rewards SET points = 2 WHERE id = ?", a.ID); err != nil {
		t.Fatal(err)
	}
	if err := tx.Model(&Reward{}).Where("id IN ?", []uint{a.ID, b.ID}).UpdateColumn("points", 2).Error; err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit().Error; err != nil {
		t.Fatal(err)
	}

	recs := exp.Take()
	for _, r := range recs {
		t.Logf("reward %s: points %v", logtest.Attributes(r)[schema.AttrSubjectID].AsString(), changes(r)["points"])
	}
	if len(recs) != 1 {
		t.Fatalf("got %d records, want 1: reward B's", len(recs))
	}
	if id := logtest.Attributes(recs[0])[schema.AttrSubjectID].AsString(); id != fmt.Sprint(b.ID) {
		t.Errorf("got a record of reward %s, want B's (%d)", id, b.ID)
	}
	if got := changes(recs[0])["points"]; got["old"] != int64(1) || got["new"] != int64(2) {
		t.Errorf("B recorded points %v, want 1 -> 2", got)
	}
	errs.none(t)
}

// pauseKey carries, in a statement's context, a function the test's
// callback runs between the plugin's read before an insert and the insert.
type pauseKey struct{}

// pauseAfterRead registers the callback that runs the pause of the
// statement's context, if it has one, right after the plugin's read of the
// rows an upsert may run into.
func pauseAfterRead(t *testing.T, db *gorm.DB) {
	t.Helper()
	err := db.Callback().Create().After("activitylog:before_create").Before("gorm:create").
		Register("test:pause_after_read", func(db *gorm.DB) {
			if pause, ok := db.Statement.Context.Value(pauseKey{}).(func()); ok {
				pause()
			}
		})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMySQLRowLocksConcurrentUpserts: with WithRowLocks, two transactions
// upsert (Create with OnConflict{UpdateAll: true}: INSERT ... ON DUPLICATE
// KEY UPDATE) one reward at once, each with points of its own.
//
// Of a row that exists, the plugin's plain read finds it in both, and its
// locked read by primary key makes the second wait for the first: the first
// is recorded as updated 0 -> 1, the second as updated 1 -> 2.
//
// Of a new key, neither transaction deadlocks, in either of two orders: T2
// reads after T1 inserted, and waits in its insert; or both read before
// either inserts (the test's callback holds each between the plugin's read
// and its insert), and T2 inserts and commits first. The plugin's read,
// plain on MySQL, takes no gap lock. A locked read of a key no row holds
// would lock its gap: in the second order each insert would then wait for
// the other's gap lock, and InnoDB fail one of them (error 1213). But the
// plain read does not see a row another transaction has inserted and not
// committed: the upsert that commits last runs into the other's row and
// updates it, unseen, and is recorded as created, with its own values and
// none old (the package doc names this gap). A locked read would wait for
// that row in the first order, and record the update with its old values.
func TestMySQLRowLocksConcurrentUpserts(t *testing.T) {
	upsert := func(db *gorm.DB, points int) error {
		return db.Clauses(clause.OnConflict{UpdateAll: true}).Create(&Reward{ID: 7, Name: "Free tea", Points: points}).Error
	}
	// secondWaits: T1 upserts and holds what it wrote; T2 upserts, and
	// once it waits in the query waitsIn tells, T1 commits.
	secondWaits := func(t *testing.T, db *gorm.DB, watch *sql.DB, waitsIn func(query string) bool, want string) (last int) {
		t1 := db.Begin()
		if err := upsert(t1, 1); err != nil {
			t1.Rollback()
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- upsert(db, 2) }()
		if q := awaitMySQLLockWait(t, watch); !waitsIn(q) {
			t.Errorf("T2 waited in %q, want %s", q, want)
		}
		if err := t1.Commit().Error; err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("T2: %v", err)
		}
		return 2
	}
	type outcome struct {
		event    string
		old, new any
	}
	tests := []struct {
		name     string
		existing bool // reward 7 exists, with points 0
		// run has T1 upsert reward 7 with points 1 and T2 with points 2, and
		// returns the points of the one that committed last.
		run  func(t *testing.T, db *gorm.DB, watch *sql.DB) (last int)
		want map[int]outcome // the record of each, by the points it upserted
	}{
		{"existing key", true, func(t *testing.T, db *gorm.DB, watch *sql.DB) int {
			return secondWaits(t, db, watch, func(q string) bool {
				return strings.HasPrefix(q, "SELECT") && strings.HasSuffix(q, "FOR UPDATE")
			}, "the plugin's locked read")
		}, map[int]outcome{1: {event: schema.EventUpdated, old: int64(0), new: int64(1)},
			2: {event: schema.EventUpdated, old: int64(1), new: int64(2)}}},
		{"new key, the second reads after the first inserted", false, func(t *testing.T, db *gorm.DB, watch *sql.DB) int {
			return secondWaits(t, db, watch, func(q string) bool { return strings.HasPrefix(q, "INSERT") }, "its INSERT")
		}, map[int]outcome{1: {event: schema.EventCreated, new: int64(1)},
			// Updated T1's row 1 -> 2, unseen: the gap.
			2: {event: schema.EventCreated, new: int64(2)}}},
		{"new key, both read before either inserts", false, func(t *testing.T, db *gorm.DB, watch *sql.DB) int {
			start := func(points int) (resume chan struct{}, done chan error) {
				read := make(chan struct{})
				resume, done = make(chan struct{}), make(chan error, 1)
				ctx := context.WithValue(db.Statement.Context, pauseKey{}, func() { close(read); <-resume })
				go func() { done <- upsert(db.WithContext(ctx), points) }()
				<-read
				return resume, done
			}
			resume1, done1 := start(1)
			resume2, done2 := start(2)
			// T2 inserts and commits, or waits on a lock of T1's (a gap
			// lock of its read): then T1's insert waits on T2's, a deadlock.
			close(resume2)
			waiting, err2, finished := awaitMySQLLockWaitOrDone(t, watch, done2)
			close(resume1)
			err1 := <-done1
			if !finished {
				t.Logf("T2 waited in %q", waiting)
				err2 = <-done2
			}
			if err1 != nil || err2 != nil {
				t.Fatalf("T1: %v; T2: %v; want neither to fail (error 1213 is a deadlock)", err1, err2)
			}
			return 1
		}, map[int]outcome{2: {event: schema.EventCreated, new: int64(2)},
			// Updated T2's row 2 -> 1, unseen: the gap.
			1: {event: schema.EventCreated, new: int64(1)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lp, exp := logtest.NewProvider(t)
			db, dsn, errs := setupMySQL(t, lp, true)
			pauseAfterRead(t, db)
			watch := connectMySQL(t, dsn)
			if tt.existing {
				if err := db.Create(&Reward{ID: 7, Name: "Free tea", Points: 0}).Error; err != nil {
					t.Fatal(err)
				}
			}
			exp.Take()
			last := tt.run(t, db, watch)

			var got Reward
			if err := db.First(&got, 7).Error; err != nil || got.Points != last {
				t.Errorf("the row has points %d (%v), want %d, the last upsert's", got.Points, err, last)
			}
			recs := exp.Take()
			if len(recs) != 2 {
				t.Fatalf("got %d records, want one of each upsert", len(recs))
			}
			// Told apart by the points each upserted, not by their order at
			// the exporter.
			seen := map[int]bool{}
			for _, r := range recs {
				p := changes(r)["points"]
				n, _ := p["new"].(int64)
				want, ok := tt.want[int(n)]
				if !ok || seen[int(n)] {
					t.Errorf("got a record of points %v, want one of each upsert's (1 and 2)", p)
					continue
				}
				seen[int(n)] = true
				if r.EventName() != schema.EventName(want.event) || p["old"] != want.old {
					t.Errorf("the upsert of points %d recorded %s with points %v, want %s with old %v",
						n, r.EventName(), p, want.event, want.old)
				}
			}
			errs.none(t)
		})
	}
}

// TestMySQLRowLocksLockWaitTimeout: with WithRowLocks, when the caller's
// session lowers innodb_lock_wait_timeout and another transaction holds the
// row, the plugin's locked read fails with InnoDB's lock wait timeout
// (error 1205); the statement fails with that error before it runs, nothing
// is recorded for it and nothing goes to the error handler.
func TestMySQLRowLocksLockWaitTimeout(t *testing.T) {
	lp, exp := logtest.NewProvider(t)
	db, dsn, errs := setupMySQL(t, lp, true)
	holder := connectMySQL(t, dsn)
	// A session setting (MySQL has no SET LOCAL), on a connection of the
	// test's own pool.
	checkLockTimeoutFailsStatement(t, db, exp, errs, func(id uint) func() {
		hold, err := holder.Begin()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := hold.Exec("UPDATE rewards SET points = 5 WHERE id = ?", id); err != nil {
			t.Fatal(err)
		}
		return func() {
			if err := hold.Rollback(); err != nil {
				t.Fatal(err)
			}
		}
	}, "SET SESSION innodb_lock_wait_timeout = 1", func(err error) (string, bool) {
		var myErr *mysql.MySQLError
		return "InnoDB's lock wait timeout (1205)", errors.As(err, &myErr) && myErr.Number == 1205
	})
}

// TestMySQLRowLocksConcurrentUpdates is checkConcurrentUpdateChains on
// MySQL: per row, the changes recorded under concurrent one-row, several-row
// and two-update writers form one chain.
//
// Two transactions of two rows each, in opposite orders, can deadlock
// whatever the plugin does; InnoDB finds the cycle at once and rolls back
// one of its transactions whole (error 1213): one of those transactions, or
// a single statement queued behind one of them for a row. The test retries
// them, as an application would, and logs how many there were, where and of
// which kind. With WithRowLocks they surface through the plugin's locked
// read, as the statement's error with InnoDB's code (see the package doc):
// 18 to 30 a run here, most of them in a several-row update whose read
// waited for a row a two-update transaction held while that transaction
// waited for one the read had locked (InnoDB rolls back the transaction
// that has done least). Without the two-update transactions none occurred:
// the plugin's reads lock a statement's rows in key order.
func TestMySQLRowLocksConcurrentUpdates(t *testing.T) {
	lp, exp := logtest.NewProvider(t)
	db, _, errs := setupMySQL(t, lp, true)
	checkConcurrentUpdateChains(t, db, exp, errs, func(err error) (string, bool) {
		var myErr *mysql.MySQLError
		if errors.As(err, &myErr) && myErr.Number == 1213 {
			return "1213", true
		}
		return "", false
	})
}

// BenchmarkMySQLUpdate is benchmarkUpdate on MySQL.
func BenchmarkMySQLUpdate(b *testing.B) {
	benchmarkUpdate(b, func(tb testing.TB) gorm.Dialector { return gormmysql.Open(mysqltest.Database(tb)) })
}

// BenchmarkMySQLCreate is benchmarkCreate on MySQL.
func BenchmarkMySQLCreate(b *testing.B) {
	benchmarkCreate(b, func(tb testing.TB) gorm.Dialector { return gormmysql.Open(mysqltest.Database(tb)) })
}
