package dashboards_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/activitylog/activitylog/dashboards"
	"github.com/activitylog/activitylog/dashboards/internal/build"
	"github.com/activitylog/activitylog/schema"
)

// templateFields returns every leaf field of the index template's mappings
// (schema.Mappings, exactly what setup installs) with its type.
func templateFields(t testing.TB) map[string]schema.FieldType {
	t.Helper()
	raw, err := json.Marshal(schema.Mappings())
	if err != nil {
		t.Fatalf("marshal mappings: %v", err)
	}
	var root struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(raw, &root); err != nil {
		t.Fatalf("unmarshal mappings: %v", err)
	}
	out := map[string]schema.FieldType{}
	var walk func(prefix string, props map[string]json.RawMessage)
	walk = func(prefix string, props map[string]json.RawMessage) {
		for name, raw := range props {
			var node struct {
				Type       string                     `json:"type"`
				Properties map[string]json.RawMessage `json:"properties"`
			}
			if err := json.Unmarshal(raw, &node); err != nil {
				t.Fatalf("mapping %s%s: %v", prefix, name, err)
			}
			if node.Properties != nil {
				walk(prefix+name+".", node.Properties)
				continue
			}
			out[prefix+name] = schema.FieldType(node.Type)
		}
	}
	walk("", root.Properties)
	return out
}

func objects(t testing.TB) []dashboards.SavedObject {
	t.Helper()
	objs, err := dashboards.Objects()
	if err != nil {
		t.Fatalf("parse embedded saved objects: %v", err)
	}
	return objs
}

// use is one field a saved object uses and what it needs from the field.
type use struct {
	where string // object and place, for messages
	field string
	need  need
}

type need int

const (
	needExists       need = iota // shown or searched
	needAggregatable             // terms, sort, options list
	needDate                     // date histogram, time field
	needNumeric                  // max, min, sum, average
)

// uses extracts every field reference from the saved objects: Lens columns
// and queries, saved search columns, sort and query, dashboard controls and
// the data view's time field.
func uses(objs []dashboards.SavedObject) ([]use, error) {
	var out []use
	for _, o := range objs {
		where := o.Type + " " + o.ID
		switch o.Type {
		case "index-pattern":
			var tf string
			if err := json.Unmarshal(o.Attributes["timeFieldName"], &tf); err != nil {
				return nil, fmt.Errorf("%s: timeFieldName: %w", where, err)
			}
			out = append(out, use{where + " timeFieldName", tf, needDate})
		case "lens":
			var state struct {
				DatasourceStates struct {
					FormBased struct {
						Layers map[string]struct {
							Columns map[string]struct {
								OperationType string `json:"operationType"`
								SourceField   string `json:"sourceField"`
							} `json:"columns"`
						} `json:"layers"`
					} `json:"formBased"`
				} `json:"datasourceStates"`
				Query struct {
					Query string `json:"query"`
				} `json:"query"`
			}
			if err := json.Unmarshal(o.Attributes["state"], &state); err != nil {
				return nil, fmt.Errorf("%s: state: %w", where, err)
			}
			for lid, layer := range state.DatasourceStates.FormBased.Layers {
				for cid, c := range layer.Columns {
					w := fmt.Sprintf("%s column %s/%s (%s)", where, lid, cid, c.OperationType)
					switch c.OperationType {
					case "count":
						if c.SourceField != "___records___" {
							out = append(out, use{w, c.SourceField, needExists})
						}
					case "date_histogram":
						out = append(out, use{w, c.SourceField, needDate})
					case "max", "min", "sum", "average", "median":
						out = append(out, use{w, c.SourceField, needNumeric})
					case "terms", "unique_count", "last_value":
						out = append(out, use{w, c.SourceField, needAggregatable})
					default:
						return nil, fmt.Errorf("%s: operation the check does not know", w)
					}
				}
			}
			for _, f := range kqlFields(state.Query.Query) {
				out = append(out, use{where + " query", f, needExists})
			}
		case "search":
			var columns []string
			var sort [][]string
			if err := json.Unmarshal(o.Attributes["columns"], &columns); err != nil {
				return nil, fmt.Errorf("%s: columns: %w", where, err)
			}
			if err := json.Unmarshal(o.Attributes["sort"], &sort); err != nil {
				return nil, fmt.Errorf("%s: sort: %w", where, err)
			}
			for _, c := range columns {
				out = append(out, use{where + " column", c, needExists})
			}
			for _, s := range sort {
				if len(s) != 2 {
					return nil, fmt.Errorf("%s: sort %v is not [field, direction]", where, s)
				}
				out = append(out, use{where + " sort", s[0], needAggregatable})
			}
			src, err := searchSource(o)
			if err != nil {
				return nil, err
			}
			for _, f := range kqlFields(src.Query.Query) {
				out = append(out, use{where + " query", f, needExists})
			}
		case "dashboard":
			controls, err := controlPanels(o)
			if err != nil {
				return nil, err
			}
			for id, c := range controls {
				out = append(out, use{where + " control " + id, c.ExplicitInput.FieldName, needAggregatable})
			}
		}
	}
	return out, nil
}

