package tenant

import (
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/activitylog/activitylog/schema"
)

// FuzzResolve: a record's and its resource's tenant attributes are whatever
// the sending application put there. Resolve agrees with a plain reference
// (the tenant is the first valid candidate in priority order; two valid
// candidates that differ are a conflict), and with ResolveSeen given the
// same values; the tenant it returns is one a partner can be scoped by: as
// the collector stores tenants, never the reserved schema.TenantUnknown, never
// a masked value; and a record with a valid tenant is never Missing.
func FuzzResolve(f *testing.F) {
	f.Add(" Acme ", "beta", "acme", "acme-pos", false)
	f.Add("", "", "", "acme-pos", false)
	f.Add("unknown", "UNKNOWN", "\t", "other", false)
	f.Add("[REDACTED]", "x-[redacted]", "Ⱥ", "acme-pos", true)
	f.Add("a\x00b", "\xff", "ﬀ", "", true)
	r, err := New(Config{
		RecordAttributes:     []string{"activity.tenant.id", "tenant"},
		ResourceAttributes:   []string{"activity.tenant.id"},
		ServiceTenants:       map[string]string{"acme-pos": "ACME"},
		ServiceNameAttribute: "service.name",
	})
	if err != nil {
		f.Fatal(err)
	}
	var memo Normal
	f.Fuzz(func(t *testing.T, first, second, resource, service string, asBytes bool) {
		rec, res := pcommon.NewMap(), pcommon.NewMap()
		if first != "" {
			rec.PutStr("activity.tenant.id", first)
		}
		if second != "" {
			if asBytes {
				rec.PutEmptyBytes("tenant").FromRaw([]byte(second))
			} else {
				rec.PutStr("tenant", second)
			}
		}
		if resource != "" {
			res.PutStr("activity.tenant.id", resource)
		}
		res.PutStr("service.name", service)

		var candidates []string
		for _, k := range r.record {
			if v, ok := rec.Get(k); ok {
				candidates = append(candidates, v.AsString())
			}
		}
		if v, ok := res.Get("activity.tenant.id"); ok {
			candidates = append(candidates, v.AsString())
		}
		if service == "acme-pos" {
			candidates = append(candidates, "ACME")
		}
		want, wantOutcome := "", Missing
		for _, c := range candidates {
			n, ok := schema.NormalizeTenant(c)
			if !ok || n == schema.TenantUnknown || strings.Contains(n, "[redacted]") {
				continue
			}
			switch {
			case want == "":
				want, wantOutcome = n, Found
			case n != want:
				wantOutcome = Conflict
			}
		}

		got, outcome := r.Resolve(rec, r.FromResource(res))
		if got != want || outcome != wantOutcome {
			t.Fatalf("got %q, %v, want %q, %v", got, outcome, want, wantOutcome)
		}
		raw, seen := make([]string, len(r.record)), make([]bool, len(r.record))
		for i, k := range r.record {
			if v, ok := rec.Get(k); ok {
				raw[i], seen[i] = v.AsString(), true
			}
		}
		if got, outcome := r.ResolveSeen(raw, seen, r.FromResource(res), nil); got != want || outcome != wantOutcome {
			t.Fatalf("ResolveSeen: got %q, %v, want %q, %v", got, outcome, want, wantOutcome)
		}
		// With the memo every input shares, as the records of a batch
		// do: twice, the second time answered by what the first noted.
		for range 2 {
			if got, outcome := r.ResolveSeen(raw, seen, r.FromResource(res), &memo); got != want || outcome != wantOutcome {
				t.Fatalf("ResolveSeen with the memo: got %q, %v, want %q, %v", got, outcome, want, wantOutcome)
			}
		}
		if got == "" {
			return
		}
		if n, ok := schema.NormalizeTenant(got); !ok || n != got || got == schema.TenantUnknown {
			t.Fatalf("got tenant %q, want one stored as it normalizes and not %q", got, schema.TenantUnknown)
		}
	})
}
