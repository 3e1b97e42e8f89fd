package gormlog_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.uber.org/goleak"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/instrumentation/gormlog"
	"github.com/activitylog/activitylog/internal/logtest"
	"github.com/activitylog/activitylog/schema"
)

// TestMain checks that no test leaves a goroutine behind, but the one GORM
// starts for each database opened with PrepareStmt, to expire its cache of
// prepared statements, which nothing stops (gorm.io/gorm/internal/lru).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("gorm.io/gorm/internal/lru.NewLRU[...].func1"))
}

// Reward names itself through instrumentation.Model.
type Reward struct {
	ID        uint   `gorm:"primaryKey"`
	TenantID  string `json:"tenant_id"`
	Name      string `json:"name" gorm:"uniqueIndex"`
	Points    int    `json:"points"`
	Active    bool   `json:"active"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (r *Reward) ActivitySubject() instrumentation.Subject {
	return instrumentation.Subject{Category: instrumentation.Rewards, Type: "reward", ID: strconv.FormatUint(uint64(r.ID), 10), Name: r.Name}
}

// Member is recorded through WithCategory, and soft-deleted.
type Member struct {
	ID           string `gorm:"primaryKey"`
	Name         string
	Email        string
	PasswordHash string
	DeletedAt    gorm.DeletedAt
}

// LoginAttempt is not recorded at all.
type LoginAttempt struct {
	ID   uint
	User string
}

func changes(r sdklog.Record) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, kv := range logtest.Attributes(r)[schema.AttrChanges].AsMap() {
		inner := map[string]any{}
		for _, e := range kv.Value.AsMap() {
			inner[string(e.Key)] = e.Value.AsInterface()
		}
		out[string(kv.Key)] = inner
	}
	return out
}

// openDB opens an in-memory SQLite database for one test.
func openDB(t *testing.T) *gorm.DB { return openWith(t, sqlite.Open("file::memory:")) }

// openWith opens the in-memory database of d (SQLite's, or one named as
// another's: see sqliteAs) for one test.
func openWith(t *testing.T, d gorm.Dialector) *gorm.DB {
	t.Helper()
	db, err := gorm.Open(d, &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	sqlDB.SetMaxOpenConns(1) // one in-memory database, shared by every statement
	t.Cleanup(func() { _ = sqlDB.Close() })
	return db
}

func setup(t *testing.T) (*gorm.DB, *logtest.Exporter, *[]error) {
	t.Helper()
	db := openDB(t)
	lp, exp := logtest.NewProvider(t)
	var errs []error
	plugin := gormlog.New(instrumentation.New(lp),
		gormlog.WithCategory("members", instrumentation.Members),
		gormlog.WithErrorHandler(func(err error) { errs = append(errs, err) }))
	if err := db.Use(plugin); err != nil {
		t.Fatal(err)
	}
	if err := db.AutoMigrate(&Reward{}, &Member{}, &LoginAttempt{}); err != nil {
		t.Fatal(err)
	}
	exp.Take()
	return db, exp, &errs
}

func staffContext() context.Context {
	ctx := instrumentation.WithActor(context.Background(), instrumentation.Actor{ID: "s-1", Name: "Sam Staff", Type: instrumentation.ActorStaff})
	return instrumentation.WithTenant(ctx, instrumentation.Tenant{ID: "t-1", Name: "Bean There"})
}

// noRecordingErrors fails the test when the plugin reported errors.
func noRecordingErrors(t *testing.T, errs *[]error) {
	t.Helper()
	if len(*errs) != 0 {
		t.Errorf("got recording errors %v, want none", *errs)
	}
}

func one(t *testing.T, exp *logtest.Exporter, event string) sdklog.Record {
	t.Helper()
	recs := exp.Take()
	if len(recs) != 1 {
		t.Fatalf("got %d records, want 1", len(recs))
	}
	if got, want := recs[0].EventName(), schema.EventName(event); got != want {
		t.Errorf("got event %q, want %q", got, want)
	}
	return recs[0]
}

func TestPluginRecordsCreateUpdateDelete(t *testing.T) {
	db, exp, errs := setup(t)
	ctx := staffContext()
	tx := db.WithContext(ctx)

	r := Reward{TenantID: "t-1", Name: "Free coffee", Points: 100, Active: true}
	if err := tx.Create(&r).Error; err != nil {
		t.Fatal(err)
	}
	rec := one(t, exp, schema.EventCreated)
	a := logtest.Attributes(rec)
	if got := a[schema.AttrSubjectID].AsString(); got != strconv.FormatUint(uint64(r.ID), 10) || got == "0" {
		t.Errorf("got subject id %q, want the generated id %d", got, r.ID)
	}
	if got := a[schema.AttrUserName].AsString(); got != "Sam Staff" {
		t.Errorf("got actor %q, want the context's actor", got)
	}
	if got := changes(rec)["points"]; !reflect.DeepEqual(got, map[string]any{"new": int64(100)}) {
		t.Errorf("got points change %v, want new=100", got)
	}
	if got, want := rec.Body().AsString(), "Sam Staff (Staff) created reward 'Free coffee'"; got != want {
		t.Errorf("got body %q, want %q", got, want)
	}

	// Save with a changed struct: only the changed fields, never UpdatedAt.
	r.Points, r.Active = 150, false
	if err := tx.Save(&r).Error; err != nil {
		t.Fatal(err)
	}
	rec = one(t, exp, schema.EventUpdated)
	want := map[string]map[string]any{
		"points": {"old": int64(100), "new": int64(150)},
		"active": {"old": true, "new": false},
	}
	if got := changes(rec); !reflect.DeepEqual(got, want) {
		t.Errorf("got changes %v, want %v", got, want)
	}

	// Updates through a map on the model.
	if err := tx.Model(&r).Updates(map[string]any{"name": "Free latte"}).Error; err != nil {
		t.Fatal(err)
	}
	rec = one(t, exp, schema.EventUpdated)
	if got := changes(rec)["name"]; !reflect.DeepEqual(got, map[string]any{"old": "Free coffee", "new": "Free latte"}) {
		t.Errorf("got name change %v", got)
	}
	if got := rec.Body().AsString(); got != "Sam Staff (Staff) updated reward 'Free latte'" {
		t.Errorf("got body %q", got)
	}

	// An update that changes nothing but UpdatedAt is not recorded.
	if err := tx.Save(&r).Error; err != nil {
		t.Fatal(err)
	}
	if recs := exp.Take(); len(recs) != 0 {
		t.Errorf("got %d records for a no-op save, want 0: %v", len(recs), changes(recs[0]))
	}

	if err := tx.Delete(&r).Error; err != nil {
		t.Fatal(err)
	}
	rec = one(t, exp, schema.EventDeleted)
	if got := changes(rec)["name"]; !reflect.DeepEqual(got, map[string]any{"old": "Free latte"}) {
		t.Errorf("got name change %v, want old=Free latte", got)
	}
	noRecordingErrors(t, errs)
}

func TestPluginBulkUpdateAndCategoryByTable(t *testing.T) {
	db, exp, errs := setup(t)
	tx := db.WithContext(staffContext())
	members := []Member{
		{ID: "m-1", Name: "Ann", Email: "ann@example.com", PasswordHash: "h1"},
		{ID: "m-2", Name: "Bob", Email: "bob@example.com", PasswordHash: "h2"},
		{ID: "m-3", Name: "Cy", Email: "cy@other.example", PasswordHash: "h3"},
	}
	if err := tx.Create(&members).Error; err != nil {
		t.Fatal(err)
	}
	created := exp.Take()
	if len(created) != 3 {
		t.Fatalf("got %d create records, want 3", len(created))
	}
	for _, rec := range created {
		a := logtest.Attributes(rec)
		if a[schema.AttrCategory].AsString() != schema.CategoryMembers || a[schema.AttrSubjectType].AsString() != "member" {
			t.Errorf("got category %q type %q, want members/member", a[schema.AttrCategory].AsString(), a[schema.AttrSubjectType].AsString())
		}
		// Set, so recorded, without its value.
		if got := changes(rec)["PasswordHash"]; !reflect.DeepEqual(got, map[string]any{"redacted": true}) {
			t.Errorf("got PasswordHash change %v, want it recorded without values", got)
		}
	}

	err := tx.Model(&Member{}).Where("email LIKE ?", "%@example.com").
		Updates(map[string]any{"email": "hidden@example.com", "password_hash": "reset"}).Error
	if err != nil {
		t.Fatal(err)
	}
	recs := exp.Take()
	if len(recs) != 2 {
		t.Fatalf("got %d update records, want 2", len(recs))
	}
	for _, rec := range recs {
		// The password reset is recorded, never its values.
		ch := changes(rec)
		if len(ch) != 2 || ch["Email"]["new"] != "hidden@example.com" || !reflect.DeepEqual(ch["PasswordHash"], map[string]any{"redacted": true}) {
			t.Errorf("got changes %v, want Email and PasswordHash without values", ch)
		}
		if id := logtest.Attributes(rec)[schema.AttrSubjectID].AsString(); id != "m-1" && id != "m-2" {
			t.Errorf("got subject %q, want m-1 or m-2", id)
		}
	}

	// Deleting a slice of models records each of them.
	firstTwo := members[:2]
	if err := tx.Delete(&firstTwo).Error; err != nil {
		t.Fatal(err)
	}
	if recs := exp.Take(); len(recs) != 2 {
		t.Fatalf("got %d delete records, want 2", len(recs))
	}

	// Soft delete is a delete.
	if err := tx.Delete(&Member{}, "id = ?", "m-3").Error; err != nil {
		t.Fatal(err)
	}
	rec := one(t, exp, schema.EventDeleted)
	if id := logtest.Attributes(rec)[schema.AttrSubjectID].AsString(); id != "m-3" {
		t.Errorf("got subject %q, want m-3", id)
	}
	noRecordingErrors(t, errs)
}

func TestPluginSkipsFailuresAndUntrackedTables(t *testing.T) {
	db, exp, _ := setup(t)
	tx := db.WithContext(staffContext())
	if err := tx.Create(&LoginAttempt{User: "x"}).Error; err != nil {
		t.Fatal(err)
	}
	if err := tx.Create(&Reward{Name: "Dup"}).Error; err != nil {
		t.Fatal(err)
	}
	exp.Take()
	if err := tx.Create(&Reward{Name: "Dup"}).Error; err == nil {
		t.Fatal("got no error creating a duplicate, want a unique constraint error")
	}
	if err := tx.Model(&Reward{}).Where("name = ?", "nobody").Update("points", 5).Error; err != nil {
		t.Fatal(err)
	}
	if err := tx.Where("name = ?", "nobody").Delete(&Reward{}).Error; err != nil {
		t.Fatal(err)
	}
	if recs := exp.Take(); len(recs) != 0 {
		t.Errorf("got %d records, want none for an untracked table, a failed insert and statements matching no rows", len(recs))
	}
}

func TestPluginMaxRows(t *testing.T) {
	lp, exp := logtest.NewProvider(t)
	var errs []error
	plugin := gormlog.New(instrumentation.New(lp), gormlog.WithMaxRows(2),
		gormlog.WithErrorHandler(func(err error) { errs = append(errs, err) }))
	fresh, err := gorm.Open(sqlite.Open("file::memory:"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := fresh.DB()
	sqlDB.SetMaxOpenConns(1)
	defer func() { _ = sqlDB.Close() }()
	if err := fresh.Use(plugin); err != nil {
		t.Fatal(err)
	}
	if err := fresh.AutoMigrate(&Reward{}); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if err := fresh.Create(&Reward{Name: "r" + strconv.Itoa(i)}).Error; err != nil {
			t.Fatal(err)
		}
	}
	exp.Take()
	if err := fresh.Model(&Reward{}).Where("points = ?", 0).Update("points", 1).Error; err != nil {
		t.Fatal(err)
	}
	if n := len(exp.Take()); n != 2 {
		t.Errorf("got %d records, want 2 (the row limit)", n)
	}
	if len(errs) != 1 || !errors.Is(errs[0], gormlog.ErrTooManyRows) {
		t.Errorf("got errors %v, want one ErrTooManyRows", errs)
	}
	// An update of every row (AllowGlobalUpdate) is bounded the same way.
	errs = nil
	if err := fresh.Session(&gorm.Session{AllowGlobalUpdate: true}).Model(&Reward{}).Update("points", 2).Error; err != nil {
		t.Fatal(err)
	}
	if n := len(exp.Take()); n != 2 {
		t.Errorf("global update: got %d records, want 2 (the row limit)", n)
	}
	if len(errs) != 1 || !errors.Is(errs[0], gormlog.ErrTooManyRows) {
		t.Errorf("global update: got errors %v, want one ErrTooManyRows", errs)
	}
	// So is a delete of every row: all four go, the first two are recorded.
	errs = nil
	res := fresh.Session(&gorm.Session{AllowGlobalUpdate: true}).Delete(&Reward{})
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	if res.RowsAffected != 4 {
		t.Fatalf("global delete: got %d rows deleted, want 4", res.RowsAffected)
	}
	if n := len(exp.Take()); n != 2 {
		t.Errorf("global delete: got %d records, want 2 (the row limit)", n)
	}
	if len(errs) != 1 || !errors.Is(errs[0], gormlog.ErrTooManyRows) {
		t.Errorf("global delete: got errors %v, want one ErrTooManyRows", errs)
	}
}

// ProductID is a named primary-key type.
type ProductID int64

// Product has a named primary-key type.
type Product struct {
	ID    ProductID `gorm:"primaryKey"`
	Name  string    `json:"name"`
	Stock int       `json:"stock"`
}

func (p *Product) ActivitySubject() instrumentation.Subject {
	return instrumentation.Subject{Category: instrumentation.Rewards, Type: "product", ID: strconv.FormatInt(int64(p.ID), 10), Name: p.Name}
}

// TestPluginNamedPrimaryKey: rows of a model whose primary key has a named
// type are paired by it, so a bulk update records each row with its own
// old and new values and its own id.
func TestPluginNamedPrimaryKey(t *testing.T) {
	db, exp, errs := setup(t)
	if err := db.AutoMigrate(&Product{}); err != nil {
		t.Fatal(err)
	}
	tx := db.WithContext(staffContext())
	ps := []Product{{Name: "A", Stock: 1}, {Name: "B", Stock: 2}, {Name: "C", Stock: 3}}
	if err := tx.Create(&ps).Error; err != nil {
		t.Fatal(err)
	}
	exp.Take()
	if err := tx.Model(&Product{}).Where("stock > ?", 0).Update("stock", 10).Error; err != nil {
		t.Fatal(err)
	}
	recs := exp.Take()
	if len(recs) != 3 {
		t.Fatalf("got %d update records, want 3 (errors %v)", len(recs), *errs)
	}
	ids := map[string]bool{}
	for i, rec := range recs {
		ids[logtest.Attributes(rec)[schema.AttrSubjectID].AsString()] = true
		want := map[string]map[string]any{"stock": {"old": int64(i + 1), "new": int64(10)}}
		if got := changes(rec); !reflect.DeepEqual(got, want) {
			t.Errorf("record %d: got changes %v, want %v", i, got, want)
		}
	}
	if !reflect.DeepEqual(ids, map[string]bool{"1": true, "2": true, "3": true}) {
		t.Errorf("got subject ids %v, want 1, 2 and 3", ids)
	}
}

// TestPluginUpsert: Save of a slice (an insert with ON CONFLICT DO UPDATE)
// records the rows that existed as updated, with their old values, and the
// new ones as created.
func TestPluginUpsert(t *testing.T) {
	db, exp, errs := setup(t)
	tx := db.WithContext(staffContext())
	rs := []Reward{{Name: "One", Points: 1}, {Name: "Two", Points: 2}}
	if err := tx.Create(&rs).Error; err != nil {
		t.Fatal(err)
	}
	exp.Take()
	rs[0].Points = 100
	rs = append(rs, Reward{Name: "Three", Points: 3})
	if err := tx.Save(&rs).Error; err != nil {
		t.Fatal(err)
	}
	events := map[string][]map[string]map[string]any{}
	for _, rec := range exp.Take() {
		events[rec.EventName()] = append(events[rec.EventName()], changes(rec))
	}
	want := map[string][]map[string]map[string]any{
		schema.EventName(schema.EventUpdated): {{"points": {"old": int64(1), "new": int64(100)}}},
		schema.EventName(schema.EventCreated): {{}},
	}
	if len(*errs) > 0 || len(events) != 2 || len(events[schema.EventName(schema.EventUpdated)]) != 1 ||
		!reflect.DeepEqual(events[schema.EventName(schema.EventUpdated)], want[schema.EventName(schema.EventUpdated)]) ||
		len(events[schema.EventName(schema.EventCreated)]) != 1 {
		t.Errorf("got %v (errors %v), want one update of One's points and one create of Three (Two is unchanged)", events, *errs)
	}
}

// TestPluginUnscoped: an Unscoped update of a soft-deleted row, and its
// permanent deletion (a purge), are recorded.
func TestPluginUnscoped(t *testing.T) {
	db, exp, errs := setup(t)
	tx := db.WithContext(staffContext())
	m := Member{ID: "m-9", Name: "Zed", Email: "zed@example.com"}
	if err := tx.Create(&m).Error; err != nil {
		t.Fatal(err)
	}
	if err := tx.Delete(&m).Error; err != nil {
		t.Fatal(err)
	}
	exp.Take()
	if err := tx.Unscoped().Model(&Member{}).Where("id = ?", "m-9").Update("email", "x@example.com").Error; err != nil {
		t.Fatal(err)
	}
	rec := one(t, exp, schema.EventUpdated)
	if got, want := changes(rec)["Email"], map[string]any{"old": "zed@example.com", "new": "x@example.com"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got email change %v, want %v", got, want)
	}
	if res := tx.Unscoped().Delete(&Member{ID: "m-9"}); res.Error != nil || res.RowsAffected != 1 {
		t.Fatalf("purge: %v, %d rows", res.Error, res.RowsAffected)
	}
	one(t, exp, schema.EventDeleted)
	if len(*errs) > 0 {
		t.Errorf("errors: %v", *errs)
	}
}

// Stamps holds a model's GORM timestamps, embedded by name.
type Stamps struct {
	CreatedAt time.Time
	UpdatedAt time.Time `json:"updated_at"`
}

// Voucher keeps its timestamps in an embedded struct, not at its top level.
type Voucher struct {
	ID     uint   `gorm:"primaryKey"`
	Code   string `json:"code"`
	Stamps Stamps `json:"stamps" gorm:"embedded"`
}

func (v *Voucher) ActivitySubject() instrumentation.Subject {
	return instrumentation.Subject{Category: instrumentation.Rewards, Type: "coupon", ID: strconv.FormatUint(uint64(v.ID), 10)}
}

// TestPluginTimestampsInEmbeddedStruct proves that GORM's own UpdatedAt is
// left out of an update's changes wherever the model keeps it: a save that
// changed nothing else is not recorded, and another records no timestamp.
func TestPluginTimestampsInEmbeddedStruct(t *testing.T) {
	db, exp, errs := setup(t)
	if err := db.AutoMigrate(&Voucher{}); err != nil {
		t.Fatal(err)
	}
	tx := db.WithContext(staffContext())
	v := Voucher{Code: "WELCOME"}
	if err := tx.Create(&v).Error; err != nil {
		t.Fatal(err)
	}
	exp.Take()
	time.Sleep(2 * time.Millisecond) // so that UpdatedAt changes
	if err := tx.Save(&v).Error; err != nil {
		t.Fatal(err)
	}
	if recs := exp.Take(); len(recs) != 0 {
		t.Errorf("got %d records for a no-op save, want 0: %v", len(recs), changes(recs[0]))
	}
	if err := tx.Model(&v).Update("code", "HELLO").Error; err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]any{"code": {"old": "WELCOME", "new": "HELLO"}}
	if got := changes(one(t, exp, schema.EventUpdated)); !reflect.DeepEqual(got, want) {
		t.Errorf("got changes %v, want %v", got, want)
	}
	noRecordingErrors(t, errs)
}

// Ticket names its UpdatedAt "-" in JSON (json:"-,"), as the diff does.
type Ticket struct {
	ID        uint      `gorm:"primaryKey"`
	Code      string    `json:"code"`
	UpdatedAt time.Time `json:"-,"`
}

func (k *Ticket) ActivitySubject() instrumentation.Subject {
	return instrumentation.Subject{Category: instrumentation.Rewards, Type: "ticket", ID: strconv.FormatUint(uint64(k.ID), 10)}
}

// GiftPass keeps its UpdatedAt out of JSON (json:"-"): the diff records such a
// field under its Go name.
type GiftPass struct {
	ID        uint      `gorm:"primaryKey"`
	Code      string    `json:"code"`
	UpdatedAt time.Time `json:"-"`
}

func (k *GiftPass) ActivitySubject() instrumentation.Subject {
	return instrumentation.Subject{Category: instrumentation.Rewards, Type: "gift_pass", ID: strconv.FormatUint(uint64(k.ID), 10)}
}

// TestPluginTimestampJSONNames proves that the UpdatedAt left out of an
// update's changes is found under the name the diff gives it: "-" for a
// json:"-," tag, its Go name for json:"-". A save that changed nothing else
// is not recorded.
func TestPluginTimestampJSONNames(t *testing.T) {
	for name, row := range map[string]any{`json:"-,"`: &Ticket{Code: "A1"}, `json:"-"`: &GiftPass{Code: "A1"}} {
		t.Run(name, func(t *testing.T) {
			db, exp, errs := setup(t)
			if err := db.AutoMigrate(row); err != nil {
				t.Fatal(err)
			}
			tx := db.WithContext(staffContext())
			if err := tx.Create(row).Error; err != nil {
				t.Fatal(err)
			}
			exp.Take()
			time.Sleep(2 * time.Millisecond) // so that UpdatedAt changes
			if err := tx.Save(row).Error; err != nil {
				t.Fatal(err)
			}
			if recs := exp.Take(); len(recs) != 0 {
				t.Errorf("got %d records for a no-op save, want 0: %v", len(recs), changes(recs[0]))
			}
			noRecordingErrors(t, errs)
		})
	}
}

// TestPluginPrimaryKeyChange: an update that sets the primary key, to a
// literal or to an expression, is recorded under the row's new key with the
// key's old and new values.
func TestPluginPrimaryKeyChange(t *testing.T) {
	db, exp, errs := setup(t)
	tx := db.WithContext(staffContext())
	r := Reward{Name: "Free coffee", Points: 1}
	if err := tx.Create(&r).Error; err != nil {
		t.Fatal(err)
	}
	exp.Take()
	oldID := int64(r.ID)
	tests := []struct {
		name   string
		update func() error
		newID  int64
	}{
		{"literal on the model", func() error { return tx.Model(&r).Update("id", 99).Error }, 99},
		{"map with a condition", func() error {
			return tx.Model(&Reward{}).Where("name = ?", "Free coffee").Updates(map[string]any{"id": 100, "points": 2}).Error
		}, 100},
		{"expression", func() error {
			return tx.Model(&Reward{}).Where("id = ?", 100).Update("id", gorm.Expr("id + ?", 1000)).Error
		}, 1100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.update(); err != nil {
				t.Fatal(err)
			}
			recs := exp.Take()
			if len(recs) != 1 {
				t.Fatalf("got %d records, want 1 (errors %v)", len(recs), *errs)
			}
			if got, want := logtest.Attributes(recs[0])[schema.AttrSubjectID].AsString(), strconv.FormatInt(tt.newID, 10); got != want {
				t.Errorf("got subject id %q, want the new key %q", got, want)
			}
			if got, want := changes(recs[0])["ID"], map[string]any{"old": oldID, "new": tt.newID}; !reflect.DeepEqual(got, want) {
				t.Errorf("got ID change %v, want %v", got, want)
			}
			oldID = tt.newID
		})
	}
	noRecordingErrors(t, errs)
}

// TestPluginCreateFromMaps: a Create of a map, or of a slice of maps, on a
// model is recorded like a Create of structs, with the row's stored values.
func TestPluginCreateFromMaps(t *testing.T) {
	db, exp, errs := setup(t)
	tx := db.WithContext(staffContext())
	if err := tx.Model(&Reward{}).Create(map[string]any{"name": "Free cake", "points": 5}).Error; err != nil {
		t.Fatal(err)
	}
	rec := one(t, exp, schema.EventCreated)
	var r Reward
	if err := db.First(&r, "name = ?", "Free cake").Error; err != nil {
		t.Fatal(err)
	}
	if got, want := logtest.Attributes(rec)[schema.AttrSubjectID].AsString(), strconv.FormatUint(uint64(r.ID), 10); got != want {
		t.Errorf("got subject id %q, want the new row's %q", got, want)
	}
	if got := changes(rec)["points"]; !reflect.DeepEqual(got, map[string]any{"new": int64(5)}) {
		t.Errorf("got points change %v, want new=5", got)
	}

	ms := []map[string]any{{"id": "m-1", "name": "Ann"}, {"id": "m-2", "name": "Bob"}}
	if err := tx.Model(&Member{}).Create(&ms).Error; err != nil {
		t.Fatal(err)
	}
	recs := exp.Take()
	ids := map[string]string{}
	for _, rec := range recs {
		ids[logtest.Attributes(rec)[schema.AttrSubjectID].AsString()], _ = changes(rec)["Name"]["new"].(string)
	}
	if want := map[string]string{"m-1": "Ann", "m-2": "Bob"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("got created %v, want %v", ids, want)
	}
	noRecordingErrors(t, errs)
}

// TestPluginUpsertOnOtherKeys: an upsert that runs into a row through a
// unique column rather than its primary key records an update of that row,
// and DoNothing records only the rows it inserted.
func TestPluginUpsertOnOtherKeys(t *testing.T) {
	db, exp, errs := setup(t)
	tx := db.WithContext(staffContext())
	r := Reward{Name: "Free coffee", Points: 1}
	if err := tx.Create(&r).Error; err != nil {
		t.Fatal(err)
	}
	exp.Take()

	err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "name"}}, DoUpdates: clause.AssignmentColumns([]string{"points"})}).
		Create(&Reward{Name: "Free coffee", Points: 7}).Error
	if err != nil {
		t.Fatal(err)
	}
	rec := one(t, exp, schema.EventUpdated)
	if got, want := logtest.Attributes(rec)[schema.AttrSubjectID].AsString(), strconv.FormatUint(uint64(r.ID), 10); got != want {
		t.Errorf("got subject id %q, want the existing row's %q", got, want)
	}
	if got, want := changes(rec)["points"], map[string]any{"old": int64(1), "new": int64(7)}; !reflect.DeepEqual(got, want) {
		t.Errorf("got points change %v, want %v", got, want)
	}

	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&[]Reward{{Name: "Free coffee"}, {Name: "Free tea"}}).Error; err != nil {
		t.Fatal(err)
	}
	rec = one(t, exp, schema.EventCreated)
	if got := changes(rec)["name"]["new"]; got != "Free tea" {
		t.Errorf("got a create of %v, want only Free tea's", got)
	}
	noRecordingErrors(t, errs)
}

// TestPluginTransactions: a change made in a transaction is recorded when
// the transaction commits, and never when it rolls back: a failed
// db.Transaction, a failed nested one (rolled back to its savepoint), a
// CreateInBatches whose later batch failed.
func TestPluginTransactions(t *testing.T) {
	db, exp, errs := setup(t)
	tx := db.WithContext(staffContext())
	names := func() []string {
		var out []string
		for _, rec := range exp.Take() {
			name, _ := changes(rec)["name"]["new"].(string)
			out = append(out, rec.EventName()+" "+name)
		}
		return out
	}

	err := tx.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&Reward{Name: "Kept"}).Error; err != nil {
			return err
		}
		if got := names(); len(got) != 0 {
			t.Errorf("got %v before the commit, want nothing yet", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(), []string{"activity.created Kept"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after commit: got %v, want %v", got, want)
	}

	err = tx.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&Reward{Name: "Undone"}).Error; err != nil {
			return err
		}
		return errors.New("changed my mind")
	})
	if err == nil {
		t.Fatal("got no error from the failed transaction")
	}
	if got := names(); len(got) != 0 {
		t.Errorf("after rollback: got %v, want nothing", got)
	}

	err = tx.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&Reward{Name: "Outer"}).Error; err != nil {
			return err
		}
		_ = tx.Transaction(func(tx *gorm.DB) error {
			if err := tx.Create(&Reward{Name: "Inner"}).Error; err != nil {
				return err
			}
			return errors.New("inner failed")
		})
		return tx.Create(&Reward{Name: "After"}).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(), []string{"activity.created Outer", "activity.created After"}; !reflect.DeepEqual(got, want) {
		t.Errorf("nested: got %v, want %v", got, want)
	}

	err = tx.CreateInBatches(&[]Reward{{Name: "B1"}, {Name: "B2"}, {Name: "Kept"}}, 2).Error
	if err == nil {
		t.Fatal("got no error from a batch with a duplicate name")
	}
	if got := names(); len(got) != 0 {
		t.Errorf("failed batches: got %v, want nothing", got)
	}
	var n int64
	if err := db.Model(&Reward{}).Where("name IN ?", []string{"Undone", "Inner", "B1"}).Count(&n).Error; err != nil || n != 0 {
		t.Fatalf("got %d rolled-back rows in the table (%v), want 0", n, err)
	}
	noRecordingErrors(t, errs)
}

// Partner has a partial unique index, the usual way to let a soft-deleted
// row's email be used again.
type Partner struct {
	ID        string `gorm:"primaryKey"`
	Email     string `gorm:"uniqueIndex:idx_partner_email,where:deleted_at IS NULL"`
	DeletedAt gorm.DeletedAt
}

func (p *Partner) ActivitySubject() instrumentation.Subject {
	return instrumentation.Subject{Category: instrumentation.Partners, Type: "partner", ID: p.ID, Name: p.Email}
}

// TestPluginUpsertAfterSoftDelete: a soft-deleted row holds the email of a
// partial unique index (one that covers live rows only), so an insert with
// the same email does not run into it: the new row is created, and recorded
// as created. Read as a conflict key, the deleted row made the new one look
// like it existed, and nothing was recorded.
func TestPluginUpsertAfterSoftDelete(t *testing.T) {
	db, exp, errs := setup(t)
	if err := db.AutoMigrate(&Partner{}); err != nil {
		t.Fatal(err)
	}
	tx := db.WithContext(staffContext())
	if err := tx.Create(&Partner{ID: "a", Email: "shop@example.com"}).Error; err != nil {
		t.Fatal(err)
	}
	if err := tx.Delete(&Partner{ID: "a"}).Error; err != nil {
		t.Fatal(err)
	}
	exp.Take()
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&Partner{ID: "b", Email: "shop@example.com"}).Error; err != nil {
		t.Fatal(err)
	}
	rec := one(t, exp, schema.EventCreated)
	if got := logtest.Attributes(rec)[schema.AttrSubjectID].AsString(); got != "b" {
		t.Errorf("got subject id %q, want b", got)
	}
	noRecordingErrors(t, errs)
}

// TestPluginMapUpsertOntoExistingRow: an upsert from a map onto a row that
// exists is no create; recording it as one (every field new, the row's
// history wrong) is worse than the plugin's limit for map upserts, which
// record no update.
func TestPluginMapUpsertOntoExistingRow(t *testing.T) {
	db, exp, _ := setup(t)
	tx := db.WithContext(staffContext())
	if err := tx.Create(&Member{ID: "m-1", Name: "Ann"}).Error; err != nil {
		t.Fatal(err)
	}
	exp.Take()
	err := tx.Model(&Member{}).Clauses(clause.OnConflict{UpdateAll: true}).Create(map[string]any{"id": "m-1", "name": "Anne"}).Error
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range exp.Take() {
		if rec.EventName() == schema.EventName(schema.EventCreated) {
			t.Errorf("got %s for the row that existed, want no create", rec.EventName())
		}
	}
}

// Audited fails its After hooks on request, as a hook that checks something
// after the write does.
type Audited struct {
	ID        uint   `gorm:"primaryKey"`
	Name      string `json:"name"`
	FailAfter bool   `gorm:"-"`
}

func (a *Audited) ActivitySubject() instrumentation.Subject {
	return instrumentation.Subject{Category: instrumentation.Rewards, Type: "audited", ID: strconv.FormatUint(uint64(a.ID), 10), Name: a.Name}
}

var errAfterHook = errors.New("after hook failed")

func (a *Audited) fail() error {
	if a.FailAfter {
		return errAfterHook
	}
	return nil
}

func (a *Audited) AfterCreate(*gorm.DB) error { return a.fail() }
func (a *Audited) AfterUpdate(*gorm.DB) error { return a.fail() }
func (a *Audited) AfterDelete(*gorm.DB) error { return a.fail() }

// TestPluginAfterHookError: an After hook's error comes after the statement
// ran. With SkipDefaultTransaction nothing undoes the change, so it is
// recorded (it was lost); with GORM's default transaction the change is
// rolled back, so nothing is recorded; in a transaction of the caller's the
// record waits for its commit.
func TestPluginAfterHookError(t *testing.T) {
	for _, skip := range []bool{true, false} {
		t.Run("SkipDefaultTransaction="+strconv.FormatBool(skip), func(t *testing.T) {
			db, exp, errs := setup(t)
			if err := db.AutoMigrate(&Audited{}); err != nil {
				t.Fatal(err)
			}
			tx := db.WithContext(staffContext()).Session(&gorm.Session{SkipDefaultTransaction: skip})
			a := Audited{Name: "Kept", FailAfter: true}
			if err := tx.Create(&a).Error; !errors.Is(err, errAfterHook) {
				t.Fatalf("got create error %v, want the hook's", err)
			}
			var n int64
			if err := db.Model(&Audited{}).Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			if got, want := len(exp.Take()), int(n); got != want {
				t.Errorf("create: got %d records for %d rows inserted, want one per row", got, want)
			}
			if !skip {
				a.FailAfter = false
				if err := tx.Create(&a).Error; err != nil {
					t.Fatal(err)
				}
				exp.Take()
				a.FailAfter = true
			}
			if err := tx.Model(&a).Update("name", "Renamed").Error; !errors.Is(err, errAfterHook) {
				t.Fatalf("got update error %v, want the hook's", err)
			}
			var name string
			if err := db.Model(&Audited{}).Where("id = ?", a.ID).Pluck("name", &name).Error; err != nil {
				t.Fatal(err)
			}
			want := 0
			if name == "Renamed" {
				want = 1
			}
			if got := len(exp.Take()); got != want {
				t.Errorf("update: got %d records, want %d (name in the table %q)", got, want, name)
			}
			if err := tx.Delete(&a).Error; !errors.Is(err, errAfterHook) {
				t.Fatalf("got delete error %v, want the hook's", err)
			}
			if err := db.Model(&Audited{}).Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			if got, want := len(exp.Take()), 1-int(n); got != want {
				t.Errorf("delete: got %d records with %d rows left, want %d", got, n, want)
			}
			if !skip {
				return
			}
			err := tx.Transaction(func(tx *gorm.DB) error {
				_ = tx.Create(&Audited{Name: "In a transaction", FailAfter: true}) // the caller commits anyway
				if got := len(exp.Take()); got != 0 {
					t.Errorf("got %d records before the commit, want 0", got)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(exp.Take()); got != 1 {
				t.Errorf("got %d records after the commit, want 1", got)
			}
			noRecordingErrors(t, errs)
		})
	}
}

// TestPluginManualTransactions: a transaction begun with db.Exec("BEGIN"),
// on a connection taken with db.Connection or on a pool of one connection,
// holds its records until COMMIT and drops them on ROLLBACK, or back to a
// savepoint; they were emitted as each statement ran, a rolled-back change
// among them.
func TestPluginManualTransactions(t *testing.T) {
	db, exp, errs := setup(t) // a pool of one connection
	names := func() []string { return newNames(exp) }
	// SQLite refuses GORM's own transaction inside one begun by hand.
	session := db.WithContext(staffContext()).Session(&gorm.Session{SkipDefaultTransaction: true})
	run := func(tx *gorm.DB, end string) {
		t.Helper()
		for _, step := range []func() error{
			func() error { return tx.Exec("BEGIN").Error },
			func() error { return tx.Create(&Reward{Name: end + " kept"}).Error },
			func() error { return tx.Exec("SAVEPOINT sp1").Error },
			func() error { return tx.Create(&Reward{Name: end + " undone"}).Error },
			func() error { return tx.Exec("ROLLBACK TO SAVEPOINT sp1").Error },
		} {
			if err := step(); err != nil {
				t.Fatal(err)
			}
		}
		if got := names(); len(got) != 0 {
			t.Errorf("%s: got %v before the transaction ended, want nothing yet", end, got)
		}
		if err := tx.Exec(end).Error; err != nil {
			t.Fatal(err)
		}
	}
	err := session.Connection(func(tx *gorm.DB) error {
		run(tx, "ROLLBACK")
		if got := names(); len(got) != 0 {
			t.Errorf("connection, after ROLLBACK: got %v, want nothing", got)
		}
		run(tx, "COMMIT")
		if got, want := names(), []string{"COMMIT kept"}; !reflect.DeepEqual(got, want) {
			t.Errorf("connection, after COMMIT: got %v, want %v", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	run(session, "rollback;")
	if got := names(); len(got) != 0 {
		t.Errorf("pool, after ROLLBACK: got %v, want nothing", got)
	}
	run(session, "END TRANSACTION")
	if got, want := names(), []string{"END TRANSACTION kept"}; !reflect.DeepEqual(got, want) {
		t.Errorf("pool, after END: got %v, want %v", got, want)
	}
	var n int64
	if err := db.Model(&Reward{}).Where("name LIKE ?", "%undone").Or("name LIKE ?", "ROLLBACK%").Or("name LIKE ?", "rollback%").Count(&n).Error; err != nil || n != 0 {
		t.Fatalf("got %d rolled-back rows in the table (%v), want 0", n, err)
	}
	noRecordingErrors(t, errs)
}

// TestPluginManualTransactionPoolResized: a manual transaction begun on a
// pool of one connection keeps being followed when the pool's limit is
// raised before it ends: its COMMIT emits the records it held, instead of
// leaving them held forever.
func TestPluginManualTransactionPoolResized(t *testing.T) {
	db, exp, errs := setup(t) // a pool of one connection
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	session := db.WithContext(staffContext()).Session(&gorm.Session{SkipDefaultTransaction: true})
	if err := session.Exec("BEGIN").Error; err != nil {
		t.Fatal(err)
	}
	if err := session.Create(&Reward{Name: "Resized"}).Error; err != nil {
		t.Fatal(err)
	}
	if got := exp.Take(); len(got) != 0 {
		t.Fatalf("got %d records before COMMIT, want none yet", len(got))
	}
	// The idle connection is the one in the transaction: the next statement
	// still runs on it.
	sqlDB.SetMaxOpenConns(2)
	if err := session.Exec("COMMIT").Error; err != nil {
		t.Fatal(err)
	}
	one(t, exp, schema.EventCreated)
	noRecordingErrors(t, errs)
}

// Enrollment has a composite primary key, as a join table has.
type Enrollment struct {
	MemberID string `gorm:"primaryKey" json:"member_id"`
	ClubID   string `gorm:"primaryKey" json:"club_id"`
	Level    string `json:"level"`
}

func (e *Enrollment) ActivitySubject() instrumentation.Subject {
	return instrumentation.Subject{Category: instrumentation.Clubs, Type: "enrollment", ID: e.MemberID + "/" + e.ClubID}
}

// TestPluginCompositeKeyDelete proves that deleting rows of a model with a
// composite primary key by the rows themselves (a struct, a slice), which
// GORM deletes by their key columns, records each deletion: the old values
// were read by a single primary key only, so nothing was read and nothing
// recorded.
func TestPluginCompositeKeyDelete(t *testing.T) {
	db, exp, errs := setup(t)
	if err := db.AutoMigrate(&Enrollment{}); err != nil {
		t.Fatal(err)
	}
	tx := db.WithContext(staffContext())
	es := []Enrollment{{"m1", "c1", "gold"}, {"m1", "c2", "silver"}, {"m2", "c1", "bronze"}}
	if err := tx.Create(&es).Error; err != nil {
		t.Fatal(err)
	}
	exp.Take()
	if res := tx.Delete(&Enrollment{MemberID: "m1", ClubID: "c2"}); res.Error != nil || res.RowsAffected != 1 {
		t.Fatalf("delete: %v, %d rows", res.Error, res.RowsAffected)
	}
	rec := one(t, exp, schema.EventDeleted)
	if got := logtest.Attributes(rec)[schema.AttrSubjectID].AsString(); got != "m1/c2" {
		t.Errorf("got subject id %q, want m1/c2", got)
	}
	if got, want := changes(rec)["level"], map[string]any{"old": "silver"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got level change %v, want %v", got, want)
	}
	if res := tx.Delete(&es); res.Error != nil || res.RowsAffected != 2 {
		t.Fatalf("delete slice: %v, %d rows", res.Error, res.RowsAffected)
	}
	ids := map[string]bool{}
	for _, rec := range exp.Take() {
		ids[logtest.Attributes(rec)[schema.AttrSubjectID].AsString()] = true
	}
	if want := map[string]bool{"m1/c1": true, "m2/c1": true}; !reflect.DeepEqual(ids, want) {
		t.Errorf("got deletions of %v, want %v", ids, want)
	}
	noRecordingErrors(t, errs)
}

// TestPluginCompositeKeyUpdate: rows of a model whose primary key has
// several columns (a join table's) are diffed on update like any other:
// read before and after by every key column, one record per row changed,
// by one row or by a condition, and an update that sets a key column (to a
// value or an expression) recorded under the row's new key. Such updates
// were not recorded at all. A model named by WithCategory gets the key's
// values joined by "/" as its subject id, "%" and "/" in them escaped.
func TestPluginCompositeKeyUpdate(t *testing.T) {
	db, exp, errs := setup(t)
	if err := db.AutoMigrate(&Enrollment{}); err != nil {
		t.Fatal(err)
	}
	tx := db.WithContext(staffContext())
	es := []Enrollment{{"m1", "c1", "gold"}, {"m1", "c2", "silver"}, {"m2", "c1", "bronze"}}
	if err := tx.Create(&es).Error; err != nil {
		t.Fatal(err)
	}
	exp.Take()
	byID := func() map[string]map[string]map[string]any {
		out := map[string]map[string]map[string]any{}
		for _, rec := range exp.Take() {
			if got, want := rec.EventName(), schema.EventName(schema.EventUpdated); got != want {
				t.Errorf("got event %q, want %q", got, want)
			}
			out[logtest.Attributes(rec)[schema.AttrSubjectID].AsString()] = changes(rec)
		}
		return out
	}
	steps := []struct {
		name   string
		update func() error
		want   map[string]map[string]map[string]any
	}{
		{"one row", func() error { return tx.Model(&es[1]).Update("level", "gold").Error },
			map[string]map[string]map[string]any{"m1/c2": {"level": {"old": "silver", "new": "gold"}}}},
		{"by a condition", func() error {
			return tx.Model(&Enrollment{}).Where("club_id = ?", "c1").Update("level", "platinum").Error
		}, map[string]map[string]map[string]any{
			"m1/c1": {"level": {"old": "gold", "new": "platinum"}},
			"m2/c1": {"level": {"old": "bronze", "new": "platinum"}},
		}},
		{"a key column to a value", func() error { return tx.Model(&es[0]).Update("club_id", "c9").Error },
			map[string]map[string]map[string]any{"m1/c9": {"club_id": {"old": "c1", "new": "c9"}}}},
		{"a key column by an expression", func() error {
			return tx.Model(&Enrollment{}).Where("member_id = ?", "m2").Update("club_id", gorm.Expr("club_id || ?", "x")).Error
		}, map[string]map[string]map[string]any{"m2/c1x": {"club_id": {"old": "c1", "new": "c1x"}}}},
	}
	for _, st := range steps {
		if err := st.update(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := byID(); !reflect.DeepEqual(got, st.want) {
			t.Errorf("%s: got records %v, want %v", st.name, got, st.want)
		}
	}
	noRecordingErrors(t, errs)

	// Named by WithCategory: the subject id is the key's values.
	lp, exp2 := logtest.NewProvider(t)
	plain := openDB(t)
	if err := plain.Use(gormlog.New(instrumentation.New(lp), gormlog.WithCategory("checkins", instrumentation.StampCards))); err != nil {
		t.Fatal(err)
	}
	if err := plain.AutoMigrate(&Checkin{}); err != nil {
		t.Fatal(err)
	}
	v := Checkin{CardID: "a/b%", Seq: 0, Note: "first"}
	if err := plain.WithContext(staffContext()).Create(&v).Error; err != nil {
		t.Fatal(err)
	}
	if err := plain.WithContext(staffContext()).Model(&v).Update("note", "second").Error; err != nil {
		t.Fatal(err)
	}
	recs := exp2.Take()
	if len(recs) != 2 {
		t.Fatalf("got %d records, want the create's and the update's", len(recs))
	}
	for _, rec := range recs {
		if got, want := logtest.Attributes(rec)[schema.AttrSubjectID].AsString(), "a%2Fb%25/0"; got != want {
			t.Errorf("%s: got subject id %q, want %q", rec.EventName(), got, want)
		}
	}
	if got := changes(recs[1])["Note"]; got["old"] != "first" || got["new"] != "second" {
		t.Errorf("got note change %v, want first -> second", got)
	}
}

// Checkin has a key of two columns and no ActivitySubject: WithCategory names it.
type Checkin struct {
	CardID string `gorm:"primaryKey"`
	Seq    int    `gorm:"primaryKey;autoIncrement:false"`
	Note   string
}

// TestPluginAssociationsInTheirOwnRecords: GORM saves a row's associations
// with statements of their own, which the plugin records as those rows'
// changes; the row's own record holds the fields the database holds only.
// A create of a team with its players listed every player's fields in the
// team's record too, a pass created with its new holder the holder's, and
// a holder its field tagged gorm:"-", which no statement writes.
func TestPluginAssociationsInTheirOwnRecords(t *testing.T) {
	db := openDB(t)
	lp, exp := logtest.NewProvider(t)
	var errs []error
	if err := db.Use(gormlog.New(instrumentation.New(lp),
		gormlog.WithCategory("teams", instrumentation.Networks), gormlog.WithCategory("players", instrumentation.Members),
		gormlog.WithCategory("passes", instrumentation.Cards), gormlog.WithCategory("holders", instrumentation.Members),
		gormlog.WithErrorHandler(func(err error) { errs = append(errs, err) }))); err != nil {
		t.Fatal(err)
	}
	if err := db.AutoMigrate(&Team{}, &Player{}, &Holder{}, &Pass{}); err != nil {
		t.Fatal(err)
	}
	tx := db.WithContext(staffContext())
	fields := func() map[string][]string {
		out := map[string][]string{}
		for _, rec := range exp.Take() {
			a := logtest.Attributes(rec)
			key := rec.EventName() + " " + a[schema.AttrSubjectType].AsString() + "/" + a[schema.AttrSubjectID].AsString()
			out[key] = a[schema.AttrChangedFields].AsStringSlice()
		}
		return out
	}
	created, updated := schema.EventName(schema.EventCreated), schema.EventName(schema.EventUpdated)

	team := Team{Name: "Baristas", Players: []Player{{Name: "Ana"}, {Name: "Ben"}}}
	if err := tx.Create(&team).Error; err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		created + " team/1":   {"ID", "Name"},
		created + " player/1": {"ID", "TeamID", "Name"},
		created + " player/2": {"ID", "TeamID", "Name"},
	}
	if got := fields(); !reflect.DeepEqual(got, want) {
		t.Errorf("create with players: got records %v, want %v", got, want)
	}
	team.Players[0].Name = "Anna"
	if err := tx.Session(&gorm.Session{FullSaveAssociations: true}).Save(&team).Error; err != nil {
		t.Fatal(err)
	}
	if got, want := fields(), map[string][]string{updated + " player/1": {"Name"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("save with players: got records %v, want %v", got, want)
	}

	pass := Pass{Code: "P-1", Holder: Holder{Name: "Cy", Greeting: "Hi Cy"}}
	if err := tx.Create(&pass).Error; err != nil {
		t.Fatal(err)
	}
	want = map[string][]string{
		created + " holder/1": {"ID", "Name"},
		created + " pass/1":   {"ID", "Code", "HolderID"},
	}
	if got := fields(); !reflect.DeepEqual(got, want) {
		t.Errorf("create with its holder: got records %v, want %v", got, want)
	}
	if len(errs) != 0 {
		t.Errorf("got recording errors %v, want none", errs)
	}
}

// Pass belongs to a holder: GORM saves the holder before it.
type Pass struct {
	ID       uint
	Code     string
	HolderID uint
	Holder   Holder
}

// Holder holds passes; its greeting is not stored.
type Holder struct {
	ID       uint
	Name     string
	Greeting string `gorm:"-"`
}

// TestPluginSavepointStatementForms proves that the records of changes
// rolled back to a savepoint are dropped whichever documented form the
// statements take (a trailing semicolon, ROLLBACK TRANSACTION TO SAVEPOINT),
// in a db.Transaction and in a transaction begun by hand: such a rollback
// was not recognised, and the undone changes were recorded at the commit.
func TestPluginSavepointStatementForms(t *testing.T) {
	for _, tt := range []struct{ set, rollback string }{
		{"SAVEPOINT sp1;", "ROLLBACK TO sp1"},
		{"SAVEPOINT sp1", "ROLLBACK TO SAVEPOINT sp1;"},
		{"SAVEPOINT sp1", "ROLLBACK TRANSACTION TO SAVEPOINT sp1"},
		{"savepoint sp1", "rollback transaction to sp1"},
	} {
		t.Run(tt.rollback, func(t *testing.T) {
			db, exp, errs := setup(t)
			names := func() []string {
				var out []string
				for _, rec := range exp.Take() {
					name, _ := changes(rec)["name"]["new"].(string)
					out = append(out, name)
				}
				return out
			}
			steps := func(tx *gorm.DB, prefix string) error {
				for _, step := range []func() error{
					func() error { return tx.Create(&Reward{Name: prefix + " kept"}).Error },
					func() error { return tx.Exec(tt.set).Error },
					func() error { return tx.Create(&Reward{Name: prefix + " undone"}).Error },
					func() error { return tx.Exec(tt.rollback).Error },
					func() error { return tx.Create(&Reward{Name: prefix + " after"}).Error },
				} {
					if err := step(); err != nil {
						return err
					}
				}
				return nil
			}
			session := db.WithContext(staffContext())
			if err := session.Transaction(func(tx *gorm.DB) error { return steps(tx, "tx") }); err != nil {
				t.Fatal(err)
			}
			if got, want := names(), []string{"tx kept", "tx after"}; !reflect.DeepEqual(got, want) {
				t.Errorf("db.Transaction: got %v, want %v", got, want)
			}
			manual := session.Session(&gorm.Session{SkipDefaultTransaction: true})
			if err := manual.Exec("BEGIN").Error; err != nil {
				t.Fatal(err)
			}
			if err := steps(manual, "manual"); err != nil {
				t.Fatal(err)
			}
			if err := manual.Exec("COMMIT").Error; err != nil {
				t.Fatal(err)
			}
			if got, want := names(), []string{"manual kept", "manual after"}; !reflect.DeepEqual(got, want) {
				t.Errorf("by hand: got %v, want %v", got, want)
			}
			var n int64
			if err := db.Model(&Reward{}).Where("name LIKE ?", "%undone").Count(&n).Error; err != nil || n != 0 {
				t.Fatalf("got %d rolled-back rows in the table (%v), want 0", n, err)
			}
			noRecordingErrors(t, errs)
		})
	}
}

// TestPluginManualTransactionEndedByDatabase proves that a transaction
// begun by hand and ended by the database itself after an error (SQLite on
// RAISE(ROLLBACK) or a full disk, MySQL on a deadlock) is followed to its
// end by the caller's ROLLBACK, which fails for want of a transaction: its
// records were kept as if it were still open, so the later statements,
// committed one by one, were held and the rolled-back change was emitted at
// the next transaction's COMMIT.
func TestPluginManualTransactionEndedByDatabase(t *testing.T) {
	db, exp, errs := setup(t) // a pool of one connection
	names := func() []string { return newNames(exp) }
	err := db.Exec(`CREATE TRIGGER refuse_bad BEFORE INSERT ON rewards WHEN NEW.name = 'bad'
		BEGIN SELECT RAISE(ROLLBACK, 'bad reward'); END`).Error
	if err != nil {
		t.Fatal(err)
	}
	session := db.WithContext(staffContext()).Session(&gorm.Session{SkipDefaultTransaction: true})
	if err := session.Exec("BEGIN").Error; err != nil {
		t.Fatal(err)
	}
	if err := session.Create(&Reward{Name: "undone"}).Error; err != nil {
		t.Fatal(err)
	}
	if err := session.Create(&Reward{Name: "bad"}).Error; err == nil {
		t.Fatal("got no error from the refused insert, want the trigger's")
	}
	if err := session.Exec("ROLLBACK").Error; err == nil {
		t.Fatal("got no error from ROLLBACK, want one: the database ended the transaction")
	}
	if err := session.Create(&Reward{Name: "committed"}).Error; err != nil {
		t.Fatal(err)
	}
	if got, want := names(), []string{"committed"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after the failed ROLLBACK: got %v, want %v", got, want)
	}
	if err := session.Exec("BEGIN").Error; err != nil {
		t.Fatal(err)
	}
	if err := session.Create(&Reward{Name: "next"}).Error; err != nil {
		t.Fatal(err)
	}
	if err := session.Exec("COMMIT").Error; err != nil {
		t.Fatal(err)
	}
	if got, want := names(), []string{"next"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after the next COMMIT: got %v, want %v", got, want)
	}
	var n int64
	if err := db.Model(&Reward{}).Where("name = ?", "undone").Count(&n).Error; err != nil || n != 0 {
		t.Fatalf("got %d rolled-back rows in the table (%v), want 0", n, err)
	}
	noRecordingErrors(t, errs)
}

// newNames takes the records exp holds and returns the new value of each
// one's name change, in order.
func newNames(exp *logtest.Exporter) []string {
	var out []string
	for _, rec := range exp.Take() {
		name, _ := changes(rec)["name"]["new"].(string)
		out = append(out, name)
	}
	return out
}

// Visit names itself from an association that a query may not have loaded,
// a common way for ActivitySubject to panic on a row.
type Visit struct {
	ID     uint `gorm:"primaryKey"`
	ClubID uint
	Club   *VisitClub
}

// VisitClub is Visit's association.
type VisitClub struct {
	ID   uint `gorm:"primaryKey"`
	Name string
}

func (v *Visit) ActivitySubject() instrumentation.Subject {
	return instrumentation.Subject{Category: instrumentation.Clubs, Type: "visit", Name: v.Club.Name}
}

// TestPluginModelSubjectPanic proves that a model whose ActivitySubject
// panics neither panics the caller's query nor rolls back the transaction it
// ran in: recording never fails a query. The panic reaches the error handler,
// and the record is still made from the table's category and the row's key.
func TestPluginModelSubjectPanic(t *testing.T) {
	db := openDB(t)
	lp, exp := logtest.NewProvider(t)
	var errs []error
	plugin := gormlog.New(instrumentation.New(lp), gormlog.WithCategory("visits", instrumentation.Clubs),
		gormlog.WithErrorHandler(func(err error) { errs = append(errs, err) }))
	if err := db.Use(plugin); err != nil {
		t.Fatal(err)
	}
	if err := db.AutoMigrate(&VisitClub{}, &Visit{}); err != nil {
		t.Fatal(err)
	}
	ctx := staffContext()
	var txErr error
	func() {
		defer func() {
			if p := recover(); p != nil {
				txErr = errors.New("the transaction panicked")
				t.Errorf("got panic %v from the caller's transaction, want none", p)
			}
		}()
		txErr = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return tx.Create(&Visit{ClubID: 7}).Error
		})
	}()
	if txErr != nil {
		t.Fatalf("got transaction error %v, want nil", txErr)
	}
	var n int64
	if err := db.Model(&Visit{}).Count(&n).Error; err != nil || n != 1 {
		t.Fatalf("got %d visits (%v), want the committed one", n, err)
	}
	if len(errs) == 0 {
		t.Error("got no recording error, want the panic reported")
	}
	rec := one(t, exp, schema.EventCreated)
	a := logtest.Attributes(rec)
	if got := a[schema.AttrCategory].AsString(); got != schema.CategoryClubs {
		t.Errorf("got category %q, want %q from WithCategory", got, schema.CategoryClubs)
	}
	if got := a[schema.AttrSubjectID].AsString(); got != "1" {
		t.Errorf("got subject id %q, want the row's key 1", got)
	}
}

// BadgeNo is a key type whose String, the application's code, panics on the
// numbers it has no name for.
type BadgeNo int64

func (n BadgeNo) String() string {
	names := []string{"zero", "one"}
	return names[n]
}

// Badge is a row keyed by a BadgeNo.
type Badge struct {
	ID    BadgeNo `gorm:"primaryKey"`
	Title string
}

// TestPluginKeyStringPanic proves that a key type whose String panics
// neither panics the caller's query nor loses the record: the key is written
// from its kind instead.
func TestPluginKeyStringPanic(t *testing.T) {
	db := openDB(t)
	lp, exp := logtest.NewProvider(t)
	var errs []error
	plugin := gormlog.New(instrumentation.New(lp), gormlog.WithCategory("badges", instrumentation.Rewards),
		gormlog.WithErrorHandler(func(err error) { errs = append(errs, err) }))
	if err := db.Use(plugin); err != nil {
		t.Fatal(err)
	}
	if err := db.AutoMigrate(&Badge{}); err != nil {
		t.Fatal(err)
	}
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("got panic %v from the caller's query, want none", p)
			}
		}()
		err = db.WithContext(staffContext()).Create(&Badge{ID: 7, Title: "Gold"}).Error
	}()
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	a := logtest.Attributes(one(t, exp, schema.EventCreated))
	if got := a[schema.AttrSubjectID].AsString(); got != "7" {
		t.Errorf("got subject id %q, want 7", got)
	}
	noRecordingErrors(t, &errs)
}

// TestPluginMaxRowsByPrimaryKey: a statement over more rows than the limit
// records the first ones by primary key, whatever order the database scans
// them in (SQLite scans a table by insertion, here the keys' reverse), for
// an update, a global update and a delete alike.
func TestPluginMaxRowsByPrimaryKey(t *testing.T) {
	db := openDB(t)
	lp, exp := logtest.NewProvider(t)
	var errs []error
	if err := db.Use(gormlog.New(instrumentation.New(lp), gormlog.WithMaxRows(2),
		gormlog.WithCategory("members", instrumentation.Members),
		gormlog.WithErrorHandler(func(err error) { errs = append(errs, err) }))); err != nil {
		t.Fatal(err)
	}
	if err := db.AutoMigrate(&Member{}); err != nil {
		t.Fatal(err)
	}
	tx := db.WithContext(staffContext())
	for _, id := range []string{"m-4", "m-3", "m-2", "m-1"} {
		if err := tx.Create(&Member{ID: id, Name: "n" + id}).Error; err != nil {
			t.Fatal(err)
		}
	}
	exp.Take()
	recorded := func() []string {
		var ids []string
		for _, rec := range exp.Take() {
			ids = append(ids, logtest.Attributes(rec)[schema.AttrSubjectID].AsString())
		}
		slices.Sort(ids)
		return ids
	}
	want := []string{"m-1", "m-2"}
	if err := tx.Model(&Member{}).Where("email = ?", "").Update("email", "x@example.com").Error; err != nil {
		t.Fatal(err)
	}
	if got := recorded(); !slices.Equal(got, want) {
		t.Errorf("update: got records of %v, want %v", got, want)
	}
	if err := tx.Session(&gorm.Session{AllowGlobalUpdate: true}).Model(&Member{}).Update("email", "y@example.com").Error; err != nil {
		t.Fatal(err)
	}
	if got := recorded(); !slices.Equal(got, want) {
		t.Errorf("global update: got records of %v, want %v", got, want)
	}
	if err := tx.Delete(&Member{}, "email = ?", "y@example.com").Error; err != nil {
		t.Fatal(err)
	}
	if got := recorded(); !slices.Equal(got, want) {
		t.Errorf("delete: got records of %v, want %v", got, want)
	}
	if len(errs) != 3 {
		t.Errorf("got errors %v, want three ErrTooManyRows", errs)
	}
}

// TestPluginGlobalUpdateAndDelete: with GORM's AllowGlobalUpdate, an update
// or delete without conditions touches every row; each is recorded with its
// old values, as a conditioned statement's rows are. Soft-deleted rows, which
// the statement does not touch, are not.
func TestPluginGlobalUpdateAndDelete(t *testing.T) {
	db, exp, errs := setup(t)
	tx := db.WithContext(staffContext())
	members := []Member{
		{ID: "m-1", Name: "Ann", Email: "ann@example.com"},
		{ID: "m-2", Name: "Bob", Email: "bob@example.com"},
		{ID: "m-3", Name: "Cy", Email: "cy@example.com"},
	}
	if err := tx.Create(&members).Error; err != nil {
		t.Fatal(err)
	}
	if err := tx.Delete(&Member{}, "id = ?", "m-3").Error; err != nil {
		t.Fatal(err)
	}
	exp.Take()
	global := tx.Session(&gorm.Session{AllowGlobalUpdate: true})

	if err := global.Model(&Member{}).Update("email", "gone@example.com").Error; err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]any{}
	for _, rec := range exp.Take() {
		if name := rec.EventName(); name != schema.EventName(schema.EventUpdated) {
			t.Errorf("got event %s, want %s", name, schema.EventName(schema.EventUpdated))
		}
		got[logtest.Attributes(rec)[schema.AttrSubjectID].AsString()] = changes(rec)["Email"]
	}
	want := map[string]map[string]any{
		"m-1": {"old": "ann@example.com", "new": "gone@example.com"},
		"m-2": {"old": "bob@example.com", "new": "gone@example.com"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("global update: got Email changes by member %v, want %v", got, want)
	}

	if err := global.Delete(&Member{}).Error; err != nil {
		t.Fatal(err)
	}
	got = map[string]map[string]any{}
	for _, rec := range exp.Take() {
		if name := rec.EventName(); name != schema.EventName(schema.EventDeleted) {
			t.Errorf("got event %s, want %s", name, schema.EventName(schema.EventDeleted))
		}
		got[logtest.Attributes(rec)[schema.AttrSubjectID].AsString()] = changes(rec)["Email"]
	}
	want = map[string]map[string]any{
		"m-1": {"old": "gone@example.com"},
		"m-2": {"old": "gone@example.com"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("global delete: got Email changes by member %v, want %v", got, want)
	}

	// Nothing left to touch: nothing recorded.
	for name, stmt := range map[string]func() *gorm.DB{
		"update": func() *gorm.DB { return global.Model(&Member{}).Update("email", "x@example.com") },
		"delete": func() *gorm.DB { return global.Delete(&Member{}) },
	} {
		res := stmt()
		if res.Error != nil {
			t.Fatal(res.Error)
		}
		if res.RowsAffected != 0 {
			t.Fatalf("global %s of no rows: got %d rows affected, want 0", name, res.RowsAffected)
		}
		if recs := exp.Take(); len(recs) != 0 {
			t.Errorf("global %s of no rows: got %d records, want none", name, len(recs))
		}
	}

	// A permanent delete of every row reaches the soft-deleted rows: all three.
	if err := global.Unscoped().Delete(&Member{}).Error; err != nil {
		t.Fatal(err)
	}
	purged := map[string]bool{}
	for _, rec := range exp.Take() {
		if name := rec.EventName(); name != schema.EventName(schema.EventDeleted) {
			t.Errorf("got event %s, want %s", name, schema.EventName(schema.EventDeleted))
		}
		purged[logtest.Attributes(rec)[schema.AttrSubjectID].AsString()] = true
	}
	if want := map[string]bool{"m-1": true, "m-2": true, "m-3": true}; !reflect.DeepEqual(purged, want) {
		t.Errorf("global purge: got purged members %v, want %v", purged, want)
	}
	noRecordingErrors(t, errs)
}

// TestPluginDeleteNarrowedByModel: Model(&Member{ID: "m-1"}).Delete(&Member{})
// deletes m-1 alone, as GORM narrows a delete by the Model's keys too. It was
// recorded as no delete at all, and with AllowGlobalUpdate as a delete of
// every row.
func TestPluginDeleteNarrowedByModel(t *testing.T) {
	for _, tc := range []struct {
		name          string
		global, purge bool
	}{
		{name: "soft"},
		{name: "soft global", global: true},
		{name: "purge", purge: true},
		{name: "purge global", global: true, purge: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, exp, errs := setup(t)
			tx := db.WithContext(staffContext())
			members := []Member{{ID: "m-1", Name: "Ann"}, {ID: "m-2", Name: "Bob"}}
			if err := tx.Create(&members).Error; err != nil {
				t.Fatal(err)
			}
			exp.Take()
			tx = tx.Session(&gorm.Session{AllowGlobalUpdate: tc.global})
			if tc.purge {
				tx = tx.Unscoped()
			}
			res := tx.Model(&Member{ID: "m-1"}).Delete(&Member{})
			if res.Error != nil {
				t.Fatal(res.Error)
			}
			if res.RowsAffected != 1 {
				t.Fatalf("got %d rows deleted, want 1", res.RowsAffected)
			}
			rec := one(t, exp, schema.EventDeleted)
			if got := logtest.Attributes(rec)[schema.AttrSubjectID].AsString(); got != "m-1" {
				t.Errorf("got deleted member %q, want m-1", got)
			}
			if got, want := changes(rec)["Name"], map[string]any{"old": "Ann"}; !reflect.DeepEqual(got, want) {
				t.Errorf("got Name change %v, want %v", got, want)
			}
			noRecordingErrors(t, errs)
		})
	}
}
