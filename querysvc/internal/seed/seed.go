package seed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/activitylog/activitylog/schema"
)

// Tenants are the seeded partner businesses.
var tenantList = [...]struct{ ID, Name string }{
	{"t-alpha", "Alpha Coffee"}, {"t-beta", "Beta Bakery"}, {"t-gamma", "Gamma Gym"},
}

// Tenants returns the seeded tenant ids.
func Tenants() []string {
	out := make([]string, len(tenantList))
	for i, t := range tenantList {
		out[i] = t.ID
	}
	return out
}

// BetaOnlyWord appears in descriptions of t-beta records only.
const BetaOnlyWord = "zebra"

// Record is one seeded activity record.
type Record struct {
	ID, Tenant, TenantName                string
	Category, Event, Outcome              string
	ActorType, UserID, UserName           string
	SubjectType, SubjectID, SubjectName   string
	IP, UserAgent, Description, Service   string
	FailureReason                         string
	Time                                  time.Time
	AlertKey                              string
	AlertCount, AlertThreshold, AlertWind int64
}

type user struct{ id, name, typ string }

type action struct {
	category, event, subjectType string
	weight                       int
}

func actions() []action {
	return []action{
		{schema.CategoryAuth, schema.EventLogin, "", 14},
		{schema.CategoryAuth, schema.EventLogout, "", 8},
		{schema.CategoryAuth, schema.EventLoginFailed, "", 10},
		{schema.CategoryAuth, schema.EventOTPRequested, "", 4},
		{schema.CategoryAuth, schema.EventOTPVerified, "", 3},
		{schema.CategoryAuth, schema.EventOTPFailed, "", 1},
		{schema.CategoryAuth, schema.EventPasswordChanged, "", 2},
		{schema.CategoryAuth, schema.EventPasswordResetRequested, "", 1},
		{schema.CategoryAuth, schema.EventPasswordReset, "", 1},
		{schema.CategoryCards, schema.EventCreated, "card", 5},
		{schema.CategoryCards, schema.EventUpdated, "card", 5},
		{schema.CategoryMembers, schema.EventCreated, "member", 6},
		{schema.CategoryMembers, schema.EventUpdated, "member", 6},
		{schema.CategoryMembers, schema.EventDeleted, "member", 1},
		{schema.CategoryRewards, schema.EventCreated, "reward", 3},
		{schema.CategoryRewards, schema.EventUpdated, "reward", 4},
		{schema.CategoryStampCards, schema.EventStampAdded, "stamp_card", 10},
		{schema.CategoryTransactions, schema.EventTransactionRecorded, "transaction", 10},
		{schema.CategoryTransactions, schema.EventTransactionRefunded, "transaction", 2},
		{schema.CategoryRedemptions, schema.EventRedemptionProcessed, "redemption", 4},
		{schema.CategoryRedemptions, schema.EventRedemptionCancelled, "redemption", 1},
		{schema.CategorySecurity, schema.EventFailedLoginBurst, "", 1},
	}
}

var (
	firstNames = []string{"Jane", "John", "Maria", "Li", "Ahmed", "Olga", "Kofi", "Ana", "Sven", "Priya"}
	lastNames  = []string{"Doe", "Smith", "Garcia", "Wang", "Khan", "Ivanova", "Mensah", "Silva", "Berg", "Patel"}
	things     = []string{"Free coffee", "Birthday bonus", "Gold card", "Summer deal", "Loyal member", "Weekend offer", "Welcome gift", "Silver card"}
	agents     = []string{"Mozilla/5.0 (X11; Linux x86_64)", "curl/8.5.0", "LoyaltyApp/3.2 (Android 14)", "LoyaltyApp/3.2 (iOS 18)"}
)

