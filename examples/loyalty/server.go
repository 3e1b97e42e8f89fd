package main

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/activitylog/activitylog/instrumentation"
)

// Limits and lifetimes.
const (
	maxBody        = 64 << 10
	sessionTTL     = 8 * time.Hour
	otpTTL         = 5 * time.Minute
	otpMaxAttempts = 5
)

// server is the loyalty platform's HTTP API.
type server struct {
	db        *gorm.DB
	rec       *instrumentation.Recorder
	log       *slog.Logger
	now       func() time.Time
	exposeOTP bool
	cost      int
	// dummyHash is compared against when an account does not exist, so a
	// failed login takes as long whether or not the user exists.
	dummyHash []byte

	mu       sync.Mutex
	sessions map[string]session // by sha256 of the token
}

type session struct {
	actor   instrumentation.Actor
	tenant  instrumentation.Tenant
	expires time.Time
}

// apiError is an error with the HTTP status and message a client may see.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

func newServer(db *gorm.DB, rec *instrumentation.Recorder, log *slog.Logger, cost int, exposeOTP bool) (*server, error) {
	dummy, err := bcrypt.GenerateFromPassword([]byte(uuid.NewString()), cost)
	if err != nil {
		return nil, fmt.Errorf("hash dummy password: %w", err)
	}
	return &server{db: db, rec: rec, log: log, now: time.Now, exposeOTP: exposeOTP, cost: cost,
		dummyHash: dummy, sessions: map[string]session{}}, nil
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", s.handle(s.login))
	mux.HandleFunc("POST /otp/request", s.handle(s.otpRequest))
	mux.HandleFunc("POST /otp/verify", s.handle(s.otpVerify))
	mux.Handle("POST /logout", s.auth(s.logout))
	mux.Handle("POST /api/me/password", s.auth(s.changePassword))

	admin := []instrumentation.ActorType{instrumentation.ActorAdmin}
	business := []instrumentation.ActorType{instrumentation.ActorAdmin, instrumentation.ActorPartner}
	desk := []instrumentation.ActorType{instrumentation.ActorAdmin, instrumentation.ActorPartner, instrumentation.ActorStaff}

	mux.Handle("POST /api/partners", s.auth(s.createPartner, admin...))
	mux.Handle("PATCH /api/partners/{id}", s.auth(s.updatePartner, admin...))
	crud[Network](mux, s, "networks", admin...)
	crud[Club](mux, s, "clubs", business...)
	crud[Reward](mux, s, "rewards", business...)
	crud[Member](mux, s, "members", desk...)
	crud[Card](mux, s, "cards", desk...)
	crud[StampCard](mux, s, "stamp-cards", desk...)
	mux.Handle("POST /api/stamp-cards/{id}/stamps", s.auth(s.addStamp, desk...))
	mux.Handle("POST /api/staff", s.auth(s.createStaff, business...))
	mux.Handle("DELETE /api/staff/{id}", s.auth(s.deleteStaff, business...))
	mux.Handle("POST /api/transactions", s.auth(s.recordTransaction, desk...))
	mux.Handle("POST /api/transactions/{id}/refund", s.auth(s.refundTransaction, desk...))
	mux.Handle("POST /api/redemptions", s.auth(s.redeem, desk...))
	mux.Handle("POST /api/redemptions/{id}/cancel", s.auth(s.cancelRedemption, desk...))
	mux.Handle("PATCH /api/me", s.auth(s.updateMe, instrumentation.ActorCustomer))
	return mux
}

// handle adapts a handler that returns an error: API errors are written as
// {"error": msg}; anything else is logged and answered with a bare 500.
func (s *server) handle(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := h(w, r); err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				s.log.ErrorContext(r.Context(), "request failed", "path", r.URL.Path, "error", err)
				ae = &apiError{status: http.StatusInternalServerError, msg: "internal error"}
			}
			writeJSON(w, ae.status, map[string]string{"error": ae.msg})
		}
	}
}

