package httpapi_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/refresh"
	"github.com/go-jose/go-jose/v4"

	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/querysvc/auth"
	"github.com/activitylog/activitylog/querysvc/internal/seed"
	"github.com/activitylog/activitylog/schema"
)

// everyEndpoint lists every /v1 endpoint with parameters that make it answer 200.
func everyEndpoint(fx fixture) []string {
	return []string{
		"/v1/activities",
		"/v1/activities/" + url.PathEscape(fx.recs[0].ID),
		"/v1/analytics/trends",
		"/v1/analytics/events",
		"/v1/analytics/categories",
		"/v1/analytics/users/top",
		"/v1/analytics/auth",
		"/v1/security/alerts",
		"/v1/security/bursts",
	}
}

// tenantsIn returns every tenant that appears anywhere in a response body:
// in records (tenant.id), and, for analytics, in the keys counted (user ids
// and IPs are tenant-specific in the seed).
func tenantsIn(t *testing.T, body []byte, fx fixture) map[string]bool {
	t.Helper()
	found := map[string]bool{}
	s := string(body)
	for _, r := range fx.recs {
		for _, key := range []string{r.ID, r.UserID, r.IP} {
			if key != "" && strings.Contains(s, `"`+key+`"`) {
				found[r.Tenant] = true
			}
		}
	}
	for _, tn := range seed.Tenants() {
		if strings.Contains(s, `"`+tn+`"`) {
			found[tn] = true
		}
	}
	return found
}

