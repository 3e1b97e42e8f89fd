package instrumentation_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"reflect"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"

	"github.com/activitylog/activitylog/instrumentation"
)

type address struct {
	Street string `json:"street"`
	City   string `json:"city"`
}

type member struct {
	Name     string            `json:"name"`
	Email    *string           `json:"email"`
	Address  address           `json:"address"`
	Billing  *address          `json:"billing"`
	Tags     []string          `json:"tags"`
	Prefs    map[string]string `json:"prefs"`
	Birthday time.Time         `json:"birthday"`
	Tier     int               `json:"tier"`
	Balance  float64           `json:"balance"`

	PasswordHash string `json:"password_hash"`
	APIKey       string
	Internal     string `activity:"-"`
	PIN          string `json:"pin" activity:"redact"`
	Phone        string `json:"phone" activity:"redact"`
	notes        string
}

type contact struct {
	Name   string `json:"name"`
	Phone  string `json:"phone" activity:"redact"`
	Mobile string `json:"mobile" activity:"redact"`
}

type node struct {
	Name string
	Next *node
}

type withFunc struct {
	Name     string
	Callback func()
	Events   chan int
	Ptr      unsafe.Pointer
}

type base struct {
	ID        int `json:"id"`
	UpdatedAt time.Time
}

type embedding struct {
	base
	Model
	Title string `json:"title"`
}

// Named is embedded by types whose own fields clash with its Name. The
// clashing fields have no json tags (they are named by their Go names), which
// go vet would flag as repeated.
type Named struct {
	Name string
	Note string `json:"note"`
}

// Titled is embedded beside Named, with a Name of its own.
type Titled struct {
	Name  string
	Stars int `json:"stars"`
}

// hiding has a Name of its own, which hides Named.Name from its readers.
type hiding struct {
	Named
	Name string
}

// twoEmbedded embeds two structs whose Name fields clash.
type twoEmbedded struct {
	Named
	Titled
}

// redactedEmbedded embeds a struct tagged redact.
type redactedEmbedded struct {
	Model `activity:"redact"`
	Title string `json:"title"`
}

// Chain embeds itself: the Name of each level hides the Name of the one it
// embeds, as in a tree whose nodes embed their parents.
type Chain struct {
	*Chain
	Name string
}

// Parent and Child embed each other: Child's Parent.note, flattened twice,
// would take the place of the outer Parent's note.
type Parent struct {
	*Child
	Note string `json:"note"`
}

// Child is embedded by Parent and embeds it.
type Child struct {
	*Parent
	Title string `json:"title"`
}

// pointerBase embeds a pointer to an unexported struct.
type pointerBase struct {
	*base
	Title string `json:"title"`
}

// labelled embeds a pointer to label, an unexported struct whose state is
// all unexported and whose only form is its MarshalJSON.
type labelled struct {
	*label
	Title string `json:"title"`
}

// baseOnly has no fields but base's, which it promotes.
type baseOnly struct {
	base
}

// chainLink embeds a pointer to its own, unexported type.
type chainLink struct {
	*chainLink
	Name string
}

// Model is exported so that embedding flattens its fields like encoding/json.
type Model struct {
	Version int `json:"version"`
}

type items struct {
	Lines []line `json:"lines"`
}

type line struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

type anyHolder struct {
	V any `json:"v"`
}

func strp(s string) *string { return &s }

