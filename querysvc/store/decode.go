package store

import (
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	jsoniter "github.com/json-iterator/go"

	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/schema"
)

// An activity document, as the elasticsearch exporter writes it in its
// "otel" mapping mode, keeps attributes with their dotted keys inside
// "attributes" and "resource.attributes", and the text body in body.text.
// decode reads the few keys it needs in one pass over the document.

// The attributes decode reads, by index into document.attrs.
const (
	fID = iota
	fCategory
	fEvent
	fOutcome
	fActorType
	fUserID
	fUserName
	fTenantID
	fTenantName
	fClientAddress
	fUserAgent
	fRequestID
	fFailureReason
	fSubjectType
	fSubjectID
	fSubjectName
	fChangedFields
	fChanges
	fAlertRule
	fAlertKeyType
	fAlertKey
	fAlertCount
	fAlertThreshold
	fAlertWindowSeconds
	fAlertFirstSeen
	fAlertLastSeen
	nFields
)

// fieldNames are the attribute keys of the fields, by index.
var fieldNames = [nFields]string{
	fID: schema.AttrID, fCategory: schema.AttrCategory, fEvent: schema.AttrEvent, fOutcome: schema.AttrOutcome,
	fActorType: schema.AttrActorType, fUserID: schema.AttrUserID, fUserName: schema.AttrUserName,
	fTenantID: schema.AttrTenantID, fTenantName: schema.AttrTenantName, fClientAddress: schema.AttrClientAddress,
	fUserAgent: schema.AttrUserAgent, fRequestID: schema.AttrRequestID, fFailureReason: schema.AttrFailureReason,
	fSubjectType: schema.AttrSubjectType, fSubjectID: schema.AttrSubjectID, fSubjectName: schema.AttrSubjectName,
	fChangedFields: schema.AttrChangedFields, fChanges: schema.AttrChanges, fAlertRule: schema.AttrAlertRule,
	fAlertKeyType: schema.AttrAlertKeyType, fAlertKey: schema.AttrAlertKey, fAlertCount: schema.AttrAlertCount,
	fAlertThreshold: schema.AttrAlertThreshold, fAlertWindowSeconds: schema.AttrAlertWindowSeconds,
	fAlertFirstSeen: schema.AttrAlertFirstSeen, fAlertLastSeen: schema.AttrAlertLastSeen,
}

// fieldIndex maps an attribute key to its field.
var fieldIndex = func() map[string]int {
	m := make(map[string]int, nFields)
	for i, name := range fieldNames {
		m[name] = i
	}
	return m
}()

// rawField reports whether decode needs field i's JSON as written rather
// than as a string.
func rawField(i int) bool {
	switch i {
	case fChangedFields, fChanges, fAlertCount, fAlertThreshold, fAlertWindowSeconds:
		return true
	}
	return false
}

// value is one value of a document: a JSON string already decoded, or the
// JSON as written.
type value struct {
	raw   []byte
	str   string
	isStr bool
}

// string is the value as decode shows it (see rawString).
func (v value) string() string {
	if v.isStr {
		return v.str
	}
	return rawString(v.raw)
}

// document holds what decode reads of an activity document. Where a key
// appears twice, its last value counts, as in a map.
type document struct {
	timestamp []byte
	text      value
	service   value
	attrs     [nFields]value
}

// readDocument reads src: a JSON object, or null for an empty document.
// Malformed JSON is an error where the reader meets it; it does not check
// strictly what it skips (Elasticsearch sends valid JSON, and a strict check
// of every document took longer than reading it).
func readDocument(src []byte, d *document) error {
	it := jsoniter.ConfigCompatibleWithStandardLibrary.BorrowIterator(src)
	defer jsoniter.ConfigCompatibleWithStandardLibrary.ReturnIterator(it)
	if err := readDocumentAt(it, d); err != nil {
		return err
	}
	if it.Error != nil && !errors.Is(it.Error, io.EOF) {
		return it.Error
	}
	return nil
}

// errNotObject is a document that is neither an object nor null.
var errNotObject = errors.New("not a JSON object")

// readDocumentAt reads the document at it into d, as readDocument does, and
// leaves it after the document. A value that is neither an object nor null
// is skipped and errNotObject returned; malformed JSON is left in it.Error.
func readDocumentAt(it *jsoniter.Iterator, d *document) error {
	switch it.WhatIsNext() {
	case jsoniter.NilValue:
		it.ReadNil()
		return nil
	case jsoniter.ObjectValue:
	default:
		it.Skip()
		return errNotObject
	}
	it.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
		switch key {
		case "@timestamp":
			it.WhatIsNext() // past the blanks
			d.timestamp = it.SkipAndReturnBytes()
		case "body":
			d.text = value{}
			readObject(it, func(k string) {
				if k == "text" {
					d.text = readValue(it, false)
				} else {
					it.Skip()
				}
			})
		case "attributes":
			d.attrs = [nFields]value{}
			readObject(it, func(k string) {
				if i, ok := fieldIndex[k]; ok {
					d.attrs[i] = readValue(it, rawField(i))
				} else {
					it.Skip()
				}
			})
		case "resource":
			d.service = value{}
			readObject(it, func(k string) {
				if k != "attributes" {
					it.Skip()
					return
				}
				d.service = value{}
				readObject(it, func(k string) {
					if k == schema.AttrServiceName {
						d.service = readValue(it, false)
					} else {
						it.Skip()
					}
				})
			})
		default:
			it.Skip()
		}
		return it.Error == nil
	})
	return nil
}

