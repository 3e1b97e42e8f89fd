package instrumentation

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
)

// Markers stand in for values the diff cannot or will not represent. They are
// recorded as the old or new value of the field concerned.
const (
	// MarkerCycle replaces a value that refers back to one of its own parents.
	MarkerCycle = "[cycle]"
	// MarkerUnsupported replaces a channel, function or unsafe pointer.
	MarkerUnsupported = "[unsupported]"
	// MarkerTooDeep replaces a value nested deeper than the diff walks.
	MarkerTooDeep = "[too deep]"
	// MarkerUnrepresentable replaces a value whose MarshalText failed or
	// panicked, or an unexported value that cannot be read safely.
	MarkerUnrepresentable = "[unrepresentable]"
	// MarkerTruncated is the new value of the TruncatedField change added
	// when a diff has more changed fields than the recorder keeps.
	MarkerTruncated = "[truncated]"
)

// TruncatedField is the field name of the change that says a diff was cut
// short: it had more changed fields than the recorder keeps, or its values
// were too large to compare in full.
const TruncatedField = "[truncated]"

// RootField is the field name of a change when the compared values are
// themselves scalars rather than structs or maps.
const RootField = "value"

// Change is one changed field.
type Change struct {
	// Field is the field's path: struct fields and map keys joined by dots,
	// slice elements as [i], for example "address.city" or "items[2].qty".
	// A struct field is named by its json tag when it has one.
	Field string
	// Old is the value before; its Type is attribute.EMPTY when there was none.
	Old attribute.Value
	// New is the value after; its Type is attribute.EMPTY when there is none.
	New attribute.Value
	// Redacted marks a field recorded as changed without either value.
	Redacted bool
}

// Changes is the list of changed fields of one action, in a stable order.
//
// A field should appear once. A Changes built by hand may repeat one; Value
// and Fields then keep it once, with its last Change, at the place of its
// first: what the OpenTelemetry SDK's key de-duplication would make of the
// map, done here so that the record needs none (see [Changes.Value]).
type Changes []Change

// Fields returns the name of every changed field, redacted ones included,
// each once (the keys of Value), in the order in which they first occur.
func (c Changes) Fields() []string {
	return c.unique().fields()
}

// Value returns the changes as the map attribute value recorded under
// schema.AttrChanges: field → {"old": v, "new": v}, with "old" or "new"
// left out when there was no value, or field → {"redacted": true}.
//
// Every map in it, at every level, holds each key once, so it needs no
// de-duplication by the SDK and is never refused by Elasticsearch, which
// rejects a document with a repeated field. A field that occurs more than
// once keeps its last Change, and a map value in Old or New (or in a slice in
// them) that repeats a key keeps the key's last value, as the SDK's
// de-duplication would.
func (c Changes) Value() attribute.Value {
	return c.unique().value()
}

// fields is Fields for changes whose fields are already unique.
func (c Changes) fields() []string {
	out := make([]string, len(c))
	for i, ch := range c {
		out[i] = ch.Field
	}
	return out
}

// value is Value for changes whose fields are already unique.
func (c Changes) value() attribute.Value {
	var buf [8]attribute.KeyValue // most records; MapValue copies what it keeps
	kvs := buf[:0]
	for _, ch := range c {
		var inner []attribute.KeyValue
		switch {
		case ch.Redacted:
			inner = []attribute.KeyValue{attribute.Bool("redacted", true)}
		default:
			inner = make([]attribute.KeyValue, 0, 2)
			if ch.Old.Type() != attribute.EMPTY {
				inner = append(inner, attribute.KeyValue{Key: "old", Value: uniqueKeys(ch.Old)})
			}
			if ch.New.Type() != attribute.EMPTY {
				inner = append(inner, attribute.KeyValue{Key: "new", Value: uniqueKeys(ch.New)})
			}
		}
		kvs = append(kvs, attribute.Map(ch.Field, inner...))
	}
	return attribute.MapValue(kvs...)
}

// unique returns c with each field once: the last Change for a field, at
// the index of its first, which is where the SDK's de-duplication of a key
// list leaves the kept entry. Field names are made valid UTF-8 first. A c
// without repeats or invalid names (every diff of valid text, and almost every
// hand-built list) is returned as it is, without a copy.
func (c Changes) unique() Changes {
	if slices.ContainsFunc(c, func(ch Change) bool { return !utf8.ValidString(ch.Field) }) {
		// Made valid first (see validUTF8): two fields told apart only by
		// invalid bytes are then one field, kept once like any repeat.
		c = slices.Clone(c)
		for i := range c {
			c[i].Field = validUTF8(c[i].Field)
		}
	}
	if !c.repeatsField() {
		return c
	}
	out := make(Changes, 0, len(c))
	at := make(map[string]int, len(c))
	for _, ch := range c {
		if i, ok := at[ch.Field]; ok {
			out[i] = ch
			continue
		}
		at[ch.Field] = len(out)
		out = append(out, ch)
	}
	return out
}

// repeatsField reports whether a field occurs more than once in c. Short
// lists are compared pairwise, which costs less than a map.
func (c Changes) repeatsField() bool {
	if len(c) <= linearFind {
		for i := 1; i < len(c); i++ {
			for j := range i {
				if c[i].Field == c[j].Field {
					return true
				}
			}
		}
		return false
	}
	seen := make(map[string]struct{}, len(c))
	for _, ch := range c {
		if _, ok := seen[ch.Field]; ok {
			return true
		}
		seen[ch.Field] = struct{}{}
	}
	return false
}

// uniqueKeys returns v with every map in it, at any depth and inside slices
// too, holding each key once; the last value given for a key wins, as in the
// SDK's de-duplication. Every string in it, keys included, is made valid
// UTF-8 (see validUTF8), before keys are compared. Other scalars, which are
// almost every value, are returned at once; a map or slice is rebuilt only
// where a key repeats or a string was invalid.
func uniqueKeys(v attribute.Value) attribute.Value {
	switch v.Type() {
	case attribute.MAP, attribute.SLICE, attribute.STRING, attribute.STRINGSLICE:
		v, _ = dedupValue(v)
	}
	return v
}

