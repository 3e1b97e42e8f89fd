package store

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/schema"
)

// source is an activity document as the elasticsearch exporter writes it in
// its "otel" mapping mode: attributes keep their dotted keys inside
// "attributes" and "resource.attributes".
type source struct {
	Timestamp  json.RawMessage            `json:"@timestamp"`
	Body       struct{ Text string }      `json:"body"`
	Attributes map[string]json.RawMessage `json:"attributes"`
	Resource   struct {
		Attributes map[string]json.RawMessage `json:"attributes"`
	} `json:"resource"`
}

func (s source) str(attr string) string { return rawString(s.Attributes[attr]) }

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

// decode turns a search hit's id and _source into an Activity.
func decode(docID string, src json.RawMessage) (querysvc.Activity, error) {
	var s source
	if err := unmarshal(src, &s); err != nil {
		return querysvc.Activity{}, querysvc.Wrap(querysvc.CodeInternal, "decode activity document", err)
	}
	a := querysvc.Activity{
		ID:            s.str(schema.AttrID),
		Timestamp:     parseTimestamp(s.Timestamp),
		Description:   s.Body.Text,
		Category:      s.str(schema.AttrCategory),
		Event:         s.str(schema.AttrEvent),
		Outcome:       s.str(schema.AttrOutcome),
		Actor:         querysvc.Actor{Type: s.str(schema.AttrActorType), ID: s.str(schema.AttrUserID), Name: s.str(schema.AttrUserName)},
		Tenant:        querysvc.Tenant{ID: s.str(schema.AttrTenantID), Name: s.str(schema.AttrTenantName)},
		ClientAddress: s.str(schema.AttrClientAddress),
		UserAgent:     s.str(schema.AttrUserAgent),
		RequestID:     s.str(schema.AttrRequestID),
		Service:       rawString(s.Resource.Attributes[schema.AttrServiceName]),
		FailureReason: s.str(schema.AttrFailureReason),
	}
	if a.ID == "" {
		a.ID = docID
	}
	if st, sid, sn := s.str(schema.AttrSubjectType), s.str(schema.AttrSubjectID), s.str(schema.AttrSubjectName); st != "" || sid != "" || sn != "" {
		a.Subject = &querysvc.Subject{Type: st, ID: sid, Name: sn}
	}
	if b := s.Attributes[schema.AttrChangedFields]; len(b) > 0 {
		var fields []string
		if unmarshal(b, &fields) != nil {
			fields = []string{rawString(b)}
		}
		a.ChangedFields = fields
	}
	if b := s.Attributes[schema.AttrChanges]; len(b) > 0 && b[0] == '{' {
		a.Changes = b
	}
	if rule := s.str(schema.AttrAlertRule); rule != "" {
		a.Alert = &querysvc.Alert{
			Rule:          rule,
			KeyType:       s.str(schema.AttrAlertKeyType),
			Key:           s.str(schema.AttrAlertKey),
			Count:         rawInt(s.Attributes[schema.AttrAlertCount]),
			Threshold:     rawInt(s.Attributes[schema.AttrAlertThreshold]),
			WindowSeconds: rawInt(s.Attributes[schema.AttrAlertWindowSeconds]),
			FirstSeen:     s.str(schema.AttrAlertFirstSeen),
			LastSeen:      s.str(schema.AttrAlertLastSeen),
		}
	}
	return a, nil
}
