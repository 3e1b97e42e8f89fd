package gormlog_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/activitylog/activitylog/internal/logtest"
	"github.com/activitylog/activitylog/internal/pgtest"
	"github.com/activitylog/activitylog/schema"
)

// The tests in this file run on a real PostgreSQL server (internal/pgtest:
// PG_URL, or scripts/postgres), each in a database of its own, under
// PostgreSQL's default READ COMMITTED isolation.

// setupPostgres opens a database of its own on the PostgreSQL server, with
// the plugin (WithRowLocks when rowLocks) recording to lp, and the rewards
// table. It returns the database's URL too, for connections of the test's
// own that the plugin does not see.
func setupPostgres(tb testing.TB, lp *sdklog.LoggerProvider, rowLocks bool) (db *gorm.DB, url string, errs *errorList) {
	tb.Helper()
	url = pgtest.Database(tb)
	db, errs = setupServer(tb, postgres.Open(url), lp, rowLocks)
	return db, url, errs
}

// connect opens a connection of the test's own to url, closed when t ends.
func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// awaitLockWait returns the query of a session of conn's database that waits
// on a lock, once there is one: polled, as PostgreSQL tells no one when a
// session starts waiting. It fails t if none waits within a minute (the
// session never reached its lock).
func awaitLockWait(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	for range 30000 {
		var query string
		err := conn.QueryRow(context.Background(), `SELECT query FROM pg_stat_activity
			WHERE datname = current_database() AND state = 'active' AND wait_event_type = 'Lock' LIMIT 1`).Scan(&query)
		if err == nil {
			return query
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("no session waits on a lock")
	return ""
}

// TestPostgresOldValuesUnderConcurrentWriter shows, on PostgreSQL, the race
// the package doc describes, and WithRowLocks closing it. T1, a transaction
// through the plugin, updates a reward's points from 1 to 2 and holds the
// row; T2, in another goroutine, updates it to 3 or deletes it. Once T2
// waits on T1's lock, T1 commits. Without WithRowLocks T2 read the old
// values before it waited, in its UPDATE or DELETE, and records points 1:
// a value its statement did not replace (T1's change is lost from the
// trail). With it, T2 waits in its read (SELECT ... FOR NO KEY UPDATE
// before an update, FOR UPDATE before a delete), and records 2, the value
// it replaced.
func TestPostgresOldValuesUnderConcurrentWriter(t *testing.T) {
	for _, w := range concurrentWriters {
		lock := "FOR UPDATE"
		if w.event == schema.EventUpdated {
			lock = "FOR NO KEY UPDATE"
		}
		for _, rowLocks := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/rowLocks=%v", w.name, rowLocks), func(t *testing.T) {
				lp, exp := logtest.NewProvider(t)
				db, url, errs := setupPostgres(t, lp, rowLocks)
				watch := connect(t, url)
				checkOldValuesUnderConcurrentWriter(t, db, exp, errs, w, rowLocks, lock,
					func(t *testing.T) string { return awaitLockWait(t, watch) })
			})
		}
	}
}

// TestPostgresRowLocksLeaveForeignKeysFree: with WithRowLocks, while a
// transaction holds a row it updated or soft-deleted through the plugin,
// another can still insert a row that references it by a foreign key, as it
// can beside a plain UPDATE: the plugin's read takes the UPDATE's own lock,
// FOR NO KEY UPDATE, and not FOR UPDATE, which conflicts with the FOR KEY
// SHARE lock the foreign key check takes and would hold the insert until
// the first transaction ends. The insert runs with a lock_timeout: it waits
// on no lock at all, so any timeout tells, whatever the machine's speed.
func TestPostgresRowLocksLeaveForeignKeysFree(t *testing.T) {
	tests := []struct {
		name   string
		child  string // a table referencing the row's, by the column ref
		create func(db *gorm.DB) (id any, err error)
		change func(tx *gorm.DB, id any) error
		event  string
	}{
		{"update", "CREATE TABLE redemptions (id serial PRIMARY KEY, ref bigint NOT NULL REFERENCES rewards (id))",
			func(db *gorm.DB) (any, error) {
				r := Reward{Name: "Free coffee", Points: 1}
				err := db.Create(&r).Error
				return r.ID, err
			},
			func(tx *gorm.DB, id any) error { return tx.Model(&Reward{ID: id.(uint)}).Update("points", 2).Error },
			schema.EventUpdated},
		{"soft delete", "CREATE TABLE partner_cards (id serial PRIMARY KEY, ref text NOT NULL REFERENCES partners (id))",
			func(db *gorm.DB) (any, error) {
				if err := db.AutoMigrate(&Partner{}); err != nil {
					return nil, err
				}
				return "p1", db.Create(&Partner{ID: "p1", Email: "owner@example.com"}).Error
			},
			func(tx *gorm.DB, id any) error { return tx.Delete(&Partner{ID: id.(string)}).Error },
			schema.EventDeleted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lp, exp := logtest.NewProvider(t)
			db, url, errs := setupPostgres(t, lp, true)
			id, err := tt.create(db)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Exec(tt.child).Error; err != nil {
				t.Fatal(err)
			}
			exp.Take()

			t1 := db.Begin()
			if err := tt.change(t1, id); err != nil {
				t1.Rollback()
				t.Fatal(err)
			}
			other := connect(t, url)
			ctx := context.Background()
			if _, err := other.Exec(ctx, "SET lock_timeout = '100ms'"); err != nil {
				t.Fatal(err)
			}
			table := strings.Fields(tt.child)[2]
			if _, err := other.Exec(ctx, "INSERT INTO "+table+" (ref) VALUES ($1)", id); err != nil {
				t.Errorf("insert referencing the row while it is changed: %v, want it to go ahead", err)
			}
			if err := t1.Commit().Error; err != nil {
				t.Fatal(err)
			}
			recs := exp.Take()
			if len(recs) != 1 || recs[0].EventName() != schema.EventName(tt.event) {
				t.Fatalf("got %d records, want 1 %s", len(recs), tt.event)
			}
			errs.none(t)
		})
	}
}