// auth authenticates the bearer token, checks the actor's type and puts the
// actor and tenant in the context. Only an admin may pick a tenant, with
// ?tenant=; everyone else is scoped to their own.
func (s *server) auth(h func(http.ResponseWriter, *http.Request) error, roles ...instrumentation.ActorType) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			return errorf(http.StatusUnauthorized, "missing bearer token")
		}
		sess, ok := s.session(token)
		if !ok {
			return errorf(http.StatusUnauthorized, "invalid or expired token")
		}
		if len(roles) > 0 && !slices.Contains(roles, sess.actor.Type) {
			return errorf(http.StatusForbidden, "%s users may not do this", sess.actor.Type)
		}
		tenant := sess.tenant
		if sess.actor.Type == instrumentation.ActorAdmin {
			if id := r.URL.Query().Get("tenant"); id != "" {
				var p Partner
				if err := s.db.WithContext(r.Context()).Take(&p, "id = ?", id).Error; err != nil {
					return errorf(http.StatusBadRequest, "unknown tenant")
				}
				tenant = instrumentation.Tenant{ID: p.ID, Name: p.Name}
			}
		}
		ctx := instrumentation.WithActor(r.Context(), sess.actor)
		if tenant.ID != "" {
			ctx = instrumentation.WithTenant(ctx, tenant)
		}
		return h(w, r.WithContext(ctx))
	})
}

func tokenKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func (s *server) newSession(a instrumentation.Actor, t instrumentation.Tenant) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	token := hex.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[tokenKey(token)] = session{actor: a, tenant: t, expires: s.now().Add(sessionTTL)}
	return token, nil
}

func (s *server) session(token string) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[tokenKey(token)]
	if !ok || s.now().After(sess.expires) {
		return session{}, false
	}
	return sess, true
}

func decode(r *http.Request, v any) error {
	d := json.NewDecoder(r.Body)
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return errorf(http.StatusBadRequest, "invalid JSON body: %s", jsonProblem(err))
	}
	if d.More() {
		return errorf(http.StatusBadRequest, "invalid JSON body: trailing data")
	}
	return nil
}

// jsonProblem describes a decoding error without echoing the input back.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &syn):
		return "syntax error at offset " + strconv.FormatInt(syn.Offset, 10)
	case errors.As(err, &typ):
		return "wrong type for field " + typ.Field
	case errors.As(err, &tooBig):
		return "body too large"
	case errors.Is(err, io.EOF):
		return "empty body"
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return err.Error()
	}
	return "malformed"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func newID(prefix string) string {
	return prefix + "_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
}

func tenantOf(r *http.Request) (instrumentation.Tenant, error) {
	t, ok := instrumentation.TenantFrom(r.Context())
	if !ok || t.ID == "" {
		return instrumentation.Tenant{}, errorf(http.StatusBadRequest, "no tenant: admins must pass ?tenant=")
	}
	return t, nil
}

// tenantRow is a tenant-scoped model whose id and tenant the server sets.
type tenantRow interface {
	instrumentation.Model
	keys() (id, tenant *string)
}

func (n *Network) keys() (*string, *string)   { return &n.ID, &n.TenantID }
func (c *Club) keys() (*string, *string)      { return &c.ID, &c.TenantID }
func (m *Member) keys() (*string, *string)    { return &m.ID, &m.TenantID }
func (c *Card) keys() (*string, *string)      { return &c.ID, &c.TenantID }
func (r *Reward) keys() (*string, *string)    { return &r.ID, &r.TenantID }
func (s *StampCard) keys() (*string, *string) { return &s.ID, &s.TenantID }