// dedupValue is uniqueKeys for a value of any type; it also reports whether
// anything was dropped or replaced.
func dedupValue(v attribute.Value) (attribute.Value, bool) {
	switch v.Type() {
	case attribute.STRING:
		if s := v.AsString(); !utf8.ValidString(s) {
			return attribute.StringValue(validUTF8(s)), true
		}
	case attribute.STRINGSLICE:
		ss := v.AsStringSlice() // a copy, ours to change
		changed := false
		for i, s := range ss {
			if !utf8.ValidString(s) {
				ss[i], changed = validUTF8(s), true
			}
		}
		if changed {
			return attribute.StringSliceValue(ss), true
		}
	case attribute.SLICE:
		elems := v.AsSlice() // a copy, ours to change
		changed := false
		for i, e := range elems {
			if u, ok := dedupValue(e); ok {
				elems[i], changed = u, true
			}
		}
		if !changed {
			return v, false
		}
		return attribute.SliceValue(elems...), true
	case attribute.MAP:
		// AsMap returns a copy sorted by key with a stable sort, so a
		// repeated key is a run of neighbours in the order given, and the
		// run's last entry is the value given last.
		kvs := v.AsMap()
		changed := false
		for i, kv := range kvs {
			if !utf8.ValidString(string(kv.Key)) {
				kvs[i].Key, changed = attribute.Key(validUTF8(string(kv.Key))), true
			}
		}
		if changed {
			// A key made valid may sort elsewhere, or now equal another.
			slices.SortStableFunc(kvs, func(a, b attribute.KeyValue) int { return strings.Compare(string(a.Key), string(b.Key)) })
		}
		out := kvs[:0]
		for i := 0; i < len(kvs); {
			j := i + 1
			for j < len(kvs) && kvs[j].Key == kvs[i].Key {
				j++
			}
			kv := kvs[j-1]
			if j-i > 1 {
				changed = true
			}
			if u, ok := dedupValue(kv.Value); ok {
				kv.Value, changed = u, true
			}
			out = append(out, kv) // len(out) <= i: never overwrites an unread entry
			i = j
		}
		if !changed {
			return v, false
		}
		return attribute.MapValue(out...), true
	}
	return v, false
}

// Diff limits; a diff is bounded in depth and size whatever it is given.
const (
	// DefaultMaxChanges is how many changed fields a diff keeps by default.
	DefaultMaxChanges = 256
	// maxDepth is how deep the diff walks nested values.
	maxDepth = 32
	// maxLeafSlice is how many elements of a slice of scalars are recorded.
	maxLeafSlice = 100
	// maxSteps bounds the values one diff visits. Values that share
	// sub-values (a DAG rather than a tree) can otherwise make the walk
	// exponential in their depth; past the budget the diff is truncated.
	maxSteps = 1 << 14
)

// differ walks two values side by side and collects their differences.
type differ struct {
	secrets    secretRules
	maxChanges int
	// fieldCache maps a struct type to its []fieldInfo, and a
	// textSecretKey to textMayHoldSecret's answer; both depend only on the
	// type and the secret rules, which a Recorder never changes.
	fieldCache *sync.Map

	changes   Changes
	index     map[string]int
	truncated bool
	steps     int
	// visiting holds the pointers, maps and slices on the current path of
	// each side, so a value that contains itself is detected, not followed.
	visiting [2]map[visit]bool
}

type visit struct {
	ptr uintptr
	typ reflect.Type
	n   int
}

// side is one side of a comparison: a value, or a marker standing in for one.
type side struct {
	v      reflect.Value
	marker string
}

func (s side) absent() bool { return !s.v.IsValid() && s.marker == "" }

func diffValues(rules secretRules, maxChanges int, cache *sync.Map, before, after any) Changes {
	d := differ{secrets: rules, maxChanges: maxChanges, fieldCache: cache}
	d.walk("", side{v: reflect.ValueOf(before)}, side{v: reflect.ValueOf(after)}, 0)
	if d.truncated {
		// A map key can be named like the marker's field; the marker takes
		// its place rather than repeat the field.
		marker := Change{Field: TruncatedField, New: attribute.StringValue(MarkerTruncated)}
		if i, ok := d.find(TruncatedField); ok {
			d.changes[i] = marker
		} else {
			d.changes = append(d.changes, marker)
		}
	}
	return d.changes
}

var (
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	durationType      = reflect.TypeFor[time.Duration]()
	timeType          = reflect.TypeFor[time.Time]()
	timePointerType   = reflect.TypeFor[*time.Time]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	errorType         = reflect.TypeFor[error]()
	urlType           = reflect.TypeFor[url.URL]()
	userinfoType      = reflect.TypeFor[url.Userinfo]()
)

// add records a change at path, merging with an earlier one-sided change there.
func (d *differ) add(path string, old, new attribute.Value, redacted bool) {
	if path == "" {
		path = RootField
	}
	if i, ok := d.find(path); ok {
		c := &d.changes[i]
		if old.Type() != attribute.EMPTY {
			c.Old = old
		}
		if new.Type() != attribute.EMPTY {
			c.New = new
		}
		c.Redacted = c.Redacted || redacted
		return
	}
	if len(d.changes) >= d.maxChanges {
		d.truncated = true
		return
	}
	if d.changes == nil {
		d.changes = make(Changes, 0, 8)
	}
	if d.index != nil {
		d.index[path] = len(d.changes)
	}
	d.changes = append(d.changes, Change{Field: path, Old: old, New: new, Redacted: redacted})
	if d.index == nil && len(d.changes) > linearFind {
		d.index = make(map[string]int, 2*len(d.changes))
		for i, c := range d.changes {
			d.index[c.Field] = i
		}
	}
}

// linearFind is how many changes are searched one by one before an index
// map is built; most diffs have a handful of changes and need no map.
const linearFind = 16

func (d *differ) find(path string) (int, bool) {
	if d.index != nil {
		i, ok := d.index[path]
		return i, ok
	}
	for i := range d.changes {
		if d.changes[i].Field == path {
			return i, true
		}
	}
	return 0, false
}

