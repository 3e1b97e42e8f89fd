package logtest_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/activitylog/activitylog/internal/logtest"
)

func emit(lp *sdklog.LoggerProvider, body string, attrs ...attribute.KeyValue) {
	var r log.Record
	r.SetBody(attribute.StringValue(body))
	r.AddAttributes(attrs...)
	lp.Logger("logtest").Emit(context.Background(), r)
}

func TestRecordsAndTake(t *testing.T) {
	lp, exp := logtest.NewProvider(t)
	emit(lp, "one")
	emit(lp, "two")

	recs := exp.Records()
	if len(recs) != 2 || recs[0].Body().AsString() != "one" || recs[1].Body().AsString() != "two" {
		t.Fatalf("got %d records, want one and two in order", len(recs))
	}
	recs[0] = recs[1] // a copy: the exporter must not see this
	if got := exp.Records()[0].Body().AsString(); got != "one" {
		t.Errorf("got first record %q after changing the copy, want one", got)
	}

	if got := exp.Take(); len(got) != 2 {
		t.Errorf("got %d records from Take, want 2", len(got))
	}
	if got := exp.Take(); len(got) != 0 {
		t.Errorf("got %d records from a second Take, want 0", len(got))
	}
	emit(lp, "three")
	if got := exp.Records(); len(got) != 1 || got[0].Body().AsString() != "three" {
		t.Errorf("got %d records after Take, want only three", len(got))
	}
}

func TestAttributes(t *testing.T) {
	lp, exp := logtest.NewProvider(t)
	emit(lp, "attrs", attribute.String("event.name", "login"), attribute.Int64("count", 3),
		attribute.Map("user", attribute.String("id", "u-7")))

	got := logtest.Attributes(exp.Records()[0])
	if len(got) != 3 {
		t.Errorf("got %d attributes, want 3", len(got))
	}
	if g := got["event.name"].AsString(); g != "login" {
		t.Errorf("got event.name=%q, want login", g)
	}
	if g := got["count"].AsInt64(); g != 3 {
		t.Errorf("got count=%d, want 3", g)
	}
	if m := got["user"].AsMap(); len(m) != 1 || m[0].Key != "id" || m[0].Value.AsString() != "u-7" {
		t.Errorf("got user=%v, want {id: u-7}", m)
	}
}

func TestAwait(t *testing.T) {
	lp, exp := logtest.NewProvider(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(20 * time.Millisecond)
		emit(lp, "late")
	}()
	recs := exp.Await(t, 1, 5*time.Second)
	<-done
	if len(recs) != 1 || recs[0].Body().AsString() != "late" {
		t.Errorf("got %d records, want the late one", len(recs))
	}
}
