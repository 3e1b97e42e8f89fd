package gormlog

import (
	"context"
	"database/sql"
	"strings"
	"sync"

	"gorm.io/gorm"
)

// pool wraps the database's connection pool so that the plugin sees where
// each transaction ends: a record made inside a transaction waits for its
// commit and is dropped on its rollback, so a rolled-back change (a failed
// db.Transaction, a CreateInBatches whose later batch failed, an
// association saved before its parent's insert failed) is never recorded as
// done.
type pool struct {
	gorm.ConnPool
}

var (
	_ gorm.ConnPoolBeginner = (*pool)(nil)
	_ gorm.GetDBConnector   = (*pool)(nil)
	_ gorm.Tx               = (*pendingTx)(nil)
	_ gorm.GetDBConnector   = (*pendingTx)(nil)
)

// wrapPool returns c wrapped, or c itself when it cannot begin transactions
// or is wrapped already.
func wrapPool(c gorm.ConnPool) gorm.ConnPool {
	switch c.(type) {
	case *pool:
		return c
	case gorm.TxBeginner, gorm.ConnPoolBeginner:
		return &pool{ConnPool: c}
	}
	return c
}

// BeginTx implements gorm.ConnPoolBeginner.
func (p *pool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	var tx gorm.ConnPool
	switch b := p.ConnPool.(type) {
	case gorm.TxBeginner:
		t, err := b.BeginTx(ctx, opts)
		if err != nil {
			return nil, err
		}
		tx = t
	case gorm.ConnPoolBeginner:
		t, err := b.BeginTx(ctx, opts)
		if err != nil {
			return nil, err
		}
		tx = t
	default:
		return nil, gorm.ErrInvalidTransaction
	}
	c, ok := tx.(gorm.TxCommitter)
	if !ok {
		return tx, nil
	}
	return &pendingTx{ConnPool: tx, committer: c, pool: p}, nil
}

// GetDBConn implements gorm.GetDBConnector, so that db.DB() still finds the
// *sql.DB under the wrapper.
func (p *pool) GetDBConn() (*sql.DB, error) {
	switch c := p.ConnPool.(type) {
	case *sql.DB:
		return c, nil
	case gorm.GetDBConnector:
		return c.GetDBConn()
	}
	return nil, gorm.ErrInvalidDB
}

// pendingTx is a transaction begun through pool: it holds the records of
// the statements run in it until it commits.
type pendingTx struct {
	gorm.ConnPool
	committer gorm.TxCommitter
	pool      *pool

	held
}

// held is the records of a transaction that has not ended yet.
type held struct {
	mu         sync.Mutex
	emits      []func()
	savepoints map[string]int // savepoint name: len(emits) when it was set
}

// pendingOf returns the transaction c is, or runs in, when it was begun
// through pool.
func pendingOf(c gorm.ConnPool) *pendingTx {
	switch t := c.(type) {
	case *pendingTx:
		return t
	case *gorm.PreparedStmtTX: // Session(&gorm.Session{PrepareStmt: true}) inside a transaction
		if pt, ok := t.Tx.(*pendingTx); ok {
			return pt
		}
	}
	return nil
}

func (h *held) add(emit func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.emits = append(h.emits, emit)
}

func (h *held) take() []func() {
	h.mu.Lock()
	defer h.mu.Unlock()
	emits := h.emits
	h.emits, h.savepoints = nil, nil
	return emits
}

// savepoint follows a savepoint statement that succeeded: set notes where
// the savepoint name is, a rollback to it drops the records made since. It
// reports whether the savepoint rolled back to was one it had noted.
func (h *held) savepoint(set bool, name string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if set {
		if h.savepoints == nil {
			h.savepoints = map[string]int{}
		}
		h.savepoints[name] = len(h.emits)
		return true
	}
	n, ok := h.savepoints[name]
	if !ok {
		// Unquoted names are case-insensitive (SQLite, SQL Server's usual
		// collations) or folded (PostgreSQL, MySQL).
		for k, v := range h.savepoints {
			if strings.EqualFold(k, name) {
				n, ok = v, true
				break
			}
		}
	}
	if ok && n <= len(h.emits) {
		h.emits = h.emits[:n]
	}
	return ok
}