// kqlFieldRE matches the field of each "field : value" clause; the
// generator writes queries only in that form.
var kqlFieldRE = regexp.MustCompile(`([A-Za-z0-9_@][A-Za-z0-9_.@]*)\s*:`)

func kqlFields(q string) []string {
	var out []string
	for _, m := range kqlFieldRE.FindAllStringSubmatch(q, -1) {
		out = append(out, m[1])
	}
	return out
}

type searchSourceJSON struct {
	Query struct {
		Query string `json:"query"`
	} `json:"query"`
	IndexRefName string `json:"indexRefName"`
}

func searchSource(o dashboards.SavedObject) (searchSourceJSON, error) {
	var meta struct {
		SearchSourceJSON string `json:"searchSourceJSON"`
	}
	var src searchSourceJSON
	if err := json.Unmarshal(o.Attributes["kibanaSavedObjectMeta"], &meta); err != nil {
		return src, fmt.Errorf("%s %s: kibanaSavedObjectMeta: %w", o.Type, o.ID, err)
	}
	if err := json.Unmarshal([]byte(meta.SearchSourceJSON), &src); err != nil {
		return src, fmt.Errorf("%s %s: searchSourceJSON: %w", o.Type, o.ID, err)
	}
	return src, nil
}

type controlPanel struct {
	Type          string `json:"type"`
	ExplicitInput struct {
		FieldName string `json:"fieldName"`
		Title     string `json:"title"`
	} `json:"explicitInput"`
}

func controlPanels(o dashboards.SavedObject) (map[string]controlPanel, error) {
	var cg struct {
		PanelsJSON string `json:"panelsJSON"`
	}
	if raw, ok := o.Attributes["controlGroupInput"]; ok {
		if err := json.Unmarshal(raw, &cg); err != nil {
			return nil, fmt.Errorf("dashboard %s: controlGroupInput: %w", o.ID, err)
		}
	}
	controls := map[string]controlPanel{}
	if cg.PanelsJSON == "" {
		return controls, nil
	}
	if err := json.Unmarshal([]byte(cg.PanelsJSON), &controls); err != nil {
		return nil, fmt.Errorf("dashboard %s: control panelsJSON: %w", o.ID, err)
	}
	return controls, nil
}

type dashboardPanel struct {
	Type         string `json:"type"`
	PanelIndex   string `json:"panelIndex"`
	PanelRefName string `json:"panelRefName"`
	GridData     struct {
		X, Y, W, H int
		I          string
	} `json:"gridData"`
}

func dashboardPanels(o dashboards.SavedObject) ([]dashboardPanel, error) {
	var s string
	if err := json.Unmarshal(o.Attributes["panelsJSON"], &s); err != nil {
		return nil, fmt.Errorf("dashboard %s: panelsJSON: %w", o.ID, err)
	}
	var panels []dashboardPanel
	if err := json.Unmarshal([]byte(s), &panels); err != nil {
		return nil, fmt.Errorf("dashboard %s: panelsJSON content: %w", o.ID, err)
	}
	return panels, nil
}

