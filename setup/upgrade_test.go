package setup_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/schema"
	"github.com/activitylog/activitylog/setup"
)

// TestInstallRollsOverStreamsOnAnOldSchema proves that a schema upgrade
// reaches the activity data streams that already exist: a stream whose write
// index was created from an older schema (here one that mapped no attribute
// at all) is rolled over by setup, so a record written after the upgrade is
// found by a field the new schema maps. Templates only apply to backing
// indices created after them, and nothing else rolls the stream over on a
// node without ILM or the data stream lifecycle (and only after a day, or 30
// days, on one with them): before, such records were stored unindexed and
// every query on the field missed them. A second run rolls nothing over.
func TestInstallRollsOverStreamsOnAnOldSchema(t *testing.T) {
	es := estest.Client(t)
	base := estest.URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := setup.Install(ctx, es, setup.Config{}); err != nil {
		t.Fatalf("first install: %v", err)
	}

	// The "old schema": a template for this test's stream alone that wins
	// over setup's and maps nothing but the timestamp. It is removed once the
	// stream exists, as an upgrade replaces the old templates.
	ns := estest.Namespace(t)
	stream := schema.DataStream(ns)
	old := base + "/_index_template/activitylog-old-" + ns
	send(t, http.MethodPut, old, fmt.Sprintf(`{"index_patterns":[%q],"data_stream":{},"priority":%d,
		"template":{"mappings":{"dynamic":false,"properties":{"@timestamp":{"type":"date_nanos"}}}}}`,
		stream, schema.TemplatePriority+100))
	write := func(id string) {
		doc := fmt.Sprintf(`{"@timestamp":%q,"attributes":{"activity.event":"member.updated","activity.id":%q}}`,
			time.Now().UTC().Format(time.RFC3339Nano), id)
		send(t, http.MethodPut, base+"/"+stream+"/_create/"+id+"?refresh=true", doc)
	}
	write("before-upgrade")
	send(t, http.MethodDelete, old, "")

	report, err := setup.Install(ctx, es, setup.Config{})
	if err != nil {
		t.Fatalf("install over the old stream: %v", err)
	}
	if got := actionOn(report, stream); got != setup.RolledOver {
		t.Errorf("got %q for %s, want %q; changes: %v", got, stream, setup.RolledOver, report.Changes)
	}
	write("after-upgrade")
	query := fmt.Sprintf(`{"query":{"term":{%q:"member.updated"}}}`, schema.Path(schema.AttrEvent))
	var found struct {
		Hits struct {
			Hits []struct {
				ID string `json:"_id"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(send(t, http.MethodPost, base+"/"+stream+"/_search", query), &found); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(found.Hits.Hits); got != "[{after-upgrade}]" {
		t.Errorf("searching %s by %s after the upgrade: got hits %s, want [{after-upgrade}]", stream, schema.Path(schema.AttrEvent), got)
	}

	again, err := setup.Install(ctx, es, setup.Config{})
	if err != nil {
		t.Fatalf("third install: %v", err)
	}
	if got := actionOn(again, stream); got != "" {
		t.Errorf("third install: got %q for %s, want it left alone", got, stream)
	}
}

// actionOn returns what Install reported doing to name, or "".
func actionOn(r setup.Report, name string) setup.Action {
	for _, c := range r.Changes {
		if c.Name == name {
			return c.Action
		}
	}
	return ""
}

// send makes a request with a JSON body and fails t unless it succeeds.
func send(t *testing.T, method, url, body string) []byte {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b.String())
	}
	return b.Bytes()
}
