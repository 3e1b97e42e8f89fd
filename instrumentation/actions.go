package instrumentation

import (
	"context"
	"strconv"
)

// Login records that a successfully authenticated.
func (r *Recorder) Login(ctx context.Context, a Actor) error {
	return r.Record(ctx, Event{Action: Login, Actor: a})
}

// Logout records that a logged out.
func (r *Recorder) Logout(ctx context.Context, a Actor) error {
	return r.Record(ctx, Event{Action: Logout, Actor: a})
}

// LoginFailed records a failed login. a is who was tried: at least the user
// name typed, and the portal's actor type when known. reason is a short code
// such as "invalid_password" or "unknown_user"; never the password tried.
func (r *Recorder) LoginFailed(ctx context.Context, a Actor, reason string) error {
	return r.Record(ctx, Event{Action: LoginFailed, Actor: a, Outcome: Failure, FailureReason: reason})
}

// OTPRequested records that a asked for a one-time passcode. The passcode
// itself is never recorded.
func (r *Recorder) OTPRequested(ctx context.Context, a Actor) error {
	return r.Record(ctx, Event{Action: OTPRequested, Actor: a})
}

// OTPVerified records that a entered a valid one-time passcode.
func (r *Recorder) OTPVerified(ctx context.Context, a Actor) error {
	return r.Record(ctx, Event{Action: OTPVerified, Actor: a})
}

// OTPFailed records that a entered a wrong or expired one-time passcode;
// reason is a short code such as "expired" or "mismatch".
func (r *Recorder) OTPFailed(ctx context.Context, a Actor, reason string) error {
	return r.Record(ctx, Event{Action: OTPFailed, Actor: a, Outcome: Failure, FailureReason: reason})
}

// PasswordChanged records that a changed their own password. There is no
// password argument: neither the old nor the new password is recorded. To
// record a change made to someone else's password, call Record with action
// PasswordChanged and the account as the Subject.
func (r *Recorder) PasswordChanged(ctx context.Context, a Actor) error {
	return r.Record(ctx, Event{Action: PasswordChanged, Actor: a})
}

// PasswordResetRequested records that a password reset was requested for
// a's account (a "forgot password" form sent). The reset token or link is
// never recorded.
func (r *Recorder) PasswordResetRequested(ctx context.Context, a Actor) error {
	return r.Record(ctx, Event{Action: PasswordResetRequested, Actor: a})
}

// PasswordReset records that a reset their own password (a reset link
// used). The new password is never recorded. To record an administrator
// resetting someone else's password, call Record with action PasswordReset
// and the account as the Subject.
func (r *Recorder) PasswordReset(ctx context.Context, a Actor) error {
	return r.Record(ctx, Event{Action: PasswordReset, Actor: a})
}

// StampAdded records that a stamp was added to the stamp card s.
func (r *Recorder) StampAdded(ctx context.Context, s Subject) error {
	return r.Record(ctx, Event{Action: StampAdded, Subject: withCategory(s, StampCards)})
}

// TransactionRecorded records the purchase transaction s.
func (r *Recorder) TransactionRecorded(ctx context.Context, s Subject) error {
	return r.Record(ctx, Event{Action: TransactionRecorded, Subject: withCategory(s, Transactions)})
}

// TransactionRefunded records that the transaction s was refunded.
func (r *Recorder) TransactionRefunded(ctx context.Context, s Subject) error {
	return r.Record(ctx, Event{Action: TransactionRefunded, Subject: withCategory(s, Transactions)})
}

// RedemptionProcessed records that the reward redemption s was processed.
func (r *Recorder) RedemptionProcessed(ctx context.Context, s Subject) error {
	return r.Record(ctx, Event{Action: RedemptionProcessed, Subject: withCategory(s, Redemptions)})
}

// RedemptionCancelled records that the redemption s was cancelled.
func (r *Recorder) RedemptionCancelled(ctx context.Context, s Subject) error {
	return r.Record(ctx, Event{Action: RedemptionCancelled, Subject: withCategory(s, Redemptions)})
}

// Viewed records that the current actor read the activity log: q is the
// query service endpoint, parameters and HTTP status, s the record asked for
// by id (Subject.ID), if any; a zero s.Category is Audit. A status of 400 or
// more, a refused read, is recorded as a failure with the reason
// "http_<status>".
func (r *Recorder) Viewed(ctx context.Context, s Subject, q Query) error {
	e := Event{Action: Viewed, Subject: withCategory(s, Audit), Query: &q}
	if q.Status >= 400 {
		e.Outcome, e.FailureReason = Failure, "http_"+strconv.Itoa(q.Status)
	}
	return r.Record(ctx, e)
}

func withCategory(s Subject, c Category) Subject {
	if s.Category == "" {
		s.Category = c
	}
	return s
}
