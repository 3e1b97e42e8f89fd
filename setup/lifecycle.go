package setup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/indices/putdatalifecycle"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/indexprivilege"

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
// Install first checks the setup user's privileges (checkStreamPrivileges),
// so that a user who cannot see the streams gets an error rather than a
// retention applied to none of them.
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

// checkStreamPrivileges fails, naming what is missing, unless the client's
// user holds, on the whole of schema.IndexPattern (every activity data
// stream, present or future), the index privileges Install needs there:
// view_index_metadata to list the streams (to roll them over onto the
// installed schema, and to bring their backing indices under its
// retention) and, when lifecycle is set, manage_data_stream_lifecycle to
// change their data stream lifecycle. Without the first the list is not
// refused but silently incomplete, since a wildcard resolves only to the
// indices the user may view. Elasticsearch answers has_privileges by the
// actions a privilege covers, so manage or all, which cover both, pass too.
// Where security is off there is nothing to check, and it passes.
func checkStreamPrivileges(ctx context.Context, es *elasticsearch.TypedClient, lifecycle bool) error {
	needed := []indexprivilege.IndexPrivilege{indexprivilege.Viewindexmetadata}
	if lifecycle {
		needed = append(needed, indexprivilege.Managedatastreamlifecycle)
	}
	resp, err := es.Security.HasPrivileges().Index(types.IndexPrivilegesCheck{
		Names: []string{schema.IndexPattern}, Privileges: needed,
	}).Do(ctx)
	if securityDisabled(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check the setup user's privileges on %s (POST _security/user/_has_privileges): %w", schema.IndexPattern, err)
	}
	var missing []string
	for _, p := range needed {
		if !resp.Index[schema.IndexPattern][p.Name] {
			missing = append(missing, p.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the setup user %q lacks the index privilege %s on %s (manage grants them too): "+
			"without them setup cannot reach every existing activity data stream, to roll it over onto the installed "+
			"schema or apply the retention to it; run setup as the superuser",
			resp.Username, strings.Join(missing, " and "), schema.IndexPattern)
	}
	return nil
}

// securityDisabled reports whether err is a cluster's answer to a security
// API while security is off: a node that registers no security API answers
// 400 "no handler found" (the integ-test-zip node), one that registers them
// answers 500 with an illegal_state_exception saying security is not enabled.
func securityDisabled(err error) bool {
	var esErr *types.ElasticsearchError
	if !errors.As(err, &esErr) {
		return false
	}
	reason := ""
	if esErr.ErrorCause.Reason != nil {
		reason = *esErr.ErrorCause.Reason
	}
	switch esErr.Status {
	case http.StatusBadRequest:
		return esErr.ErrorCause.Type == "" && strings.Contains(reason, "no handler found for uri [/_security/")
	case http.StatusInternalServerError:
		return esErr.ErrorCause.Type == "illegal_state_exception" && strings.Contains(reason, "Security is not enabled")
	}
	return false
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

// maxRetentionSetting caps the retention of every data stream the data
// stream lifecycle manages: a stream's effective retention is the lesser of
// its own data_retention and this.
const maxRetentionSetting = "data_streams.lifecycle.retention.max"

// maxStreamRetention returns the cluster's maxRetentionSetting, or 0 where
// it sets none (-1, its default). Transient settings win over persistent
// ones, which win over elasticsearch.yml's (answered among the defaults).
func maxStreamRetention(ctx context.Context, es *elasticsearch.TypedClient) (time.Duration, error) {
	resp, err := es.Cluster.GetSettings().IncludeDefaults(true).FlatSettings(true).
		// filter_path splits on dots, so a flat setting name cannot be
		// named in it whole: keep the data_streams settings, a few.
		FilterPath("*.data_streams*").Do(ctx)
	if err != nil {
		return 0, fmt.Errorf("read %s (GET _cluster/settings, which needs the monitor cluster privilege): %w", maxRetentionSetting, err)
	}
	for _, scope := range []map[string]json.RawMessage{resp.Transient, resp.Persistent, resp.Defaults} {
		raw, ok := scope[maxRetentionSetting]
		if !ok {
			continue
		}
		var value string
		if err := json.Unmarshal(raw, &value); err != nil {
			return 0, fmt.Errorf("read %s: got %s, want a time value", maxRetentionSetting, raw)
		}
		d, err := parseTimeValue(value)
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", maxRetentionSetting, err)
		}
		return d, nil
	}
	return 0, nil
}

// parseTimeValue parses an Elasticsearch time value ("90d", "2160h",
// "1000ms"...); -1 (no value) is 0.
func parseTimeValue(s string) (time.Duration, error) {
	if s == "-1" || s == "" {
		return 0, nil
	}
	units := []struct {
		suffix string
		unit   time.Duration
	}{ // longest suffixes first: "ms" before "s", "micros" before "s"
		{"nanos", time.Nanosecond}, {"micros", time.Microsecond}, {"ms", time.Millisecond},
		{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second},
	}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			if err != nil || v < 0 || v > int64(math.MaxInt64/u.unit) {
				break
			}
			return time.Duration(v) * u.unit, nil
		}
	}
	return 0, fmt.Errorf("got %q, want a time value such as 90d", s)
}