// checkFields returns one error per field use that the template does not
// satisfy.
func checkFields(objs []dashboards.SavedObject, fields map[string]schema.FieldType) []error {
	us, err := uses(objs)
	if err != nil {
		return []error{err}
	}
	var errs []error
	for _, u := range us {
		typ, ok := fields[u.field]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: field %q is not in the index template", u.where, u.field))
			continue
		}
		var bad bool
		switch u.need {
		case needAggregatable:
			bad = !typ.Aggregatable() || typ == schema.TypeFlattened
		case needDate:
			bad = typ != schema.TypeDate && typ != schema.TypeDateNanos
		case needNumeric:
			bad = typ != schema.TypeLong
		}
		if bad {
			errs = append(errs, fmt.Errorf("%s: field %q has type %s, which this use cannot aggregate", u.where, u.field, typ))
		}
	}
	return errs
}

// checkReferences returns one error per reference that does not resolve and
// per panel, control, layer or search source without its reference.
func checkReferences(objs []dashboards.SavedObject) []error {
	var errs []error
	byKey := map[[2]string]bool{}
	for _, o := range objs {
		byKey[[2]string{o.Type, o.ID}] = true
	}
	for _, o := range objs {
		refs := map[string]dashboards.Reference{}
		for _, r := range o.References {
			if !byKey[[2]string{r.Type, r.ID}] {
				errs = append(errs, fmt.Errorf("%s %s: reference %s to %s %s does not resolve", o.Type, o.ID, r.Name, r.Type, r.ID))
			}
			refs[r.Name] = r
		}
		wantRef := func(name, typ string) {
			r, ok := refs[name]
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("%s %s: no reference named %s", o.Type, o.ID, name))
			case r.Type != typ:
				errs = append(errs, fmt.Errorf("%s %s: reference %s: got type %s, want %s", o.Type, o.ID, name, r.Type, typ))
			}
		}
		switch o.Type {
		case "lens":
			var state struct {
				DatasourceStates struct {
					FormBased struct {
						Layers map[string]json.RawMessage `json:"layers"`
					} `json:"formBased"`
				} `json:"datasourceStates"`
			}
			if err := json.Unmarshal(o.Attributes["state"], &state); err != nil {
				errs = append(errs, fmt.Errorf("lens %s: state: %w", o.ID, err))
				continue
			}
			if len(state.DatasourceStates.FormBased.Layers) == 0 {
				errs = append(errs, fmt.Errorf("lens %s: no layers", o.ID))
			}
			for id := range state.DatasourceStates.FormBased.Layers {
				wantRef("indexpattern-datasource-layer-"+id, "index-pattern")
			}
		case "search":
			src, err := searchSource(o)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			wantRef(src.IndexRefName, "index-pattern")
		case "dashboard":
			panels, err := dashboardPanels(o)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for _, p := range panels {
				if p.PanelRefName == "" {
					errs = append(errs, fmt.Errorf("dashboard %s: panel %s has no panelRefName", o.ID, p.PanelIndex))
					continue
				}
				wantRef(p.PanelIndex+":"+p.PanelRefName, p.Type)
			}
			controls, err := controlPanels(o)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for id, c := range controls {
				if c.Type != "optionsListControl" {
					errs = append(errs, fmt.Errorf("dashboard %s: control %s: got type %s, want optionsListControl", o.ID, id, c.Type))
				}
				wantRef("controlGroup_"+id+":optionsListDataView", "index-pattern")
			}
		}
	}
	return errs
}

// TestFieldsMatchTemplate is the dashboard/mapping consistency check: every
// field a panel, saved search, control or the data view uses exists in the
// index template, with a type the use can aggregate.
func TestFieldsMatchTemplate(t *testing.T) {
	objs := objects(t)
	fields := templateFields(t)
	us, err := uses(objs)
	if err != nil {
		t.Fatal(err)
	}
	if len(us) < 40 {
		t.Fatalf("got %d field uses, want at least 40: the extraction is missing panels", len(us))
	}
	for _, err := range checkFields(objs, fields) {
		t.Error(err)
	}
}

