package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/refresh"

	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/querysvc/httpapi"
	"github.com/activitylog/activitylog/querysvc/internal/seed"
	"github.com/activitylog/activitylog/schema"
)

// TestExpiredCursor: a cursor whose point in time is gone (its keep-alive
// ran out between pages, or the last page closed it) gets 400 "cursor has
// expired", not a 503 that tells the client to retry the same request.
func TestExpiredCursor(t *testing.T) {
	estest.InstallSchema(t)
	ns := estest.Namespace(t)
	if err := seedIndex(t, ns, seed.Generate(11, 30, seedStart, seedSpan)); err != nil {
		t.Fatal(err)
	}
	a := start(t, serviceOptions{index: schema.DataStream(ns)})
	tok := token(t, "admin-1", "admin", "")
	var r activitiesResp
	a.getJSON(tok, "/v1/activities?limit=5", 200, &r)
	if r.NextCursor == "" {
		t.Fatal("no next cursor")
	}
	pit := httpapi.CursorPIT(cursorKey, r.NextCursor)
	if pit == "" {
		t.Fatal("the cursor carries no point in time")
	}
	// What Elasticsearch does when the keep-alive runs out.
	if _, err := estest.Client(t).ClosePointInTime().Id(pit).Do(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.wantError(tok, "/v1/activities?limit=5&cursor="+url.QueryEscape(r.NextCursor), 400, "cursor has expired")
}

// TestTimeRange: @timestamp is a date_nanos field (1970 to 2262), so a time
// outside it is a 400 that names the parameter, not Elasticsearch's refusal.
func TestTimeRange(t *testing.T) {
	estest.InstallSchema(t)
	ns := estest.Namespace(t)
	if err := seedIndex(t, ns, seed.Generate(13, 5, seedStart, seedSpan)); err != nil {
		t.Fatal(err)
	}
	a := start(t, serviceOptions{index: schema.DataStream(ns)})
	tok := token(t, "admin-1", "admin", "")
	for _, q := range []string{"to=9999-12-31T23:59:59Z", "from=2262-04-12T00:00:00Z", "from=1970-01-01T00:00:00%2B01:00"} {
		a.wantError(tok, "/v1/activities?limit=1&"+q, 400, "must be between 1970-01-01T00:00:00Z and 2262-04-11T23:47:16Z")
	}
	a.getJSON(tok, "/v1/activities?limit=1&to=2262-04-11T23:47:16Z", 200, nil)
	// The default analytics range (the 7 days before to) starts no earlier
	// than 1970 either.
	for _, ep := range []string{"/v1/analytics/events", "/v1/analytics/trends", "/v1/security/bursts"} {
		var got struct{ From time.Time }
		a.getJSON(tok, ep+"?to=1970-01-02T00:00:00Z", 200, &got)
		if !got.From.Equal(time.Unix(0, 0)) {
			t.Errorf("%s?to=1970-01-02T00:00:00Z: got from %s, want 1970-01-01T00:00:00Z", ep, got.From)
		}
	}
}

// TestBurstsWideSpray: one window where 150 addresses fail (a spray wider
// than the 100 keys per window the view used to keep); with threshold 1
// each is a burst, and total counts them all.
func TestBurstsWideSpray(t *testing.T) {
	estest.InstallSchema(t)
	ns := estest.Namespace(t)
	recs := seed.Generate(12, 150, seedStart, seedSpan)
	w0 := seedStart.Add(10 * time.Hour) // a 5-minute window boundary
	for i := range recs {
		r := &recs[i]
		r.Tenant, r.TenantName = "t-alpha", "Alpha Coffee"
		r.Category, r.Event, r.Outcome = schema.CategoryAuth, schema.EventLoginFailed, schema.OutcomeFailure
		r.SubjectType, r.SubjectID, r.SubjectName = "", "", ""
		r.AlertKey, r.AlertCount, r.AlertThreshold, r.AlertWind = "", 0, 0, 0
		r.IP = fmt.Sprintf("10.1.%d.%d", i/200, i%200+1)
		r.Time = w0.Add(time.Duration(i) * time.Second)
	}
	if err := seedIndex(t, ns, recs); err != nil {
		t.Fatal(err)
	}
	a := start(t, serviceOptions{index: schema.DataStream(ns)})
	var got struct {
		Total  int              `json:"total"`
		Bursts []querysvc.Burst `json:"bursts"`
	}
	f := querysvc.Filter{From: w0.Add(-time.Hour), To: w0.Add(time.Hour)}
	a.getJSON(token(t, "admin-1", "admin", ""), "/v1/security/bursts"+query(f, "window", "5m", "threshold", "1", "limit", "1000"), 200, &got)
	if got.Total != 150 || len(got.Bursts) != 150 {
		t.Errorf("got total %d and %d bursts, want 150", got.Total, len(got.Bursts))
	}
}

// TestTopUsersAcrossBackingIndices: the data streams roll over daily, so a
// range reads many shards. A user ranked fifth in each of two backing
// indices but first in their sum must be the top user.
func TestTopUsersAcrossBackingIndices(t *testing.T) {
	estest.InstallSchema(t)
	ns := estest.Namespace(t)
	records := func(seedValue uint64, counts map[string]int, at time.Time) []seed.Record {
		n := 0
		for _, c := range counts {
			n += c
		}
		recs := seed.Generate(seedValue, n, seedStart, seedSpan)
		i := 0
		for u, c := range counts {
			for range c {
				r := &recs[i]
				r.UserID, r.UserName, r.ActorType = u, "name "+u, schema.ActorCustomer
				r.Time = at.Add(time.Duration(i) * time.Second)
				i++
			}
		}
		return recs
	}
	if err := seedIndex(t, ns, records(21, map[string]int{"a1": 10, "a2": 10, "a3": 10, "a4": 10, "x": 9}, seedStart.Add(24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if _, err := estest.Client(t).Indices.Rollover(schema.DataStream(ns)).Do(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := seedIndex(t, ns, records(22, map[string]int{"b1": 10, "b2": 10, "b3": 10, "b4": 10, "x": 9}, seedStart.Add(48*time.Hour))); err != nil {
		t.Fatal(err)
	}
	a := start(t, serviceOptions{index: schema.DataStream(ns)})
	var got struct {
		Users []querysvc.UserCount `json:"users"`
	}
	f := querysvc.Filter{From: seedStart, To: seedStart.Add(seedSpan)}
	a.getJSON(token(t, "admin-1", "admin", ""), "/v1/analytics/users/top"+query(f, "limit", "1"), 200, &got)
	if len(got.Users) != 1 || got.Users[0].UserID != "x" || got.Users[0].Count != 18 {
		t.Errorf("got %+v, want user x with 18 records", got.Users)
	}
}

// TestRecordWithoutActivityID: a record another writer stored without
// activity.id is listed under its document id, and that id finds it.
func TestRecordWithoutActivityID(t *testing.T) {
	estest.InstallSchema(t)
	ns := estest.Namespace(t)
	recs := seed.Generate(14, 4, seedStart, seedSpan)
	var body strings.Builder
	for i, r := range recs {
		d := r.Document(ns)
		if i%2 == 1 {
			delete(d["attributes"].(map[string]any), schema.AttrID)
		}
		h, _ := json.Marshal(map[string]any{"create": map[string]string{"_id": r.ID}})
		b, _ := json.Marshal(d)
		body.Write(h)
		body.WriteByte('\n')
		body.Write(b)
		body.WriteByte('\n')
	}
	if _, err := estest.Client(t).Bulk().Index(schema.DataStream(ns)).Refresh(refresh.True).Raw(strings.NewReader(body.String())).Do(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := start(t, serviceOptions{index: schema.DataStream(ns)})
	tok := token(t, "admin-1", "admin", "")
	var r activitiesResp
	a.getJSON(tok, "/v1/activities?limit=10", 200, &r)
	ids := activityIDs(r.Activities)
	if len(ids) != 4 {
		t.Fatalf("got %v, want 4 records", ids)
	}
	for _, id := range ids {
		a.getJSON(tok, "/v1/activities/"+url.PathEscape(id), 200, nil)
	}
}

// TestCursorAfterBackingIndexDeleted: retention deletes a data stream's
// oldest backing index while a client pages through it. The next page must
// say the cursor has expired, not return a short page built from the
// remaining backing indices as if the deleted records had never matched.
func TestCursorAfterBackingIndexDeleted(t *testing.T) {
	estest.InstallSchema(t)
	ns := estest.Namespace(t)
	older := seed.Generate(15, 10, seedStart, seedSpan)
	newer := seed.Generate(16, 10, seedStart, seedSpan)
	for i := range older {
		older[i].Time = seedStart.Add(time.Duration(i) * time.Minute)
		newer[i].Time = seedStart.Add(24*time.Hour + time.Duration(i)*time.Minute)
	}
	if err := seedIndex(t, ns, older); err != nil {
		t.Fatal(err)
	}
	es := estest.Client(t)
	ro, err := es.Indices.Rollover(schema.DataStream(ns)).Do(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := seedIndex(t, ns, newer); err != nil {
		t.Fatal(err)
	}
	a := start(t, serviceOptions{index: schema.DataStream(ns)})
	tok := token(t, "admin-1", "admin", "")
	var r activitiesResp
	a.getJSON(tok, "/v1/activities?limit=5", 200, &r)
	if r.Total != 20 || r.NextCursor == "" {
		t.Fatalf("first page: got total %d and cursor %q, want 20 and a cursor", r.Total, r.NextCursor)
	}
	// What retention does to the oldest day.
	if _, err := es.Indices.Delete(ro.OldIndex).Do(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.wantError(tok, "/v1/activities?limit=5&cursor="+url.QueryEscape(r.NextCursor), 400, "cursor has expired")
}

// TestMappedIPPrefix: an IPv4-mapped IPv6 prefix (::ffff:198.51.101.0/120)
// is a CIDR prefix the ip parameter accepts, and it finds the records of the
// IPv4 prefix it names, not Elasticsearch's refusal of the query.
func TestMappedIPPrefix(t *testing.T) {
	fx := seeded(t)
	a := start(t, serviceOptions{index: schema.DataStream(fx.ns)})
	want := selectRecs(fx.recs, "", querysvc.Filter{IP: "198.51.101.0/24"})
	if len(want) == 0 {
		t.Fatal("the seed has no record in 198.51.101.0/24")
	}
	var r activitiesResp
	a.getJSON(token(t, "admin-1", "admin", ""), "/v1/activities?limit=1&ip="+url.QueryEscape("::ffff:198.51.101.0/120"), 200, &r)
	if r.Total != int64(len(want)) {
		t.Errorf("got total %d, want %d", r.Total, len(want))
	}
}