// Generate returns n records with timestamps in [start, start+span),
// deterministically from seed. Timestamps carry nanoseconds, and about one
// record in twenty shares its timestamp with the previous one, so that
// sorting ties are exercised.
func Generate(seed uint64, n int, start time.Time, span time.Duration) []Record {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	acts := actions()
	totalWeight := 0
	for _, a := range acts {
		totalWeight += a.weight
	}
	users := map[string][]user{}
	ips := map[string][]string{}
	for ti, t := range tenantList {
		for u := range 25 {
			typ := schema.ActorCustomer
			switch {
			case u < 3:
				typ = schema.ActorPartner
			case u < 10:
				typ = schema.ActorStaff
			}
			users[t.ID] = append(users[t.ID], user{
				id:   fmt.Sprintf("%s-u%02d", t.ID, u),
				name: firstNames[rng.IntN(len(firstNames))] + " " + lastNames[rng.IntN(len(lastNames))],
				typ:  typ,
			})
		}
		for i := range 8 {
			ips[t.ID] = append(ips[t.ID], fmt.Sprintf("198.51.%d.%d", 100+ti, 10+i))
		}
	}
	recs := make([]Record, 0, n)
	var prev time.Time
	// A burst is a run of failed logins for one tenant, IP and user name a
	// few seconds apart, as a password-guessing attack produces.
	var burst struct {
		left int
		at   time.Time
		t    int
		ip   string
		name string
	}
	for i := range n {
		ti := rng.IntN(len(tenantList))
		w := rng.IntN(totalWeight)
		var a action
		for _, c := range acts {
			if w < c.weight {
				a = c
				break
			}
			w -= c.weight
		}
		ts := start.Add(time.Duration(rng.Int64N(int64(span))))
		if burst.left == 0 && rng.IntN(150) == 0 {
			burst.left, burst.at, burst.t = 6+rng.IntN(10), ts, ti
			burst.ip = ips[tenantList[ti].ID][rng.IntN(len(ips[tenantList[ti].ID]))]
			burst.name = fmt.Sprintf("guess%d", rng.IntN(5))
		}
		inBurst := burst.left > 0
		if inBurst {
			burst.left--
			burst.at = burst.at.Add(time.Duration(1+rng.IntN(20)) * time.Second)
			ts, ti = burst.at, burst.t
			a = action{schema.CategoryAuth, schema.EventLoginFailed, "", 0}
		} else if i > 0 && rng.IntN(20) == 0 {
			ts = prev
		}
		prev = ts
		t := tenantList[ti]
		u := users[t.ID][rng.IntN(len(users[t.ID]))]
		var idb [16]byte
		for j := range idb {
			idb[j] = byte(rng.UintN(256))
		}
		r := Record{
			ID:         fmt.Sprintf("%x-%x-%x-%x-%x", idb[0:4], idb[4:6], idb[6:8], idb[8:10], idb[10:16]),
			Tenant:     t.ID,
			TenantName: t.Name,
			Category:   a.category,
			Event:      a.event,
			Outcome:    schema.OutcomeSuccess,
			ActorType:  u.typ,
			UserID:     u.id,
			UserName:   u.name,
			IP:         ips[t.ID][rng.IntN(len(ips[t.ID]))],
			UserAgent:  agents[rng.IntN(len(agents))],
			Service:    "loyalty-api",
			Time:       ts.UTC(),
		}
		thing := things[rng.IntN(len(things))]
		if t.ID == "t-beta" && rng.IntN(4) == 0 {
			thing += " " + BetaOnlyWord
		}
		verb := strings.ReplaceAll(a.event, "_", " ")
		switch a.category {
		case schema.CategoryAuth:
			r.SubjectType = ""
			if a.event == schema.EventLoginFailed || a.event == schema.EventOTPFailed {
				r.Outcome = schema.OutcomeFailure
				r.FailureReason = "invalid_password"
				if a.event == schema.EventOTPFailed {
					r.FailureReason = "invalid_code"
				}
				if rng.IntN(3) == 0 { // a user name that does not exist
					r.UserID = ""
					r.UserName = fmt.Sprintf("guess%d", rng.IntN(5))
				}
				if inBurst {
					r.UserID, r.UserName, r.IP = "", burst.name, burst.ip
				}
			}
			r.Description = fmt.Sprintf("%s (%s) %s", r.UserName, u.typ, verb)
		case schema.CategorySecurity:
			r.Outcome = schema.OutcomeFailure
			r.ActorType, r.UserID, r.UserName = "", "", ""
			r.AlertKey = r.IP
			r.AlertThreshold, r.AlertWind = 5, 300
			r.AlertCount = 5 + rng.Int64N(10)
			r.Description = fmt.Sprintf("Failed login burst from %s: %d failures in 5 minutes", r.IP, r.AlertCount)
		default:
			r.SubjectType = a.subjectType
			r.SubjectID = fmt.Sprintf("%s-%d", a.subjectType, rng.IntN(200))
			r.SubjectName = thing
			r.Description = fmt.Sprintf("%s (%s) %s %s %s", u.name, u.typ, verb, strings.ReplaceAll(a.subjectType, "_", " "), thing)
		}
		recs = append(recs, r)
	}
	return recs
}