// TestReferencesResolve checks that every reference points at an object in
// the NDJSON, and every panel, control, Lens layer and saved search has the
// reference Kibana looks it up by.
func TestReferencesResolve(t *testing.T) {
	for _, err := range checkReferences(objects(t)) {
		t.Error(err)
	}
}

// TestChecksCatchMistakes proves the two checks above are not vacuous: each
// broken copy of the objects must be reported.
func TestChecksCatchMistakes(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(ndjson string) string
		wantErr string
	}{
		{"unknown field", func(s string) string {
			return strings.Replace(s, `"sourceField":"attributes.user.name"`, `"sourceField":"attributes.user.nickname"`, 1)
		}, "not in the index template"},
		{"terms on a text field", func(s string) string {
			return strings.Replace(s, `"sourceField":"attributes.user.name"`, `"sourceField":"body.text"`, 1)
		}, "cannot aggregate"},
		{"max on a keyword", func(s string) string {
			return strings.Replace(s, `"sourceField":"attributes.activity.alert.count"`, `"sourceField":"attributes.activity.alert.key"`, 1)
		}, "cannot aggregate"},
		{"control on a text field", func(s string) string {
			return strings.Replace(s, `\"fieldName\":\"attributes.activity.category\"`, `\"fieldName\":\"body.text\"`, 1)
		}, "cannot aggregate"},
		{"field in a query", func(s string) string {
			return strings.Replace(s, `attributes.activity.event : \"login_failed\"`, `attributes.activity.evnt : \"login_failed\"`, 1)
		}, "not in the index template"},
		{"dangling panel reference", func(s string) string {
			return strings.Replace(s, `"type":"lens","id":"activitylog-event-types"`, `"type":"lens","id":"activitylog-event-types-renamed"`, 1)
		}, "does not resolve"},
		{"panel without reference", func(s string) string {
			return strings.Replace(s, `{"name":"panel-1:panel_panel-1",`, `{"name":"panel-1:panel_other",`, 1)
		}, "no reference named panel-1:panel_panel-1"},
		{"data view renamed", func(s string) string {
			return strings.Replace(s, `"id":"activitylog-data-view","attributes"`, `"id":"activitylog-data-view-2","attributes"`, 1)
		}, "does not resolve"},
	}
	b, err := dashboards.NDJSON()
	if err != nil {
		t.Fatal(err)
	}
	fields := templateFields(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mutated := tt.mutate(string(b))
			if mutated == string(b) {
				t.Fatal("the mutation did not apply; update the test to the current NDJSON")
			}
			objs, err := dashboards.Parse([]byte(mutated))
			if err != nil {
				t.Fatalf("parse mutated NDJSON: %v", err)
			}
			errs := append(checkFields(objs, fields), checkReferences(objs)...)
			if !slices.ContainsFunc(errs, func(e error) bool { return strings.Contains(e.Error(), tt.wantErr) }) {
				t.Fatalf("got errors %v, want one containing %q", errs, tt.wantErr)
			}
		})
	}
}

