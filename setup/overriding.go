package setup

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/activitylog/activitylog/schema"
)

// OverridingTemplate is an index template of higher priority than
// schema.IndexTemplateName whose patterns match some activity data stream
// name: Elasticsearch creates such a stream (and each of its later backing
// indices) from it, with its settings, mappings and retention, not the
// activity schema's. An operator may mean it (a namespace of their own); it
// may also be a forgotten one, or one put by a user holding
// manage_index_templates (kibana_system does) to keep records for another
// period. Install reports it and leaves it alone.
type OverridingTemplate struct {
	// Name is the template's name.
	Name string
	// Priority is the template's priority, above schema.TemplatePriority.
	Priority int64
	// Patterns are the template's index patterns.
	Patterns []string
}

// String describes the template for a warning.
func (o OverridingTemplate) String() string {
	return fmt.Sprintf("index template %s (priority %d, index_patterns [%s]) takes precedence over %s (priority %d) "+
		"for the activity data streams it matches: they get its settings, mappings and retention, not the activity schema's",
		o.Name, o.Priority, strings.Join(o.Patterns, " "), schema.IndexTemplateName, schema.TemplatePriority)
}

// overridingTemplates lists, by name, the index templates that take
// precedence over schema.IndexTemplateName for some name it matches.
// Elasticsearch picks the matching template of highest priority and refuses
// two overlapping templates of equal priority, so these are the ones of
// higher priority with a pattern that some activity data stream name also
// matches.
func overridingTemplates(ctx context.Context, es *elasticsearch.TypedClient) ([]OverridingTemplate, error) {
	resp, err := es.Indices.GetIndexTemplate().Do(ctx)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list the index templates (GET _index_template): %w", err)
	}
	var found []OverridingTemplate
	for _, t := range resp.IndexTemplates {
		priority := int64(0)
		if t.IndexTemplate.Priority != nil {
			priority = *t.IndexTemplate.Priority
		}
		if t.Name == schema.IndexTemplateName || priority <= schema.TemplatePriority {
			continue
		}
		if slices.ContainsFunc(t.IndexTemplate.IndexPatterns, func(p string) bool { return patternsOverlap(p, schema.IndexPattern) }) {
			found = append(found, OverridingTemplate{Name: t.Name, Priority: priority, Patterns: t.IndexTemplate.IndexPatterns})
		}
	}
	slices.SortFunc(found, func(a, b OverridingTemplate) int { return strings.Compare(a.Name, b.Name) })
	return found, nil
}

// patternsOverlap reports whether some index name matches both a and b,
// index patterns in which '*' stands for any run of characters (the only
// wildcard Elasticsearch's index patterns have).
func patternsOverlap(a, b string) bool {
	// seen[i][j] marks the pair of positions (a[i:], b[j:]) already
	// explored: the search visits each pair once, O(len(a)*len(b)).
	seen := make([][]bool, len(a)+1)
	for i := range seen {
		seen[i] = make([]bool, len(b)+1)
	}
	var overlap func(i, j int) bool
	overlap = func(i, j int) bool {
		if seen[i][j] {
			return false
		}
		seen[i][j] = true
		switch {
		case i == len(a) && j == len(b):
			return true
		case i < len(a) && a[i] == '*':
			// a's '*' matches nothing more, or also what b[j] matches.
			return overlap(i+1, j) || (j < len(b) && overlap(i, j+1))
		case j < len(b) && b[j] == '*':
			return overlap(i, j+1) || (i < len(a) && overlap(i+1, j))
		case i < len(a) && j < len(b) && a[i] == b[j]:
			return overlap(i+1, j+1)
		}
		return false
	}
	return overlap(0, 0)
}
