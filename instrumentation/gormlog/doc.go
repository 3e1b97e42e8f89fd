// Package gormlog is a GORM plugin that records every create, update and
// delete made through GORM as an activity record, with no per-call code:
// creates with the new row's values, updates with the old and new values of
// only the fields that changed, deletes with the deleted row's last values.
//
// Register it once:
//
//	db.Use(gormlog.New(recorder, gormlog.WithCategory("rewards", instrumentation.Rewards)))
//
// and pass each request's context with db.WithContext(ctx) so that the
// actor, tenant and request data the context carries end up in the record.
//
// A model is recorded when it implements instrumentation.Model (which names
// its category, type, id and display name) or when its table was given a
// category with WithCategory; other tables are left alone. Old values are read
// inside the statement's transaction just before an update or delete, new
// values just after an update (an update that sets the primary key is
// recorded under the new key), and a Create of maps reads its rows back (an
// upsert of maps onto a row that exists is not recorded). The rows read are
// the ones the statement touches: by its WHERE clause and its rows' primary
// keys (a delete's Model's keys too, as in
// db.Model(&member).Delete(&Member{})), or, with gorm.Session{AllowGlobalUpdate:
// true} and no conditions, every row of the table the model's scopes reach,
// each recorded as a conditioned statement's rows are. One statement records
// at most WithMaxRows rows (DefaultMaxRows, 1000), the first ones by primary
// key; past them the rows are changed unrecorded and ErrTooManyRows goes to
// the error handler. A create of structs records the struct's values after
// the insert; WithCreatesAsStored records the rows as the database stored
// them (a time to its precision, say), read back after the insert.
//
// Old values and concurrent writers: the old values are read just before
// the statement runs, with a plain read by default. On PostgreSQL and MySQL
// another transaction can commit a change to those rows between that read
// and the statement, and the old values recorded are then the ones from
// before that change: a change the statement did not make. WithRowLocks
// reads them with a row lock, the one the statement takes itself (SELECT
// ... FOR UPDATE; on PostgreSQL FOR NO KEY UPDATE before an update or a
// soft delete, which leaves inserts of rows that reference the row by a
// foreign key free to go ahead, as the UPDATE alone does), when the
// statement runs in a transaction, GORM's default one or the caller's (a BEGIN of the
// caller's where the plugin follows it, below): no other transaction can
// change the rows between the read and the statement, so the old values
// recorded are the ones the statement replaced, and the rows read back
// after an update are locked reads too. On MySQL the rows an upsert may run
// into are then found with a plain read first, and only those found are
// locked: a locking read of a key no row holds locks the gap where the row
// would go, and two upserts of one new key would deadlock. The locks are
// not free, which is why they are not the default: they are held until the
// transaction ends, MySQL's locking read locks every row it scans (the read
// is ordered by primary key, which may scan more rows than the statement
// would), and a busy table pays in lock waits and deadlocks. On PostgreSQL
// 17 the package's tests show them at work on a real server: a writer that
// commits between a plain read and the statement is recorded as old values
// the statement did not replace, and a locked read records the ones it did;
// under concurrent one-row and several-row updates each row's recorded
// changes form one chain; a locked read that times out fails the statement
// (SQLSTATE 55P03) and records nothing; a deadlock among the callers'
// transactions surfaces at the locked read as 40P01; and another
// transaction inserts a row referencing an updated or soft-deleted row
// without waiting for the lock. On MariaDB 10.11 (InnoDB, REPEATABLE READ;
// MariaDB, not Oracle's MySQL, whose InnoDB locks rows and gaps the same
// way) they show the same: a writer that commits between a plain read and
// the statement is recorded as old values the statement did not replace
// (the plain read is a snapshot read, the UPDATE or DELETE acts on the row
// committed since), and a locked read records the ones it did; the rows
// read back after an update are locked reads, without which a row the
// statement matched but left as it was would be recorded as changed back
// to its snapshot's values; an upsert of a row that exists waits in the
// locked read and records the values the first upsert left as old; two
// upserts of one new key do not deadlock; under concurrent one-row and
// several-row updates each row's recorded changes form one chain, deadlocks
// (error 1213) surfacing at the locked read; a locked read that hits
// innodb_lock_wait_timeout fails the statement (error 1205) and records
// nothing. An uncontended single-row update cost about the same with them
// as without, on both (within the noise of a shared machine); measure them
// under your own load before turning them on.
// Outside a transaction (SkipDefaultTransaction with no transaction of the
// caller's) a lock would end with the read, and none is taken: keep GORM's
// default transaction where old values must be exact under concurrent
// writers. A row that another transaction inserts, or changes to meet the
// statement's conditions, after the read was not read, and is not locked by
// it (MySQL's gap locks may keep it out; PostgreSQL has none): the
// statement may change it unrecorded. An upsert that runs into a row
// another transaction inserted and had not committed when the upsert read
// (two upserts of one new key at once) updates that row unseen, and is
// recorded as created, with its own values and no old ones: on MySQL,
// whose read there takes no lock (see above), as on PostgreSQL, whose
// locked read does not see the uncommitted row. In a transaction SQLite
// needs no lock (one transaction writes at a time), and SQL Server has
// none to take this way (it has no FOR UPDATE): there the rows are read
// without one.
//
// Records are emitted only once the transaction they were made in commits,
// the statement's own or one opened with db.Transaction or db.Begin, and are
// dropped when it rolls back (to a nested transaction's savepoint, too): the
// plugin wraps the connection pool to see commits. A transaction begun with
// db.Exec("BEGIN") is followed through its BEGIN, COMMIT, ROLLBACK and
// savepoint statements (a ROLLBACK that fails because the database ended
// the transaction itself ends it too) on a connection taken with
// db.Connection or on a pool of one connection (elsewhere the next statement may run on any connection;
// a pool raised above one connection meanwhile emits the records held so far
// at the COMMIT, and the later ones as they run).
// A transaction begun with Begin or Transaction on a db.Connection session is
// not seen: its records are emitted as each statement succeeds, even if it
// later rolls back.
//
// A statement whose SQL succeeded is recorded even when an After hook or an
// association saved after it then fails it, unless GORM rolls back the
// transaction it opened for the statement: with SkipDefaultTransaction the
// change stays, and is recorded; in a transaction of the caller's, it is
// recorded if that transaction commits. Recording never fails a
// query: a recording error goes to the error handler (otel.Handle by default).
// The one exception is a read with a row lock (WithRowLocks) that fails, on a
// deadlock, a lock or statement timeout or a serialization failure: the
// statement fails with the database's error (wrapped), to be retried as its
// own deadlocks are. The database may have ended the transaction (MySQL
// rolls it back on a deadlock, and the statement and the ones after it
// would then commit one by one) or refuse every later statement in it
// (PostgreSQL), so the statement must not go on.
package gormlog
