package setup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/cluster/putcomponenttemplate"
	"github.com/elastic/go-elasticsearch/v8/typedapi/ilm/putlifecycle"
	"github.com/elastic/go-elasticsearch/v8/typedapi/indices/putindextemplate"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"

	"github.com/activitylog/activitylog/schema"
)

// Action says what Install did to one object.
type Action string

// Actions.
const (
	Created   Action = "created"
	Updated   Action = "updated"
	Unchanged Action = "unchanged"
	// LeftDisabled is a user an administrator disabled: setup leaves it as
	// it is, disabled, its roles and password included.
	LeftDisabled Action = "left disabled"
	// RolledOver is an activity data stream whose write index was created
	// from another version of the schema: setup rolled it over, so that the
	// records written from then on get the installed mappings and settings.
	RolledOver Action = "rolled over"
)

// Change is what Install did to one Elasticsearch object.
type Change struct {
	// Kind is the object's kind, e.g. "component template".
	Kind string
	// Name is the object's name.
	Name string
	// Action is what was done.
	Action Action
}

func (c Change) String() string { return fmt.Sprintf("%-9s %s %s", c.Action, c.Kind, c.Name) }

// Report lists what Install did.
type Report struct {
	// ILM reports whether the cluster has ILM (and so whether the ILM policy
	// or the data stream lifecycle carries the retention).
	ILM bool
	// ILMMode is ILM's operation mode (RUNNING, STOPPING, STOPPED) when the
	// cluster has ILM: a stopped ILM deletes nothing.
	ILMMode string
	// Lifecycle reports, on a cluster without ILM, whether the data stream
	// lifecycle runs there. Without either, nothing deletes old records:
	// the integ-test-zip distribution, whose server lacks the data streams
	// module, stores the template's lifecycle and never acts on it.
	Lifecycle bool
	// MaxRetention is, where the data stream lifecycle carries the
	// retention, the cluster's data_streams.lifecycle.retention.max (0:
	// none). Elasticsearch deletes records once they are older than the
	// lesser of it and the configured retention.
	MaxRetention time.Duration
	// Changes lists every object Install looked at, in the order it did.
	Changes []Change
	// Overriding lists the index templates that take precedence over the
	// activity schema's for some activity data stream name: the streams
	// they match do not follow the configured retention. Install leaves
	// them alone; activityctl setup warns about each.
	Overriding []OverridingTemplate
}

// Changed reports whether Install created or updated anything.
func (r Report) Changed() bool {
	for _, c := range r.Changes {
		if c.Action != Unchanged && c.Action != LeftDisabled {
			return true
		}
	}
	return false
}

// Config says what Install installs.
type Config struct {
	// Schema chooses the retention. Its ILM field is ignored: Install detects
	// ILM with GET _ilm/status unless ForceILM is set.
	Schema schema.Options
	// ForceILM, when not nil, skips detection and says whether the cluster has ILM.
	ForceILM *bool
	// Security, when not nil, also installs the activitylog roles and users
	// (see InstallSecurity); the client must have manage_security.
	Security *SecurityConfig
}

