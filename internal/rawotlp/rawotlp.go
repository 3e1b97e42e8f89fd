// Package rawotlp builds, for tests, pdata maps the way an OTLP receiver
// hands them over from an emitter that repeats keys: pdata's own API
// replaces an entry when a key is put again, so it cannot build them.
package rawotlp

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Attributes returns the JSON object doc as an attribute map, every member
// kept in order, repeated keys included, at any depth. Integers become int
// values, other numbers doubles, null an empty value.
func Attributes(doc string) (pcommon.Map, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	v, err := anyValue(dec)
	if err != nil {
		return pcommon.Map{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return pcommon.Map{}, fmt.Errorf("rawotlp: data after the object")
	}
	kv, ok := v["kvlistValue"].(map[string]any)
	if !ok {
		return pcommon.Map{}, fmt.Errorf("rawotlp: not a JSON object")
	}
	logs := map[string]any{"resourceLogs": []any{map[string]any{"scopeLogs": []any{map[string]any{
		"logRecords": []any{map[string]any{"attributes": kv["values"]}}}}}}}
	b, err := json.Marshal(logs)
	if err != nil {
		return pcommon.Map{}, err
	}
	ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(b)
	if err != nil {
		return pcommon.Map{}, fmt.Errorf("rawotlp: %w", err)
	}
	return ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes(), nil
}

// anyValue converts the next JSON value of dec into an OTLP/JSON AnyValue.
func anyValue(dec *json.Decoder) (map[string]any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			kvs := []any{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := anyValue(dec)
				if err != nil {
					return nil, err
				}
				kvs = append(kvs, map[string]any{"key": k, "value": v})
			}
			_, err := dec.Token()
			return map[string]any{"kvlistValue": map[string]any{"values": kvs}}, err
		}
		vs := []any{}
		for dec.More() {
			v, err := anyValue(dec)
			if err != nil {
				return nil, err
			}
			vs = append(vs, v)
		}
		_, err := dec.Token()
		return map[string]any{"arrayValue": map[string]any{"values": vs}}, err
	case string:
		return map[string]any{"stringValue": t}, nil
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return map[string]any{"intValue": fmt.Sprint(i)}, nil
		}
		f, err := t.Float64()
		if err != nil {
			return nil, fmt.Errorf("rawotlp: number %s: %w", t, err)
		}
		return map[string]any{"doubleValue": f}, nil
	case bool:
		return map[string]any{"boolValue": t}, nil
	}
	return map[string]any{}, nil // null
}

// RepeatedKey returns the path (from path, keys joined by dots, list items
// as [i]) of the first key some map of m repeats, at any depth, or "".
func RepeatedKey(m pcommon.Map, path string) string {
	seen := make(map[string]bool, m.Len())
	for k, v := range m.All() {
		if seen[k] {
			return path + "." + k
		}
		seen[k] = true
		if p := repeatedIn(v, path+"."+k); p != "" {
			return p
		}
	}
	return ""
}

// RepeatedKeyIn is RepeatedKey for any value.
func RepeatedKeyIn(v pcommon.Value, path string) string { return repeatedIn(v, path) }

func repeatedIn(v pcommon.Value, path string) string {
	switch v.Type() {
	case pcommon.ValueTypeMap:
		return RepeatedKey(v.Map(), path)
	case pcommon.ValueTypeSlice:
		for i, item := range v.Slice().All() {
			if p := repeatedIn(item, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	}
	return ""
}
