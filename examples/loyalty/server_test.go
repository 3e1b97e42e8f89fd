package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/internal/logtest"
	"github.com/activitylog/activitylog/schema"
)

// TestOTPVerifyForAnUnknownPhoneIsRecorded proves that a passcode tried for a
// phone with no account is recorded as a failed verification, as a passcode
// requested for one is: guessing phones and codes is an authentication event
// like any other, and the answer stays the one a wrong code gets.
func TestOTPVerifyForAnUnknownPhoneIsRecorded(t *testing.T) {
	srv, _, exp := memoryServer(t)
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

// TestRedemptionRecordsCarryValues proves that a redemption's record says
// what was redeemed (its points, reward and member) and a cancellation what
// it changed, old and new, as a purchase's and a refund's records do: every
// action promises its values, and the redemption row is recorded by these
// events alone (the GORM plugin does not track it).
func TestRedemptionRecordsCarryValues(t *testing.T) {
	srv, db, exp := memoryServer(t)
	const password = "redemption-test-password"
	if err := seed(context.Background(), db, password, 4); err != nil {
		t.Fatal(err)
	}
	routes := srv.routes()
	call := func(method, path, token, body string, want int, out any) {
		t.Helper()
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		routes.ServeHTTP(w, r)
		if w.Code != want {
			t.Fatalf("%s %s: got %d %s, want %d", method, path, w.Code, w.Body, want)
		}
		if out != nil {
			if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
				t.Fatal(err)
			}
		}
	}
	var login struct{ Token string }
	call(http.MethodPost, "/login", "", `{"email":"owner@beanthere.example","password":"`+password+`"}`, http.StatusOK, &login)
	var reward, member, red struct{ ID string }
	call(http.MethodPost, "/api/rewards", login.Token, `{"name":"Free coffee","points":100,"stock":5,"active":true}`, http.StatusCreated, &reward)
	call(http.MethodPost, "/api/members", login.Token, `{"name":"Cara Diaz","points":250}`, http.StatusCreated, &member)
	exp.Take()
	call(http.MethodPost, "/api/redemptions", login.Token, `{"member_id":"`+member.ID+`","reward_id":"`+reward.ID+`"}`, http.StatusCreated, &red)
	call(http.MethodPost, "/api/redemptions/"+red.ID+"/cancel", login.Token, "", http.StatusOK, nil)

	got := map[string]map[string]map[string]any{}
	for _, r := range exp.Records() {
		a := logtest.Attributes(r)
		ev := a[schema.AttrEvent].AsString()
		if ev != schema.EventRedemptionProcessed && ev != schema.EventRedemptionCancelled {
			continue
		}
		ch := map[string]map[string]any{}
		for _, kv := range a[schema.AttrChanges].AsMap() {
			inner := map[string]any{}
			for _, e := range kv.Value.AsMap() {
				inner[string(e.Key)] = e.Value.AsInterface()
			}
			ch[string(kv.Key)] = inner
		}
		got[ev] = ch
	}
	processed := got[schema.EventRedemptionProcessed]
	if processed["points"]["new"] != int64(100) || processed["reward_id"]["new"] != reward.ID || processed["member_id"]["new"] != member.ID {
		t.Errorf("got redemption changes %v, want its points, reward and member as new values", processed)
	}
	if c := got[schema.EventRedemptionCancelled]["cancelled"]; c["old"] != false || c["new"] != true {
		t.Errorf("got cancellation changes %v, want cancelled false → true", got[schema.EventRedemptionCancelled])
	}
}

// TestPasswordChangeIsOneAuthEvent proves that a password change is
// recorded as one password_changed authentication event, not as an update
// of the account whose only change is a redacted hash; that a wrong current
// password is recorded as a failed change; and that neither password nor
// hash is in any record.
func TestPasswordChangeIsOneAuthEvent(t *testing.T) {
	srv, db, exp := memoryServer(t)
	const password, newPassword = "password-change-test-old", "password-change-test-new"
	if err := seed(context.Background(), db, password, 4); err != nil {
		t.Fatal(err)
	}
	routes := srv.routes()
	call := func(path, token, body string, want int) string {
		t.Helper()
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		routes.ServeHTTP(w, r)
		if w.Code != want {
			t.Fatalf("POST %s: got %d %s, want %d", path, w.Code, w.Body, want)
		}
		return w.Body.String()
	}
	var login struct{ Token string }
	if err := json.Unmarshal([]byte(call("/login", "", `{"email":"barista@beanthere.example","password":"`+password+`"}`, http.StatusOK)), &login); err != nil {
		t.Fatal(err)
	}
	exp.Take()

	check := func(outcome, reason string) {
		t.Helper()
		recs := exp.Take()
		if len(recs) != 1 {
			t.Fatalf("got %d records, want 1 password change", len(recs))
		}
		a := logtest.Attributes(recs[0])
		got := [4]string{a[schema.AttrEvent].AsString(), a[schema.AttrCategory].AsString(), a[schema.AttrOutcome].AsString(), a[schema.AttrFailureReason].AsString()}
		if want := [4]string{schema.EventPasswordChanged, schema.CategoryAuth, outcome, reason}; got != want {
			t.Errorf("got event, category, outcome, reason %q, want %q", got, want)
		}
		if id := a[schema.AttrUserID].AsString(); id != "acc_staff_bean-there" {
			t.Errorf("got user.id %q, want the barista's account", id)
		}
		if body := recs[0].Body().AsString(); !strings.HasPrefix(body, "Staff of Bean There Coffee (Staff) changed their password") {
			t.Errorf("got description %q, want the barista changing their password", body)
		}
		if all := fmt.Sprint(recs[0].Body().AsString(), a); strings.Contains(all, password) || strings.Contains(all, newPassword) || strings.Contains(all, "$2a$") {
			t.Errorf("got a password or a hash in the record: %s", all)
		}
	}
	call("/api/me/password", login.Token, `{"current_password":"wrong-current-password","new_password":"`+newPassword+`"}`, http.StatusUnauthorized)
	check(schema.OutcomeFailure, "invalid_password")
	call("/api/me/password", login.Token, `{"current_password":"`+password+`","new_password":"`+newPassword+`"}`, http.StatusNoContent)
	check(schema.OutcomeSuccess, "")

	call("/login", "", `{"email":"barista@beanthere.example","password":"`+password+`"}`, http.StatusUnauthorized)
	call("/login", "", `{"email":"barista@beanthere.example","password":"`+newPassword+`"}`, http.StatusOK)
}

