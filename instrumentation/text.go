package instrumentation

import (
	"strings"
	"unicode/utf8"
)

// validUTF8 returns s with every invalid UTF-8 sequence replaced by U+FFFD.
//
// OTLP carries records as protobuf, whose strings must be UTF-8: the exporter
// refuses to encode a request holding one that is not, and so loses the whole
// batch, up to hundreds of other users' records, not just the bad one. Text a
// client controls (a user name typed at a failed login, a database column of
// unknown bytes) can hold anything, so every string of a record passes here.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// validEventText makes every free-text string of e valid UTF-8 (see
// validUTF8). The action, category, actor type and outcome are checked
// against the schema's vocabularies instead; the query's parameters are
// handled where they become a map (their keys may collide once made valid).
func (e *Event) validEventText() {
	for _, s := range [...]*string{
		&e.Actor.ID, &e.Actor.Name, &e.Tenant.ID, &e.Tenant.Name,
		&e.Subject.Type, &e.Subject.ID, &e.Subject.Name,
		&e.Request.ClientAddress, &e.Request.UserAgent, &e.Request.ID,
		&e.Description, &e.FailureReason,
	} {
		*s = validUTF8(*s)
	}
}