func TestDiff(t *testing.T) {
	day := time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC)
	cyclic := func(name string) *node {
		n := &node{Name: name}
		n.Next = n
		return n
	}
	selfMap := map[string]any{"a": 1}
	selfMap["self"] = selfMap
	tests := []struct {
		name   string
		before any
		after  any
		want   map[string]any
	}{
		{
			name:   "scalar fields",
			before: member{Name: "Ann", Tier: 1, Balance: 2.5},
			after:  member{Name: "Anne", Tier: 1, Balance: 3},
			want: map[string]any{
				"name":    map[string]any{"old": "Ann", "new": "Anne"},
				"balance": map[string]any{"old": 2.5, "new": 3.0},
			},
		},
		{
			name:   "nested struct",
			before: member{Address: address{Street: "1 Main St", City: "Springfield"}},
			after:  member{Address: address{Street: "1 Main St", City: "Shelbyville"}},
			want:   map[string]any{"address.city": map[string]any{"old": "Springfield", "new": "Shelbyville"}},
		},
		{
			name:   "pointer to scalar set and changed",
			before: member{Email: nil},
			after:  member{Email: strp("ann@example.com")},
			want:   map[string]any{"email": map[string]any{"new": "ann@example.com"}},
		},
		{
			name:   "pointer to scalar cleared",
			before: member{Email: strp("ann@example.com")},
			after:  member{},
			want:   map[string]any{"email": map[string]any{"old": "ann@example.com"}},
		},
		{
			name:   "same pointee through different pointers is no change",
			before: member{Email: strp("x@example.com")},
			after:  member{Email: strp("x@example.com")},
			want:   map[string]any{},
		},
		{
			name:   "pointer to struct set",
			before: member{},
			after:  member{Billing: &address{City: "Paris"}},
			want: map[string]any{
				"billing.street": map[string]any{"new": ""},
				"billing.city":   map[string]any{"new": "Paris"},
			},
		},
		{
			name:   "slice of scalars recorded whole",
			before: member{Tags: []string{"gold"}},
			after:  member{Tags: []string{"gold", "vip"}},
			want:   map[string]any{"tags": map[string]any{"old": []any{"gold"}, "new": []any{"gold", "vip"}}},
		},
		{
			name:   "slice of structs element by element",
			before: items{Lines: []line{{"A", 1}, {"B", 2}}},
			after:  items{Lines: []line{{"A", 1}, {"B", 3}, {"C", 1}}},
			want: map[string]any{
				"lines[1].qty": map[string]any{"old": int64(2), "new": int64(3)},
				"lines[2].sku": map[string]any{"new": "C"},
				"lines[2].qty": map[string]any{"new": int64(1)},
			},
		},
		{
			name:   "map keys added, changed and removed",
			before: member{Prefs: map[string]string{"lang": "en", "theme": "dark"}},
			after:  member{Prefs: map[string]string{"lang": "fr", "tz": "CET"}},
			want: map[string]any{
				"prefs.lang":  map[string]any{"old": "en", "new": "fr"},
				"prefs.theme": map[string]any{"old": "dark"},
				"prefs.tz":    map[string]any{"new": "CET"},
			},
		},
		{
			name:   "map with credential keys",
			before: map[string]any{"user": "ann", "X-Api-Key": "k1", "newPassword": "p1", "session_id": "s1"},
			after:  map[string]any{"user": "bob", "X-Api-Key": "k2", "newPassword": "p2", "session_id": "s2"},
			want:   map[string]any{"user": map[string]any{"old": "ann", "new": "bob"}},
		},
		{
			name:   "time values",
			before: member{Birthday: day},
			after:  member{Birthday: day.AddDate(0, 0, 1)},
			want:   map[string]any{"birthday": map[string]any{"old": "1990-05-17T00:00:00Z", "new": "1990-05-18T00:00:00Z"}},
		},
		{
			// A database or a JSON body may give the same instant in another
			// zone than the value it is compared with: not a change.
			name:   "same instant in another time zone is no change",
			before: member{Birthday: day, Email: strp("a@example.com")},
			after:  member{Birthday: day.In(time.FixedZone("CEST", 2*60*60)), Email: strp("a@example.com")},
			want:   map[string]any{},
		},
		{
			name:   "same instant through pointers in another time zone is no change",
			before: anyHolder{V: &day},
			after:  anyHolder{V: new(day.In(time.FixedZone("EST", -5*60*60)))},
			want:   map[string]any{},
		},
		{
			// Slices and arrays of times are recorded whole, but compared
			// instant by instant like a single time.
			name:   "same instants in slices and arrays in another time zone are no change",
			before: timeLists{Slots: []time.Time{day, day.AddDate(0, 0, 1)}, Window: [2]time.Time{day}, Reminders: []*time.Time{&day, nil}},
			after: timeLists{Slots: []time.Time{day.In(time.FixedZone("CEST", 2*60*60)), day.AddDate(0, 0, 1)},
				Window: [2]time.Time{day.In(time.FixedZone("EST", -5*60*60))}, Reminders: []*time.Time{new(day.In(time.FixedZone("CEST", 2*60*60))), nil}},
			want: map[string]any{},
		},
		{
			name:   "a changed instant in a slice of times is a change",
			before: timeLists{Slots: []time.Time{day}},
			after:  timeLists{Slots: []time.Time{day.Add(time.Hour)}},
			want:   map[string]any{"slots": map[string]any{"old": []any{"1990-05-17T00:00:00Z"}, "new": []any{"1990-05-17T01:00:00Z"}}},
		},
		{
			name:   "text-marshalable values",
			before: anyHolder{V: netip.MustParseAddr("10.0.0.1")},
			after:  anyHolder{V: netip.MustParseAddr("10.0.0.2")},
			want:   map[string]any{"v": map[string]any{"old": "10.0.0.1", "new": "10.0.0.2"}},
		},
		{
			name:   "durations",
			before: anyHolder{V: 90 * time.Second},
			after:  anyHolder{V: 2 * time.Minute},
			want:   map[string]any{"v": map[string]any{"old": "1m30s", "new": "2m0s"}},
		},
		{
			name:   "nil before records every field as new",
			before: nil,
			after:  &address{Street: "1 Main St", City: "Springfield"},
			want: map[string]any{
				"street": map[string]any{"new": "1 Main St"},
				"city":   map[string]any{"new": "Springfield"},
			},
		},
		{
			name:   "nil after records every field as old",
			before: address{Street: "1 Main St"},
			after:  (*address)(nil),
			want: map[string]any{
				"street": map[string]any{"old": "1 Main St"},
				"city":   map[string]any{"old": ""},
			},
		},
		{
			name:   "both nil",
			before: nil,
			after:  (*member)(nil),
			want:   map[string]any{},
		},
		{
			name:   "unexported fields skipped",
			before: member{notes: "a"},
			after:  member{notes: "b"},
			want:   map[string]any{},
		},
		{
			// A credential's change is part of the trail (a password reset),
			// its values never are; an unchanged one (PIN) is not mentioned.
			name:   "omitted fields skipped, credential-named and redacted fields without values",
			before: member{PasswordHash: "h1", APIKey: "k1", Internal: "i1", PIN: "1234", Phone: "555-0100"},
			after:  member{PasswordHash: "h2", APIKey: "k2", Internal: "i2", PIN: "1234", Phone: "555-0199"},
			want: map[string]any{
				"password_hash": map[string]any{"redacted": true},
				"APIKey":        map[string]any{"redacted": true},
				"phone":         map[string]any{"redacted": true},
			},
		},
		{
			name:   "redacted field set on create, unset one not mentioned",
			before: nil,
			after:  &contact{Name: "Ann", Phone: "555-0100"},
			want: map[string]any{
				"name":  map[string]any{"new": "Ann"},
				"phone": map[string]any{"redacted": true},
			},
		},
		{
			// Of an unexported type too (base), as encoding/json does: its
			// exported fields were not recorded at all before.
			name:   "embedded structs are flattened",
			before: embedding{base: base{ID: 1}, Model: Model{Version: 1}, Title: "a"},
			after:  embedding{base: base{ID: 2, UpdatedAt: day}, Model: Model{Version: 2}, Title: "b"},
			want: map[string]any{
				"id":        map[string]any{"old": int64(1), "new": int64(2)},
				"UpdatedAt": map[string]any{"old": "0001-01-01T00:00:00Z", "new": "1990-05-17T00:00:00Z"},
				"version":   map[string]any{"old": int64(1), "new": int64(2)},
				"title":     map[string]any{"old": "a", "new": "b"},
			},
		},
		{
			name:   "an embedded pointer to an unexported struct, set",
			before: pointerBase{Title: "a"},
			after:  pointerBase{base: &base{ID: 7}, Title: "a"},
			want: map[string]any{
				"id":        map[string]any{"new": int64(7)},
				"UpdatedAt": map[string]any{"new": "0001-01-01T00:00:00Z"},
			},
		},
		{
			// The embedded level is read one deep, without looping.
			name:   "an unexported struct that embeds itself",
			before: func() *chainLink { c := &chainLink{Name: "a"}; c.chainLink = c; return c }(),
			after:  &chainLink{Name: "a", chainLink: &chainLink{Name: "b"}},
			want:   map[string]any{"chainLink.Name": map[string]any{"old": "a", "new": "b"}},
		},
		{
			// The copy it is read through holds none of its state: its
			// MarshalJSON, run on that zeroed copy, was recorded as the new
			// value ("value": {"new": ""}), which it never had.
			name:   "an embedded pointer to an unexported struct without exported fields is not read",
			before: labelled{Title: "a"},
			after:  labelled{label: &label{s: "secret plan"}, Title: "a"},
			want:   map[string]any{},
		},
		{
			// Its only fields are promoted from base: it was taken for a
			// struct without exported fields, recorded as [unrepresentable].
			name:   "a struct whose only field is an unexported embedded struct",
			before: baseOnly{base: base{ID: 1}},
			after:  baseOnly{base: base{ID: 2}},
			want:   map[string]any{"id": map[string]any{"old": int64(1), "new": int64(2)}},
		},
		{
			// Flattened, the hidden Named.Name's change read as a change of
			// the Name a reader sees, which did not change.
			name:   "an embedded struct whose field the outer one hides keeps its own name",
			before: hiding{Named: Named{Name: "a", Note: "n1"}, Name: "outer"},
			after:  hiding{Named: Named{Name: "b", Note: "n2"}, Name: "outer"},
			want: map[string]any{
				"Named.Name": map[string]any{"old": "a", "new": "b"},
				"Named.note": map[string]any{"old": "n1", "new": "n2"},
			},
		},
		{
			// Flattened, both Names were recorded under one "name".
			name:   "embedded structs whose fields clash keep their own names",
			before: twoEmbedded{Named: Named{Name: "a"}, Titled: Titled{Name: "x", Stars: 1}},
			after:  twoEmbedded{Named: Named{Name: "b"}, Titled: Titled{Name: "x", Stars: 2}},
			want: map[string]any{
				"Named.Name":   map[string]any{"old": "a", "new": "b"},
				"Titled.stars": map[string]any{"old": int64(1), "new": int64(2)},
			},
		},
		{
			// Flattened, the embedded level's Name change read as a change
			// of the outer Name, which a reader sees and which did not change.
			name:   "a struct that embeds itself keeps the embedded one under its own name",
			before: Chain{Name: "top", Chain: &Chain{Name: "a"}},
			after:  Chain{Name: "top", Chain: &Chain{Name: "b"}},
			want:   map[string]any{"Chain.Name": map[string]any{"old": "a", "new": "b"}},
		},
		{
			// Flattened, the inner Parent's note change read as a change of
			// the outer note, which did not change.
			name:   "structs that embed each other keep the embedded ones under their own names",
			before: Parent{Note: "n", Child: &Child{Title: "t", Parent: &Parent{Note: "a"}}},
			after:  Parent{Note: "n", Child: &Child{Title: "t", Parent: &Parent{Note: "b"}}},
			want:   map[string]any{"Child.Parent.note": map[string]any{"old": "a", "new": "b"}},
		},
		{
			name:   "an embedded struct tagged redact is recorded under its own name",
			before: redactedEmbedded{Model: Model{Version: 1}, Title: "t"},
			after:  redactedEmbedded{Model: Model{Version: 2}, Title: "t"},
			want:   map[string]any{"Model": map[string]any{"redacted": true}},
		},
		{
			name:   "cycle on both sides is not a change",
			before: cyclic("a"),
			after:  cyclic("a"),
			want:   map[string]any{},
		},
		{
			name:   "cycle gets a marker",
			before: &node{Name: "a"},
			after:  cyclic("a"),
			want:   map[string]any{"Next": map[string]any{"new": instrumentation.MarkerCycle}},
		},
		{
			name:   "map containing itself",
			before: map[string]any{"a": 1},
			after:  selfMap,
			want:   map[string]any{"self": map[string]any{"new": instrumentation.MarkerCycle}},
		},
		{
			name:   "functions, channels and unsafe pointers get a marker",
			before: withFunc{Name: "a"},
			after:  withFunc{Name: "a", Callback: func() {}, Events: make(chan int), Ptr: unsafe.Pointer(new(int))},
			want: map[string]any{
				"Callback": map[string]any{"new": instrumentation.MarkerUnsupported},
				"Events":   map[string]any{"new": instrumentation.MarkerUnsupported},
				"Ptr":      map[string]any{"new": instrumentation.MarkerUnsupported},
			},
		},
		{
			name:   "type change inside an interface",
			before: anyHolder{V: 1},
			after:  anyHolder{V: "one"},
			want:   map[string]any{"v": map[string]any{"old": int64(1), "new": "one"}},
		},
		{
			name:   "interface from scalar to struct",
			before: anyHolder{V: 1},
			after:  anyHolder{V: address{City: "Oslo"}},
			want: map[string]any{
				"v":        map[string]any{"old": int64(1)},
				"v.street": map[string]any{"new": ""},
				"v.city":   map[string]any{"new": "Oslo"},
			},
		},
		{
			// The map or slice the field held is walked, not taken for a
			// cycle of its own.
			name:   "interface field changing from a map or slice to a scalar",
			before: map[string]any{"m": map[string]any{"a": 1}, "s": []address{{City: "Oslo"}}},
			after:  map[string]any{"m": 2, "s": "none"},
			want: map[string]any{
				"m.a":         map[string]any{"old": int64(1)},
				"m":           map[string]any{"new": int64(2)},
				"s[0].city":   map[string]any{"old": "Oslo"},
				"s[0].street": map[string]any{"old": ""},
				"s":           map[string]any{"new": "none"},
			},
		},
		{
			// Only the map or slice is released for the one-sided walk:
			// a pointer cycle under a type change is still caught where
			// it closes, not one level later with its fields repeated.
			name:   "cycle through a pointer under a type change",
			before: anyHolder{V: cyclic("a")},
			after:  anyHolder{V: "none"},
			want: map[string]any{
				"v.Name": map[string]any{"old": "a"},
				"v.Next": map[string]any{"old": instrumentation.MarkerCycle},
				"v":      map[string]any{"new": "none"},
			},
		},
		{
			name:   "top-level scalars",
			before: 1,
			after:  2,
			want:   map[string]any{instrumentation.RootField: map[string]any{"old": int64(1), "new": int64(2)}},
		},
		{
			name:   "bytes, unsigned, complex",
			before: map[string]any{"b": []byte("hi"), "u": uint64(1 << 63), "c": complex(1, 2), "bin": []byte{0xff, 0}},
			after:  map[string]any{"b": []byte("ho"), "u": uint8(7), "c": complex(1, 2), "bin": []byte{0xfe, 0}},
			want: map[string]any{
				// Text as text (where the collector's detectors read it),
				// anything else as base64.
				"b":   map[string]any{"old": "hi", "new": "ho"},
				"bin": map[string]any{"old": "/wA=", "new": "/gA="},
				"u":   map[string]any{"old": "9223372036854775808", "new": int64(7)},
			},
		},
		{
			// JSON held as bytes is walked as what it encodes: its keys meet
			// the secret-name rules, at any depth.
			name: "json in bytes",
			before: jsonHolder{Settings: json.RawMessage(`{"theme":"dark","password":"hunter2","smtp":{"token":"t1"}}`),
				Doc: rawDoc(`[{"pin":"1234","x":1}]`)},
			after: jsonHolder{Settings: json.RawMessage(`{"theme":"light","password":"correct-horse","smtp":{"token":"t2"}}`),
				Doc: rawDoc(`[{"pin":"9999","x":2}]`)},
			want: map[string]any{
				"settings.theme": map[string]any{"old": "dark", "new": "light"},
				"doc[0].x":       map[string]any{"old": float64(1), "new": float64(2)},
			},
		},
		{
			// The JSON side is still walked, so its keys meet the rules: a
			// JSON column cleared to null, or overwritten with text, must
			// not carry its old credentials out as text.
			name:   "json in bytes beside text in bytes",
			before: jsonHolder{Settings: json.RawMessage(`{"a":1,"apiKey":"k-123"}`)},
			after:  jsonHolder{Settings: json.RawMessage(`not json`)},
			want: map[string]any{
				"settings.a": map[string]any{"old": float64(1)},
				"settings":   map[string]any{"new": "not json"},
			},
		},
		{
			name:   "json in bytes cleared to null",
			before: jsonHolder{Settings: json.RawMessage(`null`)},
			after:  jsonHolder{Settings: json.RawMessage(`{"theme":"dark","password":"hunter2"}`)},
			want: map[string]any{
				"settings":       map[string]any{"old": "null"},
				"settings.theme": map[string]any{"new": "dark"},
			},
		},
		{
			// The GORM plugin diffs models whose column may say what the
			// Go field name does not.
			name:   "credentials named by their gorm column",
			before: gormColumns{Code: "111111", Digest: "h1", Plan: "gold"},
			after:  gormColumns{Code: "222222", Digest: "h2", Plan: "silver"},
			want: map[string]any{
				"code":   map[string]any{"redacted": true},
				"Digest": map[string]any{"redacted": true},
				"plan":   map[string]any{"old": "gold", "new": "silver"},
			},
		},
		{
			// Comparable as a type, not as values: the interface holds a slice.
			name:   "text marshaler holding a slice",
			before: taggedHolder{Label: tagged{V: []int{1}}},
			after:  taggedHolder{Label: tagged{V: []int{2}}},
			want:   map[string]any{"label": map[string]any{"old": "[1]", "new": "[2]"}},
		},
		{
			name:   "unsupported map keys get a marker",
			before: map[address]int{{City: "a"}: 1},
			after:  map[address]int{{City: "a"}: 2},
			want:   map[string]any{instrumentation.RootField: map[string]any{"old": instrumentation.MarkerUnsupported, "new": instrumentation.MarkerUnsupported}},
		},
		{
			// Only the password changed: the change is recorded, with the
			// password masked on both sides as url.URL.Redacted masks it.
			name:   "url whose password alone changed",
			before: endpoint{URL: *mustURL("https://svc:old-pw@api.example.com/v1"), Ptr: mustURL("https://svc:old-pw@api.example.com/v1")},
			after:  endpoint{URL: *mustURL("https://svc:new-pw@api.example.com/v1"), Ptr: mustURL("https://svc:new-pw@api.example.com/v1")},
			want: map[string]any{
				"url": map[string]any{"old": "https://svc:xxxxx@api.example.com/v1", "new": "https://svc:xxxxx@api.example.com/v1"},
				"ptr": map[string]any{"old": "https://svc:xxxxx@api.example.com/v1", "new": "https://svc:xxxxx@api.example.com/v1"},
			},
		},
		{
			name:   "url with the same password through other pointers is no change",
			before: endpoint{URL: *mustURL("https://svc:pw@api.example.com/v1"), Ptr: mustURL("https://svc:pw@api.example.com/v1")},
			after:  endpoint{URL: *mustURL("https://svc:pw@api.example.com/v1"), Ptr: mustURL("https://svc:pw@api.example.com/v1")},
			want:   map[string]any{},
		},
		{
			// A URL is one value, never recorded with its password nor with
			// a query parameter named like a credential.
			name:   "url changes are recorded whole without credentials",
			before: endpoint{Ptr: mustURL("https://svc:pw@a.example.com/cb?page=1&api_key=k1"), Mirrors: []*url.URL{mustURL("https://m:pw@m1.example.com")}},
			after:  endpoint{Ptr: mustURL("https://svc:pw@b.example.com/cb?page=1&api_key=k1#access_token=t1"), Mirrors: []*url.URL{mustURL("https://m:pw2@m1.example.com")}},
			want: map[string]any{
				"ptr": map[string]any{"old": "https://svc:xxxxx@a.example.com/cb?page=1&api_key=xxxxx",
					"new": "https://svc:xxxxx@b.example.com/cb?page=1&api_key=xxxxx#access_token=xxxxx"},
				"mirrors": map[string]any{"old": []any{"https://m:xxxxx@m1.example.com"}, "new": []any{"https://m:xxxxx@m1.example.com"}},
			},
		},
		{
			// An opaque URL keeps its user info as text; its password is
			// masked there as well.
			name:   "opaque url password is masked",
			before: endpoint{Ptr: mustURL("jdbc:postgresql://app:pw1@db/x"), URL: *mustURL("redis:app:pw1@cache?db=1")},
			after:  endpoint{Ptr: mustURL("jdbc:postgresql://app:pw2@db/x"), URL: *mustURL("redis:app:pw2@cache?db=1")},
			want: map[string]any{
				"ptr": map[string]any{"old": "jdbc:postgresql://app:xxxxx@db/x", "new": "jdbc:postgresql://app:xxxxx@db/x"},
				"url": map[string]any{"old": "redis:app:xxxxx@cache?db=1", "new": "redis:app:xxxxx@cache?db=1"},
			},
		},
		{
			name:   "url user info alone",
			before: endpoint{User: url.UserPassword("svc", "old-pw")},
			after:  endpoint{User: url.UserPassword("svc", "new-pw")},
			want:   map[string]any{"user": map[string]any{"old": "svc:xxxxx", "new": "svc:xxxxx"}},
		},
		{
			// Field names follow json tags (json:"-," names a field "-"); a
			// field json leaves out is recorded as changed, under its Go
			// name, without either value.
			name:   "json:\"-\" records a change without values",
			before: jsonSkips{Name: "a", Salt: "s1", Dash: "d1"},
			after:  jsonSkips{Name: "b", Salt: "s2", Dash: "d2"},
			want: map[string]any{
				"name": map[string]any{"old": "a", "new": "b"},
				"-":    map[string]any{"old": "d1", "new": "d2"},
				"Salt": map[string]any{"redacted": true},
			},
		},
		{
			name:   "json:\"-\" field unchanged is not mentioned",
			before: jsonSkips{Name: "a", Salt: "s1"},
			after:  jsonSkips{Name: "b", Salt: "s1"},
			want:   map[string]any{"name": map[string]any{"old": "a", "new": "b"}},
		},
		{
			// An error's text is free text that no name rule can check: its
			// change is recorded without either value.
			name:   "error field changed",
			before: job{Err: errors.New("dial postgres://app:pw1@db:5432")},
			after:  job{Err: fmt.Errorf("wrapped: %w", errors.New("dial postgres://app:pw2@db:5432"))},
			want:   map[string]any{"lastError": map[string]any{"redacted": true}},
		},
		{
			name:   "error field set",
			before: job{},
			after:  job{Err: errors.New("timeout")},
			want:   map[string]any{"lastError": map[string]any{"redacted": true}},
		},
		{
			// An error that is a string is its text, which is never recorded.
			name:   "string error field changed",
			before: job{Err: stringError("dial postgres://app:pw1@db:5432")},
			after:  job{Err: stringError("dial postgres://app:pw2@db:5432")},
			want:   map[string]any{"lastError": map[string]any{"redacted": true}},
		},
		{
			name:   "string error field unchanged is no change",
			before: job{Err: stringError("timeout")},
			after:  job{Err: stringError("timeout")},
			want:   map[string]any{},
		},
		{
			name:   "error field with the same text is no change",
			before: job{Err: errors.New("timeout")},
			after:  job{Err: errors.New("timeout")},
			want:   map[string]any{},
		},
		{
			// A type whose only form is its MarshalJSON is walked as the
			// JSON it writes, so the secret-name rules meet its keys.
			name:   "json marshaler without exported fields",
			before: priced{Price: money{cents: 100, currency: "EUR"}, Conn: dsn{user: "app", password: "pw1"}, Label: label{"a"}},
			after:  priced{Price: money{cents: 250, currency: "EUR"}, Conn: dsn{user: "app2", password: "pw2"}, Label: label{"b"}},
			want: map[string]any{
				"price.amount": map[string]any{"old": "1.00", "new": "2.50"},
				"conn.user":    map[string]any{"old": "app", "new": "app2"},
				"label":        map[string]any{"old": "a", "new": "b"},
			},
		},
		{
			name:   "json marshaler failures get a marker",
			before: anyHolder{V: money{cents: 1}},
			after:  anyHolder{V: &badJSON{}},
			want: map[string]any{
				"v.amount":   map[string]any{"old": "0.01"},
				"v.currency": map[string]any{"old": ""},
				"v":          map[string]any{"new": instrumentation.MarkerUnrepresentable},
			},
		},
		{
			// A type's MarshalText may write what its credential-named
			// fields hold: its change is recorded without either value.
			name: "text marshaler holding a credential",
			before: vault{Login: login{User: "svc", Password: "pw1"}, Backups: []dsnText{{user: "a", password: "pw1"}},
				Plain: tagged{V: "a"}},
			after: vault{Login: login{User: "svc", Password: "pw2"}, Backups: []dsnText{{user: "a", password: "pw2"}},
				Plain: tagged{V: "b"}},
			want: map[string]any{
				"login":   map[string]any{"redacted": true},
				"backups": map[string]any{"redacted": true},
				"plain":   map[string]any{"old": "a", "new": "b"},
			},
		},
		{
			name:   "text marshaler holding the same credential is no change",
			before: vault{Login: login{User: "svc", Password: "pw1"}},
			after:  vault{Login: login{User: "svc", Password: "pw1"}},
			want:   map[string]any{},
		},
		{
			// A value whose state is all unexported, with no form of its
			// own to record, still changed: an update of it alone must not
			// be taken for none.
			name:   "struct without exported fields or a form of its own",
			before: opaqueHolder{Price: opaque{cents: 100}, Zone: time.UTC},
			after:  opaqueHolder{Price: opaque{cents: 250}, Zone: time.FixedZone("CEST", 2*60*60)},
			want: map[string]any{
				"price": map[string]any{"old": instrumentation.MarkerUnrepresentable, "new": instrumentation.MarkerUnrepresentable},
				"zone":  map[string]any{"old": instrumentation.MarkerUnrepresentable, "new": instrumentation.MarkerUnrepresentable},
			},
		},
		{
			name:   "struct without exported fields unchanged is no change",
			before: opaqueHolder{Price: opaque{cents: 100}, Zone: time.UTC},
			after:  opaqueHolder{Price: opaque{cents: 100}, Zone: time.UTC},
			want:   map[string]any{},
		},
		{
			name:   "struct without exported fields set on create",
			before: nil,
			after:  &opaqueHolder{Price: opaque{cents: 100}},
			want:   map[string]any{"price": map[string]any{"new": instrumentation.MarkerUnrepresentable}},
		},
		{
			name:   "NaN unchanged is no change",
			before: anyHolder{V: nan()},
			after:  anyHolder{V: nan()},
			want:   map[string]any{},
		},
	}
	r, _ := newTestRecorder(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := r.Diff(tt.before, tt.after)
			got := plain(ch.Value())
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
			if len(ch.Fields()) != len(tt.want) {
				t.Errorf("got changed fields %v, want %d of them", ch.Fields(), len(tt.want))
			}
		})
	}
}

