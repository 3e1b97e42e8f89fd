package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/instrumentation/otlp"
	"github.com/activitylog/activitylog/internal/collectortest"
	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/querysvc/store"
	"github.com/activitylog/activitylog/schema"
)

// TestRecordTooLargeArrivesReduced sends, in one batch through the
// instrumentation library, a few ordinary records and one update whose
// changes are larger than the collector's gRPC receiver takes
// (max_recv_msg_size_mib, lowered to 1 MiB by collector/testdata/grpc-1mib.yaml
// so that the record need not be the 16 MiB and more the shipped limit asks
// for). The collector refuses it even alone, and the library sends it once
// more reduced: read back from Elasticsearch through the query service's
// store, it is there once, who did what to what, for which tenant, from
// where as emitted, every changed field named, its long values replaced by
// otlp.MarkerTooLarge and its short one kept; the ordinary records, one with
// a changed value longer than otlp.ReducedValueBytes among them, are there
// whole.
func TestRecordTooLargeArrivesReduced(t *testing.T) {
	estest.InstallSchema(t)
	ns := estest.Namespace(t)
	col := collectortest.Start(t, collectortest.Options{Namespace: ns, Configs: []string{"collector/testdata/grpc-1mib.yaml"}})
	// No export before Shutdown's flush: every record goes in one batch.
	provider := newProvider(t, col, otlp.WithExportInterval(time.Hour))
	rec := instrumentation.New(provider)

	actor := instrumentation.Actor{ID: "u-7", Name: "Jane Doe", Type: instrumentation.ActorPartner}
	ctx := instrumentation.WithActor(context.Background(), actor)
	ctx = instrumentation.WithTenant(ctx, instrumentation.Tenant{ID: "bean-there", Name: "Bean There"})
	ctx = instrumentation.WithRequest(ctx, instrumentation.Request{ClientAddress: "203.0.113.7", UserAgent: "e2e-test/1.0", ID: "req-1"})
	subject := func(id string) instrumentation.Subject {
		return instrumentation.Subject{Category: instrumentation.Rewards, Type: "reward", ID: id, Name: "Free coffee"}
	}
	text := func(s string, n int) string { return strings.Repeat(s, n/len(s)+1)[:n] }
	// Longer than otlp.ReducedValueBytes, far within the receiver's limit:
	// an ordinary record's long value, which must arrive whole.
	terms := text("Earn one stamp per coffee. ", 4<<10)
	// The large update: chapters of 32,768 characters old and new (the
	// library's value length limit), 1.5 MiB in all, and one small field.
	const chapters = 24
	before, after := map[string]any{"points": 100}, map[string]any{"points": 120}
	chapterOld, chapterNew := text("Earn one stamp per coffee. ", 32<<10), text("Earn two stamps per coffee. ", 32<<10)
	var hugeFields []string
	for i := range chapters {
		name := fmt.Sprintf("chapter%02d", i)
		before[name], after[name] = chapterOld, chapterNew
		hugeFields = append(hugeFields, name)
	}
	hugeFields = append(hugeFields, "points")

	type record struct {
		subjectID, verb string
		emit            func() error
		// fields are the changed fields wanted, in order, and changes the
		// activity.changes, as JSON.
		fields  []string
		changes string
	}
	records := []record{
		{"r-1", "created", func() error {
			return rec.Created(ctx, subject("r-1"), map[string]any{"points": 10})
		}, []string{"points"}, `{"points":{"new":10}}`},
		{"r-2", "updated", func() error {
			return rec.Updated(ctx, subject("r-2"), map[string]any{"points": 10}, map[string]any{"points": 12})
		}, []string{"points"}, `{"points":{"old":10,"new":12}}`},
		{"r-3", "updated", func() error {
			return rec.Updated(ctx, subject("r-3"), map[string]any{"terms": ""}, map[string]any{"terms": terms})
		}, []string{"terms"}, `{"terms":{"old":"","new":"` + terms + `"}}`},
		{"r-huge", "updated", func() error {
			return rec.Updated(ctx, subject("r-huge"), before, after)
		}, hugeFields, reducedChanges(hugeFields, `{"old":100,"new":120}`)},
		{"r-4", "deleted", func() error {
			return rec.Deleted(ctx, subject("r-4"), map[string]any{"points": 12})
		}, []string{"points"}, `{"points":{"old":12}}`},
		{"r-5", "updated", func() error {
			return rec.Updated(ctx, subject("r-5"), map[string]any{"points": 1}, map[string]any{"points": 2})
		}, []string{"points"}, `{"points":{"old":1,"new":2}}`},
	}
	for _, r := range records {
		if err := r.emit(); err != nil {
			t.Fatalf("record %s: %v", r.subjectID, err)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := provider.Shutdown(sctx); err != nil {
		t.Fatalf("provider shutdown: %v", err)
	}
	n := uint64(len(records))
	if got, want := provider.Stats(), (otlp.Stats{Accepted: n, Exported: n, Reduced: 1}); got != want {
		t.Fatalf("got provider stats %+v, want %+v", got, want)
	}

	esURL := estest.URL(t)
	stream := schema.DataStream(ns)
	if got := collectortest.WaitForCount(t, esURL, stream, len(records), 60*time.Second); got != len(records) {
		t.Fatalf("got %d documents in %s, want exactly %d", got, stream, len(records))
	}
	es, err := estest.Config(t).Typed()
	if err != nil {
		t.Fatal(err)
	}
	admin := querysvc.NewContext(context.Background(), querysvc.Principal{Subject: "e2e", Role: querysvc.RoleAdmin})
	page, err := store.New(es, store.WithIndex(stream)).Search(admin, querysvc.Filter{}, querysvc.Page{Size: 100})
	if err != nil {
		t.Fatalf("search %s: %v", stream, err)
	}
	bySubject := map[string][]querysvc.Activity{}
	for _, a := range page.Activities {
		if a.Subject == nil {
			t.Errorf("got activity %s without a subject", a.ID)
			continue
		}
		bySubject[a.Subject.ID] = append(bySubject[a.Subject.ID], a)
	}
	for _, r := range records {
		got := bySubject[r.subjectID]
		if len(got) != 1 {
			t.Errorf("%s: got %d activities, want 1", r.subjectID, len(got))
			continue
		}
		a := got[0]
		// Changed fields and changes apart, so that a difference in them
		// is shown alone.
		core := a
		core.ChangedFields, core.Changes = nil, nil
		want := querysvc.Activity{
			ID:            a.ID,
			Timestamp:     a.Timestamp,
			Description:   "Jane Doe (Partner) " + r.verb + " reward 'Free coffee'",
			Category:      schema.CategoryRewards,
			Event:         r.verb,
			Outcome:       schema.OutcomeSuccess,
			Actor:         querysvc.Actor{Type: schema.ActorPartner, ID: "u-7", Name: "Jane Doe"},
			Tenant:        querysvc.Tenant{ID: "bean-there", Name: "Bean There"},
			Subject:       &querysvc.Subject{Type: "reward", ID: r.subjectID, Name: "Free coffee"},
			ClientAddress: "203.0.113.7",
			UserAgent:     "e2e-test/1.0",
			RequestID:     "req-1",
			Service:       "e2e",
		}
		if a.ID == "" || a.Timestamp.IsZero() {
			t.Errorf("%s: got id %q and timestamp %v, want both set", r.subjectID, a.ID, a.Timestamp)
		}
		if !reflect.DeepEqual(core, want) {
			t.Errorf("%s: got %+v, want %+v", r.subjectID, core, want)
		}
		if !slices.Equal(a.ChangedFields, r.fields) {
			t.Errorf("%s: got changed fields %v, want %v", r.subjectID, a.ChangedFields, r.fields)
		}
		for _, d := range changesDiff(t, a.Changes, r.changes) {
			t.Errorf("%s: changes: %s", r.subjectID, d)
		}
	}
}

// reducedChanges returns, as JSON, the changes of a reduced record: each of
// fields but the last with its old and new values replaced by
// otlp.MarkerTooLarge, the last one with the changes kept (a JSON object).
func reducedChanges(fields []string, kept string) string {
	marker, _ := json.Marshal(otlp.MarkerTooLarge)
	parts := make([]string, 0, len(fields))
	for _, f := range fields[:len(fields)-1] {
		parts = append(parts, fmt.Sprintf(`%q:{"old":%s,"new":%s}`, f, marker, marker))
	}
	parts = append(parts, fmt.Sprintf(`%q:%s`, fields[len(fields)-1], kept))
	return "{" + strings.Join(parts, ",") + "}"
}

// changesDiff compares the changes got with those wanted (JSON objects) and
// says how each changed field differs: one line a field, values shortened.
func changesDiff(t *testing.T, got json.RawMessage, want string) []string {
	t.Helper()
	var g, w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %q: %v", want, err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		return []string{fmt.Sprintf("got %.200q, want a JSON object: %v", got, err)}
	}
	var diffs []string
	for _, f := range slices.Sorted(maps.Keys(w)) {
		if gv, ok := g[f]; !ok {
			diffs = append(diffs, fmt.Sprintf("got no field %s, want %.80v", f, w[f]))
		} else if !reflect.DeepEqual(gv, w[f]) {
			diffs = append(diffs, fmt.Sprintf("%s: got %.80v, want %.80v", f, gv, w[f]))
		}
	}
	for _, f := range slices.Sorted(maps.Keys(g)) {
		if _, ok := w[f]; !ok {
			diffs = append(diffs, fmt.Sprintf("got field %s (%.80v), want none", f, g[f]))
		}
	}
	return diffs
}