// TestIsolation attacks tenant scoping as a partner of t-alpha: nothing of
// another tenant may come back through any endpoint or parameter.
func TestIsolation(t *testing.T) {
	fx := seeded(t)
	a := start(t, serviceOptions{index: schema.DataStream(fx.ns)})
	alpha := token(t, "partner-a", "partner", "t-alpha")
	var betaRec seed.Record
	for _, r := range fx.recs {
		if r.Tenant == "t-beta" {
			betaRec = r
			break
		}
	}
	all := "from=" + url.QueryEscape(seedStart.Format(time.RFC3339)) + "&to=" + url.QueryEscape(testNow.Format(time.RFC3339))

	t.Run("tenant parameter", func(t *testing.T) {
		for _, ep := range everyEndpoint(fx) {
			if strings.HasPrefix(ep, "/v1/activities/") {
				continue // by id: see "id lookup"
			}
			cases := []struct {
				q      string
				status int
				msg    string
			}{
				{"tenant=t-beta", 403, "own tenant"},
				{"tenant=T-BETA", 403, "own tenant"},
				{"tenant=unknown", 403, "own tenant"},
				{"tenant=t-alpha%00", 400, "control characters"},
				{"tenant=t-alpha&tenant=t-beta", 400, "given 2 times"},
				{"tenant=t-beta&tenant=t-alpha", 400, "given 2 times"},
				{"tenant=", 400, "empty"},
				{"Tenant=t-beta", 400, "unknown parameter"},
				{"TENANT=t-beta", 400, "unknown parameter"},
				{"tenant.id=t-beta", 400, "unknown parameter"},
				{"activity.tenant.id=t-beta", 400, "unknown parameter"},
				{"tenant%5B%5D=t-beta", 400, "unknown parameter"},
				{"tenant=t-beta%20", 403, "own tenant"},
			}
			for _, c := range cases {
				a.wantError(alpha, ep+"?"+c.q, c.status, c.msg)
			}
			// Its own tenant, named explicitly, is allowed, also as the
			// collector would store it.
			for _, own := range []string{"t-alpha", "T-ALPHA", "%20t-Alpha"} {
				st, body := a.get(alpha, ep+"?tenant="+own)
				if st != 200 {
					t.Errorf("%s?tenant=%s: got %d %s, want 200", ep, own, st, body)
				}
			}
		}
	})

	t.Run("every endpoint answers only t-alpha", func(t *testing.T) {
		for _, ep := range everyEndpoint(fx) {
			q := ""
			if !strings.HasPrefix(ep, "/v1/activities") {
				q = "?" + all
			}
			if ep == "/v1/security/bursts" {
				q += "&threshold=1&window=1h"
			}
			st, body := a.get(alpha, ep+q)
			if strings.HasPrefix(ep, "/v1/activities/") {
				want := http.StatusNotFound // another tenant's record
				if fx.recs[0].Tenant == "t-alpha" {
					want = http.StatusOK
				}
				if st != want {
					t.Errorf("%s: got %d, want %d for a record of %s", ep, st, want, fx.recs[0].Tenant)
				}
				continue
			}
			if st != 200 {
				t.Fatalf("%s: got %d %s", ep, st, body)
			}
			found := tenantsIn(t, body, fx)
			var totals struct{ Total *int64 }
			_ = json.Unmarshal(body, &totals)
			switch {
			case found["t-beta"] || found["t-gamma"]:
				t.Errorf("%s: got tenants %v in the answer, want only t-alpha", ep, found)
			case totals.Total != nil && ep != "/v1/activities" && ep != "/v1/security/bursts":
				// Counts carry no tenant keys: their total must be t-alpha's alone.
				want := len(selectRecs(fx.recs, "t-alpha", querysvc.Filter{From: seedStart, To: testNow}))
				if *totals.Total != int64(want) {
					t.Errorf("%s: got total %d, want t-alpha's %d", ep, *totals.Total, want)
				}
			case !found["t-alpha"]:
				t.Errorf("%s: got no t-alpha data in %.300s, want some", ep, body)
			}
		}
	})

	t.Run("q contents", func(t *testing.T) {
		for _, q := range []string{
			"tenant.id:t-beta", "attributes.activity.tenant.id:t-beta", "activity.tenant.id:t-beta OR *",
			"t-beta", "beta", seed.BetaOnlyWord, `{"match_all":{}}`, `{"term":{"attributes.activity.tenant.id":"t-beta"}}`,
			`") OR ("1"="1`, "_id:*", "Beta Bakery", "coffee OR zebra", "+zebra -coffee", "zebra~2", "zeb*", "/z.*/",
		} {
			var r activitiesResp
			a.getJSON(alpha, "/v1/activities?limit=100&q="+url.QueryEscape(q), 200, &r)
			want := selectRecs(fx.recs, "t-alpha", querysvc.Filter{Query: q})
			if r.Total != int64(len(want)) {
				t.Errorf("q=%q: got total %d, want %d (plain words, all required, t-alpha only)", q, r.Total, len(want))
			}
			for _, act := range r.Activities {
				if act.Tenant.ID != "t-alpha" {
					t.Errorf("q=%q: got a record of %s", q, act.Tenant.ID)
				}
			}
			for _, ep := range []string{"/v1/analytics/events", "/v1/analytics/users/top", "/v1/analytics/auth"} {
				st, body := a.get(alpha, ep+"?"+all+"&q="+url.QueryEscape(q))
				if st != 200 {
					t.Fatalf("%s q=%q: got %d %s", ep, q, st, body)
				}
				if found := tenantsIn(t, body, fx); found["t-beta"] || found["t-gamma"] {
					t.Errorf("%s q=%q: got tenants %v, want only t-alpha", ep, q, found)
				}
			}
		}
		for _, q := range []string{"*", "  ", "\"*\" -", "(*)", "{}"} {
			a.wantError(alpha, "/v1/activities?q="+url.QueryEscape(q), 400, "no words")
		}
		// The beta-only word finds beta records for an admin, proving the
		// partner's empty answer is scoping, not a broken query.
		var r activitiesResp
		a.getJSON(token(t, "admin-1", "admin", ""), "/v1/activities?q="+seed.BetaOnlyWord, 200, &r)
		if r.Total == 0 {
			t.Errorf("admin q=%s: got 0, want beta records", seed.BetaOnlyWord)
		}
	})

	t.Run("filters naming another tenant's data", func(t *testing.T) {
		for _, q := range []string{
			"user_id=" + url.QueryEscape(betaRec.UserID),
			"ip=" + url.QueryEscape(betaRec.IP),
			"ip=198.51.101.0%2F24", // t-beta's seeded addresses
			"ip=0.0.0.0%2F0",
		} {
			for _, ep := range []string{"/v1/activities", "/v1/analytics/events", "/v1/analytics/trends", "/v1/analytics/users/top", "/v1/analytics/auth"} {
				sep := "?"
				if ep != "/v1/activities" {
					q2 := all + "&" + q
					st, body := a.get(alpha, ep+"?"+q2)
					if st != 200 {
						t.Fatalf("%s?%s: got %d %s", ep, q2, st, body)
					}
					if found := tenantsIn(t, body, fx); found["t-beta"] || found["t-gamma"] {
						t.Errorf("%s?%s: got tenants %v, want only t-alpha", ep, q2, found)
					}
					continue
				}
				var r activitiesResp
				a.getJSON(alpha, ep+sep+q+"&limit=100", 200, &r)
				for _, act := range r.Activities {
					if act.Tenant.ID != "t-alpha" {
						t.Errorf("%s?%s: got a record of %s", ep, q, act.Tenant.ID)
					}
				}
				if strings.HasPrefix(q, "ip=0.0.0.0") {
					if want := len(selectRecs(fx.recs, "t-alpha", querysvc.Filter{})); r.Total != int64(want) {
						t.Errorf("%s?%s: got total %d, want t-alpha's %d", ep, q, r.Total, want)
					}
				} else if r.Total != 0 {
					t.Errorf("%s?%s: got total %d, want 0", ep, q, r.Total)
				}
			}
		}
	})

	t.Run("id lookup", func(t *testing.T) {
		a.wantError(alpha, "/v1/activities/"+url.PathEscape(betaRec.ID), 404, "not found")
		a.wantError(alpha, "/v1/activities/"+url.PathEscape(betaRec.ID)+"?tenant=t-beta", 403, "own tenant")
		a.wantError(alpha, "/v1/activities/"+url.PathEscape(betaRec.ID)+"?tenant=T-BETA%20", 403, "own tenant")
		a.wantError(alpha, "/v1/activities/"+url.PathEscape(betaRec.ID)+"?tenant=t-alpha", 404, "not found")
		a.wantError(alpha, "/v1/activities/"+url.PathEscape(betaRec.ID)+"?Tenant=t-beta", 400, "unknown parameter")
		st, _ := a.get(token(t, "partner-b", "partner", "t-beta"), "/v1/activities/"+url.PathEscape(betaRec.ID))
		if st != 200 {
			t.Errorf("beta partner reading its own record: got %d, want 200", st)
		}
	})

	t.Run("cursors", func(t *testing.T) {
		beta := token(t, "partner-b", "partner", "t-beta")
		admin := token(t, "admin-1", "admin", "")
		var r activitiesResp
		a.getJSON(beta, "/v1/activities?limit=10", 200, &r)
		if r.NextCursor == "" {
			t.Fatal("no cursor")
		}
		betaCursor := r.NextCursor
		a.wantError(alpha, "/v1/activities?limit=10&cursor="+url.QueryEscape(betaCursor), 403, "another principal")
		a.wantError(token(t, "partner-b", "partner", "t-alpha"), "/v1/activities?limit=10&cursor="+url.QueryEscape(betaCursor), 403, "another principal")
		a.wantError(admin, "/v1/activities?limit=10&cursor="+url.QueryEscape(betaCursor), 403, "another principal")
		a.getJSON(admin, "/v1/activities?limit=10", 200, &r)
		a.wantError(alpha, "/v1/activities?limit=10&cursor="+url.QueryEscape(r.NextCursor), 403, "another principal")
		// Tampering: a cursor is sealed, so its principal cannot be
		// rewritten; any altered byte, and the clear layout cursors had
		// before, make it a cursor this service did not issue.
		raw, err := base64.RawURLEncoding.DecodeString(betaCursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{0, 1, len(raw) / 2, len(raw) - 1} {
			altered := slices.Clone(raw)
			altered[i] ^= 0x20
			forgedCursor := base64.RawURLEncoding.EncodeToString(altered)
			a.wantError(beta, "/v1/activities?limit=10&cursor="+url.QueryEscape(forgedCursor), 400, "expired or not valid")
		}
		// A cursor of the previous layout, under the service's key.
		claims, _ := json.Marshal(map[string]any{"v": 1, "sub": "partner-a", "role": "partner", "tenant": "t-alpha",
			"exp": testNow.Add(time.Minute).Unix(), "pos": map[string]any{}})
		payload := base64.RawURLEncoding.EncodeToString(claims)
		mac := hmac.New(sha256.New, cursorKey)
		mac.Write([]byte(payload))
		v1 := payload + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
		a.wantError(alpha, "/v1/activities?limit=10&cursor="+url.QueryEscape(v1), 400, "expired or not valid")
		a.wantError(alpha, "/v1/activities?limit=10&cursor=garbage", 400, "expired or not valid")
		// Same principal, other filters.
		a.wantError(beta, "/v1/activities?limit=10&category=auth&cursor="+url.QueryEscape(betaCursor), 400, "other filters")
		// The owner may continue.
		a.getJSON(beta, "/v1/activities?limit=10&cursor="+url.QueryEscape(betaCursor), 200, &r)
		for _, act := range r.Activities {
			if act.Tenant.ID != "t-beta" {
				t.Errorf("beta page 2: got a record of %s", act.Tenant.ID)
			}
		}
	})

	t.Run("staff and customer", func(t *testing.T) {
		for _, tok := range []string{token(t, "s-1", "staff", "t-alpha"), token(t, "c-1", "customer", "t-alpha"), token(t, "s-2", "staff", "")} {
			for _, ep := range everyEndpoint(fx) {
				a.wantError(tok, ep, 403, "may not read")
			}
		}
	})
}

// TestAuthentication: expired, unsigned, wrong-key and alg:none tokens get
// 401 on every endpoint.
func TestAuthentication(t *testing.T) {
	fx := seeded(t)
	a := start(t, serviceOptions{index: schema.DataStream(fx.ns)})
	base := auth.Token{Subject: "admin-1", Role: "admin", Issuer: "test-idp", Audience: "activitylog",
		IssuedAt: testNow.Add(-time.Hour), Expiry: testNow.Add(time.Hour)}
	mk := func(alg jose.SignatureAlgorithm, key any, f func(*auth.Token)) string {
		tok := base
		if f != nil {
			f(&tok)
		}
		s, err := auth.Sign(alg, key, tok)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := mk(jose.HS256, secret, nil)
	header, payload, _ := strings.Cut(valid, ".")
	payload, _, _ = strings.Cut(payload, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + payload + "."
	_ = header
	tokens := map[string]string{
		"expired":        mk(jose.HS256, secret, func(k *auth.Token) { k.Expiry = testNow.Add(-10 * time.Minute) }),
		"not yet valid":  mk(jose.HS256, secret, func(k *auth.Token) { k.IssuedAt = testNow.Add(10 * time.Minute) }),
		"unsigned":       strings.Join(strings.Split(valid, ".")[:2], ".") + ".",
		"wrong key":      mk(jose.HS256, []byte("another-secret-another-secret-32b!"), nil),
		"alg none":       none,
		"wrong audience": mk(jose.HS256, secret, func(k *auth.Token) { k.Audience = "other" }),
		"wrong issuer":   mk(jose.HS256, secret, func(k *auth.Token) { k.Issuer = "evil" }),
		"no role":        mk(jose.HS256, secret, func(k *auth.Token) { k.Role = "" }),
		"garbage":        "abc",
		"missing":        "",
	}
	for name, tok := range tokens {
		for _, ep := range everyEndpoint(fx) {
			st, body := a.get(tok, ep)
			var e errorBody
			_ = json.Unmarshal(body, &e)
			if st != 401 || e.Error.Code != querysvc.CodeUnauthorized {
				t.Errorf("%s token on %s: got %d %s, want 401 unauthorized", name, ep, st, body)
			}
		}
	}
	if st, _ := a.get(valid, "/v1/activities"); st != 200 {
		t.Errorf("valid token: got %d, want 200", st)
	}
}

// TestIsolationTwoTenantDocument indexes, beside ordinary records, a
// document whose tenant field holds two tenants: the collector's activity
// processor no longer lets one through (a map such as {"activity":
// {"tenant": {"id": ...}}} used to add a second value), but data indexed
// before, or by another writer, may hold one. No partner sees it, not even
// of one of its tenants; an admin does.
func TestIsolationTwoTenantDocument(t *testing.T) {
	estest.InstallSchema(t)
	es := estest.Client(t)
	ns := estest.Namespace(t)
	recs := seed.Generate(seedValue+7, 40, seedStart, seedSpan)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := seed.Index(ctx, es, ns, recs, 1); err != nil {
		t.Fatal(err)
	}
	two := recs[0]
	two.ID = "0199a0e4-0000-7000-8000-7770000000aa"
	two.Tenant = "t-alpha"
	doc := two.Document(ns)
	doc["attributes"].(map[string]any)[schema.AttrTenantID] = []string{"t-alpha", "t-beta"}
	body, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := es.Create(schema.DataStream(ns), two.ID).Raw(bytes.NewReader(body)).Refresh(refresh.True).Do(ctx); err != nil {
		t.Fatalf("index the two-tenant document: %v", err)
	}
	a := start(t, serviceOptions{index: schema.DataStream(ns)})
	all := "from=" + url.QueryEscape(seedStart.Format(time.RFC3339)) + "&to=" + url.QueryEscape(testNow.Format(time.RFC3339))
	for _, tn := range []string{"t-alpha", "t-beta"} {
		tok := token(t, "partner-"+tn, "partner", tn)
		a.wantError(tok, "/v1/activities/"+two.ID, 404, "")
		// The listing holds every record of the tenant (41 documents in
		// all, one page), so the two-tenant one would be among them.
		var page activitiesResp
		a.getJSON(tok, "/v1/activities?limit=100", 200, &page)
		if want := len(selectRecs(recs, tn, querysvc.Filter{})); len(page.Activities) != want {
			t.Errorf("partner of %s: got %d records listed, want its %d", tn, len(page.Activities), want)
		}
		for _, act := range page.Activities {
			if act.ID == two.ID {
				t.Errorf("partner of %s: the two-tenant document is listed", tn)
			}
		}
		var counts struct{ Total int64 }
		a.getJSON(tok, "/v1/analytics/events?"+all, 200, &counts)
		want := int64(len(selectRecs(recs, tn, querysvc.Filter{From: seedStart, To: testNow})))
		if counts.Total != want {
			t.Errorf("partner of %s: got events total %d, want %d (its records, without the two-tenant one)", tn, counts.Total, want)
		}
	}
	admin := token(t, "admin-1", "admin", "")
	if st, b := a.get(admin, "/v1/activities/"+two.ID); st != 200 {
		t.Errorf("admin: got %d %s for the two-tenant document, want 200", st, b)
	}
}

// TestReservedTenant: the collector tags the records whose tenant it could
// not tell with schema.TenantUnknown, so they may be any business's. An
// admin reads them; a partner token naming that tenant, however spelled, is
// refused on every endpoint. A partner token whose tenant is spelled
// otherwise than the collector stores it reads its own records.
func TestReservedTenant(t *testing.T) {
	estest.InstallSchema(t)
	es := estest.Client(t)
	ns := estest.Namespace(t)
	recs := seed.Generate(seedValue+11, 40, seedStart, seedSpan)
	for i := range recs {
		if i%10 == 3 {
			recs[i].Tenant, recs[i].TenantName = schema.TenantUnknown, ""
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := seed.Index(ctx, es, ns, recs, 1); err != nil {
		t.Fatal(err)
	}
	a := start(t, serviceOptions{index: schema.DataStream(ns)})
	all := "from=" + url.QueryEscape(seedStart.Format(time.RFC3339)) + "&to=" + url.QueryEscape(testNow.Format(time.RFC3339))

	admin := token(t, "admin-1", "admin", "")
	untagged := len(selectRecs(recs, schema.TenantUnknown, querysvc.Filter{From: seedStart, To: testNow}))
	if untagged == 0 {
		t.Fatal("the seed put no record in the time range under the reserved tenant")
	}
	for _, filter := range []string{"unknown", "UNKNOWN", "%20Unknown"} {
		var counts struct{ Total int64 }
		a.getJSON(admin, "/v1/analytics/events?tenant="+filter+"&"+all, 200, &counts)
		if counts.Total != int64(untagged) {
			t.Errorf("admin, tenant=%s: got events total %d, want the %d untagged records", filter, counts.Total, untagged)
		}
	}

	eps := everyEndpoint(fixture{recs: recs})
	for _, tn := range []string{"unknown", "UNKNOWN", " unknown "} {
		tok := token(t, "partner-x", "partner", tn)
		for _, ep := range eps {
			a.wantError(tok, ep, 403, "reserved")
		}
	}

	var alphaRec seed.Record
	for _, r := range recs {
		if r.Tenant == "t-alpha" {
			alphaRec = r
			break
		}
	}
	want := int64(len(selectRecs(recs, "t-alpha", querysvc.Filter{From: seedStart, To: testNow})))
	for _, tn := range []string{"t-alpha", "T-Alpha", " t-alpha "} {
		tok := token(t, "partner-a", "partner", tn)
		var counts struct{ Total int64 }
		a.getJSON(tok, "/v1/analytics/events?"+all, 200, &counts)
		if counts.Total != want {
			t.Errorf("partner token of %q: got events total %d, want t-alpha's %d", tn, counts.Total, want)
		}
		if st, b := a.get(tok, "/v1/activities/"+url.PathEscape(alphaRec.ID)); st != 200 {
			t.Errorf("partner token of %q: got %d %s for a t-alpha record, want 200", tn, st, b)
		}
	}
}

// TestLookupRepeatedID: an emitter's id that is not a UUID may repeat across
// tenants (the collector stores each under a document id of its own). A
// lookup by that id returns the newest record the principal may see; an
// admin picks a tenant's with tenant, a partner sees only its own and may
// not name another.
func TestLookupRepeatedID(t *testing.T) {
	estest.InstallSchema(t)
	es := estest.Client(t)
	ns := estest.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	recs := seed.Generate(seedValue+13, 2, seedStart, seedSpan)
	for i, tn := range []string{"t-alpha", "t-beta"} {
		r := recs[i]
		r.ID, r.Tenant = "17", tn
		r.Time = seedStart.Add(time.Duration(i+1) * time.Hour) // t-beta's is the newer
		body, err := json.Marshal(r.Document(ns))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := es.Create(schema.DataStream(ns), "doc-"+tn).Raw(bytes.NewReader(body)).Refresh(refresh.True).Do(ctx); err != nil {
			t.Fatalf("index %s's record 17: %v", tn, err)
		}
	}
	a := start(t, serviceOptions{index: schema.DataStream(ns)})
	tenantOf := func(tok, path string) string {
		t.Helper()
		var got struct {
			Tenant struct{ ID string } `json:"tenant"`
		}
		a.getJSON(tok, path, 200, &got)
		return got.Tenant.ID
	}
	admin := token(t, "admin-1", "admin", "")
	alpha := token(t, "partner-a", "partner", "t-alpha")
	for _, c := range []struct{ tok, path, want string }{
		{admin, "/v1/activities/17", "t-beta"},
		{admin, "/v1/activities/17?tenant=t-alpha", "t-alpha"},
		{admin, "/v1/activities/17?tenant=T-Beta", "t-beta"},
		{alpha, "/v1/activities/17", "t-alpha"},
		{alpha, "/v1/activities/17?tenant=t-alpha", "t-alpha"},
	} {
		if got := tenantOf(c.tok, c.path); got != c.want {
			t.Errorf("%s: got %q's record, want %s's", c.path, got, c.want)
		}
	}
	a.wantError(alpha, "/v1/activities/17?tenant=t-beta", 403, "own tenant")
	a.wantError(admin, "/v1/activities/17?tenant=t-gamma", 404, "not found")
}

// TestTenantLookalike: Unicode lower-cases the Kelvin sign (U+212A) to an
// ASCII "k", and the collector's normalization trims white space other
// than ASCII (U+00A0): a partner token of "\u212Aappa" or "kappa\u00a0",
// tenant ids an identity provider tells apart from "kappa" byte by byte,
// would read the records stored under t-kappa. Such a token is refused on
// every endpoint, and the records of t-kappa stay out of reach; the token of
// t-kappa itself, in any ASCII case, reads them.
func TestTenantLookalike(t *testing.T) {
	estest.InstallSchema(t)
	es := estest.Client(t)
	ns := estest.Namespace(t)
	recs := seed.Generate(seedValue+17, 40, seedStart, seedSpan)
	for i := range recs {
		if i%2 == 0 {
			recs[i].Tenant, recs[i].TenantName = "t-kappa", "Kappa"
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := seed.Index(ctx, es, ns, recs, 1); err != nil {
		t.Fatal(err)
	}
	a := start(t, serviceOptions{index: schema.DataStream(ns)})
	all := "from=" + url.QueryEscape(seedStart.Format(time.RFC3339)) + "&to=" + url.QueryEscape(testNow.Format(time.RFC3339))
	want := int64(len(selectRecs(recs, "t-kappa", querysvc.Filter{From: seedStart, To: testNow})))
	if want == 0 {
		t.Fatal("the seed put no t-kappa record in the time range")
	}
	for _, tn := range []string{"t-kappa", "T-KAPPA", " t-Kappa "} {
		var counts struct{ Total int64 }
		a.getJSON(token(t, "partner-k", "partner", tn), "/v1/analytics/events?"+all, 200, &counts)
		if counts.Total != want {
			t.Errorf("partner token of %q: got events total %d, want t-kappa's %d", tn, counts.Total, want)
		}
	}
	eps := everyEndpoint(fixture{recs: recs})
	for _, tn := range []string{"t-\u212Aappa", "T-\u212AAPPA", "t-kappa\u00a0", "\u3000t-kappa"} {
		tok := token(t, "partner-x", "partner", tn)
		for _, ep := range eps {
			a.wantError(tok, ep, 401, "not a valid tenant id")
		}
	}
}
