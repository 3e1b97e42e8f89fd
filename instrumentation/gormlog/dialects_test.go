package gormlog_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	gormmysql "gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/instrumentation/gormlog"
	"github.com/activitylog/activitylog/internal/logtest"
	"github.com/activitylog/activitylog/internal/mysqltest"
	"github.com/activitylog/activitylog/internal/pgtest"
	"github.com/activitylog/activitylog/schema"
)

// TestPluginSameRecordsOnEveryDatabase runs one sequence of creates,
// updates, upserts, key changes, transactions rolled back (whole, to a
// savepoint, begun by hand) and deletes, soft and hard, through the plugin
// on SQLite, where the rest of the package's tests run, and on a real
// PostgreSQL and a real MariaDB, and wants the same records from each: the
// same events, subjects, descriptions, changed fields and old and new
// values. Each database hands values back as its driver types them
// (SQLite's integers and texts, pgx's int8, text, boolean, uuid and
// timestamptz, MySQL's tinyint, blobs and datetime), and GORM's dialects
// differ in how they fill created keys (RETURNING, the last insert id) and
// write upserts: a record that differed would show where the plugin depends
// on the database. The times GORM writes (created_at, updated_at,
// deleted_at) differ from run to run, and each database keeps its own
// precision of them: only whether they are set is compared. Each database
// runs it twice, the second time with prepared statements (GORM's
// PrepareStmt), through which the plugin must still see every transaction
// begin and end, and each runs it once more with WithCreatesAsStored, whose
// create records, read back from the database, must match the structs'
// values the default records (times aside, as above).
func TestPluginSameRecordsOnEveryDatabase(t *testing.T) {
	want := recordSequence(t, openDB(t))
	if len(want) < 40 {
		t.Fatalf("SQLite gave %d records, want the sequence's 40 or more", len(want))
	}
	prepared := func(d gorm.Dialector) *gorm.DB {
		db := openConfigured(t, d, &gorm.Config{Logger: logger.Discard, PrepareStmt: true})
		if d.Name() == "sqlite" {
			sqlDB, err := db.DB()
			if err != nil {
				t.Fatal(err)
			}
			sqlDB.SetMaxOpenConns(1) // one in-memory database
		}
		return db
	}
	asStored := []gormlog.Option{gormlog.WithCreatesAsStored()}
	for _, server := range []struct {
		name string
		open func() *gorm.DB
		opts []gormlog.Option
	}{
		{"SQLite, prepared", func() *gorm.DB { return prepared(sqlite.Open("file::memory:")) }, nil},
		{"SQLite, creates as stored", func() *gorm.DB { return openDB(t) }, asStored},
		{"PostgreSQL", func() *gorm.DB { return openServer(t, postgres.Open(pgtest.Database(t))) }, nil},
		{"PostgreSQL, prepared", func() *gorm.DB { return prepared(postgres.Open(pgtest.Database(t))) }, nil},
		{"PostgreSQL, creates as stored", func() *gorm.DB { return openServer(t, postgres.Open(pgtest.Database(t))) }, asStored},
		{"MariaDB", func() *gorm.DB { return openServer(t, gormmysql.Open(mysqltest.Database(t))) }, nil},
		{"MariaDB, prepared", func() *gorm.DB { return prepared(gormmysql.Open(mysqltest.Database(t))) }, nil},
		{"MariaDB, creates as stored", func() *gorm.DB { return openServer(t, gormmysql.Open(mysqltest.Database(t))) }, asStored},
	} {
		got := recordSequence(t, server.open(), server.opts...)
		for i := range max(len(got), len(want)) {
			var g, w string
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Errorf("record %d:\n%s: %s\nSQLite: %s", i, server.name, g, w)
			}
		}
	}
}

