package gormlog

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/otel"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"

	"github.com/activitylog/activitylog/instrumentation"
)

// Name is the plugin's name in GORM.
const Name = "activitylog"

// DefaultMaxRows is how many rows one update or delete records by default.
const DefaultMaxRows = 1000

// ErrTooManyRows is passed (wrapped) to the error handler when an update or
// delete touched more rows than the plugin records.
var ErrTooManyRows = errors.New("statement touched more rows than are recorded")

// Keys under which a statement carries the plugin's state between callbacks.
const (
	keyBefore      = "activitylog:before"
	keyChanges     = "activitylog:changes"
	keyRenamed     = "activitylog:renamed"
	keyKeys        = "activitylog:keys"
	keyExisted     = "activitylog:existed"
	keyMaps        = "activitylog:maps"
	keyMapsExisted = "activitylog:maps-existed"
	keyInserted    = "activitylog:inserted"
	keyRan         = "activitylog:ran"
	keyDeleting    = "activitylog:deleting"
)

// startedTransaction is the key under which GORM marks a statement that ran
// in a transaction of its own (its default transaction).
const startedTransaction = "gorm:started_transaction"

// Option configures the plugin.
type Option interface {
	apply(*Plugin)
}

type optionFunc func(*Plugin)

func (f optionFunc) apply(p *Plugin) { f(p) }

// WithCategory records the rows of table (its database name, e.g.
// "stamp_cards") under category c, for models that do not implement
// instrumentation.Model. By default no table has a category.
func WithCategory(table string, c instrumentation.Category) Option {
	return optionFunc(func(p *Plugin) { p.categories[table] = c })
}

// WithErrorHandler sets what receives recording errors, which never fail the
// query. The default is otel.Handle.
func WithErrorHandler(h func(error)) Option {
	return optionFunc(func(p *Plugin) {
		if h != nil {
			p.onError = h
		}
	})
}

// WithMaxRows bounds how many rows one update or delete records, the first
// ones by primary key; further rows are changed but not recorded, and
// ErrTooManyRows is reported. The default
// is DefaultMaxRows; values below one mean the default.
func WithMaxRows(n int) Option {
	return optionFunc(func(p *Plugin) {
		if n > 0 {
			p.maxRows = n
		}
	})
}

// WithRowLocks makes the reads of the rows a statement is about to change
// lock them (SELECT ... FOR UPDATE, or FOR NO KEY UPDATE: the lock the
// statement takes itself, see lockClause) until its transaction ends, on
// PostgreSQL and MySQL, when the statement runs in a transaction: the old
// values recorded are then the ones the statement replaced, even while
// other transactions write the same rows (see the package doc, "Old values
// and concurrent writers"). It is off by default: the locks are held longer
// and over more rows than the statement's own (MySQL locks every row its
// read scans), which a busy table pays in lock waits and deadlocks, and a
// locked read that fails fails the statement.
func WithRowLocks() Option {
	return optionFunc(func(p *Plugin) { p.rowLocks = true })
}

// WithCreatesAsStored makes a create of structs record each new row as the
// database stored it, read back by primary key inside the statement's
// transaction, instead of the struct's values as GORM sent them. The two
// differ where the database rounds what it stores: a time.Time the struct
// holds to the nanosecond (GORM's CreatedAt, say) is stored by PostgreSQL to
// the microsecond and by MySQL to the column's precision (GORM's MySQL
// driver makes DATETIME(3), milliseconds), so without it a create records a
// time that later records of the same row, read from the database, show
// shorter. It is off by default: it costs one read per create statement.
// A create with a row whose primary key is still zero after the insert (one
// GORM did not learn), and a create of more than WithMaxRows rows, record
// the structs' values; creates of maps are read back with or without it.
func WithCreatesAsStored() Option {
	return optionFunc(func(p *Plugin) { p.createsAsStored = true })
}

// Plugin records creates, updates and deletes. Use it with db.Use.
type Plugin struct {
	rec             *instrumentation.Recorder
	categories      map[string]instrumentation.Category
	onError         func(error)
	maxRows         int
	rowLocks        bool
	createsAsStored bool
	manual          sync.Map // manualKey: *held, the open manual transactions (see manual.go)
}

var _ gorm.Plugin = (*Plugin)(nil)

// New returns a plugin that records through rec.
func New(rec *instrumentation.Recorder, opts ...Option) *Plugin {
	p := &Plugin{rec: rec, categories: map[string]instrumentation.Category{}, onError: otel.Handle, maxRows: DefaultMaxRows}
	for _, o := range opts {
		o.apply(p)
	}
	return p
}

// Name implements gorm.Plugin.
func (*Plugin) Name() string { return Name }

// Initialize implements gorm.Plugin: it registers the plugin's callbacks.
func (p *Plugin) Initialize(db *gorm.DB) error {
	cb := db.Callback()
	err := errors.Join(
		cb.Create().After("gorm:before_create").Before("gorm:create").Register("activitylog:before_create", p.loadExisting),
		cb.Create().After("gorm:create").Before("gorm:save_after_associations").Register("activitylog:diff_create", p.diffCreate),
		cb.Create().After("gorm:commit_or_rollback_transaction").Register("activitylog:after_create", p.afterCreate),
		cb.Update().After("gorm:before_update").Before("gorm:update").Register("activitylog:before_update", p.loadBeforeUpdate),
		cb.Update().After("gorm:update").Before("gorm:save_after_associations").Register("activitylog:diff_update", p.diffUpdate),
		cb.Update().After("gorm:commit_or_rollback_transaction").Register("activitylog:after_update", p.afterUpdate),
		cb.Delete().After("gorm:before_delete").Before("gorm:delete").Register("activitylog:before_delete", p.loadBeforeDelete),
		cb.Delete().After("gorm:delete").Before("gorm:after_delete").Register("activitylog:ran_delete", p.ran),
		cb.Delete().After("gorm:commit_or_rollback_transaction").Register("activitylog:after_delete", p.afterDelete),
		cb.Raw().After("gorm:raw").Register("activitylog:raw", p.followRaw),
	)
	if err != nil {
		return fmt.Errorf("register activitylog callbacks: %w", err)
	}
	// Records made inside a transaction wait for its commit (see pool).
	old := db.ConnPool
	db.ConnPool = wrapPool(old)
	if db.Statement != nil && db.Statement.ConnPool == old {
		db.Statement.ConnPool = db.ConnPool
	}
	return nil
}