// Install installs or updates the schema and reports what it did. It is safe
// to run any number of times and concurrently with writers: templates only
// affect backing indices created after them. Where the data stream lifecycle
// carries the retention (no ILM), Install also sets it on every existing
// activity data stream whose retention differs, since the template reaches
// only streams created after it; with ILM the policy already reaches them.
func Install(ctx context.Context, es *elasticsearch.TypedClient, cfg Config) (Report, error) {
	var report Report
	if err := cfg.Schema.Validate(); err != nil {
		return report, fmt.Errorf("invalid schema options: %w", err)
	}
	if cfg.Security != nil {
		if err := cfg.Security.Validate(); err != nil {
			return report, fmt.Errorf("invalid security options: %w", err)
		}
	}
	ilm := false
	if cfg.ForceILM != nil {
		ilm = *cfg.ForceILM
	} else {
		var err error
		if ilm, err = HasILM(ctx, es); err != nil {
			return report, err
		}
	}
	report.ILM = ilm
	if ilm && cfg.ForceILM == nil {
		if st, err := es.Ilm.GetStatus().Do(ctx); err == nil {
			report.ILMMode = st.OperationMode.String()
		}
	}
	if !ilm {
		var err error
		if report.Lifecycle, err = HasDataStreamLifecycle(ctx, es); err != nil {
			return report, err
		}
	}
	opts := cfg.Schema
	opts.ILM = ilm

	if ilm {
		c, err := installPolicy(ctx, es, schema.ILMPolicy(opts))
		if err != nil {
			return report, err
		}
		report.Changes = append(report.Changes, c)
	}
	components := schema.Components(opts)
	for _, name := range []string{schema.SettingsComponentName, schema.MappingsComponentName} {
		c, err := installComponent(ctx, es, name, components[name])
		if err != nil {
			return report, err
		}
		report.Changes = append(report.Changes, c)
	}
	version := schemaVersion(components)
	c, err := installIndexTemplate(ctx, es, withSchemaVersion(schema.Template(opts), version))
	if err != nil {
		return report, err
	}
	report.Changes = append(report.Changes, c)
	if report.Overriding, err = overridingTemplates(ctx, es); err != nil {
		return report, err
	}
	streamLifecycle := !ilm && report.Lifecycle
	if err := checkStreamPrivileges(ctx, es, streamLifecycle); err != nil {
		return report, err
	}
	rolled, err := rollOverStaleStreams(ctx, es, version)
	report.Changes = append(report.Changes, rolled...)
	if err != nil {
		return report, err
	}
	adopted, err := adoptBackingIndices(ctx, es, ilm, streamLifecycle)
	report.Changes = append(report.Changes, adopted...)
	if err != nil {
		return report, err
	}
	if streamLifecycle {
		if report.MaxRetention, err = maxStreamRetention(ctx, es); err != nil {
			return report, err
		}
		changes, err := applyStreamRetention(ctx, es, schema.Lifecycle(opts))
		report.Changes = append(report.Changes, changes...)
		if err != nil {
			return report, err
		}
	}
	if cfg.Security != nil {
		changes, err := InstallSecurity(ctx, es, *cfg.Security)
		report.Changes = append(report.Changes, changes...)
		if err != nil {
			return report, err
		}
	}
	return report, nil
}

// HasILM reports whether the cluster has index lifecycle management: GET
// _ilm/status answers 200 on a cluster with ILM and 404 or 405 on one
// without (such as the integ-test-zip distribution).
func HasILM(ctx context.Context, es *elasticsearch.TypedClient) (bool, error) {
	_, err := es.Ilm.GetStatus().Do(ctx)
	return answered(err, "detect ILM (GET _ilm/status)")
}

// answered turns the outcome of a request to an API that only some
// clusters have into whether the cluster has it: a cluster without it
// answers 400, 404, 405 or 410; any other failure is an error.
func answered(err error, what string) (bool, error) {
	if err == nil {
		return true, nil
	}
	var esErr *types.ElasticsearchError
	if errors.As(err, &esErr) {
		switch esErr.Status {
		case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusBadRequest, http.StatusGone:
			return false, nil
		}
	}
	return false, fmt.Errorf("%s: %w", what, err)
}

// HasDataStreamLifecycle reports whether the data stream lifecycle runs on
// the cluster: GET _lifecycle/stats answers 200 where it does (Elasticsearch
// 8.12 and later with its data streams module) and 404 or 405 where it does
// not (such as the integ-test-zip distribution).
func HasDataStreamLifecycle(ctx context.Context, es *elasticsearch.TypedClient) (bool, error) {
	_, err := es.Indices.GetDataLifecycleStats().Do(ctx)
	return answered(err, "detect the data stream lifecycle (GET _lifecycle/stats)")
}