// TestDashboardsContent checks the objects the issue asks for are there.
func TestDashboardsContent(t *testing.T) {
	objs := objects(t)
	byID := map[string]dashboards.SavedObject{}
	for _, o := range objs {
		byID[o.ID] = o
	}
	attr := func(o dashboards.SavedObject, name string) string {
		var s string
		if err := json.Unmarshal(o.Attributes[name], &s); err != nil {
			t.Fatalf("%s %s: attribute %s: %v", o.Type, o.ID, name, err)
		}
		return s
	}

	dv, ok := byID[build.DataViewID]
	if !ok || dv.Type != "index-pattern" {
		t.Fatalf("no index-pattern %s", build.DataViewID)
	}
	if got := attr(dv, "title"); got != schema.IndexPattern {
		t.Errorf("data view title: got %q, want %q", got, schema.IndexPattern)
	}
	if got := attr(dv, "timeFieldName"); got != schema.FieldTimestamp {
		t.Errorf("data view time field: got %q, want %q", got, schema.FieldTimestamp)
	}

	tests := []struct {
		id, title    string
		panelTitles  []string
		controlField []string
	}{
		{
			build.OverviewDashboardID, "Activity overview",
			[]string{"Activity over time", "Event types", "Categories", "Most active users", "Authentication statistics", "Latest activity records"},
			[]string{schema.Path(schema.AttrCategory), schema.Path(schema.AttrEvent), schema.Path(schema.AttrActorType), schema.Path(schema.AttrSubjectType)},
		},
		{
			build.SecurityDashboardID, "Security monitoring",
			[]string{
				"Failed logins over time", "Top source IPs of failed logins", "Top user names of failed logins", "Burst alerts",
				"OTP requests versus verifications", "Password changes and resets", "Logins by user type", "Failed-login burst alerts",
				// What admins did, and who changed what: a security team's
				// first questions after a burst.
				"Admin actions", "Changes by actor",
			},
			[]string{schema.Path(schema.AttrTenantID), schema.Path(schema.AttrActorType)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			d, ok := byID[tt.id]
			if !ok || d.Type != "dashboard" {
				t.Fatalf("no dashboard %s", tt.id)
			}
			if got := attr(d, "title"); got != tt.title {
				t.Errorf("title: got %q, want %q", got, tt.title)
			}
			panels, err := dashboardPanels(d)
			if err != nil {
				t.Fatal(err)
			}
			refs := map[string]string{}
			for _, r := range d.References {
				refs[r.Name] = r.ID
			}
			var titles []string
			for _, p := range panels {
				if p.GridData.X < 0 || p.GridData.W <= 0 || p.GridData.X+p.GridData.W > 48 || p.GridData.H <= 0 {
					t.Errorf("panel %s: grid %+v does not fit the 48-column grid", p.PanelIndex, p.GridData)
				}
				if p.GridData.I != p.PanelIndex {
					t.Errorf("panel %s: got gridData.i %q, want the panel index", p.PanelIndex, p.GridData.I)
				}
				if o, ok := byID[refs[p.PanelIndex+":"+p.PanelRefName]]; ok {
					titles = append(titles, attr(o, "title"))
				}
			}
			for _, want := range tt.panelTitles {
				if !slices.Contains(titles, want) {
					t.Errorf("panels %q: want one titled %q", titles, want)
				}
			}
			controls, err := controlPanels(d)
			if err != nil {
				t.Fatal(err)
			}
			var fields []string
			for _, c := range controls {
				fields = append(fields, c.ExplicitInput.FieldName)
			}
			for _, want := range tt.controlField {
				if !slices.Contains(fields, want) {
					t.Errorf("controls on %q: want one on %q", fields, want)
				}
			}
		})
	}
}

// TestAuthPanelsShowPasswordEvents proves that password changes, reset
// requests and resets are shown with the other authentication events: the
// overview's authentication panel selects every schema.AuthEvents event,
// the security dashboard's password panel selects the password events, and
// the admin actions panel, which leaves signing in out, keeps them (an
// admin resetting someone's password is an admin action).
func TestAuthPanelsShowPasswordEvents(t *testing.T) {
	queries := map[string]string{}
	for _, o := range objects(t) {
		if o.Type != "lens" {
			continue
		}
		var state struct {
			Query struct {
				Query string `json:"query"`
			} `json:"query"`
		}
		if err := json.Unmarshal(o.Attributes["state"], &state); err != nil {
			t.Fatalf("lens %s: state: %v", o.ID, err)
		}
		queries[o.ID] = state.Query.Query
	}
	clause := func(event string) string { return fmt.Sprintf("%s : %q", schema.Path(schema.AttrEvent), event) }
	for _, e := range schema.AuthEvents() {
		if q := queries["activitylog-authentication"]; !strings.Contains(q, clause(e)) {
			t.Errorf("authentication panel query %q: want it to select %s", q, e)
		}
	}
	for _, e := range []string{schema.EventPasswordChanged, schema.EventPasswordResetRequested, schema.EventPasswordReset} {
		if q := queries["activitylog-password-changes-and-resets"]; !strings.Contains(q, clause(e)) {
			t.Errorf("password panel query %q: want it to select %s", q, e)
		}
		if q := queries["activitylog-admin-actions"]; strings.Contains(q, clause(e)) {
			t.Errorf("admin actions query %q: want %s kept, not left out", q, e)
		}
	}
}

