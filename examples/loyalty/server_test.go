package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/internal/logtest"
	"github.com/activitylog/activitylog/schema"
)

// TestOTPVerifyForAnUnknownPhoneIsRecorded proves that a passcode tried for a
// phone with no account is recorded as a failed verification, as a passcode
// requested for one is: guessing phones and codes is an authentication event
// like any other, and the answer stays the one a wrong code gets.
func TestOTPVerifyForAnUnknownPhoneIsRecorded(t *testing.T) {
	lp, exp := logtest.NewProvider(t)
	rec := instrumentation.New(lp)
	db, err := openDB("file::memory:", rec)
	if err != nil {
		t.Fatal(err)
	}
	if sqlDB, err := db.DB(); err == nil {
		t.Cleanup(func() { _ = sqlDB.Close() })
	}
	srv, err := newServer(db, rec, slog.New(slog.NewTextHandler(io.Discard, nil)), 4, false)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	srv.routes().ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/otp/verify", strings.NewReader(`{"phone":"+15550000000","code":"123456"}`)))
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "invalid or expired passcode") {
		t.Errorf("got %d %s, want 401 invalid or expired passcode", w.Code, w.Body)
	}
	recs := exp.Records()
	if len(recs) != 1 {
		t.Fatalf("got %d records, want 1 failed passcode verification", len(recs))
	}
	got := logtest.Attributes(recs[0])
	if ev, reason := got[schema.AttrEvent].AsString(), got[schema.AttrFailureReason].AsString(); ev != schema.EventOTPFailed || reason != "unknown_phone" {
		t.Errorf("got event %q reason %q, want %q %q", ev, reason, schema.EventOTPFailed, "unknown_phone")
	}
	if strings.Contains(recs[0].Body().AsString(), "5550000000") {
		t.Errorf("got description %q, want no phone number", recs[0].Body().AsString())
	}
}