// Retention says, for people, what deletes old records on the cluster, and
// whether anything does.
func (r Report) Retention(days int) (line string, ok bool) {
	switch {
	case r.ILM && (r.ILMMode == "" || r.ILMMode == "RUNNING"):
		return fmt.Sprintf("ILM available: retention %dd by ILM policy %s", days, schema.ILMPolicyName), true
	case r.ILM:
		return fmt.Sprintf("warning: ILM is %s: retention %dd by ILM policy %s, but nothing is deleted until ILM runs "+
			"(POST _ilm/start)", r.ILMMode, days, schema.ILMPolicyName), false
	case r.Lifecycle && r.MaxRetention > 0 && r.MaxRetention < time.Duration(days)*24*time.Hour:
		return fmt.Sprintf("warning: the cluster caps data stream retention at %s (%s): records are deleted after %[1]s, "+
			"not %[3]dd; raise or remove that cluster setting", formatDays(r.MaxRetention), maxRetentionSetting, days), false
	case r.Lifecycle:
		line := fmt.Sprintf("ILM not available: retention %dd by data stream lifecycle", days)
		if n := r.streamsUpdated(); n > 0 {
			line += fmt.Sprintf("; retention %dd applied to %d existing data streams", days, n)
		}
		return line, true
	}
	return fmt.Sprintf("warning: neither ILM nor the data stream lifecycle runs on this cluster: records are never "+
		"deleted here; the index template keeps the retention (%dd) for a cluster where the data stream lifecycle runs", days), false
}