// crud registers create, update and delete for a tenant-scoped model. The
// GORM plugin records all three; the handlers contain no activity code. The
// id and tenant come from the server, never from the body, and every lookup
// is scoped to the caller's tenant.
func crud[T any, P interface {
	*T
	tenantRow
}](mux *http.ServeMux, s *server, path string, roles ...instrumentation.ActorType) {
	prefix := strings.ReplaceAll(path, "-", "")[:3]
	mux.Handle("POST /api/"+path, s.auth(func(w http.ResponseWriter, r *http.Request) error {
		t, err := tenantOf(r)
		if err != nil {
			return err
		}
		var v T
		if err := decode(r, P(&v)); err != nil {
			return err
		}
		id, tenant := P(&v).keys()
		*id, *tenant = newID(prefix), t.ID
		if err := s.db.WithContext(r.Context()).Create(P(&v)).Error; err != nil {
			return fmt.Errorf("create %s: %w", path, err)
		}
		writeJSON(w, http.StatusCreated, P(&v))
		return nil
	}, roles...))
	mux.Handle("PATCH /api/"+path+"/{id}", s.auth(func(w http.ResponseWriter, r *http.Request) error {
		t, err := tenantOf(r)
		if err != nil {
			return err
		}
		var v T
		err = s.db.WithContext(r.Context()).Take(P(&v), "id = ? AND tenant_id = ?", r.PathValue("id"), t.ID).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return errorf(http.StatusNotFound, "%s not found", path)
		} else if err != nil {
			return fmt.Errorf("load %s: %w", path, err)
		}
		id, tenant := P(&v).keys()
		keepID, keepTenant := *id, *tenant
		if err := decode(r, P(&v)); err != nil {
			return err
		}
		*id, *tenant = keepID, keepTenant
		if err := s.db.WithContext(r.Context()).Save(P(&v)).Error; err != nil {
			return fmt.Errorf("update %s: %w", path, err)
		}
		writeJSON(w, http.StatusOK, P(&v))
		return nil
	}, roles...))
	mux.Handle("DELETE /api/"+path+"/{id}", s.auth(func(w http.ResponseWriter, r *http.Request) error {
		t, err := tenantOf(r)
		if err != nil {
			return err
		}
		res := s.db.WithContext(r.Context()).Where("id = ? AND tenant_id = ?", r.PathValue("id"), t.ID).Delete(P(new(T)))
		if res.Error != nil {
			return fmt.Errorf("delete %s: %w", path, res.Error)
		}
		if res.RowsAffected == 0 {
			return errorf(http.StatusNotFound, "%s not found", path)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}, roles...))
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (s *server) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	var acc Account
	err := s.db.WithContext(ctx).Take(&acc, "email = ?", req.Email).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		_ = bcrypt.CompareHashAndPassword(s.dummyHash, []byte(req.Password))
		s.recordErr(r, s.rec.LoginFailed(ctx, instrumentation.Actor{Name: req.Email}, "unknown_user"))
		return errorf(http.StatusUnauthorized, "invalid email or password")
	} else if err != nil {
		return fmt.Errorf("load account: %w", err)
	}
	tenant := s.tenant(r, acc.TenantID)
	if tenant.ID != "" {
		ctx = instrumentation.WithTenant(ctx, tenant)
	}
	if bcrypt.CompareHashAndPassword([]byte(acc.PasswordHash), []byte(req.Password)) != nil {
		s.recordErr(r, s.rec.LoginFailed(ctx, instrumentation.Actor{ID: acc.ID, Name: req.Email, Type: acc.Type}, "invalid_password"))
		return errorf(http.StatusUnauthorized, "invalid email or password")
	}
	actor := instrumentation.Actor{ID: acc.ID, Name: acc.Name, Type: acc.Type}
	token, err := s.newSession(actor, tenant)
	if err != nil {
		return err
	}
	s.recordErr(r, s.rec.Login(ctx, actor))
	writeJSON(w, http.StatusOK, map[string]any{"token": token, "actor": actor.Name, "type": actor.Type, "tenant": tenant.ID})
	return nil
}

