package instrumentation

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// secretMark is in every value placed where the secret rules say no value may
// be recorded, and in no other value.
const secretMark = "SECRET"

// fuzzStruct mixes recorded, credential-named, omitted, redacted and
// unexported fields, and can refer to itself.
type fuzzStruct struct {
	Name     string         `json:"name"`
	Count    int            `json:"count"`
	Child    *fuzzStruct    `json:"child"`
	Any      any            `json:"any"`
	List     []any          `json:"list"`
	Meta     map[string]any `json:"meta"`
	When     time.Time      `json:"when"`
	Password string         `json:"password"`
	APIKey   any            `json:"apiKey"`
	Token    *string        `json:"token"`
	Session  map[string]any `json:"sessionData"`
	OTP      []any
	Hidden   any `activity:"-"`
	Note     any `json:"note" activity:"redact"`
	private  any
}

// gen turns fuzz input into arbitrary Go values.
type gen struct {
	data    []byte
	n       int
	rules   secretRules
	ptrs    []*fuzzStruct
	maps    []map[string]any
	secrets int
}

func (g *gen) byte() byte {
	if len(g.data) == 0 {
		return 0
	}
	b := g.data[0]
	g.data = g.data[1:]
	return b
}

func (g *gen) uint64() uint64 {
	var buf [8]byte
	for i := range buf {
		buf[i] = g.byte()
	}
	return binary.LittleEndian.Uint64(buf[:])
}

// str returns a string from the input with the secret mark removed, so only
// values placed under secret names can carry it.
func (g *gen) str() string {
	n := int(g.byte() % 16)
	b := make([]byte, 0, n)
	for range n {
		b = append(b, g.byte())
	}
	return strings.ReplaceAll(strings.ToUpper(string(b)), secretMark, "")
}

var fuzzKeys = []string{
	"name", "points", "tier", "email", "password", "newPassword", "X-Api-Key", "api_key", "otpCode",
	"pin", "cardPin", "cvv", "Authorization", "cookie", "session_id", "private_key", "accessToken",
	"shipping", "opinion", "notes", "a.b", "",
}

func (g *gen) key() string {
	b := g.byte()
	if int(b) < len(fuzzKeys)*8 {
		return fuzzKeys[int(b)%len(fuzzKeys)]
	}
	return g.str()
}

// secret returns a value, possibly composite, carrying the secret mark.
func (g *gen) secret() any {
	g.secrets++
	s := fmt.Sprintf("%s-%d", secretMark, g.secrets)
	switch g.byte() % 5 {
	case 0:
		return map[string]any{"inner": s, "list": []string{s}}
	case 1:
		return []any{s, 1}
	case 2:
		return &fuzzStruct{Name: s, Meta: map[string]any{"x": s}}
	case 3:
		return &s
	}
	return s
}

func (g *gen) secretString() string {
	v, ok := g.secret().(string)
	if !ok {
		g.secrets++
		return fmt.Sprintf("%s-%d", secretMark, g.secrets)
	}
	return v
}

func (g *gen) value(depth int) any {
	g.n++
	if depth > 6 || g.n > 400 || len(g.data) == 0 {
		return nil
	}
	switch g.byte() % 22 {
	case 0:
		return nil
	case 1:
		return int64(g.uint64())
	case 2:
		return g.str()
	case 3:
		return float64(g.uint64()) / 3
	case 4:
		return g.byte()%2 == 0
	case 5:
		return time.Unix(int64(g.uint64()%(1<<40)), 0).UTC()
	case 6:
		n := int(g.byte() % 5)
		s := make([]any, n)
		for i := range s {
			s[i] = g.value(depth + 1)
		}
		return s
	case 7:
		return g.mapValue(depth)
	case 8:
		return g.structPtr(depth)
	case 9:
		if p := g.structPtr(depth); p != nil {
			return *p
		}
		return nil
	case 10:
		if len(g.ptrs) > 0 {
			return g.ptrs[int(g.byte())%len(g.ptrs)]
		}
		return nil
	case 11:
		if len(g.maps) > 0 {
			return g.maps[int(g.byte())%len(g.maps)]
		}
		return nil
	case 12:
		m := map[int]any{}
		for range int(g.byte() % 4) {
			m[int(g.byte())] = g.value(depth + 1)
		}
		return m
	case 13:
		if g.byte()%2 == 0 {
			return func() {}
		}
		return make(chan int)
	case 14:
		return []byte(g.str())
	case 15:
		return []fuzzStruct{{Name: g.str(), Password: g.secretString()}, {Count: int(g.byte())}}
	case 16:
		return map[string]string{g.key(): g.str(), "password": g.secretString()}
	case 17:
		// JSON held in bytes, with a secret under a secret name.
		b, _ := json.Marshal(map[string]any{g.key(): g.str(), "password": g.secretString(), "nested": []any{map[string]any{"token": g.secretString()}}})
		return json.RawMessage(b)
	case 18:
		// A URL with a password and credential-named parameters.
		u := &url.URL{Scheme: "https", User: url.UserPassword(g.str(), g.secretString()), Host: "h.example",
			Path: "/" + g.str(), RawQuery: "q=" + url.QueryEscape(g.str()) + "&api_key=" + g.secretString(),
			Fragment: "access_token=" + g.secretString()}
		switch g.byte() % 3 {
		case 0:
			return *u
		case 1:
			return []*url.URL{u, nil}
		}
		return u
	case 19:
		// An error whose text holds a credential.
		err := errors.New(g.str() + " " + g.secretString())
		if g.byte()%2 == 0 {
			return fmt.Errorf("%s: %w", g.str(), err)
		}
		return err
	case 20:
		return fuzzMarshaler{name: g.str(), secret: g.secretString()}
	}
	return complex(float64(g.byte()), 1)
}

