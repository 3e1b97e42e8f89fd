package httpapi

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/activitylog/activitylog/querysvc"
)

// The API's responses write their own JSON into a reused buffer: a trends
// answer of 2,700 counts in about a third of encoding/json's time and 40% of
// json-iterator's, without allocating (BenchmarkEncode). Each appendJSON
// writes exactly what encoding/json's Marshal writes for the same value,
// byte for byte; TestAppendJSON and FuzzAppendJSON hold them to it. Any value
// outside the fast paths (a string that needs escaping, an unusual float, raw
// JSON) is handed to encoding/json, so the two cannot differ there either.

// appender is a response that appends its own JSON to b.
type appender interface {
	appendJSON(e *encoder, b []byte) []byte
}

// encoder keeps the first error met. Its methods append to the buffer they
// are given and return it, in the style of strconv.AppendInt: keeping the
// buffer in a local variable rather than in the encoder saves a GC write
// barrier per append, which made a first version slower than encoding/json.
type encoder struct {
	err error
}

// marshal appends what encoding/json writes for v.
func (e *encoder) marshal(b []byte, v any) []byte {
	out, err := json.Marshal(v)
	if err != nil {
		if e.err == nil {
			e.err = err
		}
		return b
	}
	return append(b, out...)
}

// plain reports whether encoding/json writes s between quotes unchanged:
// printable ASCII without the characters it escapes ("\<>&).
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