// TestPostgresRowLocksLockTimeout: with WithRowLocks, when the caller's
// transaction sets a lock_timeout and another transaction holds the row,
// the plugin's locked read fails with PostgreSQL's lock_not_available
// (55P03); the statement fails with that error before it runs, nothing is
// recorded for it and nothing goes to the error handler.
func TestPostgresRowLocksLockTimeout(t *testing.T) {
	lp, exp := logtest.NewProvider(t)
	db, url, errs := setupPostgres(t, lp, true)
	holder := connect(t, url)
	ctx := context.Background()
	checkLockTimeoutFailsStatement(t, db, exp, errs, func(id uint) func() {
		hold, err := holder.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := hold.Exec(ctx, "UPDATE rewards SET points = 5 WHERE id = $1", id); err != nil {
			t.Fatal(err)
		}
		return func() {
			if err := hold.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}, "SET LOCAL lock_timeout = '50ms'", func(err error) (string, bool) {
		var pgErr *pgconn.PgError
		return "PostgreSQL's lock_not_available (55P03)", errors.As(err, &pgErr) && pgErr.Code == "55P03"
	})
}

// TestPostgresRowLocksConcurrentUpdates: with WithRowLocks, goroutines
// update a few rows at once, each statement setting points to a value no
// other sets: one row by its key, several with Where("id IN ?"), or two rows
// in one transaction in either order. Per row, the (old, new) pairs
// recorded then form one chain from the initial value to the row's final
// value, each value replaced once, as many links as committed changes.
//
// Two transactions of two rows each, in opposite orders, can deadlock
// whatever the plugin does; PostgreSQL then fails one of the sessions in the
// cycle with deadlock_detected (40P01): one of those transactions, or a
// single statement queued behind one of them for a row. The test retries
// them, as an application would (and 40001, a serialization failure, which
// READ COMMITTED does not raise), and logs how many there were, where and of
// which kind. They surface through the plugin's locked read, as the
// statement's error with PostgreSQL's code (see the package doc). Without
// the two-update transactions none occurred here: the plugin's reads lock a
// statement's rows in key order. deadlock_timeout is lowered for the test's
// database so that a deadlock is found in milliseconds rather than a second.
func TestPostgresRowLocksConcurrentUpdates(t *testing.T) {
	lp, exp := logtest.NewProvider(t)
	db, url, errs := setupPostgres(t, lp, true)
	if _, err := connect(t, url).Exec(context.Background(),
		"ALTER DATABASE "+pgx.Identifier{databaseOf(t, db)}.Sanitize()+" SET deadlock_timeout = '10ms'"); err != nil {
		t.Fatal(err)
	}
	// Sessions opened from here on have the lowered timeout: the pool's
	// idle ones, opened before, are closed.
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	sqlDB.SetMaxIdleConns(0)
	sqlDB.SetMaxIdleConns(4)
	checkConcurrentUpdateChains(t, db, exp, errs, func(err error) (string, bool) {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001") {
			return pgErr.Code, true
		}
		return "", false
	})
}

// databaseOf is the name of db's database.
func databaseOf(t *testing.T, db *gorm.DB) string {
	t.Helper()
	var name string
	if err := db.Raw("SELECT current_database()").Scan(&name).Error; err != nil {
		t.Fatal(err)
	}
	return name
}

// BenchmarkPostgresUpdate is benchmarkUpdate on PostgreSQL.
func BenchmarkPostgresUpdate(b *testing.B) {
	benchmarkUpdate(b, func(tb testing.TB) gorm.Dialector { return postgres.Open(pgtest.Database(tb)) })
}

// BenchmarkPostgresCreate is benchmarkCreate on PostgreSQL.
func BenchmarkPostgresCreate(b *testing.B) {
	benchmarkCreate(b, func(tb testing.TB) gorm.Dialector { return postgres.Open(pgtest.Database(tb)) })
}