// emit records e now or, when the statement runs inside a transaction begun
// through the plugin's pool or a manual one it follows, once that
// transaction commits. Its values are
// taken now: a row changed again later in the transaction does not change
// this record.
func (p *Plugin) emit(db *gorm.DB, e instrumentation.Event, what string) {
	ctx, table := db.Statement.Context, db.Statement.Table
	record := func() {
		if err := p.rec.Record(ctx, e); err != nil {
			p.onError(fmt.Errorf("record %s of %s: %w", what, table, err))
		}
	}
	if t := pendingOf(db.Statement.ConnPool); t != nil {
		t.add(record)
		return
	}
	if h := p.manualOf(db.Statement.ConnPool); h != nil {
		h.add(record)
		return
	}
	record()
}

// ran notes, just after the statement's SQL, whether it succeeded: an After
// hook (AfterCreate, AfterUpdate, AfterDelete) or an association saved after
// it may still fail the statement, but the change it made stays unless a
// transaction rolls it back.
func (p *Plugin) ran(db *gorm.DB) {
	if db.Error == nil {
		db.InstanceSet(keyRan, true)
	}
}

// changed reports, once the statement is done, whether its change was made
// and kept: its SQL succeeded, and GORM did not roll back a transaction it
// opened for the statement (the error of a later hook does that unless
// SkipDefaultTransaction is set). A change made in a transaction of the
// caller's is recorded when that transaction commits (see emit).
func changed(db *gorm.DB) bool {
	if _, ok := db.InstanceGet(keyRan); !ok {
		return false
	}
	_, started := db.InstanceGet(startedTransaction)
	return !started || db.Error == nil
}

// tracked reports whether the statement's model is recorded.
func (p *Plugin) tracked(db *gorm.DB) bool {
	s := db.Statement.Schema
	if s == nil {
		return false
	}
	if _, ok := p.categories[s.Table]; ok {
		return true
	}
	m := reflect.PointerTo(s.ModelType)
	return m.Implements(modelType) || s.ModelType.Implements(modelType)
}

var modelType = reflect.TypeFor[instrumentation.Model]()

// subject names a row: through instrumentation.Model when the row implements
// it, else from the table's category, the model's name and the primary key.
// A panicking ActivitySubject (one that reads an association the query did
// not load, say) is reported and the row named as a row without it: it runs
// inside the caller's query, which recording must never fail.
func (p *Plugin) subject(db *gorm.DB, row reflect.Value) instrumentation.Subject {
	if row.Kind() != reflect.Pointer && row.CanAddr() {
		row = row.Addr()
	}
	if m, ok := row.Interface().(instrumentation.Model); ok {
		if s, ok := p.modelSubject(db, m); ok {
			return s
		}
	}
	s := db.Statement.Schema
	return instrumentation.Subject{
		Category: p.categories[s.Table],
		Type:     db.NamingStrategy.ColumnName("", s.Name),
		ID:       p.primaryKey(db.Statement.Context, s, row),
	}
}

// modelSubject calls m.ActivitySubject, reporting false, and the panic to
// the error handler, when it panics.
func (p *Plugin) modelSubject(db *gorm.DB, m instrumentation.Model) (s instrumentation.Subject, ok bool) {
	defer func() {
		if v := recover(); v != nil {
			p.onError(fmt.Errorf("activity subject of a row of %s: ActivitySubject panicked: %v", db.Statement.Table, v))
			s, ok = instrumentation.Subject{}, false
		}
	}()
	return m.ActivitySubject(), true
}

// primaryKey is row's primary key as text (formatKey), "" when it has none.
// A key of several columns (a join table's) is its columns' values in
// order, joined by "/", each with its "%" and "/" escaped as "%25" and
// "%2F", so that two keys never read the same; "" when every column is zero.
func (p *Plugin) primaryKey(ctx context.Context, s *schema.Schema, row reflect.Value) string {
	return primaryKeyText(primaryKeyValues(ctx, s, row))
}

// keyFields are the columns that name a row: GORM's prioritized primary
// field (the only one, or the one named ID) or, without one, every column of
// the primary key.
func keyFields(s *schema.Schema) []*schema.Field {
	if s.PrioritizedPrimaryField != nil {
		return []*schema.Field{s.PrioritizedPrimaryField}
	}
	return s.PrimaryFields
}

// primaryKeyText writes a primary key's column values as primaryKey does.
func primaryKeyText(vals []any) string {
	if len(vals) == 1 {
		if isZeroKey(vals[0]) {
			return ""
		}
		return formatKey(vals[0])
	}
	parts, set := make([]string, len(vals)), false
	for i, v := range vals {
		set = set || !isZeroKey(v)
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(formatKey(v), "%", "%25"), "/", "%2F")
	}
	if !set {
		return ""
	}
	return strings.Join(parts, "/")
}

// isZeroKey reports whether a key column's value, through its pointers, is
// its type's zero value (or a nil pointer): a key not set.
func isZeroKey(v any) bool {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	return !rv.IsValid() || rv.IsZero()
}

// primaryKeyValues is the value of each of row's keyFields, zero ones
// included (a row read from the database has its key).
func primaryKeyValues(ctx context.Context, s *schema.Schema, row reflect.Value) []any {
	fields := keyFields(s)
	vals := make([]any, len(fields))
	for i, f := range fields {
		vals[i], _ = f.ValueOf(ctx, reflect.Indirect(row))
	}
	return vals
}

// formatKey writes a key value as text, the same for the same value whatever
// its Go type (a uint read from a struct, an int64 scanned from the
// database).
func formatKey(v any) string {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	if !rv.IsValid() || rv.Kind() == reflect.Pointer {
		return ""
	}
	v = rv.Interface()
	k, stringer := v.(fmt.Stringer)
	if stringer {
		if s, ok := stringOf(k); ok {
			return s
		}
	}
	// By kind, so that named types (type ProductID int64) are read too.
	switch rv.Kind() {
	case reflect.String:
		return rv.String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(rv.Uint(), 10)
	case reflect.Array, reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			// A binary key (a UUID stored in 16 bytes): hex, as
			// databases show it, not Go's "[18 52 ...]".
			b := make([]byte, rv.Len())
			for i := range b {
				b[i] = byte(rv.Index(i).Uint())
			}
			return hex.EncodeToString(b)
		}
	}
	if stringer {
		// Its String panicked: Go syntax, which does not call it,
		// rather than fmt's "%!v(PANIC=...)".
		return fmt.Sprintf("%#v", v)
	}
	return fmt.Sprint(v)
}

