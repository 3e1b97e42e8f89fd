package activityprocessor

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/activitylog/activitylog/schema"
)

// TestTenantFromListAndMapValues proves that a tenant attribute holding a
// list is read item by item and one holding a map names no tenant, whether
// the tenant is noted during the walk or looked up after it (a moved
// client.address turns the noting off), and that a token bound to acme may
// write a record tagged ["acme"]. Before, the processor tagged such records
// with their JSON text, `["acme"]` or `{"id":"acme"}`: a tenant no partner
// reads, that the bound token could not write, and that the missing policy
// never saw.
func TestTenantFromListAndMapValues(t *testing.T) {
	bound := client.NewContext(context.Background(), client.Info{Auth: ingestAuth{tenants: []string{"acme"}}})
	for _, tt := range []struct {
		name  string
		value any
		want  string // tenant stored, or "" for a record dropped
	}{
		{"list of one", []any{" Acme"}, "acme"},
		{"list of one, twice", []any{"acme", "ACME "}, "acme"},
		{"list of two", []any{"acme", "globex"}, "acme"}, // a conflict: the first wins by default
		{"empty list", []any{}, schema.TenantUnknown},
		{"list of a map", []any{map[string]any{"id": "acme"}}, schema.TenantUnknown},
		{"map", map[string]any{"id": "acme"}, schema.TenantUnknown},
	} {
		for _, moved := range []bool{false, true} {
			record := func() plog.Logs {
				return oneRecord(func(lr plog.LogRecord) {
					_ = lr.Attributes().PutEmpty(schema.AttrTenantID).FromRaw(tt.value)
					if moved {
						lr.Attributes().PutStr(schema.AttrClientAddress, "not an address")
					}
				})
			}
			name := tt.name
			if moved {
				name += ", looked up"
			}
			t.Run(name, func(t *testing.T) {
				p := newTestLogs(t, createDefaultConfig(), func() time.Time { return goldenNow }, nil)
				out, err := p.processLogs(context.Background(), record())
				if err != nil {
					t.Fatal(err)
				}
				if got := attrStr(firstRecord(out), schema.AttrTenantID); got != tt.want {
					t.Errorf("tenant: got %q, want %q", got, tt.want)
				}
				// A token bound to acme writes the records tagged acme,
				// and only those.
				out, err = p.processLogs(bound, record())
				kept := err == nil && out.LogRecordCount() == 1
				if want := tt.want == "acme"; kept != want {
					t.Errorf("token bound to acme: got kept %v (err %v), want %v", kept, err, want)
				}
			})
		}
	}
}

// TestTenantCanonicalForms proves that a tenant sent with a combining
// accent ("Cafe" + U+0301, as macOS and some keyboards send it), or with an
// invisible zero-width space copied along, is the tenant of the precomposed
// spelling: tagged alike, and written by a token bound to it. Before, each
// was a tenant of its own, and the bound token's records were dropped as
// another tenant's.
func TestTenantCanonicalForms(t *testing.T) {
	const precomposed = "caf\u00e9"
	bound := client.NewContext(context.Background(), client.Info{Auth: ingestAuth{tenants: []string{precomposed}}})
	p := newTestLogs(t, createDefaultConfig(), func() time.Time { return goldenNow }, nil)
	for _, sent := range []string{"Cafe\u0301", "CAFE\u0301", "Caf\u00e9", "Caf\u00e9\u200b", "\u200bCAFE\u0301"} {
		out, err := p.processLogs(bound, oneRecord(func(lr plog.LogRecord) {
			lr.Attributes().PutStr(schema.AttrTenantID, sent)
		}))
		if err != nil {
			t.Fatalf("tenant %q, token bound to %q: %v", sent, precomposed, err)
		}
		if got := attrStr(firstRecord(out), schema.AttrTenantID); got != precomposed {
			t.Errorf("tenant %q: got %q, want %q", sent, got, precomposed)
		}
	}
}