func (s *server) logout(w http.ResponseWriter, r *http.Request) error {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	delete(s.sessions, tokenKey(token))
	s.mu.Unlock()
	a, _ := instrumentation.ActorFrom(r.Context())
	s.recordErr(r, s.rec.Logout(r.Context(), a))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type passwordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// changePassword changes the signed-in user's password, after checking the
// current one. The change is recorded as one password_changed event, a
// wrong current password as a failed one: neither password nor either hash
// is recorded.
func (s *server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var req passwordRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := checkNewPassword(req.NewPassword); err != nil {
		return err
	}
	ctx := r.Context()
	a, _ := instrumentation.ActorFrom(ctx)
	var acc Account
	if err := s.db.WithContext(ctx).Take(&acc, "id = ?", a.ID).Error; err != nil {
		return errorf(http.StatusNotFound, "no account")
	}
	if bcrypt.CompareHashAndPassword([]byte(acc.PasswordHash), []byte(req.CurrentPassword)) != nil {
		s.recordErr(r, s.rec.Record(ctx, instrumentation.Event{Action: instrumentation.PasswordChanged, Actor: a,
			Outcome: instrumentation.Failure, FailureReason: "invalid_password"}))
		return errorf(http.StatusUnauthorized, "current password is wrong")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(req.NewPassword), s.cost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	// Through the table, not the Account model, so that the GORM plugin
	// does not record the change a second time, as an update of the
	// account whose only changed field is the redacted password hash.
	res := s.db.WithContext(ctx).Table("accounts").Where("id = ?", acc.ID).Update("password_hash", string(hash))
	if res.Error != nil {
		return fmt.Errorf("change password: %w", res.Error)
	}
	s.endOtherSessions(acc.ID, r)
	s.recordErr(r, s.rec.PasswordChanged(ctx, a))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkNewPassword refuses a password shorter than 12 bytes, or longer than
// the 72 bytes bcrypt hashes (GenerateFromPassword fails on it), as a bad
// request rather than an internal error.
func checkNewPassword(p string) error {
	if len(p) < 12 || len(p) > 72 {
		return errorf(http.StatusBadRequest, "a password of 12 to 72 bytes is required")
	}
	return nil
}

// endOtherSessions signs out every session of the account but the one r
// carries: a password is changed when the old one may be known to someone
// else, whose session must not outlive it.
func (s *server) endOtherSessions(accountID string, r *http.Request) {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	keep := tokenKey(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, sess := range s.sessions {
		if sess.actor.ID == accountID && k != keep {
			delete(s.sessions, k)
		}
	}
}

// tenant looks up a tenant's display name; an unknown id keeps just the id.
func (s *server) tenant(r *http.Request, id string) instrumentation.Tenant {
	if id == "" {
		return instrumentation.Tenant{}
	}
	var p Partner
	if err := s.db.WithContext(r.Context()).Take(&p, "id = ?", id).Error; err != nil {
		return instrumentation.Tenant{ID: id}
	}
	return instrumentation.Tenant{ID: p.ID, Name: p.Name}
}

// recordErr logs a recording error; recording never fails a request.
func (s *server) recordErr(r *http.Request, err error) {
	if err != nil {
		s.log.ErrorContext(r.Context(), "activity record rejected", "error", err)
	}
}

type otpRequest struct {
	Phone string `json:"phone"`
	Code  string `json:"code,omitempty"`
}

func otpHash(phone, code string) string {
	sum := sha256.Sum256([]byte(phone + "\x00" + code))
	return hex.EncodeToString(sum[:])
}

func (s *server) otpRequest(w http.ResponseWriter, r *http.Request) error {
	var req otpRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	var acc Account
	err := s.db.WithContext(ctx).Take(&acc, "phone = ? AND type = ?", req.Phone, instrumentation.ActorCustomer).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		// Answer as for a known phone, so numbers cannot be enumerated.
		s.recordErr(r, s.rec.Record(ctx, instrumentation.Event{
			Action: instrumentation.OTPRequested, Actor: instrumentation.Actor{Name: "unknown phone", Type: instrumentation.ActorCustomer},
			Outcome: instrumentation.Failure, FailureReason: "unknown_phone",
		}))
		writeJSON(w, http.StatusAccepted, map[string]any{"sent": true})
		return nil
	} else if err != nil {
		return fmt.Errorf("load account: %w", err)
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return fmt.Errorf("generate passcode: %w", err)
	}
	code := fmt.Sprintf("%06d", n.Int64())
	ch := OTPChallenge{Phone: req.Phone, CodeHash: otpHash(req.Phone, code), ExpiresAt: s.now().Add(otpTTL)}
	if err := s.db.WithContext(ctx).Save(&ch).Error; err != nil {
		return fmt.Errorf("store passcode: %w", err)
	}
	if t := s.tenant(r, acc.TenantID); t.ID != "" {
		ctx = instrumentation.WithTenant(ctx, t)
	}
	s.recordErr(r, s.rec.OTPRequested(ctx, instrumentation.Actor{ID: acc.ID, Name: acc.Name, Type: acc.Type}))
	resp := map[string]any{"sent": true}
	if s.exposeOTP {
		resp["demo_code"] = code // demo mode only: there is no SMS gateway
	}
	writeJSON(w, http.StatusAccepted, resp)
	return nil
}

func (s *server) otpVerify(w http.ResponseWriter, r *http.Request) error {
	var req otpRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	var acc Account
	err := s.db.WithContext(ctx).Take(&acc, "phone = ? AND type = ?", req.Phone, instrumentation.ActorCustomer).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		// A guess at a phone and a code is an authentication event too; the
		// answer is the one a wrong code gets.
		s.recordErr(r, s.rec.OTPFailed(ctx, instrumentation.Actor{Name: "unknown phone", Type: instrumentation.ActorCustomer}, "unknown_phone"))
		return errorf(http.StatusUnauthorized, "invalid or expired passcode")
	} else if err != nil {
		return fmt.Errorf("load account: %w", err)
	}
	tenant := s.tenant(r, acc.TenantID)
	if tenant.ID != "" {
		ctx = instrumentation.WithTenant(ctx, tenant)
	}
	actor := instrumentation.Actor{ID: acc.ID, Name: acc.Name, Type: acc.Type}
	var ch OTPChallenge
	if err := s.db.WithContext(ctx).Take(&ch, "phone = ?", req.Phone).Error; err != nil {
		s.recordErr(r, s.rec.OTPFailed(ctx, actor, "no_challenge"))
		return errorf(http.StatusUnauthorized, "invalid or expired passcode")
	}
	switch {
	case s.now().After(ch.ExpiresAt):
		s.db.WithContext(ctx).Delete(&ch)
		s.recordErr(r, s.rec.OTPFailed(ctx, actor, "expired"))
		return errorf(http.StatusUnauthorized, "invalid or expired passcode")
	case subtle.ConstantTimeCompare([]byte(otpHash(req.Phone, req.Code)), []byte(ch.CodeHash)) != 1:
		ch.Attempts++
		if ch.Attempts >= otpMaxAttempts {
			s.db.WithContext(ctx).Delete(&ch)
		} else {
			s.db.WithContext(ctx).Save(&ch)
		}
		s.recordErr(r, s.rec.OTPFailed(ctx, actor, "mismatch"))
		return errorf(http.StatusUnauthorized, "invalid or expired passcode")
	}
	s.db.WithContext(ctx).Delete(&ch)
	token, err := s.newSession(actor, tenant)
	if err != nil {
		return err
	}
	s.recordErr(r, s.rec.OTPVerified(ctx, actor))
	writeJSON(w, http.StatusOK, map[string]any{"token": token, "actor": actor.Name, "type": actor.Type, "tenant": tenant.ID})
	return nil
}
