package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Simulated clients: each actor uses its own device from its own address.
// The in-process service trusts the traffic generator as a proxy, so these
// addresses arrive as X-Forwarded-For and are recorded as client.address.
const (
	adminIP     = "192.0.2.10"
	ownerIP     = "198.51.100.20"
	staffIP     = "203.0.113.30"
	customerIP  = "192.0.2.77"
	attackerIP  = "203.0.113.99"
	strangerIP  = "198.51.100.200"
	adminUA     = "Mozilla/5.0 (X11; Linux x86_64) LoyaltyAdminConsole/1.0"
	ownerUA     = "LoyaltyPartnerPortal/3.2 (Macintosh; Intel Mac OS X 14_5)"
	staffUA     = "LoyaltyPOS/7.0 (Android 14; SM-T220)"
	customerUA  = "LoyaltyApp/5.1 (iPhone; iOS 18.1)"
	attackerUA  = "python-requests/2.32.3"
	failedBurst = 6
)

// identity is who a request is made as, from where.
type identity struct {
	token, ip, ua string
}

// driver sends the demo traffic and counts responses.
type driver struct {
	base     string
	client   *http.Client
	password string
	suffix   string
	statuses map[int]int
	errs     []error
}

// drive runs rounds of demo traffic against the service at base.
func drive(ctx context.Context, base, password string, rounds int, stdout io.Writer) error {
	d := &driver{
		base: base, password: password, statuses: map[int]int{},
		client: &http.Client{Timeout: 30 * time.Second},
		suffix: strconv.FormatInt(time.Now().UnixNano()%1_000_000_007, 36),
	}
	for round := range rounds {
		for _, t := range demoTenants() {
			if err := ctx.Err(); err != nil {
				return err
			}
			d.round(ctx, round, t)
		}
	}
	fmt.Fprintf(stdout, "demo traffic: %d rounds, responses by status: %v\n", rounds, d.statuses)
	return errors.Join(d.errs...)
}

// call sends one request and checks its status; the decoded response goes to out.
func (d *driver) call(ctx context.Context, as identity, method, path string, body any, want int, out any) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			d.errs = append(d.errs, err)
			return
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.base+path, rd)
	if err != nil {
		d.errs = append(d.errs, err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", as.ua)
	req.Header.Set("X-Forwarded-For", as.ip)
	if as.token != "" {
		req.Header.Set("Authorization", "Bearer "+as.token)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		d.errs = append(d.errs, fmt.Errorf("%s %s: %w", method, path, err))
		return
	}
	defer resp.Body.Close()
	d.statuses[resp.StatusCode]++
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != want {
		d.errs = append(d.errs, fmt.Errorf("%s %s: got status %d, want %d: %s", method, path, resp.StatusCode, want, b))
		return
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			d.errs = append(d.errs, fmt.Errorf("%s %s: decode response: %w", method, path, err))
		}
	}
}

func (d *driver) login(ctx context.Context, email, ip, ua string) identity {
	var resp struct {
		Token string `json:"token"`
	}
	d.call(ctx, identity{ip: ip, ua: ua}, http.MethodPost, "/login", map[string]string{"email": email, "password": d.password}, http.StatusOK, &resp)
	return identity{token: resp.Token, ip: ip, ua: ua}
}

type created struct {
	ID string `json:"id"`
}