// recordSequence runs the sequence on db through the plugin and returns
// its records, each as one line (normalRecord).
func recordSequence(t *testing.T, db *gorm.DB, opts ...gormlog.Option) []string {
	t.Helper()
	lp, exp := logtest.NewProvider(t)
	var errs []error
	if err := db.Use(gormlog.New(instrumentation.New(lp), append([]gormlog.Option{
		gormlog.WithCategory("members", instrumentation.Members),
		gormlog.WithCategory("cards", instrumentation.Cards),
		gormlog.WithCategory("stamps", instrumentation.StampCards),
		gormlog.WithCategory("clubs", instrumentation.Clubs),
		gormlog.WithCategory("teams", instrumentation.Networks),
		gormlog.WithCategory("players", instrumentation.Members),
		gormlog.WithCategory("groups", instrumentation.Clubs),
		gormlog.WithCategory("labels", instrumentation.Clubs),
		gormlog.WithCategory("group_labels", instrumentation.Clubs),
		gormlog.WithErrorHandler(func(err error) { errs = append(errs, err) })}, opts...)...)); err != nil {
		t.Fatal(err)
	}
	if err := db.AutoMigrate(&Reward{}, &Member{}, &Card{}, &Stamp{}, &Club{}, &Team{}, &Player{}, &Group{}, &Label{}); err != nil {
		t.Fatal(err)
	}
	tx := db.WithContext(staffContext())
	var out []string
	step := func(name string, run func() error) {
		t.Helper()
		if err := run(); err != nil {
			t.Fatalf("%s on %s: %v", name, db.Dialector.Name(), err)
		}
		for _, r := range exp.Take() {
			out = append(out, name+": "+normalRecord(r))
		}
	}
	rollback := errors.New("roll back")

	r := Reward{TenantID: "t-1", Name: "Free coffee", Points: 100, Active: true}
	step("create", func() error { return tx.Create(&r).Error })
	step("update a column", func() error { return tx.Model(&r).Update("points", 120).Error })
	step("update a map", func() error {
		return tx.Model(&r).Updates(map[string]any{"name": "Free tea", "active": false}).Error
	})
	step("update a struct", func() error { return tx.Model(&r).Updates(Reward{Points: 90, Active: true}).Error })
	step("update by an expression", func() error {
		return tx.Model(&r).Update("points", gorm.Expr("points + ?", 5)).Error
	})
	step("update to the same value", func() error { return tx.Model(&r).Update("points", 95).Error })
	step("save", func() error {
		r.Name = "Free espresso"
		return tx.Save(&r).Error
	})
	batch := []Reward{{Name: "Muffin", Points: 40}, {Name: "Bagel", Points: 50}, {Name: "Scone", Points: 60}}
	step("create a batch", func() error { return tx.Create(&batch).Error })
	step("update several rows", func() error {
		return tx.Model(&Reward{}).Where("points < ?", 60).Update("active", true).Error
	})
	// Rows given ids by the database come before rows given ids by hand:
	// the databases differ in which id comes after a hand-given one.
	step("save of a new row", func() error { return tx.Save(&Reward{Name: "Croissant", Points: 30}).Error })
	step("first or create", func() error {
		var found Reward
		if err := tx.Where(Reward{Name: "Croissant"}).FirstOrCreate(&found).Error; err != nil {
			return err
		}
		return tx.Where(Reward{Name: "Pretzel"}).Attrs(Reward{Points: 25}).FirstOrCreate(&Reward{}).Error
	})
	step("create that does nothing on conflict", func() error {
		return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&Reward{ID: r.ID, Name: "Free espresso", Points: 1}).Error
	})
	step("save of a row that is not there", func() error {
		return tx.Save(&Reward{ID: 700, Name: "Danish", Points: 35}).Error
	})
	step("update a column without hooks", func() error {
		return tx.Model(&Reward{ID: 700}).UpdateColumn("points", 36).Error
	})
	step("upsert of a row that exists", func() error {
		return tx.Clauses(clause.OnConflict{UpdateAll: true}).
			Create(&Reward{ID: batch[0].ID, Name: "Muffin", Points: 45, Active: true}).Error
	})
	step("upsert of a new row", func() error {
		return tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&Reward{ID: 500, Name: "Cookie", Points: 10}).Error
	})
	step("upsert on a unique column", func() error {
		return tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "name"}}, DoUpdates: clause.AssignmentColumns([]string{"points"})}).
			Create(&Reward{Name: "Bagel", Points: 55}).Error
	})
	step("save a slice", func() error {
		batch[0].Points, batch[2].Active = 46, true
		return tx.Save(&batch).Error
	})
	step("update returning the row", func() error {
		var back []Reward
		q := tx.Model(&back)
		if db.Dialector.Name() != "mysql" { // MariaDB has no UPDATE ... RETURNING
			q = q.Clauses(clause.Returning{})
		}
		return q.Where("name = ?", "Bagel").Update("points", 56).Error
	})
	step("create from a map", func() error {
		return tx.Model(&Reward{}).Create(map[string]any{"id": 600, "name": "Brownie", "points": 70}).Error
	})
	step("update of the primary key", func() error {
		return tx.Model(&Reward{ID: 500}).Update("id", 1500).Error
	})
	step("update of the primary key by an expression", func() error {
		return tx.Model(&Reward{}).Where("id = ?", 1500).Update("id", gorm.Expr("id + ?", 1000)).Error
	})
	step("transaction rolled back", func() error {
		err := tx.Transaction(func(tx *gorm.DB) error {
			if err := tx.Model(&r).Update("points", 1).Error; err != nil {
				return err
			}
			return rollback
		})
		if errors.Is(err, rollback) {
			return nil
		}
		return fmt.Errorf("transaction: got %v, want it rolled back", err)
	})
	step("savepoint rolled back", func() error {
		return tx.Transaction(func(tx *gorm.DB) error {
			if err := tx.Model(&r).Update("points", 200).Error; err != nil {
				return err
			}
			_ = tx.Transaction(func(tx *gorm.DB) error {
				if err := tx.Model(&batch[1]).Update("points", 2).Error; err != nil {
					return err
				}
				return rollback
			})
			return tx.Model(&batch[2]).Update("name", "Cheese scone").Error
		})
	})
	step("delete", func() error { return tx.Delete(&batch[1]).Error })
	step("delete by a condition", func() error { return tx.Where("name = ?", "Brownie").Delete(&Reward{}).Error })

	// Manual transactions on one connection: the plugin follows BEGIN,
	// SAVEPOINT, ROLLBACK TO and COMMIT. GORM's own transaction for each
	// statement stays out of them (SQLite refuses it, PostgreSQL would
	// commit the caller's with it).
	manual := tx.Session(&gorm.Session{SkipDefaultTransaction: true})
	step("manual transaction", func() error {
		return manual.Connection(func(conn *gorm.DB) error {
			for _, run := range []func() error{
				func() error { return conn.Exec("BEGIN").Error },
				func() error { return conn.Model(&r).Update("points", 300).Error },
				func() error { return conn.Exec("SAVEPOINT before_bagel").Error },
				func() error { return conn.Model(&batch[2]).Update("points", 3).Error },
				func() error { return conn.Exec("ROLLBACK TO SAVEPOINT before_bagel").Error },
				func() error { return conn.Exec("COMMIT").Error },
			} {
				if err := run(); err != nil {
					return err
				}
			}
			return nil
		})
	})
	step("manual transaction rolled back", func() error {
		return manual.Connection(func(conn *gorm.DB) error {
			if err := conn.Exec("BEGIN").Error; err != nil {
				return err
			}
			if err := conn.Model(&r).Update("points", 4).Error; err != nil {
				return err
			}
			return conn.Exec("ROLLBACK").Error
		})
	})

	// Values of more types, NULLs among them, as each driver reads them back.
	note, expires := "gift", time.Date(2027, 3, 1, 12, 30, 0, 0, time.UTC)
	c := Card{ID: "c-1", Balance: 12.5, Stamps: 3, Note: &note, Code: []byte{0, 1, 0xfe}, ExpiresAt: &expires}
	step("create a card", func() error { return tx.Create(&c).Error })
	step("update a card's values", func() error {
		return tx.Model(&c).Updates(map[string]any{"balance": 0.1, "stamps": -2, "note": nil, "code": []byte("new"), "expires_at": nil}).Error
	})
	step("save a card", func() error {
		other := "renewed"
		c.Note, c.Balance, c.Stamps = &other, 1e9, 0
		return tx.Save(&c).Error
	})
	step("delete a card", func() error { return tx.Delete(&c).Error })

	// A key of two columns, and a UUID key (PostgreSQL's uuid type).
	stamps := []Stamp{{CardID: "c-1", Seq: 1, By: "s-1"}, {CardID: "c-1", Seq: 2, By: "s-1"}}
	step("create by a key of two columns", func() error { return tx.Create(&stamps).Error })
	step("update by a key of two columns", func() error { return tx.Model(&stamps[1]).Update("by", "s-2").Error })
	step("upsert by a key of two columns", func() error {
		return tx.Clauses(clause.OnConflict{UpdateAll: true}).
			Create(&[]Stamp{{CardID: "c-1", Seq: 2, By: "s-3"}, {CardID: "c-1", Seq: 3, By: "s-3"}}).Error
	})
	step("update a column of a key of two", func() error { return tx.Model(&stamps[1]).Update("seq", 7).Error })
	step("delete by a key of two columns", func() error { return tx.Delete(&stamps[0]).Error })
	club := Club{ID: "5b1f6c1e-3b7a-4c55-9d7e-0a8f2b7c9e11", Name: "Coffee club"}
	step("create by a UUID key", func() error { return tx.Create(&club).Error })
	step("update by a UUID key", func() error { return tx.Model(&club).Update("name", "Tea club").Error })
	step("delete by a UUID key", func() error { return tx.Delete(&club).Error })

	// Associations, which GORM saves with statements of their own (upserts).
	team := Team{Name: "Baristas", Players: []Player{{Name: "Ana"}, {Name: "Ben"}}}
	step("create with associations", func() error { return tx.Create(&team).Error })
	step("save with associations", func() error {
		team.Name, team.Players[0].Name = "Roasters", "Anna"
		team.Players = append(team.Players, Player{Name: "Cy"})
		return tx.Session(&gorm.Session{FullSaveAssociations: true}).Save(&team).Error
	})
	step("delete an association's row", func() error { return tx.Delete(&team.Players[1]).Error })

	// A many-to-many association: its join table's rows are recorded too,
	// when the join table has a category.
	group := Group{Name: "Regulars", Labels: []Label{{Name: "vip"}, {Name: "early"}}}
	step("create with a many-to-many association", func() error { return tx.Create(&group).Error })
	step("replace a many-to-many association", func() error {
		return tx.Model(&group).Association("Labels").Replace([]Label{group.Labels[1], {Name: "late"}})
	})

	m := Member{ID: "m-1", Name: "Mia", Email: "mia@example.com", PasswordHash: "x"}
	step("create a member", func() error { return tx.Create(&m).Error })
	step("update a member", func() error { return tx.Model(&m).Update("email", "mia@example.org").Error })
	step("soft delete", func() error { return tx.Delete(&m).Error })
	step("purge", func() error { return tx.Unscoped().Delete(&m).Error })

	if len(errs) != 0 {
		t.Errorf("recording errors on %s: %v", db.Dialector.Name(), errs)
	}
	return out
}

