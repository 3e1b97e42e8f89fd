package tenant

import (
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/activitylog/activitylog/processor/activityprocessor/internal/redact"
	"github.com/activitylog/activitylog/schema"
)

// Outcome says how a record's tenant was determined.
type Outcome uint8

// Outcomes.
const (
	// Found means at least one source gave a tenant and none disagreed.
	Found Outcome = iota
	// Missing means no source gave a valid tenant.
	Missing
	// Conflict means two sources gave different tenants; the tenant
	// returned is the one of the highest-priority source.
	Conflict
)

// ErrNoSources is returned by New when no source is configured.
var ErrNoSources = errors.New("no tenant source configured")

// Config lists the tenant sources in priority order.
type Config struct {
	// RecordAttributes are record attribute keys, highest priority first.
	RecordAttributes []string
	// ResourceAttributes are resource attribute keys, tried after the
	// record attributes.
	ResourceAttributes []string
	// ServiceTenants maps a service.name to its tenant, tried last.
	ServiceTenants map[string]string
	// ServiceNameAttribute is the resource attribute holding the service
	// name (semconv service.name).
	ServiceNameAttribute string
}

// Resolver resolves tenants. It is immutable after New and safe for
// concurrent use.
type Resolver struct {
	record   []string
	resource []string
	services map[string]string
	svcAttr  string
}

// New returns a Resolver, or an error when cfg has no source or a static
// tenant that is invalid.
func New(cfg Config) (*Resolver, error) {
	if len(cfg.RecordAttributes)+len(cfg.ResourceAttributes)+len(cfg.ServiceTenants) == 0 {
		return nil, ErrNoSources
	}
	r := &Resolver{record: cfg.RecordAttributes, resource: cfg.ResourceAttributes,
		services: make(map[string]string, len(cfg.ServiceTenants)), svcAttr: cfg.ServiceNameAttribute}
	for svc, t := range cfg.ServiceTenants {
		n, ok := schema.NormalizeTenant(t)
		switch {
		case !ok:
			return nil, fmt.Errorf("service %q maps to invalid tenant %q: %w", svc, t, ErrInvalidTenant)
		case n == schema.TenantUnknown:
			return nil, fmt.Errorf("service %q maps to %q, reserved for records without a tenant: %w", svc, t, ErrInvalidTenant)
		}
		r.services[svc] = n
	}
	return r, nil
}

// ErrInvalidTenant reports a configured tenant that schema.NormalizeTenant
// rejects, or the reserved schema.TenantUnknown.
var ErrInvalidTenant = errors.New("invalid tenant")

// normalize returns the tenant raw names, or false when it names none: a
// value schema.NormalizeTenant rejects; schema.TenantUnknown, which is
// reserved for records whose tenant cannot be told (a record that claims it
// is a record without a tenant, counted and handled as one; and no partner
// may read under it); or a value a detector masked (a bytes value, a
// card-like number), which is no business's and would otherwise be the
// pseudo-tenant "[redacted]".
func normalize(raw string) (string, bool) {
	t, ok := schema.NormalizeTenant(raw)
	if !ok || t == schema.TenantUnknown || strings.Contains(t, redactedTenant) {
		return "", false
	}
	return t, true
}

// redactedTenant is what a masked value reads as once normalized.
var redactedTenant = strings.ToLower(redact.Mask)

// Resource is what a resource contributes to the tenants of its records,
// computed once per resource.
type Resource struct {
	tenant   string
	conflict bool
}

// FromResource computes the resource's tenant candidates.
func (r *Resolver) FromResource(res pcommon.Map) Resource {
	var out Resource
	for _, k := range r.resource {
		if v, ok := res.Get(k); ok {
			out.addValue(v)
		}
	}
	if len(r.services) > 0 {
		if v, ok := res.Get(r.svcAttr); ok {
			if t, ok := r.services[v.AsString()]; ok {
				out.add(t)
			}
		}
	}
	return out
}