// round is one tenant's slice of a busy day on the platform.
func (d *driver) round(ctx context.Context, round int, t demoTenant) {
	tag := d.suffix + "-" + strconv.Itoa(round)
	post, patch, del := http.MethodPost, http.MethodPatch, http.MethodDelete
	ok, made, gone := http.StatusOK, http.StatusCreated, http.StatusNoContent

	// The platform admin looks after networks, clubs and the partner itself.
	admin := d.login(ctx, demoAdmin, adminIP, adminUA)
	q := "?tenant=" + t.id
	var network, popup, club created
	d.call(ctx, admin, post, "/api/networks"+q, map[string]any{"name": "Downtown network " + tag, "region": "north"}, made, &network)
	d.call(ctx, admin, post, "/api/networks"+q, map[string]any{"name": "Pop-up market " + tag, "region": "south"}, made, &popup)
	d.call(ctx, admin, patch, "/api/networks/"+network.ID+q, map[string]any{"region": "north-east"}, ok, nil)
	d.call(ctx, admin, post, "/api/clubs"+q, map[string]any{"name": "Gold club", "min_points": 500, "perks": []string{"free refill"}}, made, &club)
	d.call(ctx, admin, patch, "/api/clubs/"+club.ID+q, map[string]any{"perks": []string{"free refill", "birthday treat"}, "min_points": 400}, ok, nil)
	d.call(ctx, admin, patch, "/api/partners/"+t.id, map[string]any{"plan": []string{"standard", "premium"}[round%2], "network_id": network.ID}, ok, nil)
	if t.id == demoTenants()[0].id {
		d.call(ctx, admin, post, "/api/partners", map[string]any{"id": "corner-bakery-" + tag, "name": "Corner Bakery " + tag, "plan": "trial"}, made, nil)
	}

	// The partner's owner manages rewards and staff.
	owner := d.login(ctx, t.owner, ownerIP, ownerUA)
	var coffee, mug, hire created
	d.call(ctx, owner, post, "/api/rewards", map[string]any{"name": "Free coffee", "points": 100, "stock": 50, "active": true}, made, &coffee)
	d.call(ctx, owner, patch, "/api/rewards/"+coffee.ID, map[string]any{"points": 120, "stock": 40}, ok, nil)
	d.call(ctx, owner, post, "/api/rewards", map[string]any{"name": "Seasonal mug", "points": 50, "stock": 0, "active": true}, made, &mug)
	d.call(ctx, owner, post, "/api/staff", map[string]any{"name": "New hire " + tag, "email": "hire-" + tag + "@" + t.id + ".example",
		"password": "a-long-first-day-password"}, made, &hire)
	// The new hire signs in and replaces the first-day password.
	var hireLogin struct {
		Token string `json:"token"`
	}
	d.call(ctx, identity{ip: staffIP, ua: staffUA}, post, "/login", map[string]string{"email": "hire-" + tag + "@" + t.id + ".example",
		"password": "a-long-first-day-password"}, ok, &hireLogin)
	newHire := identity{token: hireLogin.Token, ip: staffIP, ua: staffUA}
	d.call(ctx, newHire, post, "/api/me/password", map[string]string{"current_password": "a-long-first-day-password",
		"new_password": "a-long-password-of-my-own"}, http.StatusNoContent, nil)
	d.call(ctx, newHire, post, "/logout", nil, gone, nil)

	// Staff at the counter enrol a member and serve them.
	staff := d.login(ctx, t.staff, staffIP, staffUA)
	var member, card, stamps, small, big, redemption created
	d.call(ctx, staff, post, "/api/members", map[string]any{"name": "Cara Diaz", "email": "cara." + tag + "@mail.example",
		"phone": "+15550109999", "tier": "bronze", "address": map[string]string{"street": "9 Elm St", "city": "Springfield", "postal": "12345"}}, made, &member)
	d.call(ctx, staff, patch, "/api/members/"+member.ID, map[string]any{"email": "cara.diaz." + tag + "@mail.example", "tier": "silver",
		"phone": "+15550108888", "address": map[string]string{"street": "12 Oak Ave", "city": "Shelbyville", "postal": "54321"}}, ok, nil)
	d.call(ctx, staff, post, "/api/cards", map[string]any{"member_id": member.ID, "number": "6012-" + tag, "status": "active", "pin": "4321"}, made, &card)
	d.call(ctx, staff, patch, "/api/cards/"+card.ID, map[string]any{"status": "blocked", "pin": "9876"}, ok, nil)
	d.call(ctx, staff, post, "/api/stamp-cards", map[string]any{"member_id": member.ID, "program": "Coffee 9+1", "goal": 9}, made, &stamps)
	d.call(ctx, staff, post, "/api/stamp-cards/"+stamps.ID+"/stamps", nil, ok, nil)
	d.call(ctx, staff, post, "/api/stamp-cards/"+stamps.ID+"/stamps", nil, ok, nil)
	d.call(ctx, staff, post, "/api/transactions", map[string]any{"member_id": member.ID, "amount_cents": 2599}, made, &small)
	d.call(ctx, staff, post, "/api/redemptions", map[string]any{"member_id": member.ID, "reward_id": coffee.ID}, http.StatusConflict, nil)
	d.call(ctx, staff, post, "/api/transactions", map[string]any{"member_id": member.ID, "amount_cents": 15000}, made, &big)
	d.call(ctx, staff, post, "/api/redemptions", map[string]any{"member_id": member.ID, "reward_id": coffee.ID}, made, &redemption)
	d.call(ctx, staff, post, "/api/redemptions/"+redemption.ID+"/cancel", nil, ok, nil)
	d.call(ctx, staff, post, "/api/redemptions", map[string]any{"member_id": member.ID, "reward_id": mug.ID}, http.StatusConflict, nil)
	d.call(ctx, staff, post, "/api/transactions/"+small.ID+"/refund", nil, ok, nil)
	d.call(ctx, staff, del, "/api/cards/"+card.ID, nil, gone, nil)
	d.call(ctx, staff, del, "/api/stamp-cards/"+stamps.ID, nil, gone, nil)
	// The member leaves the programme.
	d.call(ctx, staff, del, "/api/members/"+member.ID, nil, gone, nil)

	// A customer signs in with a one-time passcode, mistyping it first.
	cust := identity{ip: customerIP, ua: customerUA}
	var otp struct {
		Code  string `json:"demo_code"`
		Token string `json:"token"`
	}
	d.call(ctx, cust, post, "/otp/request", map[string]string{"phone": t.customerPhone}, http.StatusAccepted, &otp)
	wrong := "000000"
	if otp.Code == wrong {
		wrong = "000001"
	}
	d.call(ctx, cust, post, "/otp/verify", map[string]string{"phone": t.customerPhone, "code": wrong}, http.StatusUnauthorized, nil)
	d.call(ctx, cust, post, "/otp/verify", map[string]string{"phone": t.customerPhone, "code": otp.Code}, ok, &otp)
	cust.token = otp.Token
	d.call(ctx, cust, patch, "/api/me", map[string]any{"email": "new." + tag + "@" + t.customerEmail[len(t.customerEmail)-12:],
		"address": map[string]string{"street": "3 Pine Rd", "city": "Capital City", "postal": "67890"}, "phone": "+15550107777"}, ok, nil)
	d.call(ctx, cust, post, "/logout", nil, gone, nil)

	// Someone tries to guess the owner's password, and probes for accounts.
	attacker := identity{ip: attackerIP, ua: attackerUA}
	for i := range failedBurst {
		d.call(ctx, attacker, post, "/login", map[string]string{"email": t.owner, "password": "guess-" + strconv.Itoa(i)}, http.StatusUnauthorized, nil)
	}
	stranger := identity{ip: strangerIP, ua: attackerUA}
	d.call(ctx, stranger, post, "/login", map[string]string{"email": "nobody-" + tag + "@mail.example", "password": "x"}, http.StatusUnauthorized, nil)
	d.call(ctx, stranger, post, "/otp/request", map[string]string{"phone": "+15550000000"}, http.StatusAccepted, nil)

	// End of the day: clean up and sign out.
	d.call(ctx, owner, del, "/api/rewards/"+mug.ID, nil, gone, nil)
	d.call(ctx, owner, del, "/api/staff/"+hire.ID, nil, gone, nil)
	d.call(ctx, admin, del, "/api/clubs/"+club.ID+q, nil, gone, nil)
	d.call(ctx, admin, del, "/api/networks/"+popup.ID+q, nil, gone, nil)
	for _, who := range []identity{staff, owner, admin} {
		d.call(ctx, who, post, "/logout", nil, gone, nil)
	}
}
