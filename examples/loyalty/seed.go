package main

import (
	"context"
	"fmt"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/activitylog/activitylog/instrumentation"
)

// demoTenant is a partner business of the demo data set and its people.
type demoTenant struct {
	id, name                                   string
	owner, staff                               string // login emails
	customerEmail, customerPhone, customerName string
}

const demoAdmin = "admin@loyalty.example"

func demoTenants() []demoTenant {
	return []demoTenant{
		{"bean-there", "Bean There Coffee", "owner@beanthere.example", "barista@beanthere.example",
			"ann.lee@mail.example", "+15550100001", "Ann Lee"},
		{"green-grocer", "Green Grocer", "owner@greengrocer.example", "cashier@greengrocer.example",
			"bob.kim@mail.example", "+15550100002", "Bob Kim"},
	}
}

// seed creates the demo partners, accounts and members, as the platform's
// setup job would: the GORM plugin records each creation.
func seed(ctx context.Context, db *gorm.DB, password string, cost int) error {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	ctx = instrumentation.WithActor(ctx, instrumentation.Actor{ID: "setup", Name: "Platform setup", Type: instrumentation.ActorAdmin})
	admin := Account{ID: "acc_admin", Email: demoAdmin, Name: "Alex Admin", Type: instrumentation.ActorAdmin, PasswordHash: string(hash)}
	if err := db.WithContext(ctx).Create(&admin).Error; err != nil {
		return err
	}
	for _, t := range demoTenants() {
		tctx := instrumentation.WithTenant(ctx, instrumentation.Tenant{ID: t.id, Name: t.name})
		tx := db.WithContext(tctx)
		member := Member{ID: "mem_" + t.id, TenantID: t.id, Name: t.customerName, Email: t.customerEmail,
			Phone: t.customerPhone, Tier: "bronze", Address: Address{Street: "1 Market St", City: "Springfield", Postal: "12345"}}
		rows := []any{
			&Partner{ID: t.id, Name: t.name, Plan: "standard", APIKey: newID("key")},
			&Account{ID: "acc_owner_" + t.id, TenantID: t.id, Email: t.owner, Name: "Owner of " + t.name,
				Type: instrumentation.ActorPartner, PasswordHash: string(hash)},
			&Account{ID: "acc_staff_" + t.id, TenantID: t.id, Email: t.staff, Name: "Staff of " + t.name,
				Type: instrumentation.ActorStaff, PasswordHash: string(hash)},
			&member,
			&Account{ID: "acc_cust_" + t.id, TenantID: t.id, Email: t.customerEmail, Phone: t.customerPhone,
				Name: t.customerName, Type: instrumentation.ActorCustomer, MemberID: member.ID, PasswordHash: string(hash)},
		}
		for _, r := range rows {
			if err := tx.Create(r).Error; err != nil {
				return err
			}
		}
	}
	return nil
}
