package instrumentation

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"

	"github.com/activitylog/activitylog/internal/logtest"
	"github.com/activitylog/activitylog/internal/safetext"
	"github.com/activitylog/activitylog/schema"
)

// fuzzActions are the actions FuzzRecordText records, so that every branch
// of describe writes the fuzzed names.
var fuzzActions = []Action{Created, Updated, Deleted, Login, Logout, LoginFailed, OTPRequested, OTPVerified,
	OTPFailed, StampAdded, TransactionRecorded, TransactionRefunded, RedemptionProcessed, RedemptionCancelled, Viewed,
	// Appended, so that the corpus's action numbers keep their meaning.
	PasswordChanged, PasswordResetRequested, PasswordReset}

// FuzzRecordText: the names in an event (a user name typed at a failed login,
// a subject's name, a failure reason) and the request's strings are text a
// client may choose. Whatever they hold, the event is recorded; every string
// of the record is valid UTF-8 (OTLP refuses the batch otherwise); the
// generated description has no character that could forge its layout; and a
// valid value is recorded as it was given.
func FuzzRecordText(f *testing.F) {
	f.Add(uint8(5), "Jane Doe", "u-1", "reward", "r-17", "Free coffee", "invalid_password", "203.0.113.7", "curl/8", true)
	f.Add(uint8(14), "Mallory\n2026-11-26 Jane (Admin) deleted card c-1", "", "", "\u202e1-c", "", "", "", "", false)
	f.Add(uint8(0), "\xff\xfe", "\x00", "\u2028", "\u2029", "\x85", "a\u200fb", "\xc3", "\u061c", true)
	lp, mem := logtest.NewProvider(f)
	r := New(lp)
	f.Fuzz(func(t *testing.T, action uint8, name, userID, subjectType, subjectID, subjectName, reason, addr, agent string, failed bool) {
		e := Event{
			Action:  fuzzActions[int(action)%len(fuzzActions)],
			Subject: Subject{Category: Members, Type: subjectType, ID: subjectID, Name: subjectName},
			Actor:   Actor{ID: userID, Name: name, Type: ActorStaff},
			Request: Request{ClientAddress: addr, UserAgent: agent},
		}
		if e.Action.isAuth() {
			e.Subject.Category = Auth
		}
		if failed {
			e.Outcome, e.FailureReason = Failure, reason
		}
		if err := r.Record(context.Background(), e); err != nil {
			t.Fatalf("got error %v, want nil", err)
		}
		recs := mem.Take()
		if len(recs) != 1 {
			t.Fatalf("got %d records, want 1", len(recs))
		}
		body := recs[0].Body().AsString()
		if i := strings.IndexFunc(body, safetext.ChangesLayout); i >= 0 {
			t.Fatalf("got description %q with %U, want no control, line-break or bidi character", body, []rune(body[i:])[0])
		}
		if !utf8.ValidString(body) {
			t.Fatalf("got description %q, want valid UTF-8", body)
		}
		got := logtest.Attributes(recs[0])
		for k, v := range got {
			if v.Type() == attribute.STRING && !utf8.ValidString(v.AsString()) {
				t.Fatalf("got %s=%q, want valid UTF-8", k, v.AsString())
			}
		}
		for k, want := range map[string]string{
			schema.AttrUserName: name, schema.AttrUserID: userID, schema.AttrSubjectName: subjectName,
			schema.AttrSubjectID: subjectID, schema.AttrClientAddress: addr, schema.AttrUserAgent: agent,
		} {
			if utf8.ValidString(want) && got[k].AsString() != want {
				t.Fatalf("got %s=%q, want %q as given", k, got[k].AsString(), want)
			}
		}
	})
}