// Card holds values of more types than Reward, nullable ones too.
type Card struct {
	ID        string `gorm:"primaryKey"`
	Balance   float64
	Stamps    int32
	Note      *string
	Code      []byte
	ExpiresAt *time.Time
}

// Stamp has a key of two columns.
type Stamp struct {
	CardID string `gorm:"primaryKey"`
	Seq    int    `gorm:"primaryKey;autoIncrement:false"`
	By     string
}

// Club has a UUID key: PostgreSQL's uuid type, text on SQLite.
type Club struct {
	ID   string `gorm:"primaryKey;type:uuid"`
	Name string
}

// Team has players: GORM saves them with it.
type Team struct {
	ID      uint
	Name    string
	Players []Player
}

// Player belongs to a team.
type Player struct {
	ID     uint
	TeamID uint
	Name   string
}

// Group has labels, many to many, through group_labels.
type Group struct {
	ID     uint
	Name   string
	Labels []Label `gorm:"many2many:group_labels"`
}

// Label labels groups.
type Label struct {
	ID   uint
	Name string
}

// normalRecord is a record as one line: its event, subject, description,
// changed fields and changes, the times GORM writes masked (set or not).
func normalRecord(r sdklog.Record) string {
	attrs := logtest.Attributes(r)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s/%s %q %q fields=%v", r.EventName(), attrs[schema.AttrSubjectType].AsString(),
		attrs[schema.AttrSubjectID].AsString(), attrs[schema.AttrSubjectName].AsString(), r.Body().AsString(),
		attrs[schema.AttrChangedFields].AsStringSlice())
	ch := attrs[schema.AttrChanges].AsMap()
	slices.SortFunc(ch, func(a, b attribute.KeyValue) int { return strings.Compare(string(a.Key), string(b.Key)) })
	for _, kv := range ch {
		fmt.Fprintf(&b, " %s{", kv.Key)
		inner := kv.Value.AsMap()
		slices.SortFunc(inner, func(a, b attribute.KeyValue) int { return strings.Compare(string(a.Key), string(b.Key)) })
		for _, e := range inner {
			v := e.Value.Emit()
			if k := string(kv.Key); (strings.HasSuffix(k, "At") || k == "DeletedAt.Time") && v != "0001-01-01T00:00:00Z" {
				v = "<time>"
			}
			fmt.Fprintf(&b, "%s:%s=%s ", e.Key, e.Value.Type(), v)
		}
		b.WriteString("}")
	}
	return b.String()
}
