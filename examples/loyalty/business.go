package main

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/activitylog/activitylog/instrumentation"
)

type partnerRequest struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Plan      string `json:"plan"`
	NetworkID string `json:"network_id"`
}

func (s *server) createPartner(w http.ResponseWriter, r *http.Request) error {
	var req partnerRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.ID == "" || req.Name == "" {
		return errorf(http.StatusBadRequest, "id and name are required")
	}
	p := Partner{ID: req.ID, Name: req.Name, Plan: req.Plan, NetworkID: req.NetworkID, APIKey: newID("key")}
	// The new partner is the tenant the record belongs to.
	ctx := instrumentation.WithTenant(r.Context(), instrumentation.Tenant{ID: p.ID, Name: p.Name})
	if err := s.db.WithContext(ctx).Create(&p).Error; err != nil {
		return errorf(http.StatusConflict, "partner exists")
	}
	writeJSON(w, http.StatusCreated, p)
	return nil
}

func (s *server) updatePartner(w http.ResponseWriter, r *http.Request) error {
	var p Partner
	if err := s.db.WithContext(r.Context()).Take(&p, "id = ?", r.PathValue("id")).Error; err != nil {
		return errorf(http.StatusNotFound, "partner not found")
	}
	var req partnerRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Name != "" {
		p.Name = req.Name
	}
	if req.Plan != "" {
		p.Plan = req.Plan
	}
	if req.NetworkID != "" {
		p.NetworkID = req.NetworkID
	}
	ctx := instrumentation.WithTenant(r.Context(), instrumentation.Tenant{ID: p.ID, Name: p.Name})
	if err := s.db.WithContext(ctx).Save(&p).Error; err != nil {
		return fmt.Errorf("update partner: %w", err)
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

type staffRequest struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (s *server) createStaff(w http.ResponseWriter, r *http.Request) error {
	t, err := tenantOf(r)
	if err != nil {
		return err
	}
	var req staffRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Email == "" {
		return errorf(http.StatusBadRequest, "email is required")
	}
	if err := checkNewPassword(req.Password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(req.Password), s.cost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	acc := Account{ID: newID("acc"), TenantID: t.ID, Email: req.Email, Name: req.Name,
		Type: instrumentation.ActorStaff, PasswordHash: string(hash)}
	if err := s.db.WithContext(r.Context()).Create(&acc).Error; err != nil {
		return errorf(http.StatusConflict, "email already registered")
	}
	writeJSON(w, http.StatusCreated, acc)
	return nil
}

func (s *server) deleteStaff(w http.ResponseWriter, r *http.Request) error {
	t, err := tenantOf(r)
	if err != nil {
		return err
	}
	res := s.db.WithContext(r.Context()).Where("id = ? AND tenant_id = ? AND type = ?", r.PathValue("id"), t.ID, instrumentation.ActorStaff).Delete(&Account{})
	if res.Error != nil {
		return fmt.Errorf("delete staff: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return errorf(http.StatusNotFound, "staff not found")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) addStamp(w http.ResponseWriter, r *http.Request) error {
	t, err := tenantOf(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	var sc StampCard
	if err := s.db.WithContext(ctx).Take(&sc, "id = ? AND tenant_id = ?", r.PathValue("id"), t.ID).Error; err != nil {
		return errorf(http.StatusNotFound, "stamp card not found")
	}
	sc.Stamps++
	if err := s.db.WithContext(ctx).Save(&sc).Error; err != nil {
		return fmt.Errorf("add stamp: %w", err)
	}
	s.recordErr(r, s.rec.StampAdded(ctx, sc.ActivitySubject()))
	writeJSON(w, http.StatusOK, sc)
	return nil
}

// memberOf loads a member of the caller's tenant.
func (s *server) memberOf(r *http.Request, tenant, id string) (Member, error) {
	var m Member
	err := s.db.WithContext(r.Context()).Take(&m, "id = ? AND tenant_id = ?", id, tenant).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return m, errorf(http.StatusNotFound, "member not found")
	}
	return m, err
}

type transactionRequest struct {
	MemberID    string `json:"member_id"`
	AmountCents int64  `json:"amount_cents"`
}

func transactionSubject(tx Transaction) instrumentation.Subject {
	return instrumentation.Subject{Category: instrumentation.Transactions, Type: "transaction", ID: tx.ID,
		Name: "purchase of " + strconv.FormatInt(tx.Amount/100, 10) + "." + fmt.Sprintf("%02d", tx.Amount%100)}
}

func (s *server) recordTransaction(w http.ResponseWriter, r *http.Request) error {
	t, err := tenantOf(r)
	if err != nil {
		return err
	}
	var req transactionRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.AmountCents <= 0 || req.AmountCents > 1_000_000 {
		return errorf(http.StatusBadRequest, "amount_cents must be between 1 and 1000000")
	}
	m, err := s.memberOf(r, t.ID, req.MemberID)
	if err != nil {
		return err
	}
	ctx := r.Context()
	tx := Transaction{ID: newID("txn"), TenantID: t.ID, MemberID: m.ID, Amount: req.AmountCents, Points: int(req.AmountCents / 100), At: s.now()}
	err = s.db.WithContext(ctx).Transaction(func(db *gorm.DB) error {
		if err := db.Create(&tx).Error; err != nil {
			return err
		}
		m.Points += tx.Points
		return db.Save(&m).Error
	})
	if err != nil {
		return fmt.Errorf("record transaction: %w", err)
	}
	// The transaction's values are its changes: a purchase has no before.
	s.recordErr(r, s.rec.Record(ctx, instrumentation.Event{Action: instrumentation.TransactionRecorded,
		Subject: transactionSubject(tx), Changes: s.rec.Diff(nil, tx)}))
	writeJSON(w, http.StatusCreated, tx)
	return nil
}

func (s *server) refundTransaction(w http.ResponseWriter, r *http.Request) error {
	t, err := tenantOf(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	var tx Transaction
	if err := s.db.WithContext(ctx).Take(&tx, "id = ? AND tenant_id = ?", r.PathValue("id"), t.ID).Error; err != nil {
		return errorf(http.StatusNotFound, "transaction not found")
	}
	if tx.Refunded {
		return errorf(http.StatusConflict, "already refunded")
	}
	m, err := s.memberOf(r, t.ID, tx.MemberID)
	if err != nil {
		return err
	}
	before := tx
	err = s.db.WithContext(ctx).Transaction(func(db *gorm.DB) error {
		tx.Refunded = true
		if err := db.Save(&tx).Error; err != nil {
			return err
		}
		m.Points = max(0, m.Points-tx.Points)
		return db.Save(&m).Error
	})
	if err != nil {
		return fmt.Errorf("refund: %w", err)
	}
	s.recordErr(r, s.rec.Record(ctx, instrumentation.Event{Action: instrumentation.TransactionRefunded,
		Subject: transactionSubject(tx), Changes: s.rec.Diff(before, tx)}))
	writeJSON(w, http.StatusOK, tx)
	return nil
}

type redemptionRequest struct {
	MemberID string `json:"member_id"`
	RewardID string `json:"reward_id"`
}

func (s *server) redeem(w http.ResponseWriter, r *http.Request) error {
	t, err := tenantOf(r)
	if err != nil {
		return err
	}
	var req redemptionRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	m, err := s.memberOf(r, t.ID, req.MemberID)
	if err != nil {
		return err
	}
	var rw Reward
	if err := s.db.WithContext(ctx).Take(&rw, "id = ? AND tenant_id = ?", req.RewardID, t.ID).Error; err != nil {
		return errorf(http.StatusNotFound, "reward not found")
	}
	red := Redemption{ID: newID("red"), TenantID: t.ID, MemberID: m.ID, RewardID: rw.ID, Points: rw.Points, At: s.now()}
	subject := instrumentation.Subject{Category: instrumentation.Redemptions, Type: "redemption", ID: red.ID, Name: rw.Name}
	reason := ""
	switch {
	case !rw.Active:
		reason = "reward_inactive"
	case rw.Stock <= 0:
		reason = "out_of_stock"
	case m.Points < rw.Points:
		reason = "insufficient_points"
	}
	if reason != "" {
		s.recordErr(r, s.rec.Record(ctx, instrumentation.Event{
			Action: instrumentation.RedemptionProcessed, Subject: subject,
			Outcome: instrumentation.Failure, FailureReason: reason,
		}))
		return errorf(http.StatusConflict, "cannot redeem: %s", reason)
	}
	err = s.db.WithContext(ctx).Transaction(func(db *gorm.DB) error {
		if err := db.Create(&red).Error; err != nil {
			return err
		}
		m.Points -= rw.Points
		rw.Stock--
		if err := db.Save(&m).Error; err != nil {
			return err
		}
		return db.Save(&rw).Error
	})
	if err != nil {
		return fmt.Errorf("redeem: %w", err)
	}
	// The redemption's values are its changes, as a purchase's are: the
	// plugin does not track the redemption row.
	s.recordErr(r, s.rec.Record(ctx, instrumentation.Event{Action: instrumentation.RedemptionProcessed,
		Subject: subject, Changes: s.rec.Diff(nil, red)}))
	writeJSON(w, http.StatusCreated, red)
	return nil
}

func (s *server) cancelRedemption(w http.ResponseWriter, r *http.Request) error {
	t, err := tenantOf(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	var red Redemption
	if err := s.db.WithContext(ctx).Take(&red, "id = ? AND tenant_id = ?", r.PathValue("id"), t.ID).Error; err != nil {
		return errorf(http.StatusNotFound, "redemption not found")
	}
	if red.Cancelled {
		return errorf(http.StatusConflict, "already cancelled")
	}
	m, err := s.memberOf(r, t.ID, red.MemberID)
	if err != nil {
		return err
	}
	var rw Reward
	if err := s.db.WithContext(ctx).Take(&rw, "id = ? AND tenant_id = ?", red.RewardID, t.ID).Error; err != nil {
		return errorf(http.StatusNotFound, "reward not found")
	}
	before := red
	err = s.db.WithContext(ctx).Transaction(func(db *gorm.DB) error {
		red.Cancelled = true
		m.Points += red.Points
		rw.Stock++
		if err := db.Save(&red).Error; err != nil {
			return err
		}
		if err := db.Save(&m).Error; err != nil {
			return err
		}
		return db.Save(&rw).Error
	})
	if err != nil {
		return fmt.Errorf("cancel redemption: %w", err)
	}
	s.recordErr(r, s.rec.Record(ctx, instrumentation.Event{Action: instrumentation.RedemptionCancelled,
		Subject: instrumentation.Subject{Category: instrumentation.Redemptions, Type: "redemption", ID: red.ID, Name: rw.Name},
		Changes: s.rec.Diff(before, red)}))
	writeJSON(w, http.StatusOK, red)
	return nil
}

type profileRequest struct {
	Name    *string  `json:"name"`
	Email   *string  `json:"email"`
	Phone   *string  `json:"phone"`
	Address *Address `json:"address"`
}

// updateMe lets a customer edit their own member profile.
func (s *server) updateMe(w http.ResponseWriter, r *http.Request) error {
	t, err := tenantOf(r)
	if err != nil {
		return err
	}
	a, _ := instrumentation.ActorFrom(r.Context())
	var acc Account
	if err := s.db.WithContext(r.Context()).Take(&acc, "id = ?", a.ID).Error; err != nil || acc.MemberID == "" {
		return errorf(http.StatusNotFound, "no member profile")
	}
	m, err := s.memberOf(r, t.ID, acc.MemberID)
	if err != nil {
		return err
	}
	var req profileRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Name != nil {
		m.Name = *req.Name
	}
	if req.Email != nil {
		m.Email = *req.Email
	}
	if req.Phone != nil {
		m.Phone = *req.Phone
	}
	if req.Address != nil {
		m.Address = *req.Address
	}
	if err := s.db.WithContext(r.Context()).Save(&m).Error; err != nil {
		return fmt.Errorf("update profile: %w", err)
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}
