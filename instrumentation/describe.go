package instrumentation

import (
	"strings"

	"github.com/activitylog/activitylog/internal/safetext"
)

// describe builds the plain-English description of an event, for example
// "Jane Doe (Partner) updated reward 'Free coffee'". It uses only the actor,
// subject, action and failure reason: never a changed value, nor a query's
// parameters (which may hold searched-for personal data).
func describe(e *Event) string {
	var b strings.Builder
	b.Grow(64)
	writeActor(&b, e.Actor)
	switch e.Action {
	case Created, Updated, Deleted:
		b.WriteString(" ")
		b.WriteString(string(e.Action))
		b.WriteString(" ")
		writeSubject(&b, e.Subject)
	case Login:
		b.WriteString(" logged in")
	case Logout:
		b.WriteString(" logged out")
	case LoginFailed:
		b.WriteString(" failed to log in")
	case OTPRequested:
		b.WriteString(" requested a one-time passcode")
	case OTPVerified:
		b.WriteString(" verified a one-time passcode")
	case OTPFailed:
		b.WriteString(" failed to verify a one-time passcode")
	case PasswordChanged:
		writePassword(&b, e.Subject, " changed their password", " changed the password of ")
	case PasswordResetRequested:
		writePassword(&b, e.Subject, " requested a password reset", " requested a password reset for ")
	case PasswordReset:
		writePassword(&b, e.Subject, " reset their password", " reset the password of ")
	case StampAdded:
		b.WriteString(" added a stamp to ")
		writeSubject(&b, e.Subject)
	case TransactionRecorded:
		b.WriteString(" recorded ")
		writeSubject(&b, e.Subject)
	case TransactionRefunded:
		b.WriteString(" refunded ")
		writeSubject(&b, e.Subject)
	case RedemptionProcessed:
		b.WriteString(" processed ")
		writeSubject(&b, e.Subject)
	case RedemptionCancelled:
		b.WriteString(" cancelled ")
		writeSubject(&b, e.Subject)
	case Viewed:
		b.WriteString(" viewed ")
		if e.Subject.Category == Audit {
			writeLogRecord(&b, e.Subject)
		} else {
			writeSubject(&b, e.Subject)
		}
	}
	if e.Outcome == Failure {
		switch e.Action {
		case LoginFailed, OTPFailed:
		default:
			b.WriteString(", which failed")
		}
		if e.FailureReason != "" {
			b.WriteString(": ")
			safetext.Write(&b, strings.ReplaceAll(e.FailureReason, "_", " "))
		}
	}
	return b.String()
}

// writeActor writes "Jane Doe (Partner)", or "user 42 (Staff)" when the
// actor has no name, or "Someone" when there is no actor at all. A name or
// id holding a parenthesis is quoted as a subject's name is (writeQuoted): a
// customer named "Eve (Admin) deleted member 'Ann'; Mallory" read as an
// admin's deletion followed by Mallory's login.
func writeActor(b *strings.Builder, a Actor) {
	switch {
	case a.Name != "":
		writeActorName(b, a.Name)
	case a.ID != "":
		b.WriteString("user ")
		writeActorName(b, a.ID)
	default:
		b.WriteString("Someone")
	}
	if a.Type != "" {
		b.WriteString(" (")
		b.WriteString(string(a.Type))
		b.WriteString(")")
	}
}

// writeActorName writes an actor's name or id, quoted when it holds a
// parenthesis (see writeActor).
func writeActorName(b *strings.Builder, s string) {
	if strings.ContainsAny(s, "()") {
		writeQuoted(b, s)
		return
	}
	safetext.Write(b, s)
}

// writeSubject writes "reward 'Free coffee'", or "reward r-17" when the
// subject has no name, or the category when it has neither.
func writeSubject(b *strings.Builder, s Subject) {
	typ := s.Type
	if typ == "" {
		typ = strings.TrimSuffix(strings.ReplaceAll(string(s.Category), "_", " "), "s")
	}
	if typ == "" {
		typ = "something"
	}
	safetext.Write(b, typ)
	switch {
	case s.Name != "":
		b.WriteString(" ")
		writeQuoted(b, s.Name)
	case s.ID != "":
		b.WriteString(" ")
		safetext.Write(b, s.ID)
	}
}

// writeQuoted writes a subject's name in quotes that only the end of the name
// closes, so that a name cannot add words to the description: "reward
// 'x' and deleted member 'Ann'" would read as two changes. The name goes in
// single quotes ('Free coffee'), or in double quotes when it holds a single
// quote and no double one ("O'Brien's card"). A backslash, and the quote
// itself when the name holds both kinds, are escaped by a backslash, as in a
// Go literal ('say \'hi\' "now"', 'C:\\shared'), beside the escapes
// safetext.Write gives layout characters (\n, \u202e).
func writeQuoted(b *strings.Builder, name string) {
	quote := byte('\'')
	if strings.IndexByte(name, '\'') >= 0 && strings.IndexByte(name, '"') < 0 {
		quote = '"'
	}
	b.WriteByte(quote)
	if strings.IndexByte(name, quote) < 0 && strings.IndexByte(name, '\\') < 0 {
		safetext.Write(b, name)
	} else {
		var esc strings.Builder
		esc.Grow(len(name) + 8)
		for i := 0; i < len(name); i++ {
			if c := name[i]; c == quote || c == '\\' {
				esc.WriteByte('\\')
			}
			esc.WriteByte(name[i])
		}
		safetext.Write(b, esc.String())
	}
	b.WriteByte(quote)
}

// writePassword writes what a password event did: own when the actor acted
// on their own account, which is when the event names no subject (no id,
// name or type, and no category but Auth), else other followed by the
// subject, so that an administrator resetting a member's password reads
// "... reset the password of member 'Sam Lee'", and one naming the account
// by its type alone is not taken for the actor's own.
func writePassword(b *strings.Builder, s Subject, own, other string) {
	if s.ID == "" && s.Name == "" && s.Type == "" && (s.Category == "" || s.Category == Auth) {
		b.WriteString(own)
		return
	}
	b.WriteString(other)
	writeSubject(b, s)
}

// writeLogRecord writes what a read of the activity log asked for: "the
// activity log", or "activity log record 0193..." when it asked for one
// record by id.
func writeLogRecord(b *strings.Builder, s Subject) {
	if s.ID == "" {
		b.WriteString("the activity log")
		return
	}
	b.WriteString("activity log record ")
	safetext.Write(b, s.ID)
}