// stringOf calls k.String, reporting false when it panics: a key type's
// String is the application's code, and recording never fails a query, so
// the key is then written from its kind like any other.
func stringOf(k fmt.Stringer) (s string, ok bool) {
	defer func() {
		if recover() != nil {
			s, ok = "", false
		}
	}()
	return k.String(), true
}

// rows lists the struct values a statement's reflect value holds.
func rows(v reflect.Value) []reflect.Value {
	v = reflect.Indirect(v)
	switch v.Kind() {
	case reflect.Struct:
		return []reflect.Value{v}
	case reflect.Slice, reflect.Array:
		out := make([]reflect.Value, 0, v.Len())
		for i := range v.Len() {
			if e := reflect.Indirect(v.Index(i)); e.Kind() == reflect.Struct {
				out = append(out, e)
			}
		}
		return out
	}
	return nil
}

func (p *Plugin) afterCreate(db *gorm.DB) {
	if !changed(db) || !p.tracked(db) || db.Statement.RowsAffected == 0 {
		return
	}
	ctx := db.Statement.Context
	// An upsert's rows that existed were updated (or, with DoNothing, left
	// alone), not created.
	if v, ok := db.InstanceGet(keyChanges); ok {
		p.recordUpdates(db, v.([]change))
	}
	keys, existed := existing(db)
	inserted := rows(db.Statement.ReflectValue)
	if v, ok := db.InstanceGet(keyInserted); ok {
		inserted = v.([]reflect.Value) // the rows read back: a Create of maps, or WithCreatesAsStored
	}
	for _, row := range inserted {
		if matchesKey(ctx, keys, existed, row) {
			continue
		}
		p.emit(db, instrumentation.Event{
			Action: instrumentation.Created, Subject: p.subject(db, row), Changes: p.diff(db, nil, row.Interface()),
		}, "create")
	}
}

// existing returns what loadExisting noted before an upsert of structs: the
// keys it can conflict on, and those of the rows it found.
func existing(db *gorm.DB) (keys [][]*schema.Field, existed map[string]bool) {
	if v, ok := db.InstanceGet(keyKeys); ok {
		keys = v.([][]*schema.Field)
	}
	if v, ok := db.InstanceGet(keyExisted); ok {
		existed = v.(map[string]bool)
	}
	return keys, existed
}

// onConflict returns the create's ON CONFLICT clause: a Save of a slice, a
// Create with OnConflict (UpdateAll, DoUpdates or DoNothing).
func onConflict(db *gorm.DB) (clause.OnConflict, bool) {
	c, ok := db.Statement.Clauses["ON CONFLICT"]
	if !ok {
		return clause.OnConflict{}, false
	}
	oc, ok := c.Expression.(clause.OnConflict)
	return oc, ok
}

// conflictKeys lists the column sets an insert with oc can conflict on: the
// primary key, and oc's columns or, when it names none (MySQL's ON
// DUPLICATE KEY, DO NOTHING on any constraint), every unique key.
func conflictKeys(s *schema.Schema, oc clause.OnConflict) [][]*schema.Field {
	var keys [][]*schema.Field
	if len(s.PrimaryFields) > 0 {
		keys = append(keys, s.PrimaryFields)
	}
	if len(oc.Columns) > 0 {
		fields := make([]*schema.Field, 0, len(oc.Columns))
		for _, c := range oc.Columns {
			f := s.LookUpField(c.Name)
			if f == nil || f.DBName == "" {
				return keys
			}
			fields = append(fields, f)
		}
		return append(keys, fields)
	}
	for _, f := range s.Fields {
		if f.Unique && f.DBName != "" && !f.PrimaryKey {
			keys = append(keys, []*schema.Field{f})
		}
	}
	for _, idx := range s.ParseIndexes() {
		// A partial index (unique among live rows only, say) may let the
		// insert through beside a row with the same values.
		if idx.Class != "UNIQUE" || idx.Where != "" {
			continue
		}
		fields := make([]*schema.Field, 0, len(idx.Fields))
		for _, o := range idx.Fields {
			if o.Field == nil || o.Field.DBName == "" {
				fields = nil // an expression index: not readable here
				break
			}
			fields = append(fields, o.Field)
		}
		if len(fields) > 0 {
			keys = append(keys, fields)
		}
	}
	return keys
}

// keyValues returns row's values of key, or false when one is unset (a zero
// primary key, a nil pointer).
func keyValues(ctx context.Context, key []*schema.Field, row reflect.Value) ([]any, bool) {
	row = reflect.Indirect(row)
	vals := make([]any, 0, len(key))
	for _, f := range key {
		v, zero := f.ValueOf(ctx, row)
		if zero && f.PrimaryKey {
			return nil, false
		}
		if rv := reflect.ValueOf(v); !rv.IsValid() || rv.Kind() == reflect.Pointer && rv.IsNil() {
			return nil, false
		}
		vals = append(vals, v)
	}
	return vals, true
}

// keyText names the values of the i-th key, to compare rows by it.
func keyText(i int, vals []any) string {
	parts := make([]string, 0, len(vals)+1)
	parts = append(parts, strconv.Itoa(i))
	for _, v := range vals {
		parts = append(parts, formatKey(v))
	}
	return strings.Join(parts, "\x00")
}

// matchesKey reports whether row has the values of one of keys that are in
// set.
func matchesKey(ctx context.Context, keys [][]*schema.Field, set map[string]bool, row reflect.Value) bool {
	for i, key := range keys {
		if vals, ok := keyValues(ctx, key, row); ok && set[keyText(i, vals)] {
			return true
		}
	}
	return false
}

