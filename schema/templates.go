package schema

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/dynamicmapping"
)

// Names of the Elasticsearch objects the schema installs.
const (
	// IndexTemplateName is the composable index template for IndexPattern.
	IndexTemplateName = "activitylog"
	// MappingsComponentName is the component template holding the mappings.
	MappingsComponentName = "activitylog-mappings"
	// SettingsComponentName is the component template holding index settings.
	SettingsComponentName = "activitylog-settings"
	// ILMPolicyName is the ILM policy attached where the cluster has ILM.
	ILMPolicyName = "activitylog-retention"
	// TemplatePriority beats the stack's built-in logs-*-* (100) and
	// logs-*.otel-* templates, so our mappings win for the activity dataset.
	TemplatePriority = 500
	// MetaChecksum is the _meta key holding the checksum of what setup
	// installed, which is how a second setup run knows nothing changed.
	MetaChecksum = "activitylog_checksum"
	// MetaManagedBy marks objects installed by activitylog.
	MetaManagedBy = "managed_by"
)

// DefaultRetention is how long records are kept unless configured otherwise.
const DefaultRetention = 365 * 24 * time.Hour

// Options choose between the variants of the schema.
type Options struct {
	// Retention is how long records are kept; zero means DefaultRetention.
	// It must be a whole number of days.
	Retention time.Duration
	// ILM attaches ILMPolicyName to the backing indices. Set it when the
	// cluster answers GET _ilm/status; otherwise the index template carries a
	// data stream lifecycle with the same retention.
	ILM bool
}

func (o Options) retention() time.Duration {
	if o.Retention <= 0 {
		return DefaultRetention
	}
	return o.Retention
}

// RetentionDays returns the retention in whole days.
func (o Options) RetentionDays() int { return int(o.retention() / (24 * time.Hour)) }

// Validate reports whether the options can be installed.
func (o Options) Validate() error {
	r := o.retention()
	if r%(24*time.Hour) != 0 {
		return fmt.Errorf("retention %s is not a whole number of days", r)
	}
	return nil
}

// Mappings returns the activity document mappings built from Fields.
//
// Unknown keys cannot break indexing: the root and both attribute objects are
// dynamic=false, so a key nobody mapped is kept in _source (and shown in
// Kibana's document view) but never creates a mapping. The attribute objects
// are passthrough objects, which do not split dotted names into sub-objects,
// so an emitter sending both "user" and "user.id" cannot cause an
// object-versus-value conflict. Mapped keywords ignore values above
// ignoreAbove characters and ip, long and date fields ignore malformed values
// rather than rejecting the document.
func Mappings() *types.TypeMapping {
	no := dynamicmapping.False
	attrPriority, resourcePriority := 20, 10
	attributes := &types.PassthroughObjectProperty{
		Type: "passthrough", Dynamic: &no, Priority: &attrPriority, Properties: map[string]types.Property{},
	}
	resourceAttributes := &types.PassthroughObjectProperty{
		Type: "passthrough", Dynamic: &no, Priority: &resourcePriority, Properties: map[string]types.Property{},
	}
	root := map[string]types.Property{
		"attributes": attributes,
		"resource": &types.ObjectProperty{Type: "object", Dynamic: &no, Properties: map[string]types.Property{
			"attributes": resourceAttributes,
		}},
	}
	for _, f := range Fields() {
		switch {
		case strings.HasPrefix(f.Path, resourcePrefix):
			resourceAttributes.Properties[strings.TrimPrefix(f.Path, resourcePrefix)] = property(f.Type)
		case strings.HasPrefix(f.Path, attributesPrefix):
			attributes.Properties[strings.TrimPrefix(f.Path, attributesPrefix)] = property(f.Type)
		default:
			putObjectPath(root, f.Path, property(f.Type), &no)
		}
	}
	return &types.TypeMapping{Dynamic: &no, Properties: root}
}

// putObjectPath places p at a dotted path, creating non-dynamic objects on the way.
func putObjectPath(props map[string]types.Property, path string, p types.Property, dynamic *dynamicmapping.DynamicMapping) {
	head, rest, nested := strings.Cut(path, ".")
	if !nested {
		props[head] = p
		return
	}
	obj, ok := props[head].(*types.ObjectProperty)
	if !ok {
		obj = &types.ObjectProperty{Type: "object", Dynamic: dynamic, Properties: map[string]types.Property{}}
		props[head] = obj
	}
	putObjectPath(obj.Properties, rest, p, dynamic)
}