// Document returns the record as the exporter writes it.
func (r Record) Document(dataStreamNamespace string) map[string]any {
	attrs := map[string]any{
		schema.AttrID:       r.ID,
		schema.AttrCategory: r.Category,
		schema.AttrEvent:    r.Event,
		schema.AttrOutcome:  r.Outcome,
	}
	set := func(k, v string) {
		if v != "" {
			attrs[k] = v
		}
	}
	set(schema.AttrTenantID, r.Tenant)
	set(schema.AttrTenantName, r.TenantName)
	set(schema.AttrActorType, r.ActorType)
	if r.ActorType != "" {
		attrs[schema.AttrUserRoles] = []string{r.ActorType}
	}
	set(schema.AttrUserID, r.UserID)
	set(schema.AttrUserName, r.UserName)
	set(schema.AttrSubjectType, r.SubjectType)
	set(schema.AttrSubjectID, r.SubjectID)
	set(schema.AttrSubjectName, r.SubjectName)
	set(schema.AttrClientAddress, r.IP)
	set(schema.AttrUserAgent, r.UserAgent)
	set(schema.AttrFailureReason, r.FailureReason)
	if r.AlertKey != "" {
		attrs[schema.AttrAlertRule] = schema.AlertRuleFailedLoginBurst
		attrs[schema.AttrAlertKeyType] = schema.AttrClientAddress
		attrs[schema.AttrAlertKey] = r.AlertKey
		attrs[schema.AttrAlertCount] = r.AlertCount
		attrs[schema.AttrAlertThreshold] = r.AlertThreshold
		attrs[schema.AttrAlertWindowSeconds] = r.AlertWind
	}
	severity := "INFO"
	if r.Outcome == schema.OutcomeFailure {
		severity = "WARN"
	}
	return map[string]any{
		schema.FieldTimestamp:         r.Time.Format("2006-01-02T15:04:05.000000000Z"),
		schema.FieldObservedTimestamp: r.Time.Format("2006-01-02T15:04:05.000000000Z"),
		schema.FieldEventName:         schema.EventName(r.Event),
		schema.FieldSeverityText:      severity,
		"body":                        map[string]any{"text": r.Description},
		"attributes":                  attrs,
		"resource":                    map[string]any{"attributes": map[string]any{schema.AttrServiceName: r.Service}},
		"scope":                       map[string]any{"name": "github.com/activitylog/activitylog/instrumentation"},
		"data_stream": map[string]any{
			"type": schema.DataStreamType, "dataset": schema.Dataset, "namespace": dataStreamNamespace,
		},
	}
}

// batchSize is the number of documents per bulk request.
const batchSize = 5000

// Index bulk-indexes recs into the data stream of namespace ns with
// `workers` concurrent bulk requests and refreshes it. Document ids are the
// record ids, so indexing the same records twice creates nothing new.
func Index(ctx context.Context, es *elasticsearch.TypedClient, ns string, recs []Record, workers int) error {
	ds := schema.DataStream(ns)
	if workers < 1 {
		workers = 1
	}
	batches := make(chan []Record)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			for b := range batches {
				buf.Reset()
				enc := json.NewEncoder(&buf)
				for _, r := range b {
					if err := enc.Encode(map[string]any{"create": map[string]string{"_id": r.ID}}); err != nil {
						errs <- err
						return
					}
					if err := enc.Encode(r.Document(ns)); err != nil {
						errs <- err
						return
					}
				}
				resp, err := es.Bulk().Index(ds).Raw(bytes.NewReader(buf.Bytes())).Do(ctx)
				if err != nil {
					errs <- fmt.Errorf("bulk: %w", err)
					return
				}
				if resp.Errors {
					for _, item := range resp.Items {
						for _, res := range item {
							if res.Error != nil && res.Status != 409 { // 409: already indexed
								errs <- fmt.Errorf("bulk item %v: %s", res.Id_, res.Error.Type)
								return
							}
						}
					}
				}
			}
		}()
	}
	var sendErr error
send:
	for i := 0; i < len(recs); i += batchSize {
		select {
		case batches <- recs[i:min(i+batchSize, len(recs))]:
		case sendErr = <-errs:
			break send
		case <-ctx.Done():
			sendErr = ctx.Err()
			break send
		}
	}
	close(batches)
	wg.Wait()
	close(errs)
	if sendErr != nil {
		return sendErr
	}
	if err := <-errs; err != nil {
		return err
	}
	if _, err := es.Indices.Refresh().Index(ds).Do(ctx); err != nil {
		return fmt.Errorf("refresh %s: %w", ds, err)
	}
	return nil
}
