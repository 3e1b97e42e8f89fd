package setup

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/indices/putdatalifecycle"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"

	"github.com/activitylog/activitylog/schema"
)

// streamLifecycleKind is the Change.Kind of an existing data stream whose
// lifecycle Install brought to the configured retention.
const streamLifecycleKind = "data stream lifecycle"

// applyStreamRetention gives every existing activity data stream the
// lifecycle's retention. The index template's lifecycle reaches only data
// streams created after it, so without this a retention change would never
// reach the records already stored. Only streams whose retention differs are
// written; a stream whose lifecycle was disabled by hand stays disabled,
// because PUT replaces the whole lifecycle. Downsampling is not carried over:
// it acts only on time series data streams, which these are not, and the
// typed API of this client version cannot read a round back as it was
// written.
func applyStreamRetention(ctx context.Context, es *elasticsearch.TypedClient, want *types.DataStreamLifecycle) ([]Change, error) {
	resp, err := es.Indices.GetDataLifecycle(schema.IndexPattern).Do(ctx)
	if isNotFound(err) {
		return nil, nil // no activity data stream exists yet
	}
	if err != nil {
		return nil, lifecycleError("get the data stream lifecycle of "+schema.IndexPattern, "view_index_metadata", err)
	}
	wantRetention := fmt.Sprint(want.DataRetention)
	var changes []Change
	for _, stream := range resp.DataStreams {
		change := Change{Kind: streamLifecycleKind, Name: stream.Name, Action: Unchanged}
		req := &putdatalifecycle.Request{DataRetention: want.DataRetention}
		if have := stream.Lifecycle; have != nil {
			if have.DataRetention != nil && fmt.Sprint(have.DataRetention) == wantRetention {
				changes = append(changes, change)
				continue
			}
			req.Enabled = have.Enabled
		}
		change.Action = Updated
		if _, err := es.Indices.PutDataLifecycle(stream.Name).Request(req).Do(ctx); err != nil {
			if isNotFound(err) {
				continue // deleted since the GET: it has no records left to keep
			}
			return changes, lifecycleError("put the data stream lifecycle of "+stream.Name, "manage", err)
		}
		changes = append(changes, change)
	}
	return changes, nil
}

// lifecycleError wraps err, naming the index privilege on the activity data
// streams that a refusal (403) says the setup user lacks.
func lifecycleError(what, privilege string, err error) error {
	var esErr *types.ElasticsearchError
	if errors.As(err, &esErr) && esErr.Status == http.StatusForbidden {
		return fmt.Errorf("%s: the setup user needs the %s index privilege on %s: %w", what, privilege, schema.IndexPattern, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// streamsUpdated counts the existing data streams whose retention Install changed.
func (r Report) streamsUpdated() int {
	n := 0
	for _, c := range r.Changes {
		if c.Kind == streamLifecycleKind && c.Action == Updated {
			n++
		}
	}
	return n
}