// resolve follows interfaces and pointers. A nil ends as an absent side; a
// pointer already on the current path becomes MarkerCycle. The returned
// visits must be released with leave once the value has been walked.
func (d *differ) resolve(i int, s side) (side, []visit) {
	var entered []visit
	for s.v.IsValid() {
		switch s.v.Kind() {
		case reflect.Interface:
			if s.v.IsNil() {
				return side{}, entered
			}
			s.v = s.v.Elem()
			continue
		case reflect.Pointer:
			if s.v.IsNil() {
				return side{}, entered
			}
			if isLeafType(s.v.Type()) {
				return s, entered
			}
			vk := visit{ptr: s.v.Pointer(), typ: s.v.Type()}
			if !d.enter(i, vk) {
				return side{marker: MarkerCycle}, entered
			}
			entered = append(entered, vk)
			s.v = s.v.Elem()
			continue
		case reflect.Func, reflect.Chan, reflect.UnsafePointer:
			if s.v.IsNil() {
				return side{}, entered
			}
		case reflect.Map:
			if s.v.IsNil() {
				return side{}, entered
			}
			vk := visit{ptr: s.v.Pointer(), typ: s.v.Type()}
			if !d.enter(i, vk) {
				return side{marker: MarkerCycle}, entered
			}
			entered = append(entered, vk)
		case reflect.Slice:
			if s.v.IsNil() {
				return side{}, entered
			}
			vk := visit{ptr: s.v.Pointer(), typ: s.v.Type(), n: s.v.Len()}
			if s.v.Len() > 0 && !d.enter(i, vk) {
				return side{marker: MarkerCycle}, entered
			}
			if s.v.Len() > 0 {
				entered = append(entered, vk)
			}
		}
		return s, entered
	}
	return s, entered
}

func (d *differ) enter(i int, vk visit) bool {
	if d.visiting[i] == nil {
		d.visiting[i] = make(map[visit]bool)
	}
	if d.visiting[i][vk] {
		return false
	}
	d.visiting[i][vk] = true
	return true
}

func (d *differ) leave(i int, vks []visit) {
	for _, vk := range vks {
		delete(d.visiting[i], vk)
	}
}

// ownVisit returns the visit resolve entered for the map or slice s itself
// (the last of vks, after those of the pointers that led to it), or none.
func ownVisit(s side, vks []visit) []visit {
	if len(vks) == 0 || !s.v.IsValid() {
		return nil
	}
	switch s.v.Kind() {
	case reflect.Map, reflect.Slice:
		if last := vks[len(vks)-1]; last.ptr == s.v.Pointer() && last.typ == s.v.Type() {
			return vks[len(vks)-1:]
		}
	}
	return nil
}

func (d *differ) walk(path string, a, b side, depth int) {
	if d.truncated {
		return
	}
	if d.steps++; d.steps > maxSteps {
		d.truncated = true
		return
	}
	var va, vb []visit
	a, va = d.resolve(0, a)
	defer d.leave(0, va)
	b, vb = d.resolve(1, b)
	defer d.leave(1, vb)

	if a.absent() && b.absent() {
		return
	}
	if depth > maxDepth {
		if a.absent() || b.absent() || !deepEqual(a.v, b.v) {
			d.add(path, markerValue(a, MarkerTooDeep), markerValue(b, MarkerTooDeep), false)
		}
		return
	}
	// A marker, or a type change, splits the comparison into one-sided walks:
	// whatever the old side held is recorded as old, the new side as new.
	if a.marker != "" || b.marker != "" ||
		(a.v.IsValid() && b.v.IsValid() && a.v.Type() != b.v.Type()) {
		if a.marker != "" && a.marker == b.marker {
			return
		}
		// The one-sided walks resolve these values again: on the path
		// still, a map or slice would be taken for a cycle of its own.
		// The pointers that led to them stay on it, so that a cycle
		// through one is caught where it closes.
		d.leave(0, ownVisit(a, va))
		d.leave(1, ownVisit(b, vb))
		if a.marker != "" {
			d.add(path, attribute.StringValue(a.marker), attribute.Value{}, false)
		} else {
			d.walk(path, a, side{}, depth)
		}
		if b.marker != "" {
			d.add(path, attribute.Value{}, attribute.StringValue(b.marker), false)
		} else {
			d.walk(path, side{}, b, depth)
		}
		return
	}

	var t reflect.Type
	if a.v.IsValid() {
		t = a.v.Type()
	} else {
		t = b.v.Type()
	}
	if isByteSlice(t) {
		// JSON held as bytes (json.RawMessage, a JSON column) is walked as
		// what it encodes, so that its keys meet the secret-name rules.
		if ja, jb, ok := jsonSides(a, b); ok {
			d.leave(0, ownVisit(a, va)) // a side that is not JSON is walked again
			d.leave(1, ownVisit(b, vb))
			d.walk(path, ja, jb, depth)
			return
		}
	}
	if isLeafType(t) && !isURLType(t) && implements(t, errorType) {
		// An error that is a string or a number (type E string) is its
		// text: free text no name rule can check, as for the errors below.
		if errorChanged(a.v, b.v) {
			d.add(path, attribute.Value{}, attribute.Value{}, true)
		}
		return
	}
	if isLeafType(t) {
		// Identical comparable values have identical representations, so
		// an unchanged time or ID costs no conversion at all. The values
		// themselves must be comparable too: an interface inside a
		// comparable struct may hold a slice.
		if a.v.IsValid() && b.v.IsValid() && t.Comparable() && a.v.Comparable() && b.v.Comparable() && a.v.Equal(b.v) {
			return
		}
		if sameInstant(a.v, b.v) {
			return
		}
		var old, new attribute.Value
		if a.v.IsValid() {
			old = leafValue(a.v, d.secrets, false)
		}
		if b.v.IsValid() {
			new = leafValue(b.v, d.secrets, false)
		}
		if d.textMayHoldSecret(t) {
			// Its MarshalText may write what a credential-named field
			// holds: say that it changed, not what.
			if !valueEqual(old, new) || a.v.IsValid() && b.v.IsValid() && tailChanged(a.v, b.v, d.secrets) {
				d.add(path, attribute.Value{}, attribute.Value{}, true)
			}
			return
		}
		switch {
		case !valueEqual(old, new):
			d.add(path, old, new, false)
		case holdsURL(t) && a.v.IsValid() && b.v.IsValid() &&
			!valueEqual(leafValue(a.v, d.secrets, true), leafValue(b.v, d.secrets, true)):
			// A URL whose password (or credential-named parameter)
			// alone changed looks the same once masked: compared whole,
			// recorded masked, so the change is not lost.
			d.add(path, old, new, false)
		case a.v.IsValid() && b.v.IsValid() && tailChanged(a.v, b.v, d.secrets):
			// A long list changed only past the elements recorded looks
			// the same recorded: the change is kept, not lost.
			d.add(path, old, new, false)
		}
		return
	}
	if t.Kind() == reflect.Struct && !hasExportedField(t) {
		// Nothing for walkStruct to see; the type's own form decides.
		switch {
		case implements(t, jsonMarshalerType):
			// Walked as the JSON it writes, like JSON held in bytes, so
			// that its keys meet the secret-name rules.
			if a.v.IsValid() && b.v.IsValid() && deepEqual(a.v, b.v) {
				return
			}
			d.walk(path, marshalJSON(a), marshalJSON(b), depth)
			return
		case implements(t, errorType):
			// An error's text is free text that no name rule can check
			// (a DSN, a rejected input): say that it changed, not what.
			if errorChanged(a.v, b.v) {
				d.add(path, attribute.Value{}, attribute.Value{}, true)
			}
			return
		case t.NumField() > 0:
			// State held only in unexported fields (a money type, a
			// *time.Location) and no form of its own: its String may
			// print anything, so say that it changed, not what, rather
			// than lose the change, or a whole update of it.
			if a.absent() || b.absent() || !deepEqual(a.v, b.v) {
				d.add(path, markerValue(a, MarkerUnrepresentable), markerValue(b, MarkerUnrepresentable), false)
			}
			return
		}
	}

	switch t.Kind() {
	case reflect.Struct:
		d.walkStruct(path, a.v, b.v, t, depth)
	case reflect.Map:
		d.walkMap(path, a.v, b.v, t, depth)
	case reflect.Slice, reflect.Array:
		n := max(length(a.v), length(b.v))
		for i := range n {
			var ea, eb side
			if i < length(a.v) {
				ea.v = a.v.Index(i)
			}
			if i < length(b.v) {
				eb.v = b.v.Index(i)
			}
			d.walk(path+"["+strconv.Itoa(i)+"]", ea, eb, depth+1)
			if d.truncated {
				return
			}
		}
	default:
		// Channels, functions and unsafe pointers have no value to record:
		// say whether the reference changed, with a marker for each side.
		if a.v.IsValid() && b.v.IsValid() && a.v.UnsafePointer() == b.v.UnsafePointer() {
			return
		}
		d.add(path, markerValue(a, MarkerUnsupported), markerValue(b, MarkerUnsupported), false)
	}
}