// TestGeneratedFileUpToDate fails when activitylog.ndjson differs from what
// the generator builds now: run `go generate ./dashboards`.
func TestGeneratedFileUpToDate(t *testing.T) {
	want, err := build.NDJSON()
	if err != nil {
		t.Fatal(err)
	}
	got, err := dashboards.NDJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("dashboards/activitylog.ndjson is stale: run `go generate ./dashboards`")
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int
		wantErr bool
	}{
		{"empty", "", 0, false},
		{"blank lines", "\n\n  \n", 0, false},
		{"one", `{"type":"lens","id":"a","attributes":{},"references":[]}`, 1, false},
		{"two with blank line", "{\"type\":\"lens\",\"id\":\"a\",\"attributes\":{}}\n\n{\"type\":\"lens\",\"id\":\"b\",\"attributes\":{}}\n", 2, false},
		{"no type", `{"id":"a","attributes":{}}`, 0, true},
		{"no id", `{"type":"lens","attributes":{}}`, 0, true},
		{"no attributes", `{"type":"lens","id":"a"}`, 0, true},
		{"attributes not an object", `{"type":"lens","id":"a","attributes":[]}`, 0, true},
		{"reference without id", `{"type":"lens","id":"a","attributes":{},"references":[{"name":"x","type":"index-pattern"}]}`, 0, true},
		{"duplicate", "{\"type\":\"lens\",\"id\":\"a\",\"attributes\":{}}\n{\"type\":\"lens\",\"id\":\"a\",\"attributes\":{}}", 0, true},
		{"two values on a line", `{"type":"lens","id":"a","attributes":{}} {}`, 0, true},
		{"not json", `type: lens`, 0, true},
		{"truncated", `{"type":"lens","id":"a","attributes":{`, 0, true},
		{"line too long", `{"type":"lens","id":"` + strings.Repeat("a", dashboards.MaxLineBytes) + `","attributes":{}}`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dashboards.Parse([]byte(tt.in))
			if tt.wantErr {
				if !errors.Is(err, dashboards.ErrInvalid) {
					t.Fatalf("got error %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if len(got) != tt.want {
				t.Fatalf("got %d objects, want %d", len(got), tt.want)
			}
		})
	}
}

// FuzzParse checks Parse never panics and that what it accepts survives a
// round trip through JSON unchanged: each object, marshalled, parsed again
// and marshalled again, comes out byte for byte as it went in. (Marshalled
// bytes, not the structs, are compared because an attribute's raw JSON is
// compacted by the first marshal.)
func FuzzParse(f *testing.F) {
	b, err := dashboards.NDJSON()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"type":"lens","id":"a","attributes":{},"references":[{"name":"n","type":"t","id":"i"}]}`))
	f.Add([]byte("{}\n{\"type\":1}"))
	f.Fuzz(func(t *testing.T, in []byte) {
		objs, err := dashboards.Parse(in)
		if err != nil {
			if !errors.Is(err, dashboards.ErrInvalid) {
				t.Fatalf("got error %v, want one wrapping ErrInvalid", err)
			}
			return
		}
		var again bytes.Buffer
		lines := make([][]byte, len(objs))
		for i, o := range objs {
			line, err := json.Marshal(o)
			if err != nil {
				t.Fatalf("marshal parsed object: %v", err)
			}
			lines[i] = line
			again.Write(line)
			again.WriteByte('\n')
		}
		objs2, err := dashboards.Parse(again.Bytes())
		if err != nil {
			t.Fatalf("re-parse of accepted input: %v", err)
		}
		if len(objs2) != len(objs) {
			t.Fatalf("round trip: got %d objects, want %d", len(objs2), len(objs))
		}
		for i, o := range objs2 {
			line, err := json.Marshal(o)
			if err != nil {
				t.Fatalf("marshal re-parsed object: %v", err)
			}
			if !bytes.Equal(line, lines[i]) {
				t.Fatalf("round trip of object %d: got %s, want %s", i, line, lines[i])
			}
		}
	})
}
