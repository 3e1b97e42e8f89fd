package gormlog

import (
	"context"
	"database/sql"
	"errors"
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
	// COMMIT AND CHAIN, ROLLBACK AND CHAIN (MySQL, PostgreSQL; END and
	// ABORT too in PostgreSQL): the transaction ends and a new one begins at
	// once on the same connection.
	rawCommitChain
	rawRollbackChain
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
		// PostgreSQL's transaction modes: ISOLATION LEVEL, READ WRITE|ONLY, [NOT] DEFERRABLE.
		if len(rest) == 0 || slices.Contains([]string{"ISOLATION", "READ", "DEFERRABLE", "NOT"}, rest[0]) {
			return rawBegin
		}
	case "START":
		if len(rest) > 0 && rest[0] == "TRANSACTION" {
			return rawBegin
		}
	case "COMMIT", "END":
		// SQL Server may name the transaction it commits (a ROLLBACK naming
		// one may name a savepoint instead: see followRaw).
		if tail("TRANSACTION", "TRAN", "WORK") || len(rest) == 2 && (rest[0] == "TRANSACTION" || rest[0] == "TRAN") {
			return rawCommit
		}
		if chain, ok := chained(rest); ok {
			if chain {
				return rawCommitChain
			}
			return rawCommit
		}
	case "ROLLBACK", "ABORT":
		if tail("TRANSACTION", "TRAN", "WORK") {
			return rawRollback
		}
		if chain, ok := chained(rest); ok {
			if chain {
				return rawRollbackChain
			}
			return rawRollback
		}
	}
	return rawOther
}

// chained reads what follows COMMIT, ROLLBACK (MySQL, PostgreSQL), END or
// ABORT (PostgreSQL): [WORK|TRANSACTION] AND [NO] CHAIN. ok is false for
// anything else.
func chained(rest []string) (chain, ok bool) {
	if len(rest) > 0 && (rest[0] == "WORK" || rest[0] == "TRANSACTION") {
		rest = rest[1:]
	}
	switch {
	case slices.Equal(rest, []string{"AND", "CHAIN"}):
		return true, true
	case slices.Equal(rest, []string{"AND", "NO", "CHAIN"}):
		return false, true
	}
	return false, false
}

// manualKey returns the key under which the plugin follows manual
// transactions on c, or nil when it cannot follow them there.
func manualKey(c gorm.ConnPool) any {
	switch c := c.(type) {
	case *sql.Conn:
		// Weakly: a connection closed inside a manual transaction drops it
		// (see followRaw).
		return weak.Make(c)
	case *pool:
		return c
	}
	return nil
}

// oneConnection reports whether every statement run through c runs on one
// connection, the one a manual transaction was begun on. A pool's limit can
// change at run time: it is read at each statement.
func oneConnection(c gorm.ConnPool) bool {
	switch c := c.(type) {
	case *sql.Conn:
		return true
	case *pool:
		db, err := c.GetDBConn()
		return err == nil && db.Stats().MaxOpenConnections == 1
	}
	return false
}

// manualOf returns the records of the manual transaction open on c, while
// c still runs every statement on its connection.
func (p *Plugin) manualOf(c gorm.ConnPool) *held {
	key := manualKey(c)
	if key == nil || !oneConnection(c) {
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
	if pendingOf(c) != nil {
		return
	}
	key := manualKey(c)
	if key == nil {
		return
	}
	query := db.Statement.SQL.String()
	kind := rawKind(query)
	if db.Error != nil {
		// A ROLLBACK that fails found no transaction to roll back: the
		// database ended it itself after an error (SQLite on
		// RAISE(ROLLBACK) or a full disk, MySQL on a deadlock), or the
		// connection it was open on is gone, and its changes with it. The
		// statements that follow commit one by one. A failed COMMIT may
		// leave the transaction open (SQLite when the database is busy), to
		// be committed again: it is left alone, as is a ROLLBACK stopped by
		// its context, which may not have reached the database.
		if kind == rawRollback && !errors.Is(db.Error, context.Canceled) && !errors.Is(db.Error, context.DeadlineExceeded) {
			p.manual.Delete(key)
		}
		return
	}
	switch kind {
	case rawBegin:
		p.beginManual(c, key)
	case rawCommit, rawCommitChain:
		// Even when the pool has grown since BEGIN: the records held were
		// made on the transaction's connection, and would otherwise be held
		// for ever. Statements since then were emitted as they ran.
		if h, ok := p.manual.LoadAndDelete(key); ok {
			for _, emit := range h.(*held).take() {
				emit()
			}
		}
		if kind == rawCommitChain {
			p.beginManual(c, key)
		}
	case rawRollback, rawRollbackChain:
		p.manual.Delete(key)
		if kind == rawRollbackChain {
			p.beginManual(c, key)
		}
	default:
		if set, name := savepoint(query); name != "" {
			if h := p.manualOf(c); h != nil && !h.savepoint(set, name) && sqlServerRollback(query) {
				// SQL Server's ROLLBACK TRANSACTION names a savepoint or the
				// transaction itself; a name never saved is the transaction's,
				// and the whole transaction rolled back.
				p.manual.Delete(key)
			}
		}
	}
}

// beginManual starts holding the records of a manual transaction begun on
// c, while c runs every statement on one connection.
func (p *Plugin) beginManual(c gorm.ConnPool, key any) {
	if !oneConnection(c) {
		return
	}
	if _, loaded := p.manual.LoadOrStore(key, &held{}); !loaded {
		if conn, ok := c.(*sql.Conn); ok {
			runtime.AddCleanup(conn, func(k any) { p.manual.Delete(k) }, key)
		}
	}
}

// sqlServerRollback reports whether query is SQL Server's ROLLBACK
// TRAN[SACTION] name, which savepoint reads as a rollback to a savepoint.
func sqlServerRollback(query string) bool {
	f := strings.Fields(strings.ToUpper(query))
	return len(f) == 3 && f[0] == "ROLLBACK" && (f[1] == "TRANSACTION" || f[1] == "TRAN")
}