func nan() float64 { var z float64; return z / z }

func TestDiffDeepNestingIsBounded(t *testing.T) {
	// 200 levels of distinct nodes: no cycle, but far deeper than the walk goes.
	build := func(leaf string) *node {
		n := &node{Name: leaf}
		for i := range 200 {
			n = &node{Name: "n" + strconv.Itoa(i), Next: n}
		}
		return n
	}
	r, _ := newTestRecorder(t)
	ch := r.Diff(build("a"), build("b"))
	if len(ch) != 1 {
		t.Fatalf("got %d changes %v, want 1", len(ch), ch.Fields())
	}
	if got := ch[0].New.AsString(); got != instrumentation.MarkerTooDeep {
		t.Errorf("got %q, want %q", got, instrumentation.MarkerTooDeep)
	}
	if same := r.Diff(build("a"), build("a")); len(same) != 0 {
		t.Errorf("got %d changes between equal deep values, want 0", len(same))
	}
}

func TestDiffMaxChanges(t *testing.T) {
	before, after := map[string]int{}, map[string]int{}
	for i := range 50 {
		before[strconv.Itoa(i)] = i
		after[strconv.Itoa(i)] = i + 1
	}
	r, _ := newTestRecorder(t, instrumentation.WithMaxChanges(10))
	ch := r.Diff(before, after)
	if len(ch) != 11 {
		t.Fatalf("got %d changes, want 10 and a truncation marker", len(ch))
	}
	if last := ch[10]; last.Field != instrumentation.TruncatedField || last.New.AsString() != instrumentation.MarkerTruncated {
		t.Errorf("got last change %+v, want the truncation marker", last)
	}
}

