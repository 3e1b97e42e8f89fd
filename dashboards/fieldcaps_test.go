package dashboards_test

import (
	"context"
	"testing"
	"time"

	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/schema"
)

// TestFieldsAggregateOnRealNode asks a real Elasticsearch node, through
// the field capabilities API Kibana itself uses to build a data view, about
// every field the saved objects use: on a data stream created from the
// installed index template, each must exist, be searchable, be aggregatable
// where a panel, sort or control aggregates on it, be a date where a date
// histogram or the time field needs one, and be numeric where a metric
// needs one.
func TestFieldsAggregateOnRealNode(t *testing.T) {
	estest.InstallSchema(t)
	es := estest.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stream := schema.DataStream(estest.Namespace(t))
	// A data stream exists once its first document is written.
	doc := map[string]any{
		schema.FieldTimestamp: time.Now().UTC().Format(time.RFC3339Nano),
		"attributes":          map[string]any{schema.AttrID: "0190f0e0-0000-7000-8000-000000000001", schema.AttrEvent: schema.EventLogin},
	}
	if _, err := es.Create(stream, "0190f0e0-0000-7000-8000-000000000001").Document(doc).Do(ctx); err != nil {
		t.Fatalf("create the data stream: %v", err)
	}
	caps, err := es.FieldCaps().Index(stream).Fields("*").Do(ctx)
	if err != nil {
		t.Fatalf("field_caps: %v", err)
	}
	us, err := uses(objects(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		byType, ok := caps.Fields[u.field]
		if !ok {
			t.Errorf("%s: field %q: the node does not know it", u.where, u.field)
			continue
		}
		if len(byType) != 1 {
			t.Errorf("%s: field %q: got %d types, want one", u.where, u.field, len(byType))
			continue
		}
		for typ, c := range byType {
			if !c.Searchable {
				t.Errorf("%s: field %q (%s) is not searchable", u.where, u.field, typ)
			}
			switch u.need {
			case needAggregatable:
				if !c.Aggregatable {
					t.Errorf("%s: field %q (%s) is not aggregatable", u.where, u.field, typ)
				}
			case needDate:
				if typ != "date" && typ != "date_nanos" {
					t.Errorf("%s: field %q: got type %s, want a date", u.where, u.field, typ)
				}
			case needNumeric:
				if typ != "long" || !c.Aggregatable {
					t.Errorf("%s: field %q: got type %s (aggregatable %v), want an aggregatable number", u.where, u.field, typ, c.Aggregatable)
				}
			}
		}
	}
}
