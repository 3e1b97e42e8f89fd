package gormlog_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/instrumentation/gormlog"
	"github.com/activitylog/activitylog/internal/logtest"
	"github.com/activitylog/activitylog/schema"
)

// sqliteAs is SQLite under another database's name, so that the plugin
// decides whether to lock the rows it reads as it decides on that database.
// The lock itself cannot be shown working here: SQLite has no row locks and
// lets one transaction write at a time, so no other transaction can change
// a row between the plugin's read and the statement (postgres_test.go and
// mysql_test.go show it on real PostgreSQL and MariaDB servers). What is shown is
// the SQL of each read, with the lock written into it as a comment that
// SQLite runs past (SQLite's own driver drops the lock).
type sqliteAs struct {
	*sqlite.Dialector
	name string
}

func (d sqliteAs) Name() string { return d.name }

func (d sqliteAs) Initialize(db *gorm.DB) error {
	if err := d.Dialector.Initialize(db); err != nil {
		return err
	}
	db.ClauseBuilders["FOR"] = func(c clause.Clause, b clause.Builder) {
		if l, ok := c.Expression.(clause.Locking); ok {
			b.WriteString("/* FOR ")
			l.Build(b)
			b.WriteString(" */")
			return
		}
		c.Build(b)
	}
	return nil
}

