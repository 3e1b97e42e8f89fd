package main

import (
	"context"
	"testing"
	"time"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/instrumentation/otlp"
	"github.com/activitylog/activitylog/internal/collectortest"
	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/schema"
)

// TestLibraryKeepsRecordsThroughCollectorOutage proves that records emitted
// through the instrumentation library while the collector is down, over
// gRPC and over HTTP, reach Elasticsearch once it is up, none counted as
// failed: first while it has not started yet, then while it restarts (a
// rolling deploy), each outage longer than the export timeout.
func TestLibraryKeepsRecordsThroughCollectorOutage(t *testing.T) {
	estest.InstallSchema(t)
	ns := estest.Namespace(t)
	token := collectortest.NewToken(t)
	opts := collectortest.Options{
		Namespace:    ns,
		GRPCEndpoint: collectortest.FreePort(t),
		HTTPEndpoint: collectortest.FreePort(t),
		StorageDir:   t.TempDir(),
		Env:          map[string]string{"ACTIVITYCOL_INGEST_TOKEN": token},
	}
	providers := map[string]*otlp.Provider{}
	for name, o := range map[string][]otlp.Option{
		"gRPC": {otlp.WithProtocol(otlp.GRPC), otlp.WithEndpoint(opts.GRPCEndpoint)},
		"HTTP": {otlp.WithProtocol(otlp.HTTP), otlp.WithEndpoint("http://" + opts.HTTPEndpoint)},
	} {
		p, err := otlp.NewProvider(context.Background(), append(o,
			otlp.WithInsecure(),
			otlp.WithHeaders(map[string]string{"Authorization": "Bearer " + token}),
			otlp.WithServiceName("e2e-outage"),
			otlp.WithExportInterval(100*time.Millisecond),
			otlp.WithExportTimeout(time.Second))...)
		if err != nil {
			t.Fatalf("%s provider: %v", name, err)
		}
		providers[name] = p
	}
	const n = 40
	// emitWhileDown emits n records through each provider while nothing
	// listens, and waits past the export timeout, so that a batch that is
	// not retried would be counted as failed by now.
	emitWhileDown := func(phase string) {
		for _, p := range providers {
			emitBatch(t, instrumentation.New(p), n)
		}
		time.Sleep(2500 * time.Millisecond)
		for name, p := range providers {
			if st := p.Stats(); st.Failed != 0 || st.Exported != 0 && phase == "before start" {
				t.Errorf("%s, %s, collector down: got stats %+v, want nothing failed", name, phase, st)
			}
		}
	}
	waitExported := func(want uint64) {
		deadline := time.Now().Add(20 * time.Second)
		for name, p := range providers {
			for p.Stats().Exported < want && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if st := p.Stats(); st.Exported != want || st.Failed != 0 || st.Dropped != 0 {
				t.Errorf("%s: got stats %+v once the collector was up, want %d exported, none failed or dropped", name, st, want)
			}
		}
	}

	emitWhileDown("before start")
	col := collectortest.Start(t, opts)
	waitExported(n)

	col.Stop(t)
	emitWhileDown("restart")
	collectortest.Start(t, opts) // same ports and persistent queue
	waitExported(2 * n)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for name, p := range providers {
		if err := p.Shutdown(ctx); err != nil {
			t.Errorf("%s: provider shutdown: %v", name, err)
		}
		if st, want := p.Stats(), (otlp.Stats{Accepted: 2 * n, Exported: 2 * n}); st != want {
			t.Errorf("%s: got stats %+v, want %+v", name, st, want)
		}
	}
	stream := schema.DataStream(ns)
	if got := collectortest.WaitForCount(t, estest.URL(t), stream, 4*n, 30*time.Second); got != 4*n {
		t.Fatalf("got %d documents in %s, want exactly %d", got, stream, 4*n)
	}
}