// sameInstant reports whether a and b are times (or pointers to times) of
// the same instant, or slices or arrays of them holding the same instants,
// nil where the other is nil. Their text differs when their zones do, yet a
// value read back from a database, or decoded from a request, in another
// zone than the one it is compared with has not changed.
func sameInstant(a, b reflect.Value) bool {
	if !a.IsValid() || !b.IsValid() {
		return false
	}
	if k := a.Kind(); k == reflect.Slice || k == reflect.Array {
		if e := a.Type().Elem(); e != timeType && e != timePointerType || a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			ea, eb := a.Index(i), b.Index(i)
			if ea.Kind() == reflect.Pointer && (ea.IsNil() || eb.IsNil()) {
				if ea.IsNil() != eb.IsNil() {
					return false
				}
				continue
			}
			if !sameInstant(ea, eb) {
				return false
			}
		}
		return true
	}
	ta, okA := timeOf(a)
	tb, okB := timeOf(b)
	return okA && okB && ta.Equal(tb)
}

// timeOf returns the time v holds; the type is checked first so that other
// values are not boxed.
func timeOf(v reflect.Value) (time.Time, bool) {
	if !v.IsValid() || !v.CanInterface() {
		return time.Time{}, false
	}
	switch v.Type() {
	case timeType:
		return v.Interface().(time.Time), true
	case timePointerType:
		if !v.IsNil() {
			return *v.Interface().(*time.Time), true
		}
	}
	return time.Time{}, false
}

func length(v reflect.Value) int {
	if !v.IsValid() {
		return 0
	}
	return v.Len()
}

// markerValue is marker when s holds a value, and empty when s is absent.
func markerValue(s side, marker string) attribute.Value {
	if s.absent() {
		return attribute.Value{}
	}
	if s.marker != "" {
		return attribute.StringValue(s.marker)
	}
	return attribute.StringValue(marker)
}

// fieldInfo is how one struct field takes part in a diff.
type fieldInfo struct {
	index    int
	name     string
	redact   bool
	embedded bool
	// readOnly marks an embedded struct of an unexported type: it is
	// walked through readable.
	readOnly bool
}

// fields lists the fields of struct type t that a diff looks at: exported
// (or promoted from an unexported embedded struct) and not tagged
// activity:"-". Fields tagged activity:"redact" or json:"-", or named like a
// credential, are marked redact: their changes are recorded without values.
func (d *differ) fields(t reflect.Type) []fieldInfo {
	if d.fieldCache != nil {
		if fs, ok := d.fieldCache.Load(t); ok {
			return fs.([]fieldInfo)
		}
	}
	out := d.ownFields(t)
	d.nestClashing(t, out)
	if d.fieldCache != nil {
		d.fieldCache.Store(t, out)
	}
	return out
}