// TestPasswordChangeEndsOtherSessions proves that changing a password signs
// out every other session of the account (one opened by whoever knew the old
// password), and keeps the session that made the change.
func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	srv, db, _ := memoryServer(t)
	const password, newPassword = "password-change-test-old", "password-change-test-new"
	if err := seed(context.Background(), db, password, 4); err != nil {
		t.Fatal(err)
	}
	routes := srv.routes()
	login := `{"email":"barista@beanthere.example","password":"` + password + `"}`
	mine, stolen := loginToken(t, routes, login), loginToken(t, routes, login)
	owner := loginToken(t, routes, `{"email":"owner@beanthere.example","password":"`+password+`"}`)
	if code, body := post(routes, "/api/me/password", mine, `{"current_password":"`+password+`","new_password":"`+newPassword+`"}`); code != http.StatusNoContent {
		t.Fatalf("change password: got %d %s, want 204", code, body)
	}
	for _, c := range []struct {
		name, token string
		want        int
	}{
		{"the other session of the account", stolen, http.StatusUnauthorized},
		{"the session that changed the password", mine, http.StatusNoContent},
		{"another account's session", owner, http.StatusNoContent},
	} {
		if code, body := post(routes, "/logout", c.token, ""); code != c.want {
			t.Errorf("%s: got %d %s, want %d", c.name, code, body, c.want)
		}
	}
}

// TestPasswordsLongerThanBcryptTakes proves that a new password longer than
// the 72 bytes bcrypt hashes is refused as a bad request, as a short one is,
// on both routes that set a password, not answered with a bare 500, and that
// the account keeps its password.
func TestPasswordsLongerThanBcryptTakes(t *testing.T) {
	srv, db, _ := memoryServer(t)
	const password = "password-change-test-old"
	if err := seed(context.Background(), db, password, 4); err != nil {
		t.Fatal(err)
	}
	routes := srv.routes()
	staff := loginToken(t, routes, `{"email":"barista@beanthere.example","password":"`+password+`"}`)
	owner := loginToken(t, routes, `{"email":"owner@beanthere.example","password":"`+password+`"}`)
	long := strings.Repeat("é", 37) // 74 bytes, 37 characters
	for _, c := range []struct{ path, token, body string }{
		{"/api/me/password", staff, `{"current_password":"` + password + `","new_password":"` + long + `"}`},
		{"/api/staff", owner, `{"name":"Long","email":"long@beanthere.example","password":"` + long + `"}`},
	} {
		if code, body := post(routes, c.path, c.token, c.body); code != http.StatusBadRequest || !strings.Contains(body, "72 bytes") {
			t.Errorf("POST %s: got %d %s, want 400 naming the 72-byte limit", c.path, code, body)
		}
	}
	loginToken(t, routes, `{"email":"barista@beanthere.example","password":"`+password+`"}`)
}

// post sends a POST with a bearer token, if any, and returns the status and
// body of the answer.
func post(routes http.Handler, path, token, body string) (int, string) {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	routes.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

// loginToken signs in with the login request body and returns the token.
func loginToken(t *testing.T, routes http.Handler, body string) string {
	t.Helper()
	code, resp := post(routes, "/login", "", body)
	var login struct{ Token string }
	if err := json.Unmarshal([]byte(resp), &login); code != http.StatusOK || err != nil {
		t.Fatalf("login: got %d %s, want 200 with a token", code, resp)
	}
	return login.Token
}

// memoryServer is the example's server over an in-memory database, its
// records kept in the returned exporter.
func memoryServer(t *testing.T) (*server, *gorm.DB, *logtest.Exporter) {
	t.Helper()
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
	return srv, db, exp
}