func (e *encoder) str(b []byte, s string) []byte {
	if !plain(s) {
		return e.marshal(b, s)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// field appends a string member; with omitEmpty an empty one is left out.
// name is the member's name with its quotes, colon and leading comma.
func (e *encoder) field(b []byte, name, s string, omitEmpty bool) []byte {
	if omitEmpty && s == "" {
		return b
	}
	return e.str(append(b, name...), s)
}

func (e *encoder) float(b []byte, f float64) []byte {
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21 || math.IsNaN(f)) {
		return e.marshal(b, f) // exponent form, or the error for NaN and infinities
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

func (e *encoder) time(b []byte, t time.Time) []byte {
	out, err := t.AppendText(append(b, '"'))
	if err != nil {
		return e.marshal(b, t) // the error encoding/json reports
	}
	return append(out, '"')
}

// array appends xs as a JSON array, each element written by elem; a nil
// slice is null, as encoding/json writes it.
func array[T any](b []byte, xs []T, elem func(b []byte, x *T) []byte) []byte {
	if xs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = elem(b, &xs[i])
	}
	return append(b, ']')
}

func (e *encoder) strings(b []byte, ss []string) []byte {
	return array(b, ss, func(b []byte, s *string) []byte { return e.str(b, *s) })
}

func (e *encoder) counts(b []byte, cs []querysvc.Count) []byte {
	return array(b, cs, func(b []byte, c *querysvc.Count) []byte {
		b = e.str(append(b, `{"key":`...), c.Key)
		b = strconv.AppendInt(append(b, `,"count":`...), c.Count, 10)
		return append(b, '}')
	})
}

func (e *encoder) timeRange(b []byte, r timeRange) []byte {
	b = e.time(append(b, `{"from":`...), r.From)
	return e.time(append(b, `,"to":`...), r.To)
}

// member is an omitempty member of an object: a string, or else a number.
type member struct {
	name string
	s    string
	n    int64
}

// members appends the non-empty members, comma-separated, after an
// object's opening brace.
func (e *encoder) members(b []byte, ms ...member) []byte {
	first := true
	for _, m := range ms {
		if m.s == "" && m.n == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, m.name...)
		if m.s != "" {
			b = e.str(b, m.s)
		} else {
			b = strconv.AppendInt(b, m.n, 10)
		}
	}
	return b
}

func (e *encoder) activity(b []byte, a *querysvc.Activity) []byte {
	b = e.str(append(b, `{"id":`...), a.ID)
	b = e.time(append(b, `,"timestamp":`...), a.Timestamp)
	b = e.field(b, `,"description":`, a.Description, true)
	b = e.field(b, `,"category":`, a.Category, true)
	b = e.field(b, `,"event":`, a.Event, true)
	b = e.field(b, `,"outcome":`, a.Outcome, true)
	b = e.members(append(b, `,"actor":{`...),
		member{name: `"type":`, s: a.Actor.Type}, member{name: `"id":`, s: a.Actor.ID}, member{name: `"name":`, s: a.Actor.Name})
	b = e.members(append(b, `},"tenant":{`...), member{name: `"id":`, s: a.Tenant.ID}, member{name: `"name":`, s: a.Tenant.Name})
	b = append(b, '}')
	if sub := a.Subject; sub != nil {
		b = e.members(append(b, `,"subject":{`...),
			member{name: `"type":`, s: sub.Type}, member{name: `"id":`, s: sub.ID}, member{name: `"name":`, s: sub.Name})
		b = append(b, '}')
	}
	b = e.field(b, `,"client_address":`, a.ClientAddress, true)
	b = e.field(b, `,"user_agent":`, a.UserAgent, true)
	b = e.field(b, `,"request_id":`, a.RequestID, true)
	b = e.field(b, `,"service":`, a.Service, true)
	b = e.field(b, `,"failure_reason":`, a.FailureReason, true)
	if len(a.ChangedFields) > 0 {
		b = e.strings(append(b, `,"changed_fields":`...), a.ChangedFields)
	}
	if len(a.Changes) > 0 {
		// Compacted, with <, >, & and U+2028/U+2029 escaped, as encoding/json does.
		b = e.marshal(append(b, `,"changes":`...), a.Changes)
	}
	if al := a.Alert; al != nil {
		b = e.members(append(b, `,"alert":{`...),
			member{name: `"rule":`, s: al.Rule}, member{name: `"key_type":`, s: al.KeyType}, member{name: `"key":`, s: al.Key},
			member{name: `"count":`, n: al.Count}, member{name: `"threshold":`, n: al.Threshold},
			member{name: `"window_seconds":`, n: al.WindowSeconds},
			member{name: `"first_seen":`, s: al.FirstSeen}, member{name: `"last_seen":`, s: al.LastSeen})
		b = append(b, '}')
	}
	return append(b, '}')
}

func (e *encoder) activities(b []byte, as []querysvc.Activity) []byte {
	return array(b, as, e.activity)
}

// activityResponse is GET /v1/activities/{id}.
type activityResponse struct{ querysvc.Activity }

func (r *activityResponse) appendJSON(e *encoder, b []byte) []byte { return e.activity(b, &r.Activity) }

// activitiesResponse is GET /v1/activities.
type activitiesResponse struct {
	Activities []querysvc.Activity `json:"activities"`
	Total      int64               `json:"total"`
	NextCursor string              `json:"next_cursor,omitempty"`
}

func (r *activitiesResponse) appendJSON(e *encoder, b []byte) []byte {
	b = e.activities(append(b, `{"activities":`...), r.Activities)
	b = strconv.AppendInt(append(b, `,"total":`...), r.Total, 10)
	b = e.field(b, `,"next_cursor":`, r.NextCursor, true)
	return append(b, '}')
}

// timeRange is part of every analytics response.
type timeRange struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// trendsResponse is GET /v1/analytics/trends.
type trendsResponse struct {
	timeRange
	querysvc.Trends
}

func (r *trendsResponse) appendJSON(e *encoder, b []byte) []byte {
	b = e.timeRange(b, r.timeRange)
	b = e.str(append(b, `,"interval":`...), string(r.Interval))
	b = e.field(b, `,"split_by":`, r.SplitBy, true)
	b = strconv.AppendInt(append(b, `,"total":`...), r.Total, 10)
	b = array(append(b, `,"buckets":`...), r.Buckets, func(b []byte, tb *querysvc.TrendBucket) []byte {
		b = e.time(append(b, `{"start":`...), tb.Start)
		b = strconv.AppendInt(append(b, `,"count":`...), tb.Count, 10)
		if len(tb.Split) > 0 {
			b = e.counts(append(b, `,"split":`...), tb.Split)
		}
		return append(b, '}')
	})
	return append(b, '}')
}

// breakdownResponse is GET /v1/analytics/events and /categories.
type breakdownResponse struct {
	timeRange
	querysvc.Breakdown
}

func (r *breakdownResponse) appendJSON(e *encoder, b []byte) []byte {
	b = e.timeRange(b, r.timeRange)
	b = strconv.AppendInt(append(b, `,"total":`...), r.Total, 10)
	b = e.counts(append(b, `,"buckets":`...), r.Buckets)
	return append(b, '}')
}

// usersResponse is GET /v1/analytics/users/top.
type usersResponse struct {
	timeRange
	Users []querysvc.UserCount `json:"users"`
}

func (r *usersResponse) appendJSON(e *encoder, b []byte) []byte {
	b = array(append(e.timeRange(b, r.timeRange), `,"users":`...), r.Users, func(b []byte, u *querysvc.UserCount) []byte {
		b = e.str(append(b, `{"user_id":`...), u.UserID)
		b = e.field(b, `,"user_name":`, u.UserName, true)
		b = e.field(b, `,"user_type":`, u.UserType, true)
		b = strconv.AppendInt(append(b, `,"count":`...), u.Count, 10)
		return append(b, '}')
	})
	return append(b, '}')
}

// authResponse is GET /v1/analytics/auth.
type authResponse struct {
	timeRange
	querysvc.AuthStats
}

func (r *authResponse) appendJSON(e *encoder, b []byte) []byte {
	b = e.timeRange(b, r.timeRange)
	b = strconv.AppendInt(append(b, `,"logins":`...), r.Logins, 10)
	b = strconv.AppendInt(append(b, `,"logouts":`...), r.Logouts, 10)
	b = strconv.AppendInt(append(b, `,"failed_logins":`...), r.FailedLogins, 10)
	b = strconv.AppendInt(append(b, `,"otp_requested":`...), r.OTPRequested, 10)
	b = strconv.AppendInt(append(b, `,"otp_verified":`...), r.OTPVerified, 10)
	b = strconv.AppendInt(append(b, `,"otp_failed":`...), r.OTPFailed, 10)
	b = strconv.AppendInt(append(b, `,"password_changes":`...), r.PasswordChanges, 10)
	b = strconv.AppendInt(append(b, `,"password_reset_requests":`...), r.PasswordResetRequests, 10)
	b = strconv.AppendInt(append(b, `,"password_resets":`...), r.PasswordResets, 10)
	b = e.float(append(b, `,"failure_rate":`...), r.FailureRate)
	b = e.counts(append(b, `,"top_failing_ips":`...), r.TopFailingIPs)
	b = e.counts(append(b, `,"top_failing_users":`...), r.TopFailingUsers)
	return append(b, '}')
}

// alertsResponse is GET /v1/security/alerts.
type alertsResponse struct {
	timeRange
	Alerts []querysvc.Activity `json:"alerts"`
}

func (r *alertsResponse) appendJSON(e *encoder, b []byte) []byte {
	b = e.activities(append(e.timeRange(b, r.timeRange), `,"alerts":`...), r.Alerts)
	return append(b, '}')
}

// burstsResponse is GET /v1/security/bursts.
type burstsResponse struct {
	timeRange
	WindowSeconds int64            `json:"window_seconds"`
	Threshold     int              `json:"threshold"`
	Key           string           `json:"key"`
	Total         int              `json:"total"`
	Bursts        []querysvc.Burst `json:"bursts"`
}

func (r *burstsResponse) appendJSON(e *encoder, b []byte) []byte {
	b = e.timeRange(b, r.timeRange)
	b = strconv.AppendInt(append(b, `,"window_seconds":`...), r.WindowSeconds, 10)
	b = strconv.AppendInt(append(b, `,"threshold":`...), int64(r.Threshold), 10)
	b = e.str(append(b, `,"key":`...), r.Key)
	b = strconv.AppendInt(append(b, `,"total":`...), int64(r.Total), 10)
	b = array(append(b, `,"bursts":`...), r.Bursts, func(b []byte, bu *querysvc.Burst) []byte {
		b = e.time(append(b, `{"window_start":`...), bu.WindowStart)
		b = e.str(append(b, `,"key":`...), bu.Key)
		b = strconv.AppendInt(append(b, `,"count":`...), bu.Count, 10)
		return append(b, '}')
	})
	return append(b, '}')
}

// appendResponse appends v's JSON to b: its own appendJSON when it has
// one, else encoding/json's.
func appendResponse(b []byte, v any) ([]byte, error) {
	a, ok := v.(appender)
	if !ok {
		out, err := json.Marshal(v)
		return append(b, out...), err
	}
	var e encoder
	b = a.appendJSON(&e, b)
	return b, e.err
}

// encodeJSON returns v's JSON.
func encodeJSON(v any) ([]byte, error) { return appendResponse(nil, v) }