// ownFields is fields before nestClashing.
func (d *differ) ownFields(t reflect.Type) []fieldInfo {
	out := make([]fieldInfo, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		readOnly := false
		if !f.IsExported() {
			if !promotesFields(f) {
				continue
			}
			readOnly = true
		}
		tag := f.Tag.Get("activity")
		opts := strings.Split(tag, ",")
		if slices.Contains(opts, "-") {
			continue
		}
		// Fields are named by their json tags; json:"-," names a field "-".
		// A field encoding/json leaves out (json:"-") is one its author
		// keeps out of the type's serialised forms, often a secret or
		// internal state: its change is recorded, under its Go name,
		// without either value.
		jsonTag := f.Tag.Get("json")
		name, redact := f.Name, slices.Contains(opts, "redact")
		if jsonTag == "-" {
			redact = true
		} else if j, _, _ := strings.Cut(jsonTag, ","); j != "" {
			name = j
		}
		// A field named like a credential is recorded as a redact-tagged
		// one: that it changed (a password changed or reset) is part of
		// the trail, its values never are.
		if d.secrets.match(f.Name) || d.secrets.match(name) || d.secrets.match(gormColumn(f.Tag)) {
			redact = true
		}
		ft := derefType(f.Type)
		embedded := f.Anonymous && ft.Kind() == reflect.Struct && !isLeafType(ft) && f.Tag.Get("json") == "" && !redact
		out = append(out, fieldInfo{index: i, name: name, redact: redact, embedded: embedded, readOnly: readOnly})
	}
	return out
}

// promotesFields reports whether unexported field f is an embedded struct of
// an unexported type (type base struct{ID int}) whose exported fields, which
// encoding/json includes, the walk reads through a copy of them (readable).
// A type with a form of its own is not read: its text would be made from the
// copy's zeroed unexported state. Nor is one without exported fields: the
// copy holds none of its state, and its MarshalJSON or Error would describe
// the zeroed copy.
func promotesFields(f reflect.StructField) bool {
	ft := f.Type
	if f.IsExported() || !f.Anonymous || isLeafType(ft) {
		return false
	}
	ft = derefType(ft)
	return ft.Kind() == reflect.Struct && !isLeafType(ft) && hasOwnExportedField(ft)
}

// derefType is the type a pointer type points to; t itself for any other.
func derefType(t reflect.Type) reflect.Type {
	if t.Kind() == reflect.Pointer {
		return t.Elem()
	}
	return t
}

// readable returns v, a struct (or a pointer to one) reached through an
// unexported embedded field, which reflect lets no one read whole
// (Interface panics), as a copy of its exported fields, which it does let
// the walk read; its unexported fields, which the walk skips anyway, are
// left zero, and so are embedded structs of unexported types inside it. A
// nil pointer is no value.
func readable(v reflect.Value) reflect.Value {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	out := reflect.New(v.Type()).Elem()
	for i := range v.NumField() {
		if v.Type().Field(i).IsExported() {
			out.Field(i).Set(v.Field(i))
		}
	}
	return out
}

// nestClashing keeps under its own name an embedded struct of t whose
// fields, flattened, would share a name with another field of t (its own, or
// another embedded struct's), or that embeds t or itself again: flattened, a
// change of the hidden Inner.Name would read as a change of the Name a reader
// sees, and two embedded structs' fields, or two levels of a type that embeds
// itself, would be merged into one.
func (d *differ) nestClashing(t reflect.Type, fs []fieldInfo) {
	count := map[string]int{}
	names := make([][]string, len(fs))
	cyclic := make([]bool, len(fs))
	for i, f := range fs {
		if f.embedded {
			names[i], cyclic[i] = d.flatNames(t.Field(f.index).Type, map[reflect.Type]bool{t: true})
		} else {
			names[i] = []string{f.name}
		}
		for _, n := range names[i] {
			count[n]++
		}
	}
	for i := range fs {
		if !fs[i].embedded {
			continue
		}
		if cyclic[i] {
			fs[i].embedded = false
			continue
		}
		for _, n := range names[i] {
			if count[n] > 1 {
				fs[i].embedded = false
				break
			}
		}
	}
}

// flatNames lists the names the fields of embedded struct type t (or *t)
// may take when flattened into the struct that embeds it, its own embedded
// structs' included (all of them flattened: a clash found this way nests
// the struct, which loses nothing), each as often as it would occur. It
// reports true when t embeds, itself or through its embedded structs, a type
// on the path (the struct that embeds it, or t itself): flattened, one
// level's fields would take the place of another's. onPath holds that path.
func (d *differ) flatNames(t reflect.Type, onPath map[reflect.Type]bool) ([]string, bool) {
	t = derefType(t)
	if onPath[t] {
		return nil, true
	}
	onPath[t] = true
	defer delete(onPath, t)
	var out []string
	for _, f := range d.ownFields(t) {
		if !f.embedded {
			out = append(out, f.name)
			continue
		}
		names, cyclic := d.flatNames(t.Field(f.index).Type, onPath)
		if cyclic {
			return nil, true
		}
		out = append(out, names...)
	}
	return out, false
}

// gormColumn returns the column a GORM model's field is stored in, when its
// gorm tag names one ("column:otp_code;not null"): the GORM plugin diffs
// models whose column may say "credential" when the Go name does not.
func gormColumn(tag reflect.StructTag) string {
	for opt := range strings.SplitSeq(tag.Get("gorm"), ";") {
		if k, v, ok := strings.Cut(opt, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "column") {
			return v
		}
	}
	return ""
}

func (d *differ) walkStruct(path string, a, b reflect.Value, t reflect.Type, depth int) {
	for _, f := range d.fields(t) {
		var fa, fb side
		if a.IsValid() {
			fa.v = a.Field(f.index)
			if f.readOnly {
				fa.v = readable(fa.v)
			}
		}
		if b.IsValid() {
			fb.v = b.Field(f.index)
			if f.readOnly {
				fb.v = readable(fb.v)
			}
		}
		p := path
		if !f.embedded {
			p = join(path, f.name)
		}
		if f.redact {
			if redactedChanged(fa.v, fb.v) {
				d.add(p, attribute.Value{}, attribute.Value{}, true)
			}
			continue
		}
		d.walk(p, fa, fb, depth+1)
		if d.truncated {
			return
		}
	}
}