// addValue adds the tenants a source's value v names: a string, number or
// bool is one, in its string form; a list names each of its items (so
// ["acme"] is acme, and ["acme", "globex"] a conflict), as Elasticsearch
// indexes a list item by item; a map, or a list or map in a list, names
// none. Read as its JSON text, ["acme"] was the tenant `["acme"]`, which no
// partner reads, a token bound to acme may not write, and which the missing
// policy did not see.
func (res *Resource) addValue(v pcommon.Value) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		res.add(v.Str())
	case pcommon.ValueTypeMap:
	case pcommon.ValueTypeSlice:
		for _, item := range v.Slice().All() {
			if t := item.Type(); t != pcommon.ValueTypeMap && t != pcommon.ValueTypeSlice {
				res.add(item.AsString())
			}
		}
	default:
		res.add(v.AsString())
	}
}

func (res *Resource) add(raw string) {
	t, ok := normalize(raw)
	if !ok {
		return
	}
	res.addNormal(t)
}

// addNormal is add for a value known to be valid and normal.
func (res *Resource) addNormal(t string) {
	if res.tenant == "" {
		res.tenant = t
	} else if res.tenant != t {
		res.conflict = true
	}
}

// Resolve returns the tenant of a record with attributes attrs under res.
// For Missing the returned tenant is "".
func (r *Resolver) Resolve(attrs pcommon.Map, res Resource) (string, Outcome) {
	var rec Resource
	for _, k := range r.record {
		if v, ok := attrs.Get(k); ok {
			rec.addValue(v)
		}
	}
	return rec.outcome(res)
}

// ResolveSeen is Resolve for a record whose tenant attributes were read
// already: seen[i] reports whether the record has the i-th of
// Config.RecordAttributes, and raw[i] is then the string form of its value
// (what Resolve would take from attrs; a list or a map, which Resolve reads
// item by item, must go to Resolve). raw and seen have at least as many
// entries as Config.RecordAttributes.
// memo, when not nil, is the batch's Normal: a value it knows is taken as
// it is, without normalizing it again.
func (r *Resolver) ResolveSeen(raw []string, seen []bool, res Resource, memo *Normal) (string, Outcome) {
	var rec Resource
	for i := range r.record {
		switch {
		case !seen[i]:
		case memo.known(raw[i]):
			rec.addNormal(raw[i])
		default:
			if t, ok := normalize(raw[i]); ok {
				rec.addNormal(t)
				if t == raw[i] {
					memo.remember(raw[i])
				}
			}
		}
	}
	return rec.outcome(res)
}

// Normal remembers, for one batch, tenant values of 8 to 16 bytes that are
// valid and already in their normal form (normalize returns them as they
// are), as their first and last 8 bytes and their length, which together
// cover every byte: a batch's records repeat a few tenants, and a lookup
// costs a fraction of normalizing. A collision only costs a normalization,
// never a wrong answer. The zero value is empty.
type Normal [normalSlots]struct {
	a, b uint64
	n    int
}

const normalBits, normalSlots = 8, 1 << 8

// slot returns raw's slot and words; ok is false for a length the memo
// does not hold.
func (m *Normal) slot(raw string) (e *struct {
	a, b uint64
	n    int
}, a, b uint64, ok bool) {
	n := len(raw)
	if m == nil || n < 8 || n > 16 {
		return nil, 0, 0, false
	}
	a, b = load64(raw, 0), load64(raw, n-8)
	return &m[(a*0x9e3779b97f4a7c15^b*0xc2b2ae3d27d4eb4f)>>(64-normalBits)], a, b, true
}

// known reports whether raw is a value the memo holds.
func (m *Normal) known(raw string) bool {
	e, a, b, ok := m.slot(raw)
	return ok && e.n == len(raw) && e.a == a && e.b == b
}

// remember notes raw, a valid tenant in its normal form.
func (m *Normal) remember(raw string) {
	if e, a, b, ok := m.slot(raw); ok {
		e.a, e.b, e.n = a, b, len(raw)
	}
}

// load64 reads the 8 bytes of s from i, little-endian.
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// outcome combines the record's candidates, rec, with the resource's.
func (rec *Resource) outcome(res Resource) (string, Outcome) {
	tenant, conflict := rec.tenant, rec.conflict || res.conflict
	if res.tenant != "" {
		if tenant == "" {
			tenant = res.tenant
		} else if res.tenant != tenant {
			conflict = true
		}
	}
	switch {
	case tenant == "":
		return "", Missing
	case conflict:
		return tenant, Conflict
	}
	return tenant, Found
}
