package main

import (
	"encoding/json"
	"time"

	"github.com/activitylog/activitylog/instrumentation"
)

// Partner is a partner business: the platform's tenant.
type Partner struct {
	ID        string    `gorm:"primaryKey" json:"id"`
	Name      string    `json:"name"`
	Plan      string    `json:"plan"`
	NetworkID string    `json:"network_id"`
	APIKey    string    `json:"-"` // credential: never returned, never recorded
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ActivitySubject implements instrumentation.Model.
func (p *Partner) ActivitySubject() instrumentation.Subject {
	return instrumentation.Subject{Category: instrumentation.Partners, Type: "partner", ID: p.ID, Name: p.Name}
}

// Network is a group of partners whose members earn and redeem together.
type Network struct {
	ID        string    `gorm:"primaryKey" json:"id"`
	TenantID  string    `gorm:"index" json:"tenant_id"`
	Name      string    `json:"name"`
	Region    string    `json:"region"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ActivitySubject implements instrumentation.Model.
func (n *Network) ActivitySubject() instrumentation.Subject {
	return instrumentation.Subject{Category: instrumentation.Networks, Type: "network", ID: n.ID, Name: n.Name}
}

// Club is a membership tier programme of a partner.
type Club struct {
	ID        string    `gorm:"primaryKey" json:"id"`
	TenantID  string    `gorm:"index" json:"tenant_id"`
	Name      string    `json:"name"`
	MinPoints int       `json:"min_points"`
	Perks     []string  `gorm:"serializer:json" json:"perks"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ActivitySubject implements instrumentation.Model.
func (c *Club) ActivitySubject() instrumentation.Subject {
	return instrumentation.Subject{Category: instrumentation.Clubs, Type: "club", ID: c.ID, Name: c.Name}
}

// Address is a member's postal address.
type Address struct {
	Street string `json:"street"`
	City   string `json:"city"`
	Postal string `json:"postal"`
}

// Member is a customer enrolled with a partner.
type Member struct {
	ID        string     `gorm:"primaryKey" json:"id"`
	TenantID  string     `gorm:"index" json:"tenant_id"`
	Name      string     `json:"name"`
	Email     string     `json:"email"`
	Phone     string     `json:"phone" activity:"redact"` // personal data: recorded as changed, never its value
	Birthday  *time.Time `json:"birthday,omitempty"`
	Address   Address    `gorm:"embedded;embeddedPrefix:address_" json:"address"`
	Points    int        `json:"points"`
	Tier      string     `json:"tier"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// ActivitySubject implements instrumentation.Model.
func (m *Member) ActivitySubject() instrumentation.Subject {
	return instrumentation.Subject{Category: instrumentation.Members, Type: "member", ID: m.ID, Name: m.Name}
}

// Card is a member's loyalty card.
type Card struct {
	ID        string    `gorm:"primaryKey" json:"id"`
	TenantID  string    `gorm:"index" json:"tenant_id"`
	MemberID  string    `json:"member_id"`
	Number    string    `json:"number"`
	Status    string    `json:"status"`
	PIN       string    `json:"pin,omitempty"` // credential-named: never recorded
	UpdatedAt time.Time `json:"updated_at"`
}

// MarshalJSON leaves the PIN out of every response: it can be set, never read.
func (c Card) MarshalJSON() ([]byte, error) {
	type plain Card // no methods, so no recursion
	p := plain(c)
	p.PIN = ""
	return json.Marshal(p)
}

// ActivitySubject implements instrumentation.Model.
func (c *Card) ActivitySubject() instrumentation.Subject {
	return instrumentation.Subject{Category: instrumentation.Cards, Type: "card", ID: c.ID, Name: c.Number}
}

// Reward is something members redeem points for.
type Reward struct {
	ID        string    `gorm:"primaryKey" json:"id"`
	TenantID  string    `gorm:"index" json:"tenant_id"`
	Name      string    `json:"name"`
	Points    int       `json:"points"`
	Stock     int       `json:"stock"`
	Active    bool      `json:"active"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ActivitySubject implements instrumentation.Model.
func (r *Reward) ActivitySubject() instrumentation.Subject {
	return instrumentation.Subject{Category: instrumentation.Rewards, Type: "reward", ID: r.ID, Name: r.Name}
}

// StampCard is a member's "buy N, get one free" card.
type StampCard struct {
	ID        string    `gorm:"primaryKey" json:"id"`
	TenantID  string    `gorm:"index" json:"tenant_id"`
	MemberID  string    `json:"member_id"`
	Program   string    `json:"program"`
	Stamps    int       `json:"stamps"`
	Goal      int       `json:"goal"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ActivitySubject implements instrumentation.Model.
func (s *StampCard) ActivitySubject() instrumentation.Subject {
	return instrumentation.Subject{Category: instrumentation.StampCards, Type: "stamp_card", ID: s.ID, Name: s.Program}
}

// Account is anyone who can log in: platform admins, partner owners, staff
// and customers.
type Account struct {
	ID           string                    `gorm:"primaryKey" json:"id"`
	TenantID     string                    `gorm:"index" json:"tenant_id"`
	Email        string                    `gorm:"uniqueIndex" json:"email"`
	Phone        string                    `gorm:"index" json:"phone" activity:"redact"`
	Name         string                    `json:"name"`
	Type         instrumentation.ActorType `json:"type"`
	MemberID     string                    `json:"member_id,omitempty"`
	PasswordHash string                    `json:"-"`
	UpdatedAt    time.Time                 `json:"updated_at"`
}

// ActivitySubject implements instrumentation.Model: customer accounts are
// members' logins, partner owners' accounts belong to partners, admins and
// staff are staff.
func (a *Account) ActivitySubject() instrumentation.Subject {
	s := instrumentation.Subject{Category: instrumentation.Staff, Type: "staff_account", ID: a.ID, Name: a.Name}
	switch a.Type {
	case instrumentation.ActorCustomer:
		s.Category, s.Type = instrumentation.Members, "member_account"
	case instrumentation.ActorPartner:
		s.Category, s.Type = instrumentation.Partners, "partner_account"
	case instrumentation.ActorAdmin:
		s.Type = "admin_account"
	}
	return s
}

// Transaction is a purchase a member earned points on. It is recorded by the
// explicit transaction events, not by the GORM plugin (it does not implement
// instrumentation.Model), so a purchase is one record, not two.
type Transaction struct {
	ID       string    `gorm:"primaryKey" json:"id"`
	TenantID string    `gorm:"index" json:"tenant_id"`
	MemberID string    `json:"member_id"`
	Amount   int64     `json:"amount_cents"`
	Points   int       `json:"points"`
	Refunded bool      `json:"refunded"`
	At       time.Time `json:"at"`
}

// Redemption is a reward a member redeemed; recorded by explicit events.
type Redemption struct {
	ID        string    `gorm:"primaryKey" json:"id"`
	TenantID  string    `gorm:"index" json:"tenant_id"`
	MemberID  string    `json:"member_id"`
	RewardID  string    `json:"reward_id"`
	Points    int       `json:"points"`
	Cancelled bool      `json:"cancelled"`
	At        time.Time `json:"at"`
}

// OTPChallenge is a pending one-time passcode; only its hash is stored.
type OTPChallenge struct {
	Phone     string `gorm:"primaryKey"`
	CodeHash  string
	ExpiresAt time.Time
	Attempts  int
}

func models() []any {
	return []any{&Partner{}, &Network{}, &Club{}, &Member{}, &Card{}, &Reward{}, &StampCard{},
		&Account{}, &Transaction{}, &Redemption{}, &OTPChallenge{}}
}
