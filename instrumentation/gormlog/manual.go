package gormlog

import (
	"database/sql"
	"runtime"
	"slices"
	"strings"
	"weak"

	"gorm.io/gorm"
)

// A manual transaction is one begun with a BEGIN statement of the caller's
// (db.Exec("BEGIN")) rather than through the connection pool, so the pool
// never sees it end. The plugin follows the statements that begin and end
// it instead, on a connection where they mean something: one taken with
// db.Connection, or a pool of a single connection (every statement runs on
// the connection that ran BEGIN). On a larger pool the next statement may
// run on any connection, inside the transaction or not, so its records are
// emitted as each statement succeeds.

// rawStatement is what a statement run with db.Exec does to a transaction.
type rawStatement int

const (
	rawOther rawStatement = iota
	rawBegin
	rawCommit
	rawRollback
)

// rawKind parses the statements that begin, commit and roll back a
// transaction in SQLite, PostgreSQL, MySQL and SQL Server.
func rawKind(query string) rawStatement {
	q := strings.TrimSpace(query)
	if len(q) > maxSavepointStatement {
		return rawOther
	}
	f := strings.Fields(strings.ToUpper(strings.TrimRight(q, "; \t\r\n")))
	if len(f) == 0 {
		return rawOther
	}
	rest := f[1:]
	tail := func(words ...string) bool { // nothing after, or one of words
		return len(rest) == 0 || len(rest) == 1 && slices.Contains(words, rest[0])
	}
	switch f[0] {
	case "BEGIN":
		if len(rest) > 0 && slices.Contains([]string{"DEFERRED", "IMMEDIATE", "EXCLUSIVE"}, rest[0]) {
			rest = rest[1:] // SQLite's locking modes
		}
		if len(rest) > 0 && (rest[0] == "TRANSACTION" || rest[0] == "TRAN" || rest[0] == "WORK") {
			return rawBegin // with PostgreSQL's isolation level, or SQL Server's name, after it
		}
		if len(rest) == 0 || rest[0] == "ISOLATION" || rest[0] == "READ" {
			return rawBegin
		}
	case "START":
		if len(rest) > 0 && rest[0] == "TRANSACTION" {
			return rawBegin
		}
	case "COMMIT", "END":
		if tail("TRANSACTION", "TRAN", "WORK") {
			return rawCommit
		}
	case "ROLLBACK", "ABORT":
		if tail("TRANSACTION", "TRAN", "WORK") {
			return rawRollback
		}
	}
	return rawOther
}

// manualKey returns the key under which the plugin follows manual
// transactions on c, or nil when it does not.
func manualKey(c gorm.ConnPool) any {
	switch c := c.(type) {
	case *sql.Conn:
		// Weakly: a connection closed inside a manual transaction drops it
		// (see followRaw).
		return weak.Make(c)
	case *pool:
		if db, err := c.GetDBConn(); err == nil && db.Stats().MaxOpenConnections == 1 {
			return c
		}
	}
	return nil
}

// manualOf returns the records of the manual transaction open on c.
func (p *Plugin) manualOf(c gorm.ConnPool) *held {
	key := manualKey(c)
	if key == nil {
		return nil
	}
	if h, ok := p.manual.Load(key); ok {
		return h.(*held)
	}
	return nil
}

// followRaw runs after each db.Exec and follows the manual transactions it
// begins, commits or rolls back, and their savepoints. A transaction begun
// through the pool follows its own savepoints (pendingTx.ExecContext).
func (p *Plugin) followRaw(db *gorm.DB) {
	c := db.Statement.ConnPool
	if db.Error != nil || pendingOf(c) != nil {
		return
	}
	key := manualKey(c)
	if key == nil {
		return
	}
	query := db.Statement.SQL.String()
	switch rawKind(query) {
	case rawBegin:
		if _, loaded := p.manual.LoadOrStore(key, &held{}); !loaded {
			if conn, ok := c.(*sql.Conn); ok {
				runtime.AddCleanup(conn, func(k any) { p.manual.Delete(k) }, key)
			}
		}
	case rawCommit:
		if h, ok := p.manual.LoadAndDelete(key); ok {
			for _, emit := range h.(*held).take() {
				emit()
			}
		}
	case rawRollback:
		p.manual.Delete(key)
	default:
		if set, name := savepoint(query); name != "" {
			if h := p.manualOf(c); h != nil {
				h.savepoint(set, name)
			}
		}
	}
}
