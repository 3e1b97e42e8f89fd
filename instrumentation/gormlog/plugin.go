package gormlog

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

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
	keyBefore  = "activitylog:before"
	keyChanges = "activitylog:changes"
)

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

// WithMaxRows bounds how many rows one update or delete records; further rows
// are changed but not recorded, and ErrTooManyRows is reported. The default
// is DefaultMaxRows; values below one mean the default.
func WithMaxRows(n int) Option {
	return optionFunc(func(p *Plugin) {
		if n > 0 {
			p.maxRows = n
		}
	})
}

// Plugin records creates, updates and deletes. Use it with db.Use.
type Plugin struct {
	rec        *instrumentation.Recorder
	categories map[string]instrumentation.Category
	onError    func(error)
	maxRows    int
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
		cb.Create().After("gorm:create").Before("gorm:after_create").Register("activitylog:diff_create", p.diffUpdate),
		cb.Create().After("gorm:commit_or_rollback_transaction").Register("activitylog:after_create", p.afterCreate),
		cb.Update().After("gorm:before_update").Before("gorm:update").Register("activitylog:before_update", p.loadBefore),
		cb.Update().After("gorm:update").Before("gorm:after_update").Register("activitylog:diff_update", p.diffUpdate),
		cb.Update().After("gorm:commit_or_rollback_transaction").Register("activitylog:after_update", p.afterUpdate),
		cb.Delete().After("gorm:before_delete").Before("gorm:delete").Register("activitylog:before_delete", p.loadBefore),
		cb.Delete().After("gorm:commit_or_rollback_transaction").Register("activitylog:after_delete", p.afterDelete),
	)
	if err != nil {
		return fmt.Errorf("register activitylog callbacks: %w", err)
	}
	return nil
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
func (p *Plugin) subject(db *gorm.DB, row reflect.Value) instrumentation.Subject {
	if row.Kind() != reflect.Pointer && row.CanAddr() {
		row = row.Addr()
	}
	if m, ok := row.Interface().(instrumentation.Model); ok {
		return m.ActivitySubject()
	}
	s := db.Statement.Schema
	return instrumentation.Subject{
		Category: p.categories[s.Table],
		Type:     db.NamingStrategy.ColumnName("", s.Name),
		ID:       p.primaryKey(db.Statement.Context, s, row),
	}
}

func (p *Plugin) primaryKey(ctx context.Context, s *schema.Schema, row reflect.Value) string {
	if s.PrioritizedPrimaryField == nil {
		return ""
	}
	v, zero := s.PrioritizedPrimaryField.ValueOf(ctx, reflect.Indirect(row))
	if zero {
		return ""
	}
	if k, ok := v.(fmt.Stringer); ok {
		return k.String()
	}
	// By kind, so that named types (type ProductID int64) are read too.
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.String:
		return rv.String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(rv.Uint(), 10)
	}
	return fmt.Sprint(v) // a byte array or slice (a binary UUID), or anything else
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
	if db.Error != nil || !p.tracked(db) || db.Statement.RowsAffected == 0 {
		return
	}
	ctx := db.Statement.Context
	// An upsert's rows that existed were updated, not created.
	var existed map[string]bool
	if v, ok := db.InstanceGet(keyBefore); ok {
		before := v.(reflect.Value)
		existed = make(map[string]bool, before.Len())
		for i := range before.Len() {
			existed[p.primaryKey(ctx, db.Statement.Schema, before.Index(i))] = true
		}
		if v, ok := db.InstanceGet(keyChanges); ok {
			p.recordUpdates(db, v.([]change))
		}
	}
	for _, row := range rows(db.Statement.ReflectValue) {
		if existed[p.primaryKey(ctx, db.Statement.Schema, row)] {
			continue
		}
		if err := p.rec.Created(ctx, p.subject(db, row), row.Interface()); err != nil {
			p.onError(fmt.Errorf("record create of %s: %w", db.Statement.Table, err))
		}
	}
}

// upserts reports whether a create updates the rows that exist already: a
// Save of a slice, or a Create with OnConflict{UpdateAll} or DoUpdates.
func upserts(db *gorm.DB) bool {
	c, ok := db.Statement.Clauses["ON CONFLICT"]
	if !ok {
		return false
	}
	oc, ok := c.Expression.(clause.OnConflict)
	return ok && !oc.DoNothing && (oc.UpdateAll || len(oc.DoUpdates) > 0)
}

// loadExisting reads, before an upsert, the rows it may update: those of
// its rows' primary keys that exist.
func (p *Plugin) loadExisting(db *gorm.DB) {
	if db.Error != nil || !p.tracked(db) || !upserts(db) {
		return
	}
	pk := db.Statement.Schema.PrioritizedPrimaryField
	if pk == nil {
		return
	}
	var ids []any
	for _, row := range rows(db.Statement.ReflectValue) {
		if v, zero := pk.ValueOf(db.Statement.Context, row); !zero {
			ids = append(ids, v)
		}
	}
	if len(ids) == 0 {
		return
	}
	p.readBefore(db, p.query(db).Where(clause.IN{Column: clause.Column{Table: clause.CurrentTable, Name: pk.DBName}, Values: ids}))
}