func (g *gen) mapValue(depth int) map[string]any {
	m := map[string]any{}
	g.maps = append(g.maps, m)
	for range int(g.byte() % 6) {
		k := g.key()
		if g.rules.match(k) {
			m[k] = g.secret()
		} else {
			m[k] = g.value(depth + 1)
		}
	}
	return m
}

func (g *gen) structPtr(depth int) *fuzzStruct {
	g.n++
	if depth > 6 || g.n > 400 {
		return nil
	}
	s := &fuzzStruct{}
	g.ptrs = append(g.ptrs, s)
	s.Name = g.str()
	s.Count = int(g.byte())
	if g.byte()%2 == 0 {
		s.Child = g.structPtr(depth + 1)
	} else if len(g.ptrs) > 0 {
		s.Child = g.ptrs[int(g.byte())%len(g.ptrs)]
	}
	s.Any = g.value(depth + 1)
	if g.byte()%2 == 0 {
		s.List = []any{g.value(depth + 1), g.value(depth + 1)}
	}
	if g.byte()%2 == 0 {
		s.Meta = g.mapValue(depth + 1)
	}
	s.When = time.Unix(int64(g.byte()), 0).UTC()
	s.Password = g.secretString()
	s.APIKey = g.secret()
	tok := g.secretString()
	s.Token = &tok
	s.Session = map[string]any{"id": g.secretString()}
	s.OTP = []any{g.secret()}
	s.Hidden = g.secret()
	s.Note = g.secret()
	s.private = g.secret()
	return s
}

// fuzzMarshaler has no exported fields: its MarshalJSON, which writes a
// secret under credential names, is its only form.
type fuzzMarshaler struct{ name, secret string }

func (m fuzzMarshaler) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"name": m.name, "password": m.secret, "nested": []any{map[string]any{"apiKey": m.secret}}})
}

// FuzzRecordChanges records arbitrary before and after values as updates,
// creates and deletes, and checks that nothing panics or hangs and that no
// value held under a credential name, an omitted field, a redacted field or
// an unexported field reaches the emitted record.
func FuzzRecordChanges(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{8, 1, 2, 3, 0, 8, 9, 9, 9, 9})
	f.Add([]byte{7, 5, 4, 'x', 'y', 'z', 'w', 7, 5, 200, 3, 'a', 'b', 'c', 2, 8, 0})
	f.Add([]byte{10, 8, 0, 1, 1, 10, 8, 0, 0, 0, 0, 0, 1, 11, 7, 3})
	f.Add([]byte("\x08\x05hello\x02\x01\x11\x06\x03\x0f\x10\x0d\x0c\x0b\x0a\x09"))
	rules := newSecretRules(DefaultSecretNames())
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &gen{data: data, rules: rules}
		before := g.value(0)
		g.n = 0
		after := g.value(0)

		exp := &fuzzExporter{}
		lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
		r := New(lp)
		ctx := context.Background()
		s := Subject{Category: Members, Type: "member", ID: "m-1", Name: "Ann"}
		for _, err := range []error{
			r.Updated(ctx, s, before, after),
			r.Created(ctx, s, after),
			r.Deleted(ctx, s, before),
		} {
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
		}
		for _, out := range exp.out {
			if strings.Contains(out, secretMark) {
				t.Fatalf("a secret value was recorded: %s", out)
			}
		}
	})
}

// fuzzFields are the field names of hand-built changes: few, so that they
// repeat, and including the names the diff itself uses.
var fuzzFields = []string{"tier", "points", "a.b", "", TruncatedField, RootField, "lines[0]"}

func (g *gen) field() string {
	if b := g.byte(); int(b) < len(fuzzFields)*32 {
		return fuzzFields[int(b)%len(fuzzFields)]
	}
	return g.str()
}

// fuzzMapKeys are the keys of the maps in hand-built old and new values:
// few, so that they repeat.
var fuzzMapKeys = []string{"k", "j", "", "k.l", "old", "new"}

