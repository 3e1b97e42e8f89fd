package gormlog

import (
	"strings"
	"testing"
)

// TestRawKind proves that the forms each database documents for beginning,
// committing and rolling back a transaction are read as such: a BEGIN missed
// records rolled-back work as done, a COMMIT missed holds committed records
// until a later transaction's end (and drops them if that one rolls back).
func TestRawKind(t *testing.T) {
	for _, tt := range []struct {
		query string
		want  rawStatement
	}{
		{"BEGIN", rawBegin},
		{"BEGIN IMMEDIATE TRANSACTION", rawBegin},
		{"BEGIN ISOLATION LEVEL SERIALIZABLE", rawBegin},
		{"BEGIN READ ONLY", rawBegin},
		{"BEGIN DEFERRABLE", rawBegin},     // PostgreSQL
		{"BEGIN NOT DEFERRABLE", rawBegin}, // PostgreSQL
		{"BEGIN TRAN t1", rawBegin},        // SQL Server
		{"START TRANSACTION WITH CONSISTENT SNAPSHOT", rawBegin},
		{"COMMIT", rawCommit},
		{"COMMIT TRANSACTION t1", rawCommit}, // SQL Server, named
		{"COMMIT TRAN @t", rawCommit},        // SQL Server, a variable
		{"END WORK", rawCommit},
		{"ROLLBACK", rawRollback},
		{"ABORT TRANSACTION", rawRollback},
		{"ROLLBACK TRANSACTION t1", rawOther}, // a savepoint's name or the transaction's: see followRaw
		{"ROLLBACK TO SAVEPOINT sp1", rawOther},
		{"BEGIN something()", rawOther},
		{"COMMIT a b", rawOther},
		{"END", rawCommit},
		{"COMMIT AND CHAIN", rawCommitChain}, // MySQL, PostgreSQL
		{"commit work and chain;", rawCommitChain},
		{"COMMIT AND NO CHAIN", rawCommit},
		{"ROLLBACK AND CHAIN", rawRollbackChain},
		{"ROLLBACK TRANSACTION AND NO CHAIN", rawRollback},
		{"END AND CHAIN", rawCommitChain}, // PostgreSQL
		{"ABORT WORK AND CHAIN", rawRollbackChain},
		{"COMMIT AND CHAIN x", rawOther},
	} {
		if got := rawKind(tt.query); got != tt.want {
			t.Errorf("rawKind(%q): got %d, want %d", tt.query, got, tt.want)
		}
	}
}

// FuzzStatementKinds: the statements the plugin reads to follow
// transactions (rawKind for BEGIN, COMMIT and ROLLBACK run by hand,
// savepoint for savepoints) never panic on any query; no statement is both
// a transaction's end and a savepoint's; ASCII case and a trailing
// semicolon do not change what a statement is, nor a savepoint's name; and
// that name is one of the statement's words, as written.
func FuzzStatementKinds(f *testing.F) {
	for _, q := range []string{"BEGIN", "begin immediate;", "COMMIT", "END TRANSACTION", "ROLLBACK WORK",
		"SAVEPOINT sp1", "ROLLBACK TO SAVEPOINT sp1", "ROLLBACK TRANSACTION sp1", "ROLLBACK WORK TO sp1;", "INSERT INTO t VALUES (1)"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		kind := rawKind(q)
		set, name := savepoint(q)
		if kind != rawOther && name != "" {
			t.Fatalf("%q: both transaction statement %d and savepoint %q", q, kind, name)
		}
		words := strings.Fields(strings.TrimRight(q, "; \t\r\n"))
		if name != "" && !strings.Contains(" "+strings.Join(words, " ")+" ", " "+name+" ") {
			t.Fatalf("%q: savepoint name %q is not one of its words", q, name)
		}
		if len(q) > 200 || strings.ContainsFunc(q, func(r rune) bool { return r >= 0x80 }) {
			return
		}
		for _, v := range []string{strings.ToLower(q), strings.ToUpper(q), q + ";"} {
			if got := rawKind(v); got != kind {
				t.Fatalf("%q is %d but %q is %d", q, kind, v, got)
			}
		}
		if s, n := savepoint(q + ";"); s != set || n != name {
			t.Fatalf("%q is savepoint (%v, %q) but %q is (%v, %q)", q, set, name, q+";", s, n)
		}
		for _, v := range []string{strings.ToLower(q), strings.ToUpper(q)} {
			if s, n := savepoint(v); s != set || !strings.EqualFold(n, name) {
				t.Fatalf("%q is savepoint (%v, %q) but %q is (%v, %q)", q, set, name, v, s, n)
			}
		}
	})
}

// TestSavepointStatements proves that every form the databases document for
// setting a savepoint and rolling back to it is read with the savepoint's
// name: a rollback missed keeps the records of the changes it undid, and
// they are emitted as done when the transaction commits.
func TestSavepointStatements(t *testing.T) {
	for _, tt := range []struct {
		query string
		set   bool
		name  string
	}{
		{"SAVEPOINT sp1", true, "sp1"},
		{"SAVEPOINT sp1;", true, "sp1"},
		{"SAVE TRANSACTION sp1", true, "sp1"}, // SQL Server
		{"SAVE TRAN sp1", true, "sp1"},        // SQL Server
		{"ROLLBACK TO SAVEPOINT sp1", false, "sp1"},
		{"ROLLBACK TO SAVEPOINT sp1;", false, "sp1"},
		{"ROLLBACK TO sp1", false, "sp1"},
		{"ROLLBACK TRANSACTION TO SAVEPOINT sp1", false, "sp1"}, // SQLite, PostgreSQL
		{"rollback work to savepoint sp1", false, "sp1"},        // MySQL, PostgreSQL
		{"ROLLBACK WORK TO sp1", false, "sp1"},
		{"ROLLBACK TRANSACTION sp1", false, "sp1"}, // SQL Server
		{"ROLLBACK TRAN sp1", false, "sp1"},        // SQL Server
		{"ROLLBACK", false, ""},
		{"ROLLBACK WORK", false, ""},
		{"ROLLBACK AND CHAIN", false, ""},
		{"SAVEPOINTS sp1", false, ""},
		{"ROLLBACK TO SAVEPOINT a b", false, ""},
	} {
		set, name := savepoint(tt.query)
		if set != tt.set || name != tt.name {
			t.Errorf("savepoint(%q): got (%v, %q), want (%v, %q)", tt.query, set, name, tt.set, tt.name)
		}
	}
}