// loadExisting reads, before an insert with ON CONFLICT, the rows it may
// run into: those that share a primary key or a conflict key with one of its
// rows. They are recorded as updated when the upsert changed them, and
// never as created. It also keeps a Create of maps' maps, to read the rows
// back.
func (p *Plugin) loadExisting(db *gorm.DB) {
	if db.Error != nil || !p.tracked(db) {
		return
	}
	oc, upsert := onConflict(db)
	if ms := mapsOf(db.Statement.Dest); len(ms) > 0 {
		db.InstanceSet(keyMaps, ms)
		if upsert {
			p.mapsExisting(db, ms)
		}
		return
	}
	if !upsert {
		return
	}
	ctx := db.Statement.Context
	keys := conflictKeys(db.Statement.Schema, oc)
	var conds []clause.Expression
	for _, key := range keys {
		var ins []any
		for _, row := range rows(db.Statement.ReflectValue) {
			vals, ok := keyValues(ctx, key, row)
			if !ok {
				continue
			}
			if len(key) == 1 {
				ins = append(ins, vals[0])
				continue
			}
			eqs := make([]clause.Expression, len(key))
			for j, f := range key {
				eqs[j] = clause.Eq{Column: clause.Column{Table: clause.CurrentTable, Name: f.DBName}, Value: vals[j]}
			}
			conds = append(conds, clause.And(eqs...))
		}
		if len(ins) > 0 {
			conds = append(conds, clause.IN{Column: clause.Column{Table: clause.CurrentTable, Name: key[0].DBName}, Values: ins})
		}
	}
	if len(conds) == 0 {
		return
	}
	// Unscoped: a soft-deleted row still holds its keys, and the insert
	// runs into it.
	p.readExisting(db, p.query(db).Unscoped().Where(clause.Or(conds...)))
	v, ok := db.InstanceGet(keyBefore)
	if !ok {
		return
	}
	before := v.(reflect.Value)
	existed := map[string]bool{}
	for i := range before.Len() {
		for k, key := range keys {
			if vals, ok := keyValues(ctx, key, before.Index(i)); ok {
				existed[keyText(k, vals)] = true
			}
		}
	}
	db.InstanceSet(keyKeys, keys)
	db.InstanceSet(keyExisted, existed)
}

// mapsOf returns the maps a Create of maps inserts, as they are before the
// insert: GORM appends to a *[]map the ids it scans back.
func mapsOf(dest any) []map[string]any {
	switch d := dest.(type) {
	case map[string]any:
		return []map[string]any{d}
	case *map[string]any:
		if d != nil && *d != nil {
			return []map[string]any{*d}
		}
	case []map[string]any:
		return slices.Clone(d)
	case *[]map[string]any:
		if d != nil {
			return slices.Clone(*d)
		}
	}
	return nil
}

// mapsExisting notes, before an upsert of maps, the primary keys of the
// maps whose row exists: such a row is not created, and not recorded as
// created (an update from a map upsert is not recorded: see the package
// doc).
func (p *Plugin) mapsExisting(db *gorm.DB, ms []map[string]any) {
	s := db.Statement.Schema
	pk := s.PrioritizedPrimaryField
	var ids []any
	for _, m := range ms {
		if id, ok := mapValue(s, pk, m); ok {
			ids = append(ids, id)
		}
	}
	if pk == nil || len(ids) == 0 {
		return
	}
	pluck := func(ids []any, lock bool) (reflect.Value, bool) {
		found := reflect.New(reflect.SliceOf(pk.FieldType))
		q := p.query(db)
		if lock {
			q = q.Clauses(lockClause(db))
		}
		err := q.Unscoped().
			Where(clause.IN{Column: clause.Column{Table: clause.CurrentTable, Name: pk.DBName}, Values: ids}).
			Pluck(pk.DBName, found.Interface()).Error
		if err != nil {
			p.readFailed(db, lock, fmt.Errorf("read %s before upsert: %w", s.Table, err))
			return reflect.Value{}, false
		}
		return found, true
	}
	// Locked, so that a row found here is not deleted before the upsert
	// runs into it; on MySQL, only the rows found (see readExisting).
	lock := p.locking(db)
	found, ok := pluck(ids, lock && !gapLocking(db))
	if ok && lock && gapLocking(db) && found.Elem().Len() > 0 {
		keys := make([]any, found.Elem().Len())
		for i := range keys {
			keys[i] = found.Elem().Index(i).Interface()
		}
		found, ok = pluck(keys, true)
	}
	if !ok {
		return
	}
	existed := map[string]bool{}
	for i := range found.Elem().Len() {
		existed[formatKey(found.Elem().Index(i).Interface())] = true
	}
	db.InstanceSet(keyMapsExisted, existed)
}

// diffCreate runs after the insert, inside its transaction: it reads back
// what an upsert changed and the rows a Create of maps inserted.
func (p *Plugin) diffCreate(db *gorm.DB) {
	p.diffUpdate(db) // notes whether the insert ran, too
	if db.Error != nil {
		return
	}
	v, ok := db.InstanceGet(keyMaps)
	if !ok {
		if p.createsAsStored && p.tracked(db) {
			p.readCreated(db)
		}
		return
	}
	ctx, s := db.Statement.Context, db.Statement.Schema
	pk := s.PrioritizedPrimaryField
	var (
		inserted []reflect.Value
		ids      []any
		withID   []map[string]any
	)
	existed := map[string]bool{}
	if e, ok := db.InstanceGet(keyMapsExisted); ok {
		existed = e.(map[string]bool)
	}
	for _, m := range v.([]map[string]any) {
		if id, ok := mapValue(s, pk, m); ok {
			if existed[formatKey(id)] {
				continue // upserted onto a row that was there
			}
			ids = append(ids, id)
			withID = append(withID, m)
			continue
		}
		// No id came back (GORM scans none into a slice of maps on a
		// RETURNING database): the map's own values are all there is.
		inserted = append(inserted, fromMap(ctx, s, m))
	}
	if len(ids) > 0 {
		keys := make([][]any, len(ids))
		for i, id := range ids {
			keys[i] = []any{id}
		}
		after, locked, err := p.readByKey(db, keys)
		if err != nil {
			p.readFailed(db, locked, fmt.Errorf("read %s after create: %w", s.Table, err))
			for _, m := range withID {
				inserted = append(inserted, fromMap(ctx, s, m))
			}
		} else {
			for i := range after.Len() {
				inserted = append(inserted, after.Index(i))
			}
		}
	}
	db.InstanceSet(keyInserted, inserted)
}

