package mysqltest_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/activitylog/activitylog/internal/mysqltest"
)

// TestDatabaseIsFreshAndDropped: Database gives each test a database of its
// own, empty, and drops it when the test ends, even with a transaction of
// the test's left open in it.
func TestDatabaseIsFreshAndDropped(t *testing.T) {
	var name string
	t.Run("inner", func(t *testing.T) {
		dsn := mysqltest.Database(t)
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			t.Fatal(err)
		}
		name = cfg.DBName
		db := open(t, dsn)
		if other := mysqltest.Database(t); other == dsn {
			t.Errorf("two calls gave the same database %s", dsn)
		}
		ctx := context.Background()
		if _, err := db.ExecContext(ctx, "CREATE TABLE t (id int PRIMARY KEY) ENGINE=InnoDB"); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", name).Scan(&n); err != nil || n != 1 {
			t.Fatalf("got %d tables (%v), want the one made", n, err)
		}
		// Left open: it holds the table's metadata lock until its session ends.
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO t VALUES (1)"); err != nil {
			t.Fatal(err)
		}
	})
	db := open(t, mysqltest.DSN(t))
	var n int
	if err := db.QueryRowContext(context.Background(),
		"SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s: got %d after its test ended, want 0 (dropped)", name, n)
	}
}

// open opens dsn for the test, closed when it ends, and checks that it
// answers.
func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("connect to %s: %v", dsn, err)
	}
	return db
}