// A map key named like the truncation marker's field is replaced by the
// marker, so the field is not listed twice.
func TestDiffTruncationMarkerTakesTheFieldsPlace(t *testing.T) {
	r, _ := newTestRecorder(t, instrumentation.WithMaxChanges(2))
	ch := r.Diff(nil, map[string]int{instrumentation.TruncatedField: 1, "a": 2, "b": 3})
	if got, want := ch.Fields(), []string{instrumentation.TruncatedField, "a"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got fields %v, want %v", got, want)
	}
	if got := ch[0].New.AsString(); got != instrumentation.MarkerTruncated {
		t.Errorf("got %q as the first change's new value, want the truncation marker", got)
	}
}

func TestDiffLongScalarSlicesAreCapped(t *testing.T) {
	long := make([]int, 1000)
	longer := make([]int, 1001)
	r, _ := newTestRecorder(t)
	ch := r.Diff(anyHolder{V: long}, anyHolder{V: longer})
	if len(ch) != 1 {
		t.Fatalf("got %d changes, want 1", len(ch))
	}
	if n := len(ch[0].New.AsSlice()); n != 101 {
		t.Errorf("got %d elements, want 100 and a '+N more' marker", n)
	}
}

// A change past the elements a long list records is still a change: the
// recorded forms are equal, yet the update must not be taken for none.
func TestDiffLongScalarSlicesChangedPastTheCap(t *testing.T) {
	day := time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC)
	tags, moved := make([]string, 150), make([]string, 150)
	moved[120] = "vip"
	var slots, later [120]time.Time
	later[110] = day
	r, _ := newTestRecorder(t)
	for _, tt := range []struct {
		name          string
		before, after any
	}{
		{"slice", anyHolder{V: tags}, anyHolder{V: moved}},
		{"array of times", anyHolder{V: slots}, anyHolder{V: later}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Diff(tt.before, tt.after).Fields(); !reflect.DeepEqual(got, []string{"v"}) {
				t.Errorf("got changed fields %v, want [v]", got)
			}
		})
	}
	// The same instants in another zone past the cap are no change.
	if got := r.Diff(anyHolder{V: later}, anyHolder{V: inZone(later, time.FixedZone("CEST", 2*60*60))}).Fields(); len(got) != 0 {
		t.Errorf("got changed fields %v for the same instants, want none", got)
	}
}