// readCreated reads back, after a create of structs, the rows it inserted
// (not those an upsert ran into), for WithCreatesAsStored. They replace the
// struct's rows in afterCreate, in the struct's order.
func (p *Plugin) readCreated(db *gorm.DB) {
	if db.Statement.RowsAffected == 0 {
		return
	}
	ctx, s := db.Statement.Context, db.Statement.Schema
	keys, existed := existing(db)
	var (
		created []reflect.Value
		ids     [][]any
	)
	for _, row := range rows(db.Statement.ReflectValue) {
		if matchesKey(ctx, keys, existed, row) {
			continue
		}
		id := make([]any, 0, 1)
		for _, f := range keyFields(s) {
			v, zero := f.ValueOf(ctx, row)
			if zero {
				return // GORM did not learn this row's key: the structs' values stand
			}
			id = append(id, v)
		}
		created = append(created, row)
		ids = append(ids, id)
	}
	if len(ids) == 0 || len(ids) > p.maxRows {
		return
	}
	after, locked, err := p.readByKey(db, ids)
	if err != nil {
		p.readFailed(db, locked, fmt.Errorf("read %s after create: %w", s.Table, err))
		return
	}
	stored := make(map[string]reflect.Value, after.Len())
	for i := range after.Len() {
		stored[p.primaryKey(ctx, s, after.Index(i))] = after.Index(i)
	}
	inserted := make([]reflect.Value, len(created))
	for i, row := range created {
		read, ok := stored[p.primaryKey(ctx, s, row)]
		if !ok {
			read = row // gone already (a trigger's doing): as sent
		}
		inserted[i] = read
	}
	db.InstanceSet(keyInserted, inserted)
}

// mapValue returns m's literal value for field f, under its column or its
// field name.
func mapValue(s *schema.Schema, f *schema.Field, m map[string]any) (any, bool) {
	if f == nil {
		return nil, false
	}
	for k, v := range m {
		if s.LookUpField(k) != f || v == nil {
			continue
		}
		if _, expr := v.(clause.Expression); expr {
			return nil, false
		}
		return v, true
	}
	return nil, false
}

// fromMap builds a model from a map's literal values.
func fromMap(ctx context.Context, s *schema.Schema, m map[string]any) reflect.Value {
	row := reflect.New(s.ModelType)
	for k, v := range m {
		f := s.LookUpField(k)
		if f == nil || v == nil {
			continue
		}
		if _, expr := v.(clause.Expression); expr {
			continue
		}
		_ = f.Set(ctx, row.Elem(), v) // a value of the wrong type is left out
	}
	return row
}

// query returns a fresh query on the statement's connection (its
// transaction, when it has one) for the statement's model.
func (p *Plugin) query(db *gorm.DB) *gorm.DB {
	return db.Session(&gorm.Session{NewDB: true, SkipHooks: true, Context: db.Statement.Context}).
		Table(db.Statement.Table)
}

// locking reports whether, with WithRowLocks, the reads of the rows a statement is about to
// change lock them (lockClause) until its transaction ends, so
// that the old values recorded are the ones the statement replaces: a plain
// read lets another transaction commit a change to the rows before the
// statement runs (PostgreSQL's READ COMMITTED reads each statement's own
// snapshot, MySQL's InnoDB reads the transaction's while its UPDATE and
// DELETE act on the latest rows). It does so when the statement runs in a
// transaction (GORM's default one, db.Transaction, db.Begin, a BEGIN of the
// caller's that the plugin follows), where the lock holds until the change
// is made; outside one it would be released as the read ends. And only on
// PostgreSQL and MySQL: SQLite has no row locks (its GORM driver drops the
// clause, and it lets one transaction write at a time), and SQL Server has
// no FOR UPDATE in a query (its GORM driver would write it, and the server
// refuse the query).
func (p *Plugin) locking(db *gorm.DB) bool {
	if !p.rowLocks {
		return false
	}
	switch db.Dialector.Name() {
	case "postgres", "mysql":
	default:
		return false
	}
	c := db.Statement.ConnPool
	if _, ok := c.(gorm.TxCommitter); ok {
		// A transaction begun through the pool, or on a db.Connection
		// session, which the pool does not see, prepared statements or not.
		return true
	}
	return p.manualOf(c) != nil
}

// lockRows adds a row lock to q, a read of the rows db's statement changes,
// when the plugin locks them (see locking), and reports whether it did.
func (p *Plugin) lockRows(db *gorm.DB, q *gorm.DB) (*gorm.DB, bool) {
	if !p.locking(db) {
		return q, false
	}
	return q.Clauses(lockClause(db)), true
}

// lockClause is the row lock of a locked read of the rows db's statement
// changes: the lock the statement itself takes on them. That is FOR UPDATE,
// except before an update (an upsert's, a soft delete's too) on PostgreSQL,
// where it is FOR NO KEY UPDATE: an UPDATE that leaves the key alone takes that weaker
// lock, which still keeps every other writer off the row, but not the
// FOR KEY SHARE lock that inserting a row that references it by a foreign key
// takes. FOR UPDATE there would make such inserts wait, until the
// transaction ends, where the statement alone would not
// (TestPostgresRowLocksLeaveForeignKeysFree). An update that changes the key
// takes FOR UPDATE as it runs; the values read stay what it replaces.
func lockClause(db *gorm.DB) clause.Locking {
	if db.Dialector.Name() == "postgres" {
		if _, deleting := db.InstanceGet(keyDeleting); !deleting {
			return clause.Locking{Strength: "NO KEY UPDATE"}
		}
	}
	return clause.Locking{Strength: clause.LockingStrengthUpdate}
}

// gapLocking reports whether a locking read of a key no row holds locks
// the gap where the row would be, which an insert of that key then waits
// on: MySQL's InnoDB does so under its default REPEATABLE READ.
func gapLocking(db *gorm.DB) bool { return db.Dialector.Name() == "mysql" }

// readFailed handles the failure of a read of the rows db's statement
// changes. A plain read is the plugin's own business: its error goes to the
// error handler and the statement goes on. A read with a row lock fails the
// statement with its error (a deadlock, a lock or statement timeout, a
// serialization failure): the database may have ended the transaction, as
// MySQL does on a deadlock, after which the statement and the ones after it
// would run and commit one by one, outside the transaction the caller
// thinks they are in; PostgreSQL refuses every statement after an error in
// a transaction, and the statement would fail with that refusal instead of
// the error the caller retries on.
func (p *Plugin) readFailed(db *gorm.DB, locked bool, err error) {
	if locked {
		_ = db.AddError(fmt.Errorf("gormlog: %w", err))
		return
	}
	p.onError(err)
}

