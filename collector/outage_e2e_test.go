package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
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

// noReceiverAuth is a configuration overlay that takes the authenticator off
// both OTLP receivers: no request then carries ingestauth's mark, and the
// shipped require_ingest_auth refuses every batch.
const noReceiverAuth = `receivers:
  otlp:
    protocols:
      grpc:
        auth: null
      http:
        auth: null
`

// TestLibraryFailsRefusedBatchesAtOnce proves that what the collector
// refuses for good reaches the library as a refusal it does not retry, over
// gRPC and over HTTP: a wrong ingest token (Unauthenticated, 401) and a batch
// require_ingest_auth refuses (a permanent error) are counted as failed
// within a flush, not retried until the queue fills.
func TestLibraryFailsRefusedBatchesAtOnce(t *testing.T) {
	estest.InstallSchema(t)
	dir := t.TempDir()
	overlay := filepath.Join(dir, "no-auth.yaml")
	if err := os.WriteFile(overlay, []byte(noReceiverAuth), 0o600); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(estest.RepoRoot(t), overlay)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		configs []string
		token   string
		// logged is what the collector's log says of the refusal.
		logged string
	}{
		{"wrong token", nil, collectortest.NewToken(t), ""},
		{"no ingest mark", []string{rel}, collectortest.NewToken(t), "put activity first"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col := collectortest.Start(t, collectortest.Options{Namespace: estest.Namespace(t), Configs: tc.configs})
			for name, o := range map[string][]otlp.Option{
				"gRPC": {otlp.WithProtocol(otlp.GRPC), otlp.WithEndpoint(col.GRPCEndpoint)},
				"HTTP": {otlp.WithProtocol(otlp.HTTP), otlp.WithEndpoint("http://" + col.HTTPEndpoint)},
			} {
				p, err := otlp.NewProvider(context.Background(), append(o,
					otlp.WithInsecure(),
					otlp.WithHeaders(map[string]string{"Authorization": "Bearer " + tc.token}),
					otlp.WithServiceName("e2e-refused"))...)
				if err != nil {
					t.Fatalf("%s provider: %v", name, err)
				}
				// Several full batches: a large HTTP body refused before
				// it is read must still reach the library as the 401, not
				// as a broken connection it would retry.
				const n = 2000
				emitBatch(t, instrumentation.New(p), n)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = p.ForceFlush(ctx)
				cancel()
				if st, want := p.Stats(), (otlp.Stats{Accepted: n, Failed: n}); st != want {
					t.Errorf("%s: got stats %+v after a flush, want %+v", name, st, want)
				}
				sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = p.Shutdown(sctx)
				scancel()
			}
			if !strings.Contains(col.Log(), tc.logged) {
				t.Errorf("the collector's log does not say %q:\n%s", tc.logged, col.Log())
			}
		})
	}
}
