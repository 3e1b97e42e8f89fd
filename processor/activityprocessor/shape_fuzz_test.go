package activityprocessor

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/activitylog/activitylog/internal/rawotlp"
	"github.com/activitylog/activitylog/schema"
)

// FuzzDocumentShape sends records whose attributes (and resource
// attributes) are any JSON object, repeated keys included, through the
// processor, and checks the output for the shapes that made Elasticsearch
// refuse a document or read it wrong: a repeated key at any level, a blank
// key, a map under a dotted prefix of a mapped attribute, a geo.location
// beside the pair the exporter writes as geo.location, a tenant that is not
// one string.
func FuzzDocumentShape(f *testing.F) {
	f.Add(`{"a":"1","a":{"b":2,"b":3}}`, `{"service.name":"x","service.name":"y"}`)
	f.Add(`{"activity":{"tenant":{"id":"globex"}},"activity.tenant.id":"acme"," ":"blank","":"empty"}`, `{"service":{"name":"z"}}`)
	f.Add(`{"geo.location":"Berlin","geo.location.lat":52.5,"geo.location.lon":13.25,"c.geo.location":[1],"c.geo.location.lat":1.5,"c.geo.location.lon":2.5}`, `{}`)
	f.Add(`{"activity.changes":{"f":{"old":"x","old":"y"},"f":{}},"user":[{"name":"m"}],"empty_key":"mine","\t":"tab"}`, `{"\u3000":"wide"}`)
	f.Add(`{"activity.tenant.id":{"x":1},"client.address":"203.0.113.9:80","activity.event":"login_failed"}`, `{"activity.tenant.id":"Beta "}`)
	f.Fuzz(func(t *testing.T, doc, resDoc string) {
		attrs, err := rawotlp.Attributes(doc)
		if err != nil {
			t.Skip("not a JSON object")
		}
		res, err := rawotlp.Attributes(resDoc)
		if err != nil {
			res = pcommon.NewMap()
		}
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		res.CopyTo(rl.Resource().Attributes())
		lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.SetTimestamp(goldenTS)
		attrs.CopyTo(lr.Attributes())
		lr.Body().SetEmptyMap()
		attrs.CopyTo(lr.Body().Map())

		p := newTestLogs(t, createDefaultConfig(), func() (now time.Time) { return goldenNow }, nil)
		out, err := p.processLogs(context.Background(), ld)
		if err != nil && !errors.Is(err, processorhelper.ErrSkipProcessingData) {
			t.Fatal(err)
		}
		if p := repeatedKeyInLogs(out); p != "" {
			t.Errorf("the output repeats the key %s", p)
		}
		for _, rl := range out.ResourceLogs().All() {
			checkShape(t, "resource", rl.Resource().Attributes(), p.resPrefixes)
			for _, sl := range rl.ScopeLogs().All() {
				checkShape(t, "scope", sl.Scope().Attributes(), nil)
				for _, lr := range sl.LogRecords().All() {
					a := lr.Attributes()
					checkShape(t, "record", a, p.prefixes)
					if v, ok := a.Get(schema.AttrTenantID); !ok || v.Type() != pcommon.ValueTypeStr || v.Str() == "" {
						t.Errorf("record tenant: got %v (present %v), want one string", v.AsRaw(), ok)
					}
				}
			}
		}
	})
}

// checkShape checks one attribute map of the output against the shapes
// FuzzDocumentShape describes.
func checkShape(t *testing.T, where string, m pcommon.Map, prefixes map[string]bool) {
	t.Helper()
	for k, v := range m.All() {
		if isBlank(k) {
			t.Errorf("%s: blank key %q", where, k)
		}
		if prefixes[k] && holdsMap(v) {
			t.Errorf("%s: a map under %q, a prefix of mapped attributes", where, k)
		}
	}
	for _, p := range geoPairs(m) {
		if _, ok := m.Get(p + geoLocation); ok {
			t.Errorf("%s: %s beside the pair the exporter writes under the same name", where, p+geoLocation)
		}
	}
}
