package tenant

import (
	"errors"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestResolve(t *testing.T) {
	r, err := New(Config{
		RecordAttributes:     []string{"activity.tenant.id", "tenant"},
		ResourceAttributes:   []string{"activity.tenant.id"},
		ServiceTenants:       map[string]string{"acme-pos": "ACME"},
		ServiceNameAttribute: "service.name",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		record   map[string]any
		resource map[string]any
		want     string
		outcome  Outcome
	}{
		{"record attribute", map[string]any{"activity.tenant.id": " Acme "}, nil, "acme", Found},
		{"second record attribute", map[string]any{"tenant": "beta"}, nil, "beta", Found},
		{"resource attribute", nil, map[string]any{"activity.tenant.id": "beta"}, "beta", Found},
		{"service map", nil, map[string]any{"service.name": "acme-pos"}, "acme", Found},
		{"sources agree", map[string]any{"activity.tenant.id": "acme"}, map[string]any{"service.name": "acme-pos"}, "acme", Found},
		{"sources disagree", map[string]any{"activity.tenant.id": "beta"}, map[string]any{"service.name": "acme-pos"}, "beta", Conflict},
		{"record attributes disagree", map[string]any{"activity.tenant.id": "a", "tenant": "b"}, nil, "a", Conflict},
		{"missing", map[string]any{"other": "x"}, map[string]any{"service.name": "unknown-svc"}, "", Missing},
		{"invalid is missing", map[string]any{"activity.tenant.id": "  "}, nil, "", Missing},
		{"integer tenant", map[string]any{"activity.tenant.id": 42}, nil, "42", Found},
		// A list names each of its items, as Elasticsearch indexes it; a
		// map names no tenant. Read as JSON text, they were the tenants
		// `["acme"]` and `{"id":"acme"}`.
		{"list of one", map[string]any{"activity.tenant.id": []any{" Acme"}}, nil, "acme", Found},
		{"list of one, twice", map[string]any{"activity.tenant.id": []any{"acme", "ACME"}}, nil, "acme", Found},
		{"list of two", map[string]any{"activity.tenant.id": []any{"acme", "beta"}}, nil, "acme", Conflict},
		{"empty list", map[string]any{"activity.tenant.id": []any{}}, nil, "", Missing},
		{"list of a map", map[string]any{"activity.tenant.id": []any{map[string]any{"id": "acme"}}}, nil, "", Missing},
		{"map", map[string]any{"activity.tenant.id": map[string]any{"id": "acme"}}, nil, "", Missing},
		{"resource list", nil, map[string]any{"activity.tenant.id": []any{"beta"}}, "beta", Found},
		{"resource map", nil, map[string]any{"activity.tenant.id": map[string]any{"id": "beta"}}, "", Missing},
		// "unknown" is reserved for records without a tenant: claiming it
		// is having none, and it never outvotes a real tenant.
		{"reserved is missing", map[string]any{"activity.tenant.id": " Unknown"}, nil, "", Missing},
		{"reserved never conflicts", map[string]any{"activity.tenant.id": "unknown"}, map[string]any{"service.name": "acme-pos"}, "acme", Found},
		// Values of 8 to 16 bytes, which the batch's memo holds when
		// they are normal, in turn: a normal one, then forms that differ
		// from it in a byte, or in length, or normalize to it.
		{"normal, memo size", map[string]any{"activity.tenant.id": "tenant-12"}, nil, "tenant-12", Found},
		{"capitalised, memo size", map[string]any{"activity.tenant.id": "Tenant-12"}, nil, "tenant-12", Found},
		{"padded, memo size", map[string]any{"activity.tenant.id": " tenant-12"}, nil, "tenant-12", Found},
		{"one byte off, memo size", map[string]any{"activity.tenant.id": "tenant-13"}, nil, "tenant-13", Found},
		{"control character, memo size", map[string]any{"activity.tenant.id": "tenant-1\x01"}, nil, "", Missing},
		{"masked, memo size", map[string]any{"activity.tenant.id": "[REDACTED]"}, nil, "", Missing},
		{"memo size, conflict", map[string]any{"activity.tenant.id": "tenant-12", "tenant": "tenant-13"}, nil, "tenant-12", Conflict},
	}
	memo := new(Normal)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, res := pcommon.NewMap(), pcommon.NewMap()
			_ = rec.FromRaw(tt.record)
			_ = res.FromRaw(tt.resource)
			got, outcome := r.Resolve(rec, r.FromResource(res))
			if got != tt.want || outcome != tt.outcome {
				t.Errorf("got %q, %v, want %q, %v", got, outcome, tt.want, tt.outcome)
			}
			// ResolveSeen, given the values Resolve looks up, agrees (a
			// list or a map goes to Resolve).
			raw, seen := make([]string, len(r.record)), make([]bool, len(r.record))
			for i, k := range r.record {
				if v, ok := rec.Get(k); ok {
					if v.Type() == pcommon.ValueTypeSlice || v.Type() == pcommon.ValueTypeMap {
						return
					}
					raw[i], seen[i] = v.AsString(), true
				}
			}
			got, outcome = r.ResolveSeen(raw, seen, r.FromResource(res), nil)
			if got != tt.want || outcome != tt.outcome {
				t.Errorf("ResolveSeen: got %q, %v, want %q, %v", got, outcome, tt.want, tt.outcome)
			}
			// And with the batch's memo, which every case shares, twice.
			for range 2 {
				got, outcome = r.ResolveSeen(raw, seen, r.FromResource(res), memo)
				if got != tt.want || outcome != tt.outcome {
					t.Errorf("ResolveSeen with the memo: got %q, %v, want %q, %v", got, outcome, tt.want, tt.outcome)
				}
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Config{}); !errors.Is(err, ErrNoSources) {
		t.Errorf("no sources: got %v, want %v", err, ErrNoSources)
	}
	for _, bad := range []string{" ", "UNKNOWN"} {
		if _, err := New(Config{ServiceTenants: map[string]string{"svc": bad}}); !errors.Is(err, ErrInvalidTenant) {
			t.Errorf("static tenant %q: got %v, want %v", bad, err, ErrInvalidTenant)
		}
	}
}