func inZone(ts [120]time.Time, loc *time.Location) [120]time.Time {
	for i := range ts {
		ts[i] = ts[i].In(loc)
	}
	return ts
}

// login writes its password in its text.
type login struct{ User, Password string }

func (l login) MarshalText() ([]byte, error) { return []byte(l.User + ":" + l.Password), nil }

// dsnText writes an unexported password in its text.
type dsnText struct{ user, password string }

func (d *dsnText) MarshalText() ([]byte, error) { return []byte(d.user + ":" + d.password), nil }

type vault struct {
	Login   login     `json:"login"`
	Backups []dsnText `json:"backups"`
	Plain   tagged    `json:"plain"`
}

// opaque has no exported fields and no MarshalText, MarshalJSON or Error;
// its String is never called, as it may print anything.
type opaque struct{ cents int64 }

func (o opaque) String() string { return strconv.FormatInt(o.cents, 10) }

type opaqueHolder struct {
	Price opaque         `json:"price"`
	Zone  *time.Location `json:"zone"`
}

type panicky struct{}

func (*panicky) MarshalText() ([]byte, error) { panic("boom") }

// rawDoc is a named byte slice, like a GORM JSON column type.
type rawDoc []byte

type timeLists struct {
	Slots     []time.Time  `json:"slots"`
	Window    [2]time.Time `json:"window"`
	Reminders []*time.Time `json:"reminders"`
}

