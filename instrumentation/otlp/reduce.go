package otlp

import (
	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/activitylog/activitylog/schema"
)

// MarkerTooLarge replaces, in a record sent reduced, every value of its
// changes (activity.changes) longer than ReducedValueBytes: the old and new
// values of each changed field. A record the collector (or a proxy in front
// of it) refuses as too large even sent alone is sent once more reduced, so
// that the event (who did what to what, when, from where, with which
// outcome, and which fields changed) is in the audit trail even when its
// changed values cannot be: 256 changed fields of 32,768 characters, old and
// new, pass the collector's 16 MiB.
const MarkerTooLarge = "[too large]"

// ReducedValueBytes is the longest value of a reduced record's changes kept
// as it was, in bytes of its strings (at any depth, map keys included; a
// number or bool counts 8): a number, a status, a name, a short text. At
// most 256 changes × 2 values of 1 KiB, half a MiB, stay, under the 1 MiB a
// proxy in front of the collector commonly accepts (nginx's default).
const ReducedValueBytes = 1024

// ReducedBodyLength is the length, in characters, to which a reduced
// record's body (the description) is cut: longer than any description the
// Recorder writes from names of ordinary length, far shorter than the names
// a huge one quotes.
const ReducedBodyLength = 1024

// reduce returns r reduced, to be sent once more when it is refused as too
// large even alone: its body cut to ReducedBodyLength characters, and every
// value of its activity.changes, as a map or below a changed field's name,
// longer than ReducedValueBytes replaced by MarkerTooLarge. Everything else
// is kept as it was: the attributes that say who did what to what, when and
// from where (each at most the value length limit), the names of the
// changed fields, which stay the keys of activity.changes and the items of
// activity.changed_fields, and {"redacted": true} changes. activity.changes
// stays a map (the schema maps it as a flattened field, which the activity
// processor makes sure of), and a marker in it is a string, as a flattened
// field takes any leaf.
//
// reduced is false when there was nothing to reduce: sent again, r would be
// refused again.
func reduce(r sdklog.Record) (out sdklog.Record, reduced bool) {
	out = r.Clone()
	if v, cut := cutValue(r.Body(), ReducedBodyLength); cut {
		out.SetBody(v)
		reduced = true
	}
	attrs := make([]attribute.KeyValue, 0, r.AttributesLen())
	changed := false
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		if kv.Key == schema.AttrChanges {
			var ok bool
			if kv.Value, ok = reduceChanges(kv.Value); ok {
				changed = true
			}
		}
		attrs = append(attrs, kv)
		return true
	})
	if changed {
		// SetAttributes sets the count of dropped attributes to those it
		// drops, none here (they are the record's own, within its limits):
		// a record that had attributes dropped when emitted (past the
		// SDK's count limit) is sent reduced without that count.
		out.SetAttributes(attrs...)
		reduced = true
	}
	return out, reduced
}

// reduceChanges returns the value of activity.changes with each value
// below a changed field's name (old, new) longer than ReducedValueBytes
// replaced by MarkerTooLarge, and whether any was. A field whose value is
// not a map, or an activity.changes that is not one (from an emitter other
// than the Recorder), is replaced whole when it is that long.
func reduceChanges(v attribute.Value) (attribute.Value, bool) {
	if v.Type() != attribute.MAP {
		return reduceValue(v)
	}
	fields := v.AsMap()
	changed := false
	for i, f := range fields {
		if f.Value.Type() != attribute.MAP {
			var ok bool
			if fields[i].Value, ok = reduceValue(f.Value); ok {
				changed = true
			}
			continue
		}
		sides := f.Value.AsMap()
		sideChanged := false
		for j, s := range sides {
			var ok bool
			if sides[j].Value, ok = reduceValue(s.Value); ok {
				sideChanged = true
			}
		}
		if sideChanged {
			fields[i].Value = attribute.MapValue(sides...)
			changed = true
		}
	}
	if !changed {
		return v, false
	}
	return attribute.MapValue(fields...), true
}

// reduceValue returns MarkerTooLarge for a value longer than
// ReducedValueBytes, and v otherwise; and whether it replaced it.
func reduceValue(v attribute.Value) (attribute.Value, bool) {
	if valueBytes(v, ReducedValueBytes) <= ReducedValueBytes {
		return v, false
	}
	return attribute.StringValue(MarkerTooLarge), true
}

// valueBytes returns the bytes of v's strings, at any depth, map keys
// included, counting 8 for a number or bool; once past limit it stops
// counting and returns a number past limit.
func valueBytes(v attribute.Value, limit int) int {
	const scalar = 8
	switch v.Type() {
	case attribute.STRING:
		return len(v.AsString())
	case attribute.BYTESLICE:
		return len(v.AsByteSlice())
	case attribute.STRINGSLICE:
		n := 0
		for _, s := range v.AsStringSlice() {
			if n += len(s); n > limit {
				break
			}
		}
		return n
	case attribute.BOOLSLICE:
		return scalar * len(v.AsBoolSlice())
	case attribute.INT64SLICE:
		return scalar * len(v.AsInt64Slice())
	case attribute.FLOAT64SLICE:
		return scalar * len(v.AsFloat64Slice())
	case attribute.SLICE:
		n := 0
		for _, e := range v.AsSlice() {
			if n += valueBytes(e, limit-n); n > limit {
				break
			}
		}
		return n
	case attribute.MAP:
		n := 0
		for _, kv := range v.AsMap() {
			if n += len(kv.Key) + valueBytes(kv.Value, limit-n-len(kv.Key)); n > limit {
				break
			}
		}
		return n
	case attribute.EMPTY:
		return 0
	}
	return scalar
}