// Commit implements gorm.TxCommitter: it emits the transaction's records
// once the commit succeeded.
func (t *pendingTx) Commit() error {
	err := t.committer.Commit()
	emits := t.take()
	if err != nil {
		return err
	}
	for _, emit := range emits {
		emit()
	}
	return nil
}

// Rollback implements gorm.TxCommitter: it drops the transaction's records.
func (t *pendingTx) Rollback() error {
	t.take()
	return t.committer.Rollback()
}

// GetDBConn implements gorm.GetDBConnector, so that tx.DB() inside a
// transaction finds the *sql.DB, as it does for a plain *sql.Tx.
func (t *pendingTx) GetDBConn() (*sql.DB, error) { return t.pool.GetDBConn() }

// StmtContext implements gorm.Tx, for prepared statements.
func (t *pendingTx) StmtContext(ctx context.Context, stmt *sql.Stmt) *sql.Stmt {
	if tx, ok := t.ConnPool.(interface {
		StmtContext(context.Context, *sql.Stmt) *sql.Stmt
	}); ok {
		return tx.StmtContext(ctx, stmt)
	}
	return stmt
}

// ExecContext runs query in the transaction and follows its savepoints: a
// nested db.Transaction that fails rolls back to its savepoint, and the
// records made since that savepoint are dropped with it.
func (t *pendingTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	set, name := savepoint(query)
	conn := t.ConnPool
	if p, ok := conn.(*gorm.PreparedStmtTX); ok && name != "" {
		conn = p.Tx // as gorm does: savepoints cannot be prepared statements on every database
	}
	res, err := conn.ExecContext(ctx, query, args...)
	if err != nil || name == "" {
		return res, err
	}
	t.savepoint(set, name)
	return res, nil
}

// savepoint parses the statements that set a savepoint and roll back to
// one: SAVEPOINT name and ROLLBACK [WORK|TRANSACTION] TO [SAVEPOINT] name
// (SQLite, PostgreSQL, MySQL; GORM sends ROLLBACK TO SAVEPOINT name), SAVE
// TRAN[SACTION] name and ROLLBACK TRAN[SACTION] name (SQL Server), with or
// without a trailing semicolon. It returns the name, and whether the
// statement sets it (true) or rolls back to it (false); the name is empty
// for any other statement.
func savepoint(query string) (set bool, name string) {
	// Every statement of a transaction passes here, a batch INSERT of
	// megabytes among them: only a short one that starts like these is
	// split and compared.
	q := strings.TrimLeft(query, " \t\r\n")
	if len(q) > maxSavepointStatement || len(q) < 4 ||
		!strings.EqualFold(q[:4], "SAVE") && !(len(q) >= 8 && strings.EqualFold(q[:8], "ROLLBACK")) {
		return false, ""
	}
	// A name read with the semicolon would match neither the same
	// savepoint set without one nor GORM's.
	q = strings.TrimRight(q, "; \t\r\n")
	f := strings.Fields(strings.ToUpper(q))
	orig := strings.Fields(q)
	if len(orig) != len(f) || len(f) < 2 {
		return false, ""
	}
	tran := func(w string) bool { return w == "TRANSACTION" || w == "TRAN" }
	switch {
	case len(f) == 2 && f[0] == "SAVEPOINT":
		return true, orig[1]
	case len(f) == 3 && f[0] == "SAVE" && tran(f[1]):
		return true, orig[2]
	case len(f) == 3 && f[0] == "ROLLBACK" && tran(f[1]):
		return false, orig[2]
	case f[0] == "ROLLBACK":
		f, orig = f[1:], orig[1:]
		if f[0] == "WORK" || f[0] == "TRANSACTION" {
			f, orig = f[1:], orig[1:]
		}
		if len(f) < 2 || f[0] != "TO" {
			return false, ""
		}
		f, orig = f[1:], orig[1:]
		if len(f) == 2 && f[0] == "SAVEPOINT" {
			return false, orig[1]
		}
		if len(f) == 1 {
			return false, orig[0]
		}
	}
	return false, ""
}

// maxSavepointStatement is longer than any savepoint statement GORM sends
// (its savepoint names are short).
const maxSavepointStatement = 256
