package activityprocessor_test

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/activitylog/activitylog/processor/activityprocessor"
	"github.com/activitylog/activitylog/schema"
)

// A record from a legacy emitter: a password attribute, a bearer token in
// the body, an upper-case tenant and no id.
func ExampleNewFactory() {
	f := activityprocessor.NewFactory()
	sink := new(consumertest.LogsSink)
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), f.CreateDefaultConfig(), sink)
	if err != nil {
		panic(err)
	}
	defer func() { _ = p.Shutdown(context.Background()) }()
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr("called with Authorization: Bearer abcdefgh12345678")
	lr.Attributes().PutStr("newPassword", "hunter2")
	lr.Attributes().PutStr(schema.AttrTenantID, " ACME ")
	if err := p.ConsumeLogs(context.Background(), ld); err != nil {
		panic(err)
	}
	rl := sink.AllLogs()[0].ResourceLogs().At(0)
	out := rl.ScopeLogs().At(0).LogRecords().At(0)
	get := func(k string) string { v, _ := out.Attributes().Get(k); return v.AsString() }
	// The data stream is set once per resource, for all its records.
	getRes := func(k string) string { v, _ := rl.Resource().Attributes().Get(k); return v.AsString() }
	fmt.Println(out.Body().Str())
	fmt.Println(get("newPassword"), get(schema.AttrTenantID), get(schema.AttrRedactedKeys))
	fmt.Println(getRes(schema.AttrDataStreamDataset), getRes(schema.AttrDataStreamNamespace), get(schema.AttrDocumentID) == get(schema.AttrID))
	// Output:
	// called with Authorization: Bearer [REDACTED]
	// [REDACTED] acme ["newPassword","body"]
	// activity default true
}
