package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/core/search"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/sortorder"

	"github.com/activitylog/activitylog/internal/esclient"
	"github.com/activitylog/activitylog/schema"
)

func runSummary(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("activityctl summary", flag.ContinueOnError)
	fs.SetOutput(stderr)
	defaultNS := getenv("ACTIVITY_NAMESPACE")
	if defaultNS == "" {
		defaultNS = schema.DefaultNamespace
	}
	namespace := fs.String("namespace", defaultNS, "data stream namespace; env ACTIVITY_NAMESPACE")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := noArguments(fs); err != nil {
		return err
	}
	if err := schema.ValidateNamespace(*namespace); err != nil {
		return fmt.Errorf("-namespace or ACTIVITY_NAMESPACE: %w", err)
	}
	es, err := esclient.FromEnv(getenv).Typed()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	stream := schema.DataStream(*namespace)
	s, err := summarize(ctx, es, stream)
	if err != nil {
		return err
	}
	return s.write(stdout, stream)
}

type summary struct {
	total  int64
	events []eventCount
	// other counts the records of events beyond the listed ones (emitters
	// in other languages may send events of their own).
	other  int64
	newest json.RawMessage
}

type eventCount struct {
	event string
	count int64
}

func summarize(ctx context.Context, es *elasticsearch.TypedClient, stream string) (summary, error) {
	var out summary
	one, buckets := 1, len(schema.Events())+10
	field := schema.Path(schema.AttrEvent)
	trackTotal := true
	resp, err := es.Search().Index(stream).IgnoreUnavailable(true).Request(&search.Request{
		Size:           &one,
		TrackTotalHits: trackTotal,
		Sort: []types.SortCombinations{types.SortOptions{SortOptions: map[string]types.FieldSort{
			schema.FieldTimestamp: {Order: &sortorder.Desc},
		}}},
		Aggregations: map[string]types.Aggregations{
			"events": {Terms: &types.TermsAggregation{Field: &field, Size: &buckets}},
		},
	}).Do(ctx)
	if err != nil {
		return out, fmt.Errorf("search %s: %w", stream, err)
	}
	if resp.Hits.Total != nil {
		out.total = resp.Hits.Total.Value
	}
	if terms, ok := resp.Aggregations["events"].(*types.StringTermsAggregate); ok {
		if terms.SumOtherDocCount != nil {
			out.other = *terms.SumOtherDocCount
		}
		if bs, ok := terms.Buckets.([]types.StringTermsBucket); ok {
			for _, b := range bs {
				out.events = append(out.events, eventCount{event: fmt.Sprint(b.Key), count: b.DocCount})
			}
		}
	}
	if len(resp.Hits.Hits) > 0 {
		out.newest = resp.Hits.Hits[0].Source_
	}
	return out, nil
}

func (s summary) write(w io.Writer, stream string) error {
	fmt.Fprintf(w, "%d records in %s\n", s.total, stream)
	if len(s.events) > 0 {
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "count\tevent\t")
		for _, e := range s.events {
			fmt.Fprintf(tw, "%d\t%s\t\n", e.count, e.event)
		}
		if s.other > 0 {
			fmt.Fprintf(tw, "%d\t(other events)\t\n", s.other)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(s.newest) > 0 {
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, s.newest, "", "  "); err != nil {
			return fmt.Errorf("newest record: %w", err)
		}
		fmt.Fprintf(w, "newest record:\n%s\n", pretty.String())
	}
	return nil
}