type gormColumns struct {
	Code   string `json:"code" gorm:"column:otp_code"`
	Digest string `gorm:"size:60;COLUMN:password_digest;not null"`
	Plan   string `json:"plan" gorm:"column:plan"`
}

type jsonHolder struct {
	Settings json.RawMessage `json:"settings"`
	Doc      rawDoc          `json:"doc"`
}

// tagged is comparable as a type, but its interface may hold a slice.
type tagged struct{ V any }

func (t tagged) MarshalText() ([]byte, error) { return []byte(fmt.Sprint(t.V)), nil }

type taggedHolder struct {
	Label tagged `json:"label"`
}

type failing struct{ x int }

func (failing) MarshalText() ([]byte, error) { return nil, errFailing }

var errFailing = &textError{}

type textError struct{}

func (*textError) Error() string { return "cannot marshal" }

func TestDiffMarshalTextFailuresGetAMarker(t *testing.T) {
	r, _ := newTestRecorder(t)
	ch := r.Diff(map[string]any{"p": 1, "f": 1}, map[string]any{"p": &panicky{}, "f": failing{1}})
	got := plain(ch.Value())
	want := map[string]any{
		"p": map[string]any{"old": int64(1), "new": instrumentation.MarkerUnrepresentable},
		"f": map[string]any{"old": int64(1), "new": instrumentation.MarkerUnrepresentable},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

func TestSecretNamesConfigurable(t *testing.T) {
	type account struct {
		IBAN     string
		Password string
	}
	redacted := func(ch instrumentation.Changes) map[string]bool {
		out := map[string]bool{}
		for _, c := range ch {
			out[c.Field] = c.Redacted && c.Old.Type() == attribute.INVALID && c.New.Type() == attribute.INVALID
		}
		return out
	}
	r, _ := newTestRecorder(t, instrumentation.WithSecretNames(append(instrumentation.DefaultSecretNames(), "iban")...))
	if got, want := redacted(r.Diff(account{IBAN: "a", Password: "x"}, account{IBAN: "b", Password: "y"})), map[string]bool{"IBAN": true, "Password": true}; !reflect.DeepEqual(got, want) {
		t.Errorf("got changes (field: recorded without values) %v, want %v", got, want)
	}
	r, _ = newTestRecorder(t, instrumentation.WithSecretNames("iban"))
	if got, want := redacted(r.Diff(account{IBAN: "a", Password: "x"}, account{IBAN: "b", Password: "y"})), map[string]bool{"IBAN": true, "Password": false}; !reflect.DeepEqual(got, want) {
		t.Errorf("got changes (field: recorded without values) %v, want %v: Password's values once the list is replaced", got, want)
	}
}

type dag struct {
	Left, Right *dag
	N           int
}

func TestDiffSharedSubvaluesAreBounded(t *testing.T) {
	// Each level's two children are the same node: a tree walk would visit
	// 2^40 paths. The diff must stop at its step budget instead.
	build := func(leaf int) *dag {
		n := &dag{N: leaf}
		for range 40 {
			n = &dag{Left: n, Right: n}
		}
		return n
	}
	r, _ := newTestRecorder(t)
	ch := r.Diff(build(1), build(2))
	if len(ch) == 0 {
		t.Fatal("got no changes, want some and a truncation marker")
	}
	if last := ch[len(ch)-1]; last.Field != instrumentation.TruncatedField {
		t.Errorf("got last change %q, want %q", last.Field, instrumentation.TruncatedField)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

type endpoint struct {
	URL     url.URL       `json:"url"`
	Ptr     *url.URL      `json:"ptr"`
	Mirrors []*url.URL    `json:"mirrors"`
	User    *url.Userinfo `json:"user"`
}

type jsonSkips struct {
	Name string `json:"name"`
	Salt string `json:"-"`
	Dash string `json:"-,"`
}

type job struct {
	Err error `json:"lastError"`
}

// stringError is an error that is its own text.
type stringError string

func (e stringError) Error() string { return string(e) }

// money has no exported fields: its MarshalJSON is its only form.
type money struct {
	cents    int64
	currency string
}

func (m money) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"amount": fmt.Sprintf("%d.%02d", m.cents/100, m.cents%100), "currency": m.currency})
}

// dsn writes a credential under a credential name.
type dsn struct{ user, password string }

func (d *dsn) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"user": d.user, "password": d.password})
}

// label writes a JSON string.
type label struct{ s string }

func (l label) MarshalJSON() ([]byte, error) { return json.Marshal(l.s) }

type priced struct {
	Price money `json:"price"`
	Conn  dsn   `json:"conn"`
	Label label `json:"label"`
}

type badJSON struct{ x int }

func (*badJSON) MarshalJSON() ([]byte, error) { return nil, errFailing }
