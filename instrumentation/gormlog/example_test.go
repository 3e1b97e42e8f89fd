package gormlog_test

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/instrumentation/gormlog"
	"github.com/activitylog/activitylog/schema"
)

// Coupon is a model without timestamps, so the example's output is stable.
type Coupon struct {
	ID      uint   `gorm:"primaryKey" json:"id"`
	Code    string `json:"code"`
	Percent int    `json:"percent"`
}

func (c *Coupon) ActivitySubject() instrumentation.Subject {
	return instrumentation.Subject{Category: instrumentation.Rewards, Type: "coupon", ID: fmt.Sprint(c.ID), Name: c.Code}
}

type printer struct{}

func (printer) Export(_ context.Context, rs []sdklog.Record) error {
	for _, r := range rs {
		fmt.Println(r.Body().AsString())
		r.WalkAttributes(func(kv attribute.KeyValue) bool {
			if kv.Key == schema.AttrChanges {
				fmt.Println("  changes:", kv.Value.Emit())
			}
			return true
		})
	}
	return nil
}
func (printer) Shutdown(context.Context) error   { return nil }
func (printer) ForceFlush(context.Context) error { return nil }

// Registering the plugin is the only activity code: the handler's usual GORM
// calls are recorded, updates with the changed fields' old and new values.
func Example() {
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(printer{})))
	db, err := gorm.Open(sqlite.Open("file::memory:"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		fmt.Println(err)
		return
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()
	sqlDB.SetMaxOpenConns(1)
	_ = db.Use(gormlog.New(instrumentation.New(lp)))
	_ = db.AutoMigrate(&Coupon{})

	ctx := instrumentation.WithActor(context.Background(),
		instrumentation.Actor{ID: "u-1", Name: "Jane Doe", Type: instrumentation.ActorPartner})
	tx := db.WithContext(ctx)
	c := Coupon{Code: "SPRING10", Percent: 10}
	tx.Create(&c)
	tx.Model(&c).Update("percent", 15)
	tx.Delete(&c)
	// Output:
	// Jane Doe (Partner) created coupon 'SPRING10'
	//   changes: {"code":{"new":"SPRING10"},"id":{"new":1},"percent":{"new":10}}
	// Jane Doe (Partner) updated coupon 'SPRING10'
	//   changes: {"percent":{"new":15,"old":10}}
	// Jane Doe (Partner) deleted coupon 'SPRING10'
	//   changes: {"code":{"old":"SPRING10"},"id":{"old":1},"percent":{"old":15}}
}