// Settings returns the index settings component.
func Settings(o Options) *types.IndexSettings {
	codec := "best_compression"
	s := &types.IndexSettings{
		Codec: &codec,
		// One replica where there is a second node to hold it, none on a
		// single node (which would otherwise stay yellow forever).
		AutoExpandReplicas: "0-1",
	}
	if o.ILM {
		name := ILMPolicyName
		s.Lifecycle = &types.IndexSettingsLifecycle{Name: &name}
	}
	return s
}

// ILMPolicy returns the retention policy: roll the write index over daily (or
// at 50 GB per primary shard) and delete a backing index once it is older than
// the retention, counted from its rollover. With daily rollover a record is
// deleted between Retention and Retention plus one day after it was written.
func ILMPolicy(o Options) *types.IlmPolicy {
	p := &types.IlmPolicy{
		Meta_: managedMeta(),
		Phases: types.Phases{
			Hot: &types.Phase{
				MinAge: "0ms",
				Actions: &types.IlmActions{Rollover: &types.RolloverAction{
					MaxAge: "1d", MaxPrimaryShardSize: "50gb",
				}},
			},
			Delete: &types.Phase{
				MinAge:  fmt.Sprintf("%dd", o.RetentionDays()),
				Actions: &types.IlmActions{Delete: &types.DeleteAction{}},
			},
		},
	}
	p.Meta_[MetaChecksum] = checksum(p)
	return p
}

// Lifecycle returns the data stream lifecycle used where the cluster has no
// ILM: Elasticsearch deletes backing indices older than the retention.
func Lifecycle(o Options) *types.DataStreamLifecycle {
	return &types.DataStreamLifecycle{DataRetention: fmt.Sprintf("%dd", o.RetentionDays())}
}

// ComponentTemplate is a component template's body.
type ComponentTemplate struct {
	Template types.IndexTemplateMapping `json:"template"`
	Meta     types.Metadata             `json:"_meta,omitempty"`
}

// IndexTemplate is the composable index template's body.
type IndexTemplate struct {
	IndexPatterns []string                    `json:"index_patterns"`
	DataStream    *types.DataStreamVisibility `json:"data_stream"`
	ComposedOf    []string                    `json:"composed_of"`
	Priority      int64                       `json:"priority"`
	Template      *types.IndexTemplateMapping `json:"template,omitempty"`
	Meta          types.Metadata              `json:"_meta,omitempty"`
}

// Components returns the component templates by name.
func Components(o Options) map[string]ComponentTemplate {
	return map[string]ComponentTemplate{
		MappingsComponentName: withChecksum(ComponentTemplate{Template: types.IndexTemplateMapping{Mappings: Mappings()}}),
		SettingsComponentName: withChecksum(ComponentTemplate{Template: types.IndexTemplateMapping{Settings: Settings(o)}}),
	}
}

// Template returns the composable index template for the activity data streams.
func Template(o Options) IndexTemplate {
	t := IndexTemplate{
		IndexPatterns: []string{IndexPattern},
		DataStream:    &types.DataStreamVisibility{},
		ComposedOf:    []string{SettingsComponentName, MappingsComponentName},
		Priority:      TemplatePriority,
	}
	if !o.ILM {
		t.Template = &types.IndexTemplateMapping{Lifecycle: Lifecycle(o)}
	}
	t.Meta = managedMeta()
	t.Meta[MetaChecksum] = checksum(t)
	return t
}

func withChecksum(c ComponentTemplate) ComponentTemplate {
	c.Meta = managedMeta()
	c.Meta[MetaChecksum] = checksum(c)
	return c
}

// Checksum returns the checksum recorded in an installed object's _meta, or
// "" when it has none (it was not installed by activitylog setup).
func Checksum(meta types.Metadata) string {
	var s string
	if err := json.Unmarshal(meta[MetaChecksum], &s); err != nil {
		return ""
	}
	return s
}

func managedMeta() types.Metadata {
	return types.Metadata{MetaManagedBy: json.RawMessage(`"activitylog"`)}
}

// checksum hashes the JSON form of v (with only managedMeta in its _meta), so
// setup can tell an installed object that matches from one to update. It is
// stored JSON-encoded, ready for a _meta value.
func checksum(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value hashed here is built from the static types above, which
		// always marshal; an empty checksum would only make setup reinstall.
		return json.RawMessage(`""`)
	}
	sum := sha256.Sum256(b)
	return json.RawMessage(`"` + hex.EncodeToString(sum[:16]) + `"`)
}
