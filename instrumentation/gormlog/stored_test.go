package gormlog_test

import (
	"testing"
	"time"

	sdklog "go.opentelemetry.io/otel/sdk/log"
	gormmysql "gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/instrumentation/gormlog"
	"github.com/activitylog/activitylog/internal/logtest"
	"github.com/activitylog/activitylog/internal/mysqltest"
	"github.com/activitylog/activitylog/internal/pgtest"
	"github.com/activitylog/activitylog/schema"
)

// Punch is recorded through WithCategory. Its StampedAt is set by the
// caller, to the nanosecond.
type Punch struct {
	ID        uint `gorm:"primaryKey"`
	Card      string
	StampedAt time.Time
}

// TestPluginCreatesAsStored creates two punches in one statement, their
// times to the nanosecond and their keys against their order, upserts the
// first onto its row, and deletes both, on SQLite, PostgreSQL and MariaDB,
// with and without WithCreatesAsStored. PostgreSQL keeps a time to the
// microsecond and MariaDB, in the DATETIME(3) GORM's MySQL driver makes, to
// the millisecond: by default their create records hold the structs'
// nanoseconds, where the delete records, read from the database, hold
// fewer. With WithCreatesAsStored the create records hold the times as
// stored, the same as the delete records', in the structs' order; the
// upsert onto a row that exists is recorded as an update either way.
// SQLite keeps the nanoseconds: its records agree either way.
func TestPluginCreatesAsStored(t *testing.T) {
	databases := []struct {
		name   string
		open   func(t *testing.T) *gorm.DB
		rounds bool // the database stores times to less than the nanosecond
	}{
		{"SQLite", func(t *testing.T) *gorm.DB { return openWith(t, sqlite.Open("file::memory:")) }, false},
		{"PostgreSQL", func(t *testing.T) *gorm.DB { return openServer(t, postgres.Open(pgtest.Database(t))) }, true},
		{"MariaDB", func(t *testing.T) *gorm.DB { return openServer(t, gormmysql.Open(mysqltest.Database(t))) }, true},
	}
	at := time.Date(2026, 11, 29, 12, 0, 0, 123456789, time.UTC)
	for _, d := range databases {
		for _, asStored := range []bool{false, true} {
			name := d.name + "/default"
			if asStored {
				name = d.name + "/WithCreatesAsStored"
			}
			t.Run(name, func(t *testing.T) {
				db := d.open(t)
				lp, exp := logtest.NewProvider(t)
				errs := &errorList{}
				opts := []gormlog.Option{gormlog.WithCategory("punches", instrumentation.StampCards), gormlog.WithErrorHandler(errs.add)}
				if asStored {
					opts = append(opts, gormlog.WithCreatesAsStored())
				}
				if err := db.Use(gormlog.New(instrumentation.New(lp), opts...)); err != nil {
					t.Fatal(err)
				}
				if err := db.AutoMigrate(&Punch{}); err != nil {
					t.Fatal(err)
				}
				db = db.WithContext(staffContext())

				// Keys out of the structs' order, which the records keep.
				punches := []Punch{{ID: 20, Card: "b", StampedAt: at.Add(time.Second)}, {ID: 10, Card: "a", StampedAt: at}}
				if err := db.Create(&punches).Error; err != nil {
					t.Fatal(err)
				}
				created := exp.Take()
				if err := db.Clauses(clause.OnConflict{UpdateAll: true}).
					Create(&Punch{ID: punches[0].ID, Card: "b2", StampedAt: punches[0].StampedAt}).Error; err != nil {
					t.Fatal(err)
				}
				upserted := exp.Take()
				if err := db.Delete(&punches).Error; err != nil {
					t.Fatal(err)
				}
				deleted := exp.Take()
				errs.none(t)

				if len(created) != 2 || len(deleted) != 2 {
					t.Fatalf("got %d create and %d delete records, want 2 of each", len(created), len(deleted))
				}
				// The structs' order: b, then a.
				for i, card := range []string{"b", "a"} {
					if got := changes(created[i])["Card"]["new"]; got != card {
						t.Errorf("create record %d is of card %v, want %s", i, got, card)
					}
				}
				if len(upserted) != 1 || upserted[0].EventName() != schema.EventName(schema.EventUpdated) ||
					changes(upserted[0])["Card"]["new"] != "b2" {
					t.Errorf("the upsert onto b's row: got %d records (%v), want one update of its card to b2",
						len(upserted), eventNames(upserted))
				}
				stored := map[any]any{} // a deleted punch's id to its time as read from the database
				for _, r := range deleted {
					stored[changes(r)["ID"]["old"]] = changes(r)["StampedAt"]["old"]
				}
				wantSame := asStored || !d.rounds
				for _, r := range created {
					c := changes(r)
					old, ok := stored[c["ID"]["new"]]
					if !ok {
						t.Errorf("no delete record of the punch created as %v", c["ID"]["new"])
						continue
					}
					if same := c["StampedAt"]["new"] == old; same != wantSame {
						t.Errorf("card %v: created with time %v, deleted with %v; want them the same: %t",
							c["Card"]["new"], c["StampedAt"]["new"], old, wantSame)
					}
				}
			})
		}
	}
}

func eventNames(recs []sdklog.Record) []string {
	names := make([]string, len(recs))
	for i, r := range recs {
		names[i] = r.EventName()
	}
	return names
}
