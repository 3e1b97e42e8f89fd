// Package mysqltest gives tests a real MySQL server: MariaDB, whose InnoDB
// locks rows and gaps as MySQL's does.
//
// DSN returns MYSQL_DSN when it is set (a go-sql-driver/mysql DSN with
// parseTime=true, such as root@tcp(127.0.0.1:53306)/?parseTime=true);
// otherwise it runs `scripts/mariadb start`, which installs Debian's
// MariaDB once (with apt-get, as root) and starts (or reuses) a server on
// 127.0.0.1. A test that cannot get a server fails with the reason: it
// never skips.
//
// Tests isolate themselves with a database of their own: Database creates
// one with a random name and drops it when the test ends.
package mysqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/activitylog/activitylog/internal/servertest"
)

// shared is the server every test of the process uses (servertest.Shared).
var shared servertest.Shared

// DSN returns the go-sql-driver/mysql DSN of a running server, as a user
// that may create and drop databases, starting one if MYSQL_DSN is not set.
// It fails tb if no server can be had.
func DSN(tb testing.TB) string {
	tb.Helper()
	return shared.Address(tb, "MYSQL_DSN", "mariadb", "MySQL")
}

// Database creates a database no other test uses and returns its DSN; it
// is dropped when tb ends, the connections still in it ended first.
func Database(tb testing.TB) string {
	tb.Helper()
	server := DSN(tb)
	cfg, err := mysql.ParseDSN(server)
	if err != nil {
		tb.Fatalf("mysqltest: MYSQL_DSN: %v", err)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatalf("mysqltest: database name: %v", err)
	}
	// Letters and digits only: the name needs no quoting beyond the backticks.
	name := "t" + hex.EncodeToString(b[:])
	if err := exec1(server, "CREATE DATABASE `"+name+"`"); err != nil {
		tb.Fatalf("mysqltest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if err := drop(server, name); err != nil {
			tb.Errorf("mysqltest: drop database %s: %v", name, err)
		}
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}

// exec1 runs one statement on its own connection to the server's DSN.
func exec1(dsn, query string) error {
	return onConn(dsn, func(ctx context.Context, conn *sql.Conn) error {
		_, err := conn.ExecContext(ctx, query)
		return err
	})
}

// drop ends the sessions still using database name (a transaction left open
// there would hold DROP DATABASE on its tables' metadata locks), then drops
// it.
func drop(dsn, name string) error {
	return onConn(dsn, func(ctx context.Context, conn *sql.Conn) error {
		rows, err := conn.QueryContext(ctx,
			"SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()", name)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				_ = rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, id := range ids {
			// A session that has ended meanwhile is no longer there to kill.
			var myErr *mysql.MySQLError
			if _, err := conn.ExecContext(ctx, fmt.Sprintf("KILL %d", id)); err != nil &&
				!(errors.As(err, &myErr) && myErr.Number == 1094) {
				return err
			}
		}
		_, err = conn.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`")
		return err
	})
}

// onConn runs f on a connection of its own to the server's DSN, within 30
// seconds.
func onConn(dsn string, f func(ctx context.Context, conn *sql.Conn) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	return f(ctx, conn)
}