// loadBeforeUpdate and loadBeforeDelete are loadBefore for each kind of
// statement.
func (p *Plugin) loadBeforeUpdate(db *gorm.DB) { p.loadBefore(db, false) }
func (p *Plugin) loadBeforeDelete(db *gorm.DB) {
	if st := db.Statement; st.Unscoped || st.Schema == nil || len(st.Schema.DeleteClauses) == 0 {
		// The rows go (a soft delete is an UPDATE): for lockClause.
		db.InstanceSet(keyDeleting, true)
	}
	p.loadBefore(db, true)
}

// loadBefore reads the rows an update or delete is about to touch: the
// statement's model by primary key, narrowed by its WHERE clause.
func (p *Plugin) loadBefore(db *gorm.DB, deleting bool) {
	if db.Error != nil || !p.tracked(db) {
		return
	}
	s := db.Statement.Schema
	q := p.query(db)
	if db.Statement.Unscoped {
		// Unscoped().Update or Delete reaches soft-deleted rows (a purge):
		// so does the read of what they were.
		q = q.Unscoped()
	}
	conditions := false
	if w, ok := db.Statement.Clauses["WHERE"]; ok && w.Expression != nil {
		q = q.Clauses(w.Expression)
		conditions = true
	}
	// The statement's own rows' primary keys, as GORM narrows it by them.
	if in, ok := keysIn(db.Statement.Context, s, db.Statement.ReflectValue); ok {
		q = q.Where(in)
		conditions = true
	}
	// A delete of another value than the Model, Model(&Member{ID: "m-1"}).
	// Delete(&Member{}), is narrowed by the Model's keys as well (GORM's
	// delete and soft-delete clauses do so on the same test). An update
	// needs no such step: its ReflectValue is the Model already.
	if st := db.Statement; deleting && st.Model != nil && st.Dest != st.Model && st.ReflectValue.CanAddr() {
		if in, ok := keysIn(st.Context, s, reflect.ValueOf(st.Model)); ok {
			q = q.Where(in)
			conditions = true
		}
	}
	if !conditions && !db.AllowGlobalUpdate {
		// GORM refuses an unconditioned update or delete (ErrMissingWhereClause)
		// unless global updates are allowed. When they are, the statement
		// touches every row the model's scopes reach, and q, unconditioned,
		// reads those same rows (at most maxRows, as any other statement).
		return
	}
	if set, ok := newKeyValues(db, s); ok {
		p.readRenames(db, q.Session(&gorm.Session{}), set)
		if db.Error != nil {
			return // a locked read failed, and failed the statement
		}
	}
	p.readBefore(db, q)
}

// keysIn is the condition that narrows a statement to the primary keys of
// the rows v holds, one struct or a slice of them: every key column, so that
// a composite key (a join table's) narrows it too, and a row whose key
// columns are all zero says nothing. It is false when no row has a key.
func keysIn(ctx context.Context, s *schema.Schema, v reflect.Value) (clause.Expression, bool) {
	var keys [][]any
	for _, row := range rows(v) {
		vals, set := make([]any, len(s.PrimaryFields)), false
		for i, f := range s.PrimaryFields {
			val, zero := f.ValueOf(ctx, row)
			vals[i], set = val, set || !zero
		}
		if set {
			keys = append(keys, vals)
		}
	}
	if len(keys) == 0 {
		return nil, false
	}
	column, values := schema.ToQueryValues(clause.CurrentTable, s.PrimaryFieldDBNames, keys)
	return clause.IN{Column: column, Values: values}, true
}

// newKeyValues returns the values an update sets the key's columns to, by
// their index in keyFields: literals or expressions
// (gorm.Expr), from the map or struct it updates with. A struct's own key,
// as in Save, says which row, not a new key. It is false when the update
// sets none of them.
func newKeyValues(db *gorm.DB, s *schema.Schema) (map[int]any, bool) {
	dest := reflect.ValueOf(db.Statement.Dest)
	for dest.Kind() == reflect.Pointer && !dest.IsNil() {
		dest = dest.Elem()
	}
	set, fields := map[int]any{}, keyFields(s)
	switch {
	case !dest.IsValid():
	case dest.Kind() == reflect.Map:
		m, _ := dest.Interface().(map[string]any)
		for k, v := range m {
			if i := slices.Index(fields, s.LookUpField(k)); i >= 0 {
				set[i] = v
			}
		}
	case dest.Kind() == reflect.Struct && dest.Type() == s.ModelType &&
		(!dest.CanAddr() || db.Statement.Dest != db.Statement.Model):
		for i, f := range fields {
			if v, zero := f.ValueOf(db.Statement.Context, dest); !zero {
				set[i] = v
			}
		}
	}
	return set, len(set) > 0
}

// readRenames reads, before an update that sets the key's columns (set, by
// their index in keyFields), what each row's key becomes (each expression
// evaluated on the row as it is), so that the row can be found again after
// the update and recorded under its new key.
func (p *Plugin) readRenames(db *gorm.DB, q *gorm.DB, set map[int]any) {
	q, locked := p.lockRows(db, q)
	fields := keyFields(db.Statement.Schema)
	// Each key column, then what it becomes: a column the update sets as
	// COALESCE(value, column), the same value (a key is never NULL) typed as
	// the column. A bare parameter in a select list has no type PostgreSQL
	// can infer, which takes it for text, and pgx then refuses to send a
	// number as text: the update went unrecorded.
	sel := make([]string, 0, 2*len(fields))
	args := make([]any, 0, 3*len(fields))
	for _, f := range fields {
		sel = append(sel, "?")
		args = append(args, clause.Column{Table: clause.CurrentTable, Name: f.DBName})
	}
	for i, f := range fields {
		col := clause.Column{Table: clause.CurrentTable, Name: f.DBName}
		if v, ok := set[i]; ok {
			sel = append(sel, "COALESCE(?, ?)")
			args = append(args, v, col)
		} else {
			sel = append(sel, "?")
			args = append(args, col)
		}
	}
	res, err := byPrimaryKey(q, db.Statement.Schema).
		Select(strings.Join(sel, ", "), args...).
		Limit(p.maxRows + 1).Rows()
	if err != nil {
		p.readFailed(db, locked, fmt.Errorf("read %s new keys: %w", db.Statement.Table, err))
		return
	}
	defer func() { _ = res.Close() }()
	renamed := map[string]string{}
	var keys [][]any
	for res.Next() {
		dest := make([]any, 2*len(fields))
		for i := range dest {
			dest[i] = reflect.New(fields[i%len(fields)].FieldType).Interface()
		}
		if err := res.Scan(dest...); err != nil {
			p.onError(fmt.Errorf("read %s new keys: %w", db.Statement.Table, err))
			return
		}
		oldKey, newKey := make([]any, len(fields)), make([]any, len(fields))
		for i := range fields {
			oldKey[i] = reflect.ValueOf(dest[i]).Elem().Interface()
			newKey[i] = reflect.ValueOf(dest[len(fields)+i]).Elem().Interface()
		}
		renamed[primaryKeyText(oldKey)] = primaryKeyText(newKey)
		keys = append(keys, newKey)
	}
	if err := res.Err(); err != nil {
		p.readFailed(db, locked, fmt.Errorf("read %s new keys: %w", db.Statement.Table, err))
		return
	}
	db.InstanceSet(keyRenamed, renames{byOld: renamed, keys: keys})
}