// query returns a fresh query on the statement's connection (its
// transaction, when it has one) for the statement's model.
func (p *Plugin) query(db *gorm.DB) *gorm.DB {
	return db.Session(&gorm.Session{NewDB: true, SkipHooks: true, Context: db.Statement.Context}).
		Table(db.Statement.Table)
}

// loadBefore reads the rows an update or delete is about to touch: the
// statement's model by primary key, narrowed by its WHERE clause.
func (p *Plugin) loadBefore(db *gorm.DB) {
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
	if pk := s.PrioritizedPrimaryField; pk != nil {
		// The model's own primary keys: one struct, or a slice of them.
		var ids []any
		for _, row := range rows(db.Statement.ReflectValue) {
			if v, zero := pk.ValueOf(db.Statement.Context, row); !zero {
				ids = append(ids, v)
			}
		}
		if len(ids) > 0 {
			q = q.Where(clause.IN{Column: clause.Column{Table: clause.CurrentTable, Name: pk.DBName}, Values: ids})
			conditions = true
		}
	}
	if !conditions {
		// GORM refuses an unconditioned update or delete unless global
		// updates are allowed; either way there is no safe way to read it.
		return
	}
	p.readBefore(db, q)
}

// readBefore reads the rows of q, at most maxRows of them, as the rows
// before the statement's change.
func (p *Plugin) readBefore(db *gorm.DB, q *gorm.DB) {
	s := db.Statement.Schema
	before := reflect.New(reflect.SliceOf(reflect.PointerTo(s.ModelType)))
	if err := q.Limit(p.maxRows + 1).Find(before.Interface()).Error; err != nil {
		p.onError(fmt.Errorf("read %s before change: %w", s.Table, err))
		return
	}
	if before.Elem().Len() > p.maxRows {
		p.onError(fmt.Errorf("%w: %s, recording the first %d", ErrTooManyRows, s.Table, p.maxRows))
		before.Elem().SetLen(p.maxRows)
	}
	db.InstanceSet(keyBefore, before.Elem())
}

// change is one updated row's values before and after.
type change struct {
	subject       instrumentation.Subject
	before, after any
}

// diffUpdate reads the updated rows back inside the transaction.
func (p *Plugin) diffUpdate(db *gorm.DB) {
	if db.Error != nil {
		return
	}
	v, ok := db.InstanceGet(keyBefore)
	if !ok {
		return
	}
	before := v.(reflect.Value)
	s := db.Statement.Schema
	pk := s.PrioritizedPrimaryField
	if pk == nil || before.Len() == 0 {
		return
	}
	ctx := db.Statement.Context
	ids := make([]any, 0, before.Len())
	for i := range before.Len() {
		id, _ := pk.ValueOf(ctx, before.Index(i).Elem())
		ids = append(ids, id)
	}
	after := reflect.New(reflect.SliceOf(reflect.PointerTo(s.ModelType)))
	err := p.query(db).Unscoped().
		Where(clause.IN{Column: clause.Column{Table: clause.CurrentTable, Name: pk.DBName}, Values: ids}).
		Find(after.Interface()).Error
	if err != nil {
		p.onError(fmt.Errorf("read %s after update: %w", s.Table, err))
		return
	}
	db.InstanceSet(keyChanges, p.pair(db, before, after.Elem()))
}

// pair matches rows read before a change with the same rows read after it,
// by primary key.
func (p *Plugin) pair(db *gorm.DB, before, after reflect.Value) []change {
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
		row, ok := byID[p.primaryKey(ctx, s, old)]
		if !ok {
			continue
		}
		changes = append(changes, change{subject: p.subject(db, row), before: old.Interface(), after: row.Interface()})
	}
	return changes
}

func (p *Plugin) afterUpdate(db *gorm.DB) {
	if db.Error != nil {
		return
	}
	v, ok := db.InstanceGet(keyChanges)
	if !ok {
		return
	}
	p.recordUpdates(db, v.([]change))
}

// recordUpdates records each changed row whose change is more than GORM's
// own timestamps.
func (p *Plugin) recordUpdates(db *gorm.DB, cs []change) {
	auto := autoUpdateFields(db.Statement.Schema)
	for _, c := range cs {
		changes := p.rec.Diff(c.before, c.after)
		changes = slices.DeleteFunc(changes, func(ch instrumentation.Change) bool { return auto[ch.Field] })
		if len(changes) == 0 {
			continue
		}
		err := p.rec.Record(db.Statement.Context, instrumentation.Event{
			Action: instrumentation.Updated, Subject: c.subject, Changes: changes,
		})
		if err != nil {
			p.onError(fmt.Errorf("record update of %s: %w", db.Statement.Table, err))
		}
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
		name := f.StructField.Name
		if j, _, _ := strings.Cut(f.StructField.Tag.Get("json"), ","); j != "" && j != "-" {
			name = j
		}
		auto[name] = true
	}
	return auto
}

func (p *Plugin) afterDelete(db *gorm.DB) {
	if db.Error != nil || db.Statement.RowsAffected == 0 {
		return
	}
	v, ok := db.InstanceGet(keyBefore)
	if !ok {
		return
	}
	before := v.(reflect.Value)
	for i := range before.Len() {
		row := before.Index(i)
		if err := p.rec.Deleted(db.Statement.Context, p.subject(db, row), row.Interface()); err != nil {
			p.onError(fmt.Errorf("record delete from %s: %w", db.Statement.Table, err))
		}
	}
}