// redactedChanged reports whether a redacted field changed. On a create or a
// delete (one side absent) a redacted field counts as changed when it is set.
func redactedChanged(a, b reflect.Value) bool {
	switch {
	case !a.IsValid() && !b.IsValid():
		return false
	case !a.IsValid():
		return !b.IsZero()
	case !b.IsValid():
		return !a.IsZero()
	}
	return !deepEqual(a, b)
}

func (d *differ) walkMap(path string, a, b reflect.Value, t reflect.Type, depth int) {
	if !isMapKeyType(t.Key()) {
		if a.IsValid() && b.IsValid() && deepEqual(a, b) {
			return
		}
		var old, new attribute.Value
		if a.IsValid() {
			old = attribute.StringValue(MarkerUnsupported)
		}
		if b.IsValid() {
			new = attribute.StringValue(MarkerUnsupported)
		}
		d.add(path, old, new, false)
		return
	}
	type entry struct {
		name string
		key  reflect.Value
	}
	var keys []entry
	seen := map[string]bool{}
	for _, m := range []reflect.Value{a, b} {
		if !m.IsValid() {
			continue
		}
		iter := m.MapRange()
		for iter.Next() {
			name := mapKeyName(iter.Key())
			if !seen[name] {
				seen[name] = true
				keys = append(keys, entry{name, iter.Key()})
			}
		}
	}
	slices.SortFunc(keys, func(x, y entry) int { return strings.Compare(x.name, y.name) })
	for _, k := range keys {
		if d.secrets.match(k.name) {
			continue
		}
		var ea, eb side
		if a.IsValid() {
			if v := a.MapIndex(k.key); v.IsValid() {
				ea.v = v
			}
		}
		if b.IsValid() {
			if v := b.MapIndex(k.key); v.IsValid() {
				eb.v = v
			}
		}
		d.walk(join(path, k.name), ea, eb, depth+1)
		if d.truncated {
			return
		}
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func isMapKeyType(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}

func mapKeyName(k reflect.Value) string {
	switch k.Kind() {
	case reflect.String:
		return k.String()
	case reflect.Bool:
		return strconv.FormatBool(k.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10)
	default:
		return strconv.FormatUint(k.Uint(), 10)
	}
}

// isByteSlice reports whether t is a slice of bytes: []byte,
// json.RawMessage, or another named one.
func isByteSlice(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8
}

// maxJSONBytes bounds the bytes jsonSides parses.
const maxJSONBytes = 1 << 20

// jsonSides returns the sides of a diff of byte slices with each one that
// holds a JSON object or array replaced by what it holds, and whether any
// was. A side that holds none (text, JSON null) stays bytes: the type change
// then records it whole while the other side is walked, so that a JSON
// column cleared or overwritten still has its keys meet the secret rules.
func jsonSides(a, b side) (side, side, bool) {
	parse := func(s side) (side, bool) {
		if !s.v.IsValid() || s.marker != "" {
			return s, false
		}
		raw := bytes.TrimSpace(s.v.Bytes())
		if len(raw) == 0 || (raw[0] != '{' && raw[0] != '[') {
			return s, false
		}
		v, ok := decodeJSON(raw)
		if !ok {
			return s, false
		}
		return side{v: v}, true
	}
	ja, okA := parse(a)
	jb, okB := parse(b)
	return ja, jb, okA || okB
}

// isLeafType reports whether values of t are recorded whole rather than
// walked: scalars, time and other text-marshalable values, byte slices, and
// slices or arrays of those.
func isLeafType(t reflect.Type) bool {
	if t == durationType || isByteSlice(t) || t.Implements(textMarshalerType) || isURLType(t) {
		return true
	}
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface && reflect.PointerTo(t).Implements(textMarshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Slice, reflect.Array:
		e := t.Elem()
		return e.Kind() != reflect.Slice && e.Kind() != reflect.Array && isLeafType(e)
	}
	return false
}

// leafValue converts a leaf-typed value to an attribute value. It never
// formats a struct: a struct is only ever a leaf through its own MarshalText.
//
// URLs are recorded masked (see urlValue); reveal renders them whole, for
// comparing two values only, never for a value that is recorded.
func leafValue(v reflect.Value, rules secretRules, reveal bool) (out attribute.Value) {
	t := v.Type()
	switch {
	case isURLType(t):
		return urlValue(v, rules, reveal)
	case t == durationType:
		return attribute.StringValue(time.Duration(v.Int()).String())
	case t.Implements(textMarshalerType):
		return marshalText(v)
	case t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface && reflect.PointerTo(t).Implements(textMarshalerType):
		p, ok := addressable(v, textMarshalerType)
		if !ok {
			return attribute.StringValue(MarkerUnrepresentable)
		}
		return marshalText(p)
	case isByteSlice(t):
		// Text as text, where the collector's detectors can read it;
		// anything else as base64.
		b := v.Bytes()
		if utf8.Valid(b) {
			return attribute.StringValue(string(b))
		}
		return attribute.StringValue(base64.StdEncoding.EncodeToString(b))
	}
	switch v.Kind() {
	case reflect.Bool:
		return attribute.BoolValue(v.Bool())
	case reflect.String:
		return attribute.StringValue(v.String())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return attribute.Int64Value(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := v.Uint()
		if u > math.MaxInt64 {
			return attribute.StringValue(strconv.FormatUint(u, 10))
		}
		return attribute.Int64Value(int64(u))
	case reflect.Float32, reflect.Float64:
		return attribute.Float64Value(v.Float())
	case reflect.Complex64, reflect.Complex128:
		return attribute.StringValue(strconv.FormatComplex(v.Complex(), 'g', -1, 128))
	case reflect.Slice, reflect.Array:
		n := v.Len()
		elems := make([]attribute.Value, 0, min(n, maxLeafSlice+1))
		for i := range min(n, maxLeafSlice) {
			elems = append(elems, leafElem(v.Index(i), rules, reveal))
		}
		if n > maxLeafSlice {
			elems = append(elems, attribute.StringValue("[+"+strconv.Itoa(n-maxLeafSlice)+" more]"))
		}
		return attribute.SliceValue(elems...)
	}
	return attribute.StringValue(MarkerUnsupported)
}

// textSecretKey is the fieldCache key of textMayHoldSecret's answer for a
// type, beside the type's own []fieldInfo.
type textSecretKey struct{ t reflect.Type }

// textMayHoldSecret reports whether leaf type t (or the element type of a
// list of them) is a struct recorded through its MarshalText that has a
// field named like a credential, exported or not, itself or in a struct it
// holds: its text may then write the credential. URLs are masked instead.
func (d *differ) textMayHoldSecret(t reflect.Type) bool {
	if k := t.Kind(); k == reflect.Slice || k == reflect.Array {
		t = t.Elem()
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || isURLType(t) {
		return false
	}
	if d.fieldCache != nil {
		if v, ok := d.fieldCache.Load(textSecretKey{t}); ok {
			return v.(bool)
		}
	}
	found := d.structNamesSecret(t, map[reflect.Type]bool{})
	if d.fieldCache != nil {
		d.fieldCache.Store(textSecretKey{t}, found)
	}
	return found
}

// structNamesSecret reports whether struct type t, or a struct reachable
// from its fields' types, has a field named like a credential.
func (d *differ) structNamesSecret(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	for i := range t.NumField() {
		f := t.Field(i)
		if d.secrets.match(f.Name) {
			return true
		}
		ft := f.Type
		for {
			switch ft.Kind() {
			case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
				ft = ft.Elem()
				continue
			}
			break
		}
		if ft.Kind() == reflect.Struct && d.structNamesSecret(ft, seen) {
			return true
		}
	}
	return false
}

// leafElem is leafValue for one element of a list of scalars, which may be a
// pointer or an interface: empty when nil.
func leafElem(e reflect.Value, rules secretRules, reveal bool) attribute.Value {
	for e.Kind() == reflect.Pointer || e.Kind() == reflect.Interface {
		if e.IsNil() {
			return attribute.Value{}
		}
		e = e.Elem()
	}
	return leafValue(e, rules, reveal)
}

// tailChanged reports whether two lists of scalars of one length differ past
// the maxLeafSlice elements leafValue records, where their recorded forms
// cannot tell. Bytes are recorded whole and need no look. Equal lists are
// told at once; others are compared element by element, stopping at the
// first difference, with times compared by instant as sameInstant does.
func tailChanged(a, b reflect.Value, rules secretRules) bool {
	if k := a.Kind(); k != reflect.Slice && k != reflect.Array || a.Len() != b.Len() ||
		a.Len() <= maxLeafSlice || isByteSlice(a.Type()) || deepEqual(a, b) {
		return false
	}
	for i := maxLeafSlice; i < a.Len(); i++ {
		ea, eb := a.Index(i), b.Index(i)
		if sameInstant(ea, eb) {
			continue
		}
		if !valueEqual(leafElem(ea, rules, true), leafElem(eb, rules, true)) {
			return true
		}
	}
	return false
}

// isURLType reports whether t is a URL or a URL's user info, or a pointer to
// one: recorded whole, as text with credentials masked, rather than walked
// (the password is unexported, and a walk would miss its change).
func isURLType(t reflect.Type) bool {
	t = derefType(t)
	return t == urlType || t == userinfoType
}

// holdsURL reports whether values of leaf type t may hold a URL.
func holdsURL(t reflect.Type) bool {
	if k := t.Kind(); k == reflect.Slice || k == reflect.Array {
		t = t.Elem()
	}
	return isURLType(t)
}

// maskedSecret replaces a credential in a URL, as url.URL.Redacted does.
const maskedSecret = "xxxxx"

// urlValue renders a URL (or its user info) as text with its password, and
// the values of query or fragment parameters named like credentials
// (?api_key=, #access_token=), replaced by maskedSecret. With reveal it is
// rendered whole, only to compare it.
func urlValue(v reflect.Value, rules secretRules, reveal bool) attribute.Value {
	if !v.CanInterface() {
		return attribute.StringValue(MarkerUnrepresentable)
	}
	var u *url.URL
	switch x := v.Interface().(type) {
	case url.URL:
		u = &x
	case *url.URL:
		u = x
	case url.Userinfo:
		return attribute.StringValue(userinfoText(&x, reveal))
	case *url.Userinfo:
		return attribute.StringValue(userinfoText(x, reveal))
	}
	if u == nil {
		return attribute.Value{}
	}
	if reveal {
		return attribute.StringValue(u.String())
	}
	m := *u
	if _, ok := m.User.Password(); ok {
		m.User = url.UserPassword(m.User.Username(), maskedSecret)
	}
	m.Opaque = maskOpaqueUserinfo(m.Opaque)
	m.RawQuery = maskParams(m.RawQuery, rules)
	if f := m.EscapedFragment(); strings.Contains(f, "=") {
		if masked := maskParams(f, rules); masked != f {
			m.Fragment, _ = url.PathUnescape(masked)
			m.RawFragment = masked
		}
	}
	return attribute.StringValue(m.String())
}

// maskOpaqueUserinfo masks a password in the user info of an opaque URL,
// which url.URL keeps as text ("jdbc:postgresql://app:pw@db/x" has the
// opaque part "postgresql://app:pw@db/x", "redis:app:pw@host" has
// "app:pw@host"): whatever lies between the start of the authority (after
// "//", or the start) and the last '@', after its first ':', is masked.
func maskOpaqueUserinfo(opaque string) string {
	at := strings.LastIndexByte(opaque, '@')
	if at < 0 {
		return opaque
	}
	start := 0
	if k := strings.Index(opaque[:at], "//"); k >= 0 {
		start = k + 2
	}
	c := strings.IndexByte(opaque[start:at], ':')
	if c < 0 {
		return opaque
	}
	return opaque[:start+c+1] + maskedSecret + opaque[at:]
}

// userinfoText is user info as a URL shows it, its password masked unless
// reveal.
func userinfoText(u *url.Userinfo, reveal bool) string {
	if u == nil {
		return ""
	}
	if reveal {
		return u.String()
	}
	if _, ok := u.Password(); ok {
		return url.UserPassword(u.Username(), maskedSecret).String()
	}
	return u.String()
}

// maskParams replaces the value of every key=value pair of an escaped query
// or fragment whose key is named like a credential. Pairs are split at ';'
// as well as '&', as some servers split them, so that a credential cannot
// hide in the value of the pair before it.
func maskParams(raw string, rules secretRules) string {
	if raw == "" {
		return raw
	}
	var b strings.Builder
	for i := 0; i <= len(raw); {
		j := strings.IndexAny(raw[i:], "&;")
		if j < 0 {
			j = len(raw) - i
		}
		pair := raw[i : i+j]
		if k, _, ok := strings.Cut(pair, "="); ok {
			name := k
			if u, err := url.QueryUnescape(k); err == nil {
				name = u
			}
			if rules.match(name) {
				pair = k + "=" + maskedSecret
			}
		}
		b.WriteString(pair)
		if i+j < len(raw) {
			b.WriteByte(raw[i+j])
		}
		i += j + 1
	}
	return b.String()
}

// hasExportedField reports whether struct type t has an exported field, its
// own or one it promotes from an embedded struct of an unexported type that
// the walk reads (promotesFields).
func hasExportedField(t reflect.Type) bool {
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() || promotesFields(f) {
			return true
		}
	}
	return false
}

// hasOwnExportedField reports whether struct type t declares an exported
// field.
func hasOwnExportedField(t reflect.Type) bool {
	for i := range t.NumField() {
		if t.Field(i).IsExported() {
			return true
		}
	}
	return false
}

// implements reports whether t or a pointer to it implements iface.
func implements(t, iface reflect.Type) bool {
	return t.Implements(iface) || reflect.PointerTo(t).Implements(iface)
}

// addressable returns v, or a pointer to a copy of it when only the
// pointer implements iface, ready for Interface; false when v cannot be
// read safely.
func addressable(v reflect.Value, iface reflect.Type) (reflect.Value, bool) {
	if !v.CanInterface() {
		return v, false
	}
	if v.Type().Implements(iface) {
		return v, true
	}
	p := reflect.New(v.Type())
	p.Elem().Set(v)
	return p, true
}

// marshalJSON returns the side as the JSON its MarshalJSON writes, decoded;
// an absent side stays absent, a failure, a panic or JSON too large to
// parse becomes MarkerUnrepresentable.
func marshalJSON(s side) (out side) {
	if !s.v.IsValid() {
		return s
	}
	v, ok := addressable(s.v, jsonMarshalerType)
	if !ok {
		return side{marker: MarkerUnrepresentable}
	}
	defer func() {
		if recover() != nil {
			out = side{marker: MarkerUnrepresentable}
		}
	}()
	raw, err := v.Interface().(json.Marshaler).MarshalJSON()
	if err != nil {
		return side{marker: MarkerUnrepresentable}
	}
	decoded, ok := decodeJSON(raw)
	if !ok {
		return side{marker: MarkerUnrepresentable}
	}
	return side{v: decoded}
}

// decodeJSON decodes JSON of at most maxJSONBytes into values a diff walks
// (maps, slices, strings, numbers), or reports false.
func decodeJSON(raw []byte) (reflect.Value, bool) {
	if len(raw) > maxJSONBytes {
		return reflect.Value{}, false
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return reflect.Value{}, false
	}
	return reflect.ValueOf(v), true
}

// errorChanged reports whether an error changed: set on one side only, or
// with another text. An error whose text cannot be read counts as changed
// unless the values are equal.
func errorChanged(a, b reflect.Value) bool {
	if !a.IsValid() || !b.IsValid() {
		return a.IsValid() != b.IsValid()
	}
	if deepEqual(a, b) {
		return false
	}
	ta, okA := errorText(a)
	tb, okB := errorText(b)
	return !okA || !okB || ta != tb
}

// errorText calls the value's Error, reporting false on a panic.
func errorText(v reflect.Value) (text string, ok bool) {
	v, ok = addressable(v, errorType)
	if !ok {
		return "", false
	}
	defer func() {
		if recover() != nil {
			text, ok = "", false
		}
	}()
	return v.Interface().(error).Error(), true
}

// marshalText calls the value's own MarshalText; a failure or panic (a nil
// receiver, say) becomes MarkerUnrepresentable.
func marshalText(v reflect.Value) (out attribute.Value) {
	if !v.CanInterface() {
		return attribute.StringValue(MarkerUnrepresentable)
	}
	defer func() {
		if recover() != nil {
			out = attribute.StringValue(MarkerUnrepresentable)
		}
	}()
	m, ok := v.Interface().(encoding.TextMarshaler)
	if !ok {
		return attribute.StringValue(MarkerUnrepresentable)
	}
	b, err := m.MarshalText()
	if err != nil {
		return attribute.StringValue(MarkerUnrepresentable)
	}
	return attribute.StringValue(string(b))
}

// valueEqual compares two attribute values; NaNs with the same bits are equal
// so an unchanged NaN is not reported as a change.
func valueEqual(a, b attribute.Value) bool {
	if a.Type() != b.Type() {
		return false
	}
	switch a.Type() {
	case attribute.EMPTY:
		return true
	case attribute.BOOL:
		return a.AsBool() == b.AsBool()
	case attribute.INT64:
		return a.AsInt64() == b.AsInt64()
	case attribute.FLOAT64:
		return math.Float64bits(a.AsFloat64()) == math.Float64bits(b.AsFloat64())
	case attribute.STRING:
		return a.AsString() == b.AsString()
	case attribute.SLICE:
		as, bs := a.AsSlice(), b.AsSlice()
		if len(as) != len(bs) {
			return false
		}
		for i := range as {
			if !valueEqual(as[i], bs[i]) {
				return false
			}
		}
		return true
	}
	return a.Emit() == b.Emit()
}

// deepEqual is reflect.DeepEqual on two reflected values, which copes with
// cycles; values that cannot be read safely compare as different.
func deepEqual(a, b reflect.Value) (eq bool) {
	if !a.CanInterface() || !b.CanInterface() {
		return false
	}
	defer func() {
		if recover() != nil {
			eq = false
		}
	}()
	return reflect.DeepEqual(a.Interface(), b.Interface())
}