// byPrimaryKey orders q by s's primary key columns: readBefore and
// readRenames read at most maxRows rows, and must read the same ones.
func byPrimaryKey(q *gorm.DB, s *schema.Schema) *gorm.DB {
	for _, name := range s.PrimaryFieldDBNames {
		q = q.Order(clause.OrderByColumn{Column: clause.Column{Table: clause.CurrentTable, Name: name}})
	}
	return q
}

// renames are the primary keys an update changes: old to new, and the new
// ones to read the rows back by.
type renames struct {
	byOld map[string]string
	keys  [][]any
}

// readBefore reads the rows of q, at most maxRows of them, as the rows
// before the statement's change: the first ones by primary key, so that a
// statement over more rows than that records the same ones whatever order
// the database scans them in.
func (p *Plugin) readBefore(db *gorm.DB, q *gorm.DB) { p.readRows(db, q, p.locking(db)) }

// readRows is readBefore, with a row lock or without.
func (p *Plugin) readRows(db *gorm.DB, q *gorm.DB, lock bool) {
	s := db.Statement.Schema
	before := reflect.New(reflect.SliceOf(reflect.PointerTo(s.ModelType)))
	if lock {
		q = q.Clauses(lockClause(db))
	}
	if err := byPrimaryKey(q, s).Limit(p.maxRows + 1).Find(before.Interface()).Error; err != nil {
		p.readFailed(db, lock, fmt.Errorf("read %s before change: %w", s.Table, err))
		return
	}
	if before.Elem().Len() > p.maxRows {
		p.onError(fmt.Errorf("%w: %s, recording the first %d", ErrTooManyRows, s.Table, p.maxRows))
		before.Elem().SetLen(p.maxRows)
	}
	db.InstanceSet(keyBefore, before.Elem())
}

// readExisting is readBefore for the rows an upsert may run into, which
// need not exist. On MySQL a locking read of a key no row holds locks the
// gap where that row would be (gapLocking), and two transactions upserting
// one new key would each wait for the other's gap lock to insert it: a
// deadlock, where a plain read let the second upsert wait for the first and
// update its row. There the rows are found with a plain read first, and
// only the rows found are read again, with a lock, by primary key. Either
// way a row another transaction inserted and had not committed is not
// found: the upsert then waits for it, updates it, and is recorded as
// created (the package doc, "Old values and concurrent writers"; on
// PostgreSQL too, whose row locks cannot hold a key no row has).
func (p *Plugin) readExisting(db *gorm.DB, q *gorm.DB) {
	if !p.locking(db) || !gapLocking(db) {
		p.readBefore(db, q)
		return
	}
	p.readRows(db, q, false)
	v, ok := db.InstanceGet(keyBefore)
	if !ok {
		return
	}
	if in, found := keysIn(db.Statement.Context, db.Statement.Schema, v.(reflect.Value)); found {
		p.readRows(db, p.query(db).Unscoped().Where(in), true)
	}
}

// change is one updated row's values before and after.
type change struct {
	subject       instrumentation.Subject
	before, after any
}

// diffUpdate notes whether the update ran and reads the updated rows back
// inside the transaction.
func (p *Plugin) diffUpdate(db *gorm.DB) {
	if db.Error != nil {
		return
	}
	p.ran(db)
	v, ok := db.InstanceGet(keyBefore)
	if !ok {
		return
	}
	before := v.(reflect.Value)
	s := db.Statement.Schema
	if len(keyFields(s)) == 0 || before.Len() == 0 {
		return
	}
	ctx := db.Statement.Context
	keys := make([][]any, 0, before.Len())
	for i := range before.Len() {
		keys = append(keys, primaryKeyValues(ctx, s, before.Index(i)))
	}
	var rn renames
	if v, ok := db.InstanceGet(keyRenamed); ok {
		rn = v.(renames)
		keys = append(keys, rn.keys...)
	}
	after, locked, err := p.readByKey(db, keys)
	if err != nil {
		p.readFailed(db, locked, fmt.Errorf("read %s after update: %w", s.Table, err))
		return
	}
	db.InstanceSet(keyChanges, p.pair(db, before, after, rn.byOld))
}

// readByKey reads, inside the statement's transaction and soft-deleted or
// not, the rows of the statement's model whose primary key is one of keys,
// as a slice of pointers to the model. It reads them with a lock when the
// rows before the change were (the statement holds their locks already):
// on MySQL a plain read in a transaction reads its snapshot, which holds the
// version of a row from before another transaction's change when the
// statement matched the row but left it as it was (InnoDB writes no new
// version then), and the record would undo that change. locked tells
// which.
func (p *Plugin) readByKey(db *gorm.DB, keys [][]any) (found reflect.Value, locked bool, err error) {
	s := db.Statement.Schema
	found = reflect.New(reflect.SliceOf(reflect.PointerTo(s.ModelType)))
	q, locked := p.lockRows(db, p.query(db))
	var names []string
	for _, f := range keyFields(s) {
		names = append(names, f.DBName)
	}
	column, values := schema.ToQueryValues(clause.CurrentTable, names, keys)
	err = q.Unscoped().Where(clause.IN{Column: column, Values: values}).Find(found.Interface()).Error
	return found.Elem(), locked, err
}