// setupAs is setup on SQLite named name, with the plugin's WithRowLocks
// when rowLocks, and the SQL of every query, update, delete and create the
// plugin and the test run noted in *sqls.
func setupAs(t *testing.T, name string, rowLocks bool) (db *gorm.DB, exp *logtest.Exporter, errs *[]error, sqls *[]string) {
	t.Helper()
	db = openWith(t, sqliteAs{Dialector: sqlite.Open("file::memory:").(*sqlite.Dialector), name: name})
	lp, exp := logtest.NewProvider(t)
	errs, sqls = new([]error), new([]string)
	opts := []gormlog.Option{gormlog.WithCategory("members", instrumentation.Members),
		gormlog.WithErrorHandler(func(err error) { *errs = append(*errs, err) })}
	if rowLocks {
		opts = append(opts, gormlog.WithRowLocks())
	}
	plugin := gormlog.New(instrumentation.New(lp), opts...)
	if err := db.Use(plugin); err != nil {
		t.Fatal(err)
	}
	note := func(db *gorm.DB) { *sqls = append(*sqls, db.Statement.SQL.String()) }
	cb := db.Callback()
	for _, err := range []error{
		cb.Query().After("gorm:query").Register("test:note_query", note),
		cb.Row().After("gorm:row").Register("test:note_row", note),
		cb.Update().After("gorm:update").Register("test:note_update", note),
		cb.Delete().After("gorm:delete").Register("test:note_delete", note),
		cb.Create().After("gorm:create").Register("test:note_create", note),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := db.AutoMigrate(&Reward{}, &Member{}); err != nil {
		t.Fatal(err)
	}
	exp.Take()
	return db, exp, errs, sqls
}

// TestPluginLocksRowsReadBeforeChange: with WithRowLocks, on PostgreSQL and
// MySQL, the rows an update or delete is about to change are read with a
// row lock (FOR UPDATE; FOR NO KEY UPDATE on PostgreSQL but before a
// delete) when the statement runs in a transaction (GORM's default one, the caller's), so
// that no other transaction changes them between the read and the
// statement, and the old values recorded are the ones it replaced; so are
// the rows read back after an update (on MySQL a plain read would give the
// transaction's snapshot). Outside a transaction a lock would end with the
// read, and none is taken; on SQL Server, which has no FOR UPDATE, none
// either. Without WithRowLocks, the default, no read locks.
func TestPluginLocksRowsReadBeforeChange(t *testing.T) {
	type change func(t *testing.T, db *gorm.DB, id uint) error
	update := func(_ *testing.T, db *gorm.DB, id uint) error {
		return db.Model(&Reward{ID: id}).Update("points", 2).Error
	}
	del := func(_ *testing.T, db *gorm.DB, id uint) error { return db.Delete(&Reward{ID: id}).Error }
	inTransaction := func(c change) change {
		return func(t *testing.T, db *gorm.DB, id uint) error {
			return db.Transaction(func(tx *gorm.DB) error { return c(t, tx, id) })
		}
	}
	noDefaultTransaction := func(c change) change {
		return func(t *testing.T, db *gorm.DB, id uint) error {
			return c(t, db.Session(&gorm.Session{SkipDefaultTransaction: true}), id)
		}
	}
	// A BEGIN of the caller's, on a pool of one connection (setupAs's), is
	// followed by the plugin. SQLite refuses GORM's own transaction inside it.
	manual := func(c change) change {
		return func(t *testing.T, db *gorm.DB, id uint) error {
			db = db.Session(&gorm.Session{SkipDefaultTransaction: true})
			if err := db.Exec("BEGIN").Error; err != nil {
				t.Fatal(err)
			}
			if err := c(t, db, id); err != nil {
				t.Fatal(err)
			}
			return db.Exec("COMMIT").Error
		}
	}
	// A transaction begun on a db.Connection session: the plugin does not
	// see it end (see the package doc), but the statement runs in it.
	onConnection := func(c change) change {
		return func(t *testing.T, db *gorm.DB, id uint) error {
			return db.Connection(func(conn *gorm.DB) error {
				tx := conn.Begin()
				if err := c(t, tx, id); err != nil {
					tx.Rollback()
					return err
				}
				return tx.Commit().Error
			})
		}
	}
	// reads is the statement's reads in order, L for one that locks the
	// rows on PostgreSQL and MySQL in a transaction, P for a plain one;
	// mysqlReads, when set, is the same on MySQL, where an upsert finds the
	// rows that exist with a plain read before it locks them (the lock of a
	// missing key's gap would deadlock two upserts of it).
	tests := []struct {
		name        string
		change      change
		inTx        bool // whether the reads run in a transaction
		reads       string
		mysqlReads  string
		event       string // the event recorded, none when empty
		noteChanges bool
	}{
		{"update in its default transaction", update, true, "LL", "", schema.EventUpdated, true},
		{"delete in its default transaction", del, true, "L", "", schema.EventDeleted, false},
		{"update in db.Transaction", inTransaction(noDefaultTransaction(update)), true, "LL", "", schema.EventUpdated, true},
		{"delete in db.Transaction", inTransaction(del), true, "L", "", schema.EventDeleted, false},
		{"update without a transaction", noDefaultTransaction(update), false, "LL", "", schema.EventUpdated, true},
		{"delete without a transaction", noDefaultTransaction(del), false, "L", "", schema.EventDeleted, false},
		{"update in a manual transaction", manual(update), true, "LL", "", schema.EventUpdated, true},
		{"delete in a manual transaction", manual(del), true, "L", "", schema.EventDeleted, false},
		{"update in a transaction on a connection", onConnection(update), true, "LL", "", schema.EventUpdated, true},
		{"update of the primary key", func(_ *testing.T, db *gorm.DB, id uint) error {
			// The new keys are read too (readRenames), before the rows.
			return db.Model(&Reward{ID: id}).Update("id", id+1000).Error
		}, true, "LLL", "", schema.EventUpdated, false},
		{"upsert", func(_ *testing.T, db *gorm.DB, id uint) error {
			return db.Clauses(clause.OnConflict{UpdateAll: true}).Create(&Reward{ID: id, Name: "Free coffee", Points: 2}).Error
		}, true, "LL", "PLL", schema.EventUpdated, true},
		{"upsert of a new row", func(_ *testing.T, db *gorm.DB, id uint) error {
			return db.Clauses(clause.OnConflict{UpdateAll: true}).Create(&Reward{ID: id + 500, Name: "New", Points: 2}).Error
		}, true, "L", "P", schema.EventCreated, false},
		{"upsert of a map", func(_ *testing.T, db *gorm.DB, id uint) error {
			// Only whether the row exists is read; an upsert of maps onto
			// a row that exists is not recorded (see the package doc).
			return db.Model(&Reward{}).Clauses(clause.OnConflict{UpdateAll: true}).
				Create(map[string]any{"id": id, "name": "Free coffee", "points": 2}).Error
		}, true, "L", "PL", "", false},
		{"upsert of a map, a new row", func(_ *testing.T, db *gorm.DB, id uint) error {
			// Read back after the insert, by its key.
			return db.Model(&Reward{}).Clauses(clause.OnConflict{UpdateAll: true}).
				Create(map[string]any{"id": id + 500, "name": "New", "points": 2}).Error
		}, true, "LL", "PL", schema.EventCreated, false},
	}
	for _, dialect := range []struct {
		label, name string
		rowLocks    bool // whether the plugin has WithRowLocks
		locks       bool // whether the plugin locks rows, in a transaction
	}{
		{"postgres", "postgres", true, true},
		{"mysql", "mysql", true, true},
		{"sqlserver", "sqlserver", true, false},
		{"postgres_by_default", "postgres", false, false},
		{"mysql_by_default", "mysql", false, false},
	} {
		for _, tt := range tests {
			t.Run(dialect.label+"/"+tt.name, func(t *testing.T) {
				db, exp, errs, sqls := setupAs(t, dialect.name, dialect.rowLocks)
				db = db.WithContext(staffContext())
				r := Reward{Name: "Free coffee", Points: 1}
				if err := db.Create(&r).Error; err != nil {
					t.Fatal(err)
				}
				exp.Take()
				*sqls = nil
				if err := tt.change(t, db, r.ID); err != nil {
					t.Fatal(err)
				}
				want := tt.reads
				if dialect.name == "mysql" && dialect.rowLocks && tt.mysqlReads != "" {
					want = tt.mysqlReads
				}
				if !dialect.locks || !tt.inTx {
					want = strings.ReplaceAll(want, "L", "P")
				}
				// The lock is the one the statement takes itself: FOR NO
				// KEY UPDATE on PostgreSQL except before a delete, FOR
				// UPDATE otherwise.
				wantLock := "/* FOR UPDATE */"
				if dialect.name == "postgres" && tt.event != schema.EventDeleted {
					wantLock = "/* FOR NO KEY UPDATE */"
				}
				var got strings.Builder
				var reads []string
				for _, sql := range *sqls {
					if !strings.HasPrefix(sql, "SELECT") {
						continue
					}
					reads = append(reads, sql)
					locked := strings.HasSuffix(sql, "/* FOR UPDATE */") || strings.HasSuffix(sql, "/* FOR NO KEY UPDATE */")
					if locked && !strings.HasSuffix(sql, wantLock) {
						t.Errorf("got locked read %q, want one that ends %s", sql, wantLock)
					}
					if locked {
						got.WriteByte('L')
					} else {
						got.WriteByte('P')
					}
					if dialect.name == "mysql" && locked && strings.Contains(sql, " OR ") {
						t.Errorf("got locked read %q, want one by the primary key of rows found", sql)
					}
				}
				if got.String() != want {
					t.Errorf("got reads %s %q, want %s", got.String(), reads, want)
				}
				// The reads, locked or not, still give the records.
				if tt.event == "" {
					if recs := exp.Take(); len(recs) != 0 {
						t.Errorf("got %d records, want none", len(recs))
					}
					noRecordingErrors(t, errs)
					return
				}
				rec := one(t, exp, tt.event)
				if got := changes(rec)["points"]; tt.noteChanges && (got["old"] != int64(1) || got["new"] != int64(2)) {
					t.Errorf("got points change %v, want 1 -> 2", got)
				}
				noRecordingErrors(t, errs)
			})
		}
	}
}

// errLockWait stands for the error of a read the database could not lock
// rows for: a deadlock, a lock wait or statement timeout, a serialization
// failure.
var errLockWait = errors.New("lock wait timeout exceeded")

// TestPluginLockedReadFailureFailsStatement: when a read with a row lock
// fails, the statement fails with its error instead of running on: the
// database may have rolled the transaction back (MySQL on a deadlock, after
// which the statement would commit on its own) or refuse what follows
// (PostgreSQL), and the caller must see the error it retries on. A read
// without a lock fails only the recording, as before. The reads' failures
// are made here, in the read, as SQLite cannot wait on a lock.
func TestPluginLockedReadFailureFailsStatement(t *testing.T) {
	update := func(db *gorm.DB, id uint) error { return db.Model(&Reward{ID: id}).Update("points", 2).Error }
	tests := []struct {
		name     string
		dialect  string
		change   func(db *gorm.DB, id uint) error
		failRead int // which read of the statement fails, from 1
		fails    bool
		points   int  // the row's points after the statement, 0 when it is gone
		plain    bool // without WithRowLocks
	}{
		{"update", "postgres", update, 1, true, 1, false},
		{"update, its read back", "mysql", update, 2, true, 1, false},
		{"delete in db.Transaction", "mysql", func(db *gorm.DB, id uint) error {
			return db.Transaction(func(tx *gorm.DB) error { return tx.Delete(&Reward{ID: id}).Error })
		}, 1, true, 1, false},
		{"update of the primary key, its new keys", "postgres", func(db *gorm.DB, id uint) error {
			return db.Model(&Reward{ID: id}).Update("id", id+1000).Error
		}, 1, true, 1, false},
		{"upsert of a map", "postgres", func(db *gorm.DB, id uint) error {
			return db.Model(&Reward{}).Clauses(clause.OnConflict{UpdateAll: true}).
				Create(map[string]any{"id": id, "name": "Free coffee", "points": 2}).Error
		}, 1, true, 1, false},
		{"upsert, its locked read", "mysql", func(db *gorm.DB, id uint) error {
			// The rows are found with a plain read first on MySQL.
			return db.Clauses(clause.OnConflict{UpdateAll: true}).Create(&Reward{ID: id, Name: "Free coffee", Points: 2}).Error
		}, 2, true, 1, false},
		{"update without a transaction", "postgres", func(db *gorm.DB, id uint) error {
			return update(db.Session(&gorm.Session{SkipDefaultTransaction: true}), id)
		}, 1, false, 2, false},
		{"update on SQL Server", "sqlserver", update, 1, false, 2, false},
		{"update without WithRowLocks", "postgres", update, 1, false, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, exp, errs, _ := setupAs(t, tt.dialect, !tt.plain)
			reads := -1 // not counting
			fail := func(db *gorm.DB) {
				if reads < 0 {
					return
				}
				if reads++; reads == tt.failRead {
					_ = db.AddError(errLockWait)
				}
			}
			cb := db.Callback()
			if err := errors.Join(
				cb.Query().Before("gorm:query").Register("test:fail_query", fail),
				cb.Row().Before("gorm:row").Register("test:fail_row", fail),
			); err != nil {
				t.Fatal(err)
			}
			db = db.WithContext(staffContext())
			r := Reward{Name: "Free coffee", Points: 1}
			if err := db.Create(&r).Error; err != nil {
				t.Fatal(err)
			}
			exp.Take()
			reads = 0
			err := tt.change(db, r.ID)
			reads = -1
			if got := errors.Is(err, errLockWait); got != tt.fails {
				t.Errorf("got statement error %v, want %v failing it: %v", err, errLockWait, tt.fails)
			}
			handled := slices.ContainsFunc(*errs, func(err error) bool { return errors.Is(err, errLockWait) })
			if handled == tt.fails {
				t.Errorf("got recording errors %v, want %v among them: %v", *errs, errLockWait, !tt.fails)
			}
			var points []int
			if err := db.Model(&Reward{}).Pluck("points", &points).Error; err != nil {
				t.Fatal(err)
			}
			if want := []int{tt.points}; !slices.Equal(points, want) {
				t.Errorf("got points %v in the table, want %v", points, want)
			}
			if recs := exp.Take(); tt.fails && len(recs) != 0 {
				t.Errorf("got %d records of a failed statement, want none", len(recs))
			}
		})
	}
}