// change returns a hand-built change whose values may be maps with repeated
// keys, maps in slices and maps in maps.
func (g *gen) change() Change {
	ch := Change{Field: g.field()}
	switch g.byte() % 4 {
	case 0:
		ch.Redacted = true
	case 1:
		ch.Old = g.attrValue(0)
	case 2:
		ch.New = g.attrValue(0)
	default:
		ch.Old, ch.New = g.attrValue(0), g.attrValue(0)
	}
	return ch
}

func (g *gen) attrValue(depth int) attribute.Value {
	g.n++
	if depth > 8 || g.n > 400 {
		return attribute.StringValue("leaf")
	}
	switch g.byte() % 12 {
	case 0:
		return attribute.Value{}
	case 1:
		return attribute.BoolValue(g.byte()%2 == 0)
	case 2:
		return attribute.Int64Value(int64(g.uint64()))
	case 3:
		return attribute.Float64Value(math.Float64frombits(g.uint64()))
	case 4:
		return attribute.StringValue(g.str())
	case 5:
		return attribute.StringSliceValue([]string{g.str(), g.str()})
	case 6:
		return attribute.ByteSliceValue([]byte(g.str()))
	case 7:
		elems := make([]attribute.Value, g.byte()%5)
		for i := range elems {
			elems[i] = g.attrValue(depth + 1)
		}
		return attribute.SliceValue(elems...)
	case 8:
		// Deeper than the SDK keeps (64 levels) when the byte is large.
		return nested(int(g.byte()%80), g.attrValue(depth+1))
	}
	kvs := make([]attribute.KeyValue, g.byte()%7)
	for i := range kvs {
		k := fuzzMapKeys[int(g.byte())%len(fuzzMapKeys)]
		if g.byte()%8 == 0 {
			k = g.str()
		}
		kvs[i] = attribute.KeyValue{Key: attribute.Key(k), Value: g.attrValue(depth + 1)}
	}
	return attribute.MapValue(kvs...)
}

// FuzzRecordUniqueKeys records hand-built changes (repeated field names, map
// values repeating keys at any depth, in slices too), sometimes after the
// changes of a diff of arbitrary values and with query parameters, and
// checks that nothing panics, that the record emitted without the SDK's key
// de-duplication (as otlp.NewProvider emits it) holds every key once at
// every level, and that it equals the record the SDK's de-duplication makes.
func FuzzRecordUniqueKeys(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 3, 0, 3, 9, 2, 0, 4, 3, 'a', 'b', 'c', 0, 0, 2})
	f.Add([]byte{0, 4, 0, 1, 9, 3, 0, 4, 1, 'x', 0, 4, 1, 'y', 0, 4, 1, 'z', 7, 1, 3, 1, 1, 4, 1, 1, 4, 0, 0})
	f.Add([]byte{0, 2, 4, 2, 8, 70, 9, 2, 0, 1, 0, 0, 2, 1, 3, 9, 9, 1, 4, 2, 8, 3, 4, 0})
	f.Add([]byte{1, 7, 5, 4, 'x', 'y', 'z', 'w', 7, 5, 200, 3, 'a', 'b', 'c', 2, 8, 0, 5, 1, 3, 4, 5, 1, 1, 1})
	rules := newSecretRules(DefaultSecretNames())
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &gen{data: data, rules: rules}
		var changes Changes
		if g.byte()%2 == 1 {
			before := g.value(0)
			g.n = 0
			after := g.value(0)
			changes = New(nil, WithMaxChanges(8)).Diff(before, after)
		}
		g.n = 0
		for range int(g.byte() % 12) {
			changes = append(changes, g.change())
		}
		e := Event{Action: Updated, Subject: Subject{Category: Members, Type: "member", ID: "m-1"}, Changes: changes}
		if g.byte()%3 == 0 {
			e.Query = &Query{Endpoint: "/v1/activities", Params: map[string]string{}}
			for range int(g.byte() % 4) {
				e.Query.Params[g.key()] = g.str()
			}
		}

		dedup, plain := newTwinRecorders(t).record(t, e)
		if p := repeatedKey(plain); p != "" {
			t.Fatalf("got key %s twice, want every key once", p)
		}
		if d := recordDiff(plain, dedup); d != "" {
			t.Fatalf("got a record without SDK de-duplication that differs from the de-duplicated one: %s", d)
		}
	})
}

// fuzzExporter renders every exported record's body and attributes.
type fuzzExporter struct{ out []string }

func (e *fuzzExporter) Export(_ context.Context, rs []sdklog.Record) error {
	for _, r := range rs {
		var b strings.Builder
		b.WriteString(r.Body().Emit())
		r.WalkAttributes(func(kv attribute.KeyValue) bool {
			b.WriteString(" " + string(kv.Key) + "=" + kv.Value.Emit())
			return true
		})
		e.out = append(e.out, b.String())
	}
	return nil
}

func (*fuzzExporter) Shutdown(context.Context) error   { return nil }
func (*fuzzExporter) ForceFlush(context.Context) error { return nil }