// readObject calls f with each key of the object at it, positioned on the
// key's value; a value that is not an object is skipped (it holds no keys).
func readObject(it *jsoniter.Iterator, f func(key string)) {
	if it.WhatIsNext() != jsoniter.ObjectValue {
		it.Skip()
		return
	}
	it.ReadObjectCB(func(_ *jsoniter.Iterator, key string) bool {
		f(key)
		return true
	})
}

// readValue reads the value at it: a string or null decoded, anything else
// (or everything, with raw) as written.
func readValue(it *jsoniter.Iterator, raw bool) value {
	switch next := it.WhatIsNext(); {
	case raw:
	case next == jsoniter.StringValue:
		return value{str: it.ReadString(), isStr: true}
	case next == jsoniter.NilValue:
		it.ReadNil()
		return value{isStr: true}
	}
	return value{raw: it.SkipAndReturnBytes()}
}

func rawString(b json.RawMessage) string {
	if len(b) == 0 {
		return ""
	}
	var v string
	if unmarshal(b, &v) == nil {
		return v
	}
	var list []string
	if unmarshal(b, &list) == nil && len(list) > 0 {
		return list[0]
	}
	return string(b) // a number or other scalar, shown as written
}

func rawInt(b json.RawMessage) int64 {
	var n json.Number
	if unmarshal(b, &n) == nil {
		i, _ := n.Int64()
		return i
	}
	if i, err := strconv.ParseInt(rawString(b), 10, 64); err == nil {
		return i
	}
	return 0
}

// parseTimestamp reads @timestamp as RFC 3339, or as epoch milliseconds with
// an optional fraction, as a string or a number: the contrib elasticsearch
// exporter writes "1795687240324.428193" (milliseconds, then the remaining
// nanoseconds as a fraction). Anything else is the zero time.
func parseTimestamp(b json.RawMessage) time.Time {
	var s string
	if unmarshal(b, &s) != nil {
		s = string(b) // a bare JSON number
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC()
	}
	if t, ok := parseEpochMillis(s); ok {
		return t
	}
	return time.Time{}
}

// parseEpochMillis parses "<milliseconds>[.<fraction of a millisecond>]".
func parseEpochMillis(s string) (time.Time, bool) {
	whole, frac, hasFrac := strings.Cut(s, ".")
	ms, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || ms < 0 || ms > maxEpochMillis {
		return time.Time{}, false
	}
	var nanos int64
	if hasFrac {
		if frac == "" || len(frac) > 6 {
			return time.Time{}, false
		}
		n, err := strconv.ParseInt(frac, 10, 64)
		if err != nil || n < 0 {
			return time.Time{}, false
		}
		for i := len(frac); i < 6; i++ {
			n *= 10
		}
		nanos = n
	}
	return time.Unix(0, ms*int64(time.Millisecond)+nanos).UTC(), true
}

// maxEpochMillis keeps ms*1e6 inside an int64 (the year 2262).
const maxEpochMillis = (1<<63 - 1) / int64(time.Millisecond) / 2

// activity builds the Activity a document describes.
func (d *document) activity(docID string) querysvc.Activity {
	s := func(i int) string { return d.attrs[i].string() }
	a := querysvc.Activity{
		ID:            s(fID),
		Timestamp:     parseTimestamp(d.timestamp),
		Description:   d.text.string(),
		Category:      s(fCategory),
		Event:         s(fEvent),
		Outcome:       s(fOutcome),
		Actor:         querysvc.Actor{Type: s(fActorType), ID: s(fUserID), Name: s(fUserName)},
		Tenant:        querysvc.Tenant{ID: s(fTenantID), Name: s(fTenantName)},
		ClientAddress: s(fClientAddress),
		UserAgent:     s(fUserAgent),
		RequestID:     s(fRequestID),
		Service:       d.service.string(),
		FailureReason: s(fFailureReason),
	}
	if a.ID == "" {
		a.ID = docID
	}
	if st, sid, sn := s(fSubjectType), s(fSubjectID), s(fSubjectName); st != "" || sid != "" || sn != "" {
		a.Subject = &querysvc.Subject{Type: st, ID: sid, Name: sn}
	}
	if b := d.attrs[fChangedFields].raw; len(b) > 0 {
		var fields []string
		if unmarshal(b, &fields) != nil {
			fields = []string{rawString(b)}
		}
		a.ChangedFields = fields
	}
	if b := d.attrs[fChanges].raw; len(b) > 0 && b[0] == '{' {
		a.Changes = b
	}
	if rule := s(fAlertRule); rule != "" {
		a.Alert = &querysvc.Alert{
			Rule:          rule,
			KeyType:       s(fAlertKeyType),
			Key:           s(fAlertKey),
			Count:         rawInt(d.attrs[fAlertCount].raw),
			Threshold:     rawInt(d.attrs[fAlertThreshold].raw),
			WindowSeconds: rawInt(d.attrs[fAlertWindowSeconds].raw),
			FirstSeen:     s(fAlertFirstSeen),
			LastSeen:      s(fAlertLastSeen),
		}
	}
	return a
}