// pair matches rows read before a change with the same rows read after it,
// by primary key, or by the new key of a row whose key the change set.
func (p *Plugin) pair(db *gorm.DB, before, after reflect.Value, renamed map[string]string) []change {
	ctx, s := db.Statement.Context, db.Statement.Schema
	byID := map[string]reflect.Value{}
	for i := range after.Len() {
		row := after.Index(i)
		if id := p.primaryKey(ctx, s, row); id != "" {
			byID[id] = row
		}
	}
	changes := make([]change, 0, before.Len())
	for i := range before.Len() {
		old := before.Index(i)
		id := p.primaryKey(ctx, s, old)
		if n, ok := renamed[id]; ok {
			id = n
		}
		row, ok := byID[id]
		if !ok {
			continue
		}
		changes = append(changes, change{subject: p.subject(db, row), before: old.Interface(), after: row.Interface()})
	}
	return changes
}

func (p *Plugin) afterUpdate(db *gorm.DB) {
	if !changed(db) {
		return
	}
	v, ok := db.InstanceGet(keyChanges)
	if !ok {
		return
	}
	p.recordUpdates(db, v.([]change))
}

// diff is the recorder's Diff of a row of db's model before and after a
// change, of the fields the database holds only: not the row's
// associations, which GORM saves with statements of their own that the
// plugin records as their own rows' changes, and not fields tagged
// gorm:"-", which no statement writes. A create of a team with its players
// listed every player's fields in the team's record too, a large
// association could use up the record's allowance of changes before the
// row's own fields, and a many-to-many join row listed the owner model
// GORM puts in the join table's type as an ignored field (reads of rows
// before and after a change fill neither, so updates and deletes had none).
func (p *Plugin) diff(db *gorm.DB, before, after any) instrumentation.Changes {
	s := db.Statement.Schema
	var unheld []*schema.Field
	if s != nil {
		unheld = unheldFields(s)
	}
	if len(unheld) == 0 {
		return p.rec.Diff(before, after)
	}
	ctx := db.Statement.Context
	changes := p.rec.Diff(withoutFields(ctx, s, unheld, before), withoutFields(ctx, s, unheld, after))
	// A field left empty may still be listed, under the path the diff
	// gives it, or its elements under paths below it.
	var paths []string
	for _, f := range unheld {
		if path, ok := diffPath(s.ModelType, f.BindNames); ok {
			paths = append(paths, path)
		}
	}
	return slices.DeleteFunc(changes, func(ch instrumentation.Change) bool {
		for _, path := range paths {
			if rest, ok := strings.CutPrefix(ch.Field, path); ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
				return true
			}
		}
		return false
	})
}

// unheldFields are the fields of s's model the database does not hold:
// its own associations (GORM lists a has-many or has-one association among
// the associated model's relations too, a team's players among a
// player's, with the owner's field) and the fields GORM ignores
// (gorm:"-").
func unheldFields(s *schema.Schema) []*schema.Field {
	var out []*schema.Field
	for _, rel := range s.Relationships.Relations {
		if rel.Field != nil && rel.Field.Schema == s {
			out = append(out, rel.Field)
		}
	}
	for _, f := range s.Fields {
		if !f.Readable && !f.Creatable && !f.Updatable && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// withoutFields returns a copy of row, a struct of s's model or a pointer
// to one, with fields zero; anything else as it is.
func withoutFields(ctx context.Context, s *schema.Schema, fields []*schema.Field, row any) any {
	rv := reflect.ValueOf(row)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct || rv.Type() != s.ModelType {
		return row
	}
	cp := reflect.New(rv.Type()).Elem()
	cp.Set(rv)
	for _, f := range fields {
		if v := f.ReflectValueOf(ctx, cp); v.CanSet() {
			v.Set(reflect.Zero(v.Type()))
		}
	}
	return cp.Interface()
}

// recordUpdates records each changed row whose change is more than GORM's
// own timestamps.
func (p *Plugin) recordUpdates(db *gorm.DB, cs []change) {
	auto := autoUpdateFields(db.Statement.Schema)
	for _, c := range cs {
		changes := p.diff(db, c.before, c.after)
		changes = slices.DeleteFunc(changes, func(ch instrumentation.Change) bool { return auto[ch.Field] })
		if len(changes) == 0 {
			continue
		}
		p.emit(db, instrumentation.Event{Action: instrumentation.Updated, Subject: c.subject, Changes: changes}, "update")
	}
}

// autoUpdateFields names the fields GORM sets on every update (UpdatedAt and
// the like), as the diff names them. Their change says nothing the record's
// timestamp does not, so an update that changed only them is not recorded.
func autoUpdateFields(s *schema.Schema) map[string]bool {
	auto := map[string]bool{}
	for _, f := range s.Fields {
		if f.AutoUpdateTime == 0 || f.StructField.Name == "" {
			continue
		}
		if path, ok := diffPath(s.ModelType, f.BindNames); ok {
			auto[path] = true
		}
	}
	return auto
}

// diffPath returns the path the diff gives the field that bindNames (a GORM
// field's Go field names from the model down) reach: one name per level,
// its json tag when it has one, none for an embedded struct it flattens.
// A field in a struct embedded by name (gorm:"embedded") is "stamps.UpdatedAt".
func diffPath(t reflect.Type, bindNames []string) (string, bool) {
	var parts []string
	for _, n := range bindNames {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return "", false
		}
		f, ok := t.FieldByName(n)
		if !ok {
			return "", false
		}
		t = f.Type
		ft := t
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && ft.Kind() == reflect.Struct && f.Tag.Get("json") == "" {
			continue // flattened by the diff, as by encoding/json
		}
		name := f.Name // json:"-": recorded under its Go name
		if j, _, _ := strings.Cut(f.Tag.Get("json"), ","); j != "" && f.Tag.Get("json") != "-" {
			name = j // json:"-," names the field "-"
		}
		parts = append(parts, name)
	}
	return strings.Join(parts, "."), len(parts) > 0
}

func (p *Plugin) afterDelete(db *gorm.DB) {
	if !changed(db) || db.Statement.RowsAffected == 0 {
		return
	}
	v, ok := db.InstanceGet(keyBefore)
	if !ok {
		return
	}
	before := v.(reflect.Value)
	for i := range before.Len() {
		row := before.Index(i)
		p.emit(db, instrumentation.Event{
			Action: instrumentation.Deleted, Subject: p.subject(db, row), Changes: p.diff(db, row.Interface(), nil),
		}, "delete")
	}
}
