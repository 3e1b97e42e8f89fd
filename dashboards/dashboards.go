package dashboards

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
)

//go:generate go run ./internal/gen -out activitylog.ndjson

//go:embed *.ndjson
var files embed.FS

// Files returns the embedded NDJSON files, read-only.
func Files() fs.FS { return files }

// NDJSON returns every embedded saved object file concatenated, in file
// name order: the body of a Kibana saved-objects import.
func NDJSON() ([]byte, error) {
	names, err := fs.Glob(files, "*.ndjson")
	if err != nil {
		return nil, fmt.Errorf("list dashboards: %w", err)
	}
	slices.Sort(names)
	var b bytes.Buffer
	for _, n := range names {
		data, err := fs.ReadFile(files, n)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", n, err)
		}
		b.Write(data)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return b.Bytes(), nil
}

// SavedObject is one Kibana saved object.
type SavedObject struct {
	// Type is the saved object type: index-pattern, search, lens, dashboard...
	Type string `json:"type"`
	// ID is the object's id, unique per type.
	ID string `json:"id"`
	// Attributes are the type-specific attributes.
	Attributes map[string]json.RawMessage `json:"attributes"`
	// References point to the objects this one uses.
	References []Reference `json:"references"`
	// CoreMigrationVersion and TypeMigrationVersion are the versions the
	// object is written in; Kibana migrates newer ones on import.
	CoreMigrationVersion string `json:"coreMigrationVersion,omitempty"`
	TypeMigrationVersion string `json:"typeMigrationVersion,omitempty"`
}

// Reference points from one saved object to another.
type Reference struct {
	// Name is how the referring object names the reference.
	Name string `json:"name"`
	// Type is the referenced object's type.
	Type string `json:"type"`
	// ID is the referenced object's id.
	ID string `json:"id"`
}

// MaxLineBytes bounds one NDJSON line, so Parse cannot be made to buffer an
// unbounded line.
const MaxLineBytes = 4 << 20

// ErrInvalid is wrapped by every error Parse returns for malformed input.
var ErrInvalid = errors.New("invalid saved object")

// Parse reads NDJSON saved objects, one per non-empty line. Every object
// must have a type, an id and an attributes object, and every reference a
// name, type and id; a (type, id) pair may appear once.
func Parse(ndjson []byte) ([]SavedObject, error) {
	var objs []SavedObject
	seen := map[[2]string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(ndjson))
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes)
	line := 0
	for sc.Scan() {
		line++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		var o SavedObject
		dec := json.NewDecoder(bytes.NewReader(raw))
		if err := dec.Decode(&o); err != nil {
			return nil, fmt.Errorf("line %d: %w: %w", line, ErrInvalid, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("line %d: %w: more than one JSON value", line, ErrInvalid)
		}
		switch {
		case o.Type == "":
			return nil, fmt.Errorf("line %d: %w: no type", line, ErrInvalid)
		case o.ID == "":
			return nil, fmt.Errorf("line %d: %w: %s has no id", line, ErrInvalid, o.Type)
		case o.Attributes == nil:
			return nil, fmt.Errorf("line %d: %w: %s %s has no attributes object", line, ErrInvalid, o.Type, o.ID)
		}
		for _, r := range o.References {
			if r.Name == "" || r.Type == "" || r.ID == "" {
				return nil, fmt.Errorf("line %d: %w: %s %s has a reference without name, type or id", line, ErrInvalid, o.Type, o.ID)
			}
		}
		key := [2]string{o.Type, o.ID}
		if seen[key] {
			return nil, fmt.Errorf("line %d: %w: duplicate %s %s", line, ErrInvalid, o.Type, o.ID)
		}
		seen[key] = true
		objs = append(objs, o)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w: %w", line+1, ErrInvalid, err)
	}
	return objs, nil
}

// Objects parses the embedded saved objects.
func Objects() ([]SavedObject, error) {
	b, err := NDJSON()
	if err != nil {
		return nil, err
	}
	return Parse(b)
}