// formatDays writes d in days where it is a whole number of them.
func formatDays(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

func isNotFound(err error) bool {
	var esErr *types.ElasticsearchError
	return errors.As(err, &esErr) && esErr.Status == http.StatusNotFound
}

// decide turns "does it exist, and with which checksum" into an action.
func decide(found bool, have, want string) Action {
	switch {
	case !found:
		return Created
	case have != want:
		return Updated
	default:
		return Unchanged
	}
}

func installPolicy(ctx context.Context, es *elasticsearch.TypedClient, policy *types.IlmPolicy) (Change, error) {
	change := Change{Kind: "ILM policy", Name: schema.ILMPolicyName}
	resp, err := es.Ilm.GetLifecycle().Policy(schema.ILMPolicyName).Do(ctx)
	if err != nil && !isNotFound(err) {
		return change, fmt.Errorf("get ILM policy %s: %w", schema.ILMPolicyName, err)
	}
	existing, found := resp[schema.ILMPolicyName]
	change.Action = decide(found, schema.Checksum(existing.Policy.Meta_), schema.Checksum(policy.Meta_))
	// The checksum only says which policy setup meant to install. Phases
	// edited by hand with the _meta kept (kibana_system holds manage_ilm)
	// would delete records at another age: put the policy again.
	if change.Action == Unchanged && phases(existing.Policy) != phases(*policy) {
		change.Action = Updated
	}
	if change.Action == Unchanged {
		return change, nil
	}
	if _, err := es.Ilm.PutLifecycle(schema.ILMPolicyName).Request(&putlifecycle.Request{Policy: policy}).Do(ctx); err != nil {
		return change, fmt.Errorf("put ILM policy %s: %w", schema.ILMPolicyName, err)
	}
	return change, nil
}

// phases returns what a policy does, in a form that does not depend on
// whether Elasticsearch spells out the delete action's default
// (delete_searchable_snapshot: true, which it does), so an installed policy
// can be compared with schema.ILMPolicy.
func phases(p types.IlmPolicy) string {
	ph := p.Phases
	if d := ph.Delete; d != nil && d.Actions != nil && d.Actions.Delete != nil && d.Actions.Delete.DeleteSearchableSnapshot == nil {
		yes := true
		del, actions, phase := *d.Actions.Delete, *d.Actions, *d
		del.DeleteSearchableSnapshot = &yes
		actions.Delete, phase.Actions = &del, &actions
		ph.Delete = &phase
	}
	b, err := json.Marshal(ph)
	if err != nil {
		// It then compares as different: setup puts the policy again, which is safe.
		return err.Error()
	}
	return string(b)
}

func installComponent(ctx context.Context, es *elasticsearch.TypedClient, name string, want schema.ComponentTemplate) (Change, error) {
	change := Change{Kind: "component template", Name: name}
	installed, found, err := getComponent(ctx, es, name)
	if err != nil {
		return change, err
	}
	change.Action = decide(found, schema.Checksum(installed.Meta), schema.Checksum(want.Meta))
	// The checksum only says which component setup meant to install. A
	// component edited by hand with the _meta kept (kibana_system holds
	// manage_index_templates) could send new backing indices to another ILM
	// policy, count their age from another date, block their writes or
	// retype a field: compare what it does and put it again.
	if change.Action == Unchanged {
		wantTemplate, err := json.Marshal(want.Template)
		if err != nil {
			return change, fmt.Errorf("marshal component template %s: %w", name, err)
		}
		if componentEffect(installed.Template) != componentEffect(wantTemplate) {
			change.Action = Updated
		}
	}
	if change.Action == Unchanged {
		return change, nil
	}
	req := &putcomponenttemplate.Request{Template: want.Template, Meta_: want.Meta}
	if _, err := es.Cluster.PutComponentTemplate(name).Request(req).Do(ctx); err != nil {
		return change, fmt.Errorf("put component template %s: %w", name, err)
	}
	return change, nil
}

// installedComponent is a component template as GET _component_template
// returns it, its template kept as sent: decoding it into the typed API's
// types would drop what they do not model, and such an edit would go unseen.
type installedComponent struct {
	Template json.RawMessage `json:"template"`
	Meta     types.Metadata  `json:"_meta"`
}

// getComponent returns the component template name, and whether it exists.
func getComponent(ctx context.Context, es *elasticsearch.TypedClient, name string) (installedComponent, bool, error) {
	var c installedComponent
	res, err := es.Cluster.GetComponentTemplate().Name(name).Perform(ctx)
	if err != nil {
		return c, false, fmt.Errorf("get component template %s: %w", name, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return c, false, fmt.Errorf("get component template %s: %w", name, err)
	}
	if res.StatusCode == http.StatusNotFound {
		return c, false, nil
	}
	if res.StatusCode != http.StatusOK {
		return c, false, fmt.Errorf("get component template %s: %s: %s", name, res.Status, body)
	}
	var resp struct {
		ComponentTemplates []struct {
			ComponentTemplate installedComponent `json:"component_template"`
		} `json:"component_templates"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return c, false, fmt.Errorf("get component template %s: %w", name, err)
	}
	if len(resp.ComponentTemplates) == 0 {
		return c, false, nil
	}
	return resp.ComponentTemplates[0].ComponentTemplate, true, nil
}

// componentEffect returns what a component template's template (settings,
// mappings, aliases, lifecycle...) does, in a form that does not depend on
// how Elasticsearch spells it: settings are flattened to their full dotted
// names with string values (Elasticsearch nests them under "index" and
// answers every value as a string), everything else is compared as JSON
// values, whatever the order of keys.
func componentEffect(template json.RawMessage) string {
	var t map[string]any
	dec := json.NewDecoder(bytes.NewReader(template))
	dec.UseNumber()
	if err := dec.Decode(&t); err != nil {
		// It then compares as different: setup puts the component again, which is safe.
		return err.Error()
	}
	if settings, ok := t["settings"]; ok {
		flat := map[string]string{}
		flattenSettings(flat, "", settings)
		t["settings"] = flat
	}
	b, err := json.Marshal(t) // sorts the keys of every object
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// flattenSettings puts v, the settings under prefix, into flat by their
// dotted names without the leading "index.", every scalar as a string.
func flattenSettings(flat map[string]string, prefix string, v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			flattenSettings(flat, prefix+k+".", sub)
		}
	case string:
		flat[strings.TrimPrefix(strings.TrimSuffix(prefix, "."), "index.")] = v
	default:
		b, err := json.Marshal(v)
		if err != nil {
			b = []byte(err.Error())
		}
		flat[strings.TrimPrefix(strings.TrimSuffix(prefix, "."), "index.")] = string(b)
	}
}

func installIndexTemplate(ctx context.Context, es *elasticsearch.TypedClient, want schema.IndexTemplate) (Change, error) {
	name := schema.IndexTemplateName
	change := Change{Kind: "index template", Name: name}
	resp, err := es.Indices.GetIndexTemplate().Name(name).Do(ctx)
	if err != nil && !isNotFound(err) {
		return change, fmt.Errorf("get index template %s: %w", name, err)
	}
	found, have := false, ""
	var installed types.IndexTemplate
	if resp != nil && len(resp.IndexTemplates) > 0 {
		installed = resp.IndexTemplates[0].IndexTemplate
		found, have = true, schema.Checksum(installed.Meta_)
	}
	change.Action = decide(found, have, schema.Checksum(want.Meta))
	// The checksum only says which template setup meant to install. One
	// edited by hand with its _meta kept (kibana_system holds
	// manage_index_templates) could lose to the built-in logs-*-* template
	// or keep records for another period: put it again.
	if change.Action == Unchanged && installedTemplateEffect(installed) != templateEffect(want) {
		change.Action = Updated
	}
	if change.Action == Unchanged {
		return change, nil
	}
	priority := want.Priority
	req := &putindextemplate.Request{
		IndexPatterns: want.IndexPatterns,
		DataStream:    want.DataStream,
		ComposedOf:    want.ComposedOf,
		Priority:      &priority,
		Template:      want.Template,
		Meta_:         want.Meta,
	}
	if _, err := es.Indices.PutIndexTemplate(name).Request(req).Do(ctx); err != nil {
		return change, fmt.Errorf("put index template %s: %w", name, err)
	}
	return change, nil
}

// effect is what of an index template decides which template the activity
// data streams come from and how long they keep records.
type effect struct {
	Patterns, ComposedOf []string
	Priority             int64
	DataStream           bool
	Lifecycle            bool
	Retention            string
	Enabled              bool
	// Schema is the schema version the template stamps on new backing
	// indices (see rollOverStaleStreams).
	Schema string
	// Overrides are the settings, mappings (but the schema version) and
	// aliases of the template itself, which win over its components'.
	Overrides string
}

func templateEffect(t schema.IndexTemplate) string {
	e := effect{Patterns: t.IndexPatterns, ComposedOf: t.ComposedOf, Priority: t.Priority, DataStream: t.DataStream != nil}
	if t.Template != nil && t.Template.Lifecycle != nil {
		e.lifecycle(t.Template.Lifecycle.DataRetention, t.Template.Lifecycle.Enabled)
	}
	if t.Template != nil && t.Template.Mappings != nil {
		e.Schema = metaString(t.Template.Mappings.Meta_, metaSchema)
	}
	if t.Template != nil {
		e.Overrides = overrides(t.Template.Settings, t.Template.Mappings, t.Template.Aliases)
	}
	return e.key()
}

// installedTemplateEffect is templateEffect of a template as Elasticsearch
// returns it, which spells out the lifecycle's enabled: true.
func installedTemplateEffect(t types.IndexTemplate) string {
	e := effect{Patterns: t.IndexPatterns, ComposedOf: t.ComposedOf, DataStream: t.DataStream != nil}
	if t.Priority != nil {
		e.Priority = *t.Priority
	}
	if t.Template != nil && t.Template.Lifecycle != nil {
		e.lifecycle(t.Template.Lifecycle.DataRetention, t.Template.Lifecycle.Enabled)
	}
	if t.Template != nil && t.Template.Mappings != nil {
		e.Schema = metaString(t.Template.Mappings.Meta_, metaSchema)
	}
	if t.Template != nil {
		e.Overrides = overrides(t.Template.Settings, t.Template.Mappings, t.Template.Aliases)
	}
	return e.key()
}

// overrides describes what an index template sets itself beyond the schema
// version in its mappings' _meta: "" for none, as setup installs it. What it
// sets wins over its component templates (an index.lifecycle.name there
// would send new backing indices to another ILM policy), so it has to be
// compared, not only the checksum in _meta.
func overrides(settings *types.IndexSettings, mappings *types.TypeMapping, aliases map[string]types.Alias) string {
	var parts []string
	add := func(what string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			// It then compares as different: setup puts the template again, which is safe.
			b = []byte(err.Error())
		}
		if s := string(b); s != "{}" && s != "null" {
			parts = append(parts, what+" "+s)
		}
	}
	if settings != nil {
		add("settings", settings)
	}
	if mappings != nil {
		m := *mappings
		m.Meta_ = nil
		add("mappings", m)
	}
	if len(aliases) > 0 {
		add("aliases", aliases)
	}
	return strings.Join(parts, "; ")
}

// lifecycle notes a data stream lifecycle; enabled is true when unset.
func (e *effect) lifecycle(retention types.Duration, enabled *bool) {
	e.Lifecycle, e.Retention, e.Enabled = true, fmt.Sprint(retention), enabled == nil || *enabled
}

func (e effect) key() string { return fmt.Sprintf("%+v", e) }
