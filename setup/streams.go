package setup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"

	"github.com/activitylog/activitylog/schema"
)

// metaSchema is the key, in the mappings _meta of the index template and so
// of every backing index created from it, of the schema version: which
// component templates the index was created from.
const metaSchema = "activitylog_schema"

// schemaVersion returns what metaSchema records for components: a checksum
// of the component templates' own checksums. The index template's lifecycle
// is left out: a retention change reaches the existing streams without a
// rollover (applyStreamRetention, or the ILM policy).
func schemaVersion(components map[string]schema.ComponentTemplate) string {
	sum := sha256.Sum256([]byte(schema.Checksum(components[schema.SettingsComponentName].Meta) + "," +
		schema.Checksum(components[schema.MappingsComponentName].Meta)))
	return hex.EncodeToString(sum[:16])
}

// withSchemaVersion returns t with version in its mappings' _meta, from where
// Elasticsearch copies it into the mapping of every backing index created
// from the template.
func withSchemaVersion(t schema.IndexTemplate, version string) schema.IndexTemplate {
	var m types.IndexTemplateMapping
	if t.Template != nil {
		m = *t.Template
	}
	m.Mappings = &types.TypeMapping{Meta_: types.Metadata{metaSchema: json.RawMessage(strconv.Quote(version))}}
	t.Template = &m
	return t
}

// metaString returns the string under key in meta, or "".
func metaString(meta types.Metadata, key string) string {
	var s string
	if err := json.Unmarshal(meta[key], &s); err != nil {
		return ""
	}
	return s
}

// rollOverStaleStreams rolls over every activity data stream whose write
// index was not created from the installed schema version. A template
// reaches only the backing indices created after it, so without this a new
// or retyped field stays unindexed in the records written to an existing
// stream until it rolls over on its own: after a day with ILM, 30 days with
// the data stream lifecycle, never where neither runs. The rolled-over
// stream's older backing indices keep their mapping. A stream that a
// template of higher priority than ours claims would get no newer mapping
// from a rollover, and is left alone.
//
// The wildcard it lists the streams with resolves only to the streams the
// user may view: Install first checks that the user may view them all
// (checkStreamPrivileges), so that none is silently left out.
func rollOverStaleStreams(ctx context.Context, es *elasticsearch.TypedClient, version string) ([]Change, error) {
	resolved, err := es.Indices.ResolveIndex(schema.IndexPattern).Do(ctx)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, lifecycleError("list the activity data streams (GET _resolve/index)", "view_index_metadata", err)
	}
	if len(resolved.DataStreams) == 0 {
		return nil, nil
	}
	mappings, err := es.Indices.GetMapping().Index(schema.IndexPattern).FilterPath("*.mappings._meta").Do(ctx)
	if err != nil && !isNotFound(err) {
		return nil, lifecycleError("get the mappings of the activity data streams", "view_index_metadata", err)
	}
	var changes []Change
	for _, stream := range resolved.DataStreams {
		if len(stream.BackingIndices) == 0 {
			continue
		}
		// The write index is the last backing index.
		writeIndex := stream.BackingIndices[len(stream.BackingIndices)-1]
		if metaString(mappings[writeIndex].Mappings.Meta_, metaSchema) == version {
			continue
		}
		sim, err := es.Indices.SimulateIndexTemplate(stream.Name).Do(ctx)
		if err != nil {
			return changes, lifecycleError("simulate the template of "+stream.Name, "manage", err)
		}
		if metaString(sim.Template.Mappings.Meta_, metaSchema) != version {
			continue
		}
		if _, err := es.Indices.Rollover(stream.Name).Do(ctx); err != nil {
			if isNotFound(err) {
				continue // deleted since it was listed
			}
			return changes, lifecycleError("roll over "+stream.Name+" onto the installed schema", "manage", err)
		}
		changes = append(changes, Change{Kind: "data stream", Name: stream.Name, Action: RolledOver})
	}
	return changes, nil
}

// backingIndexKind is the Change.Kind of an activity backing index that
// Install brought under the configured retention.
const backingIndexKind = "retention of backing index"

// adoptBackingIndices brings every backing index of the activity data
// streams under the retention setup installs. A stream created before setup
// ran (the collector writing first) came from the built-in logs templates,
// whose ILM policy "logs" has no delete phase; a rollover gives it a write
// index from our template, but its older backing indices keep that policy
// and so every record in them forever.
//
// With ILM (ilm set) each backing index that names no policy or another one
// is given ILMPolicyName; ILM finishes the step it is in and follows the new
// policy from there, its age still counted from its rollover. Where the data
// stream lifecycle carries the retention (lifecycle set), the stream's own
// lifecycle covers all its backing indices, except those naming an ILM policy
// with index.lifecycle.prefer_ilm left true (its default): ILM, not the
// lifecycle, manages those, so they are given prefer_ilm false. Where neither
// runs, nothing would act on either setting, and nothing is done. Where
// either runs, an index.lifecycle.origination_date on a backing index is
// removed, so that its age counts from its rollover.
func adoptBackingIndices(ctx context.Context, es *elasticsearch.TypedClient, ilm, lifecycle bool) ([]Change, error) {
	if !ilm && !lifecycle {
		return nil, nil
	}
	indices, err := es.Indices.GetSettings().Index(schema.IndexPattern).Name("index.lifecycle.*").Do(ctx)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, lifecycleError("get the settings of the activity backing indices", "view_index_metadata", err)
	}
	var changes []Change
	for _, index := range slices.Sorted(maps.Keys(indices)) {
		var have types.IndexSettingsLifecycle
		if s := indices[index].Settings; s != nil && s.Index != nil && s.Index.Lifecycle != nil {
			have = *s.Index.Lifecycle
		} else if s != nil && s.Lifecycle != nil {
			have = *s.Lifecycle
		}
		policy := ""
		if have.Name != nil {
			policy = *have.Name
		}
		set := map[string]any{}
		switch {
		case ilm && policy != schema.ILMPolicyName:
			set["index.lifecycle.name"] = schema.ILMPolicyName
		case !ilm && policy != "" && (have.PreferIlm == nil || *have.PreferIlm != "false"):
			set["index.lifecycle.prefer_ilm"] = false
		}
		// Both ILM and the data stream lifecycle count an index's age
		// from its origination date when it has one, instead of from its
		// rollover: one set in the past has the index's records deleted
		// early, one in the future keeps them too long. null removes it.
		if have.OriginationDate != nil {
			set["index.lifecycle.origination_date"] = nil
		}
		if len(set) == 0 {
			continue
		}
		body, err := json.Marshal(set)
		if err != nil {
			return changes, fmt.Errorf("bring %s under the retention: %w", index, err)
		}
		if _, err := es.Indices.PutSettings().Indices(index).Raw(bytes.NewReader(body)).Do(ctx); err != nil {
			if isNotFound(err) {
				continue // deleted since it was listed: it has no records left to keep
			}
			return changes, lifecycleError("bring "+index+" under the retention", "manage", err)
		}
		changes = append(changes, Change{Kind: backingIndexKind, Name: index, Action: Updated})
	}
	return changes, nil
}
