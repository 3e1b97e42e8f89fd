package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/querysvc/internal/seed"
	"github.com/activitylog/activitylog/schema"
)

type activitiesResp struct {
	Activities []querysvc.Activity `json:"activities"`
	Total      int64               `json:"total"`
	NextCursor string              `json:"next_cursor"`
}

func activityIDs(as []querysvc.Activity) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

// principals are the callers every numbers test runs as: what they see is
// computed with the same scope.
func principals(t *testing.T) []struct {
	name, token, scope string
} {
	return []struct{ name, token, scope string }{
		{"admin", token(t, "admin-1", "admin", ""), ""},
		{"partner t-alpha", token(t, "partner-a", "partner", "t-alpha"), "t-alpha"},
		{"partner t-gamma", token(t, "partner-g", "partner", "t-gamma"), "t-gamma"},
	}
}

// TestSearchNumbers checks totals and first pages of /v1/activities against
// the computation over the seeded records, for every filter.
func TestSearchNumbers(t *testing.T) {
	fx := seeded(t)
	a := start(t, serviceOptions{index: schema.DataStream(fx.ns)})
	sample := fx.recs[17]
	filters := []querysvc.Filter{
		{},
		{Category: schema.CategoryAuth},
		{Event: schema.EventLoginFailed, Outcome: schema.OutcomeFailure},
		{UserType: schema.ActorStaff},
		{UserID: sample.UserID},
		{SubjectType: "reward"},
		{SubjectType: "member", SubjectID: "member-42"},
		{Outcome: schema.OutcomeFailure},
		{IP: "198.51.100.12"},
		{IP: "198.51.101.0/24"},
		{From: seedStart.Add(48 * time.Hour), To: seedStart.Add(50*time.Hour + 123456789)},
		{Query: "coffee"},
		{Query: "Free COFFEE"},
		{Query: seed.BetaOnlyWord},
		{Tenant: "t-beta", Category: schema.CategoryRewards},
	}
	for _, p := range principals(t) {
		for i, f := range filters {
			if p.scope != "" && f.Tenant != "" && f.Tenant != p.scope {
				continue // refused with 403; TestIsolation covers it
			}
			t.Run(fmt.Sprintf("%s/%d", p.name, i), func(t *testing.T) {
				want := selectRecs(fx.recs, p.scope, f)
				var got activitiesResp
				a.getJSON(p.token, "/v1/activities"+query(f, "limit", "50"), 200, &got)
				if got.Total != int64(len(want)) {
					t.Errorf("filter %+v: got total %d, want %d", f, got.Total, len(want))
				}
				wantIDs := ids(want[:min(50, len(want))])
				if g := activityIDs(got.Activities); !slices.Equal(g, wantIDs) {
					t.Errorf("filter %+v: got ids %v, want %v", f, g, wantIDs)
				}
				if (got.NextCursor != "") != (len(want) > 50) {
					t.Errorf("filter %+v: got next_cursor %q with %d matches, want one iff more than 50", f, got.NextCursor, len(want))
				}
			})
		}
	}
}

// TestPaginationWalk pages through everything a partner may see and checks
// the sequence is exactly the seeded records of its tenant, newest first.
func TestPaginationWalk(t *testing.T) {
	fx := seeded(t)
	a := start(t, serviceOptions{index: schema.DataStream(fx.ns)})
	tok := token(t, "partner-b", "partner", "t-beta")
	want := ids(selectRecs(fx.recs, "t-beta", querysvc.Filter{}))
	var got []string
	cursor := ""
	for page := 0; ; page++ {
		if page > len(want)/100+2 {
			t.Fatalf("more pages than records")
		}
		q := "?limit=100"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		var r activitiesResp
		a.getJSON(tok, "/v1/activities"+q, 200, &r)
		got = append(got, activityIDs(r.Activities)...)
		if r.NextCursor == "" {
			break
		}
		cursor = r.NextCursor
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %d ids, want %d; first difference at %d", len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestPaginationConsistentWhileWriting indexes new records (some newer than
// everything, some in the middle of the range being paged) between pages:
// the walk must still return exactly the snapshot taken by the first page.
func TestPaginationConsistentWhileWriting(t *testing.T) {
	fx := seeded(t)
	// Its own data stream, since it writes.
	ns := fx.ns + "w"
	base := seed.Generate(7, 600, seedStart, seedSpan)
	if err := seedIndex(t, ns, base); err != nil {
		t.Fatal(err)
	}
	a := start(t, serviceOptions{index: schema.DataStream(ns)})
	tok := token(t, "admin-1", "admin", "")
	want := ids(selectRecs(base, "", querysvc.Filter{}))
	var got []string
	var r activitiesResp
	a.getJSON(tok, "/v1/activities?limit=100", 200, &r)
	got = append(got, activityIDs(r.Activities)...)
	// New records: 100 newer than anything, 100 in the middle of the range.
	extra := seed.Generate(8, 200, seedStart, seedSpan)
	for i := range extra {
		if i < 100 {
			extra[i].Time = testNow.Add(time.Duration(i) * time.Minute)
		}
	}
	if err := seedIndex(t, ns, extra); err != nil {
		t.Fatal(err)
	}
	got = append(got, a.followCursors(t, tok, "/v1/activities?limit=100", r.NextCursor)...)
	if !slices.Equal(got, want) {
		t.Errorf("got %d ids, want the %d of the snapshot; first difference at %d", len(got), len(want), firstDiff(got, want))
	}
	// A new search sees the new records.
	a.getJSON(tok, "/v1/activities?limit=1", 200, &r)
	if r.Total != int64(len(base)+len(extra)) {
		t.Errorf("new search: got total %d, want %d", r.Total, len(base)+len(extra))
	}
}

// TestPaginationOverManyBackingIndices walks a data stream rolled over 45
// times, as a year of daily rollovers leaves hundreds: the point in time's
// id grows with every shard it spans (about 10 KB here), more than a cursor
// may carry in a URL, and the walk must still return every record once, in
// order.
func TestPaginationOverManyBackingIndices(t *testing.T) {
	fx := seeded(t)
	ns := fx.ns + "r"
	base := seed.Generate(9, 120, seedStart, seedSpan)
	if err := seedIndex(t, ns, base); err != nil {
		t.Fatal(err)
	}
	ds := schema.DataStream(ns)
	for i := range 45 {
		resp, err := http.Post(estest.URL(t)+"/"+ds+"/_rollover", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("rollover %d: %s", i, resp.Status)
		}
	}
	a := start(t, serviceOptions{index: ds})
	tok := token(t, "admin-1", "admin", "")
	want := ids(selectRecs(base, "", querysvc.Filter{}))
	var got []string
	var r activitiesResp
	a.getJSON(tok, "/v1/activities?limit=50", 200, &r)
	got = append(got, activityIDs(r.Activities)...)
	got = append(got, a.followCursors(t, tok, "/v1/activities?limit=50", r.NextCursor)...)
	if !slices.Equal(got, want) {
		t.Errorf("got %d ids, want %d; first difference at %d", len(got), len(want), firstDiff(got, want))
	}
}

// followCursors reads the pages of pathQuery from cursor on, until the last,
// and returns their activities' ids in order.
func (a *api) followCursors(t *testing.T, tok, pathQuery, cursor string) []string {
	t.Helper()
	var ids []string
	for pages := 0; cursor != ""; pages++ {
		if pages > 10000 {
			t.Fatal("the walk does not end")
		}
		var r activitiesResp
		a.getJSON(tok, pathQuery+"&cursor="+url.QueryEscape(cursor), 200, &r)
		ids = append(ids, activityIDs(r.Activities)...)
		cursor = r.NextCursor
	}
	return ids
}

// TestGetNumbers fetches records by id and compares every field.
func TestGetNumbers(t *testing.T) {
	fx := seeded(t)
	a := start(t, serviceOptions{index: schema.DataStream(fx.ns)})
	tok := token(t, "admin-1", "admin", "")
	for _, i := range []int{0, 1, 2, 500, 9999} {
		r := fx.recs[i]
		var got querysvc.Activity
		a.getJSON(tok, "/v1/activities/"+url.PathEscape(r.ID), 200, &got)
		want := querysvc.Activity{
			ID: r.ID, Timestamp: r.Time, Description: r.Description, Category: r.Category, Event: r.Event,
			Outcome: r.Outcome, Actor: querysvc.Actor{Type: r.ActorType, ID: r.UserID, Name: r.UserName},
			Tenant: querysvc.Tenant{ID: r.Tenant, Name: r.TenantName}, ClientAddress: r.IP, UserAgent: r.UserAgent,
			Service: r.Service, FailureReason: r.FailureReason,
		}
		if r.SubjectType != "" {
			want.Subject = &querysvc.Subject{Type: r.SubjectType, ID: r.SubjectID, Name: r.SubjectName}
		}
		if r.AlertKey != "" {
			want.Alert = &querysvc.Alert{Rule: schema.AlertRuleFailedLoginBurst, KeyType: schema.AttrClientAddress,
				Key: r.AlertKey, Count: r.AlertCount, Threshold: r.AlertThreshold, WindowSeconds: r.AlertWind}
		}
		jsonEqual(t, "record "+r.ID, got, want)
	}
	a.wantError(tok, "/v1/activities/no-such-id", 404, "not found")
}

// truncate returns the start of the calendar interval holding t (UTC; weeks start on Monday).
func truncate(t time.Time, iv querysvc.Interval) time.Time {
	t = t.UTC()
	switch iv {
	case querysvc.IntervalHour:
		return t.Truncate(time.Hour)
	case querysvc.IntervalDay:
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
}

type trendsResp struct {
	querysvc.Trends
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

func wantTrends(recs []seed.Record, iv querysvc.Interval, split string) querysvc.Trends {
	out := querysvc.Trends{Interval: iv, Total: int64(len(recs)), Buckets: []querysvc.TrendBucket{}}
	byStart := map[time.Time][]seed.Record{}
	for _, r := range recs {
		s := truncate(r.Time, iv)
		byStart[s] = append(byStart[s], r)
	}
	starts := make([]time.Time, 0, len(byStart))
	for s := range byStart {
		starts = append(starts, s)
	}
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	for _, s := range starts {
		b := querysvc.TrendBucket{Start: s, Count: int64(len(byStart[s]))}
		switch split {
		case "event":
			out.SplitBy = "event"
			b.Split = countBy(byStart[s], func(r seed.Record) string { return r.Event }, 0)
		case "category":
			out.SplitBy = "category"
			b.Split = countBy(byStart[s], func(r seed.Record) string { return r.Category }, 0)
		}
		out.Buckets = append(out.Buckets, b)
	}
	return out
}

// TestAnalyticsNumbers checks every analytics endpoint against the
// computation over the seeded records, as each principal.
func TestAnalyticsNumbers(t *testing.T) {
	fx := seeded(t)
	a := start(t, serviceOptions{index: schema.DataStream(fx.ns)})
	all := querysvc.Filter{From: seedStart, To: seedStart.Add(seedSpan)}
	for _, p := range principals(t) {
		t.Run(p.name, func(t *testing.T) {
			t.Run("trends", func(t *testing.T) {
				cases := []struct {
					f        querysvc.Filter
					interval string
					split    string
					want     querysvc.Interval
				}{
					{all, "day", "", querysvc.IntervalDay},
					{all, "week", "category", querysvc.IntervalWeek},
					{all, "auto", "", querysvc.IntervalDay},
					{querysvc.Filter{From: seedStart.Add(72 * time.Hour), To: seedStart.Add(96 * time.Hour)}, "", "event", querysvc.IntervalHour},
					{querysvc.Filter{From: all.From, To: all.To, Category: schema.CategoryAuth}, "day", "event", querysvc.IntervalDay},
				}
				for _, c := range cases {
					extra := []string{}
					if c.interval != "" {
						extra = append(extra, "interval", c.interval)
					}
					if c.split != "" {
						extra = append(extra, "split", c.split)
					}
					var got trendsResp
					a.getJSON(p.token, "/v1/analytics/trends"+query(c.f, extra...), 200, &got)
					jsonEqual(t, fmt.Sprintf("trends %s %s", c.interval, c.split), got.Trends, wantTrends(selectRecs(fx.recs, p.scope, c.f), c.want, c.split))
				}
			})
			t.Run("events and categories", func(t *testing.T) {
				for _, f := range []querysvc.Filter{all, {From: all.From, To: all.To, Outcome: schema.OutcomeFailure}} {
					recs := selectRecs(fx.recs, p.scope, f)
					var got querysvc.Breakdown
					a.getJSON(p.token, "/v1/analytics/events"+query(f), 200, &got)
					jsonEqual(t, "events", got, querysvc.Breakdown{Total: int64(len(recs)), Buckets: countBy(recs, func(r seed.Record) string { return r.Event }, 0)})
					got = querysvc.Breakdown{}
					a.getJSON(p.token, "/v1/analytics/categories"+query(f), 200, &got)
					jsonEqual(t, "categories", got, querysvc.Breakdown{Total: int64(len(recs)), Buckets: countBy(recs, func(r seed.Record) string { return r.Category }, 0)})
				}
			})
			t.Run("users/top", func(t *testing.T) {
				for _, n := range []int{3, 10} {
					recs := selectRecs(fx.recs, p.scope, all)
					var want []querysvc.UserCount
					for _, c := range countBy(recs, func(r seed.Record) string { return r.UserID }, n) {
						u := querysvc.UserCount{UserID: c.Key, Count: c.Count}
						for _, r := range recs {
							if r.UserID == c.Key {
								u.UserName, u.UserType = r.UserName, r.ActorType
								break
							}
						}
						want = append(want, u)
					}
					var got struct {
						Users []querysvc.UserCount `json:"users"`
					}
					a.getJSON(p.token, "/v1/analytics/users/top"+query(all, "limit", fmt.Sprint(n)), 200, &got)
					jsonEqual(t, "users/top", got.Users, want)
				}
			})
			t.Run("auth", func(t *testing.T) {
				recs := selectRecs(fx.recs, p.scope, all)
				var want querysvc.AuthStats
				var failed []seed.Record
				for _, r := range recs {
					switch r.Event {
					case schema.EventLogin:
						want.Logins++
					case schema.EventLogout:
						want.Logouts++
					case schema.EventLoginFailed:
						want.FailedLogins++
						failed = append(failed, r)
					case schema.EventOTPRequested:
						want.OTPRequested++
					case schema.EventOTPVerified:
						want.OTPVerified++
					case schema.EventOTPFailed:
						want.OTPFailed++
					case schema.EventPasswordChanged:
						want.PasswordChanges++
					case schema.EventPasswordResetRequested:
						want.PasswordResetRequests++
					case schema.EventPasswordReset:
						want.PasswordResets++
					}
				}
				// The seed holds every kind of password event, so that a
				// figure read from the wrong bucket cannot pass as zero.
				if want.PasswordChanges == 0 || want.PasswordResetRequests == 0 || want.PasswordResets == 0 {
					t.Errorf("the seed's %s records have no password changes, reset requests or resets: %+v", p.name, want)
				}
				want.FailureRate = float64(want.FailedLogins) / float64(want.Logins+want.FailedLogins)
				want.TopFailingIPs = countBy(failed, func(r seed.Record) string { return r.IP }, 5)
				want.TopFailingUsers = countBy(failed, func(r seed.Record) string { return r.UserName }, 5)
				var got querysvc.AuthStats
				a.getJSON(p.token, "/v1/analytics/auth"+query(all, "limit", "5"), 200, &got)
				jsonEqual(t, "auth", got, want)
			})
			t.Run("alerts", func(t *testing.T) {
				want := ids(selectRecs(fx.recs, p.scope, querysvc.Filter{From: all.From, To: all.To, Event: schema.EventFailedLoginBurst}))
				if len(want) == 0 {
					t.Fatal("the seed has no alerts")
				}
				var got struct {
					Alerts []querysvc.Activity `json:"alerts"`
				}
				a.getJSON(p.token, "/v1/security/alerts"+query(all, "limit", "500"), 200, &got)
				if g := activityIDs(got.Alerts); !slices.Equal(g, want) {
					t.Errorf("got alerts %v, want %v", g, want)
				}
			})
			t.Run("bursts", func(t *testing.T) {
				for _, c := range []struct {
					window    time.Duration
					threshold int
					key       string
				}{
					{time.Hour, 3, schema.AttrClientAddress},
					{6 * time.Hour, 4, schema.AttrUserName},
					{24 * time.Hour, 12, schema.AttrClientAddress},
				} {
					failed := selectRecs(fx.recs, p.scope, querysvc.Filter{From: all.From, To: all.To, Event: schema.EventLoginFailed})
					windows := map[int64][]seed.Record{}
					for _, r := range failed {
						w := r.Time.UnixMilli() / c.window.Milliseconds() * c.window.Milliseconds()
						windows[w] = append(windows[w], r)
					}
					want := []querysvc.Burst{}
					for w, rs := range windows {
						key := func(r seed.Record) string { return r.IP }
						if c.key == schema.AttrUserName {
							key = func(r seed.Record) string { return r.UserName }
						}
						for _, cnt := range countBy(rs, key, 0) {
							if cnt.Count >= int64(c.threshold) {
								want = append(want, querysvc.Burst{WindowStart: time.UnixMilli(w).UTC(), Key: cnt.Key, Count: cnt.Count})
							}
						}
					}
					slices.SortStableFunc(want, func(x, y querysvc.Burst) int {
						if c := y.WindowStart.Compare(x.WindowStart); c != 0 {
							return c
						}
						if x.Count != y.Count {
							return int(y.Count - x.Count)
						}
						if x.Key < y.Key {
							return -1
						}
						return 1
					})
					var got struct {
						Total  int              `json:"total"`
						Bursts []querysvc.Burst `json:"bursts"`
					}
					a.getJSON(p.token, "/v1/security/bursts"+query(all, "window", c.window.String(), "threshold", fmt.Sprint(c.threshold), "key", c.key, "limit", "1000"), 200, &got)
					if got.Total != len(want) {
						t.Errorf("bursts total: got %d, want %d", got.Total, len(want))
					}
					if len(want) < 4 {
						t.Errorf("window %s threshold %d: the seed has %d bursts; the case tests too little", c.window, c.threshold, len(want))
					}
					jsonEqual(t, fmt.Sprintf("bursts %s/%d/%s", c.window, c.threshold, c.key), got.Bursts, want[:min(len(want), 1000)])
					// A page is the newest bursts; the total still counts all.
					a.getJSON(p.token, "/v1/security/bursts"+query(all, "window", c.window.String(), "threshold", fmt.Sprint(c.threshold), "key", c.key, "limit", "3"), 200, &got)
					if got.Total != len(want) {
						t.Errorf("bursts total with limit 3: got %d, want %d", got.Total, len(want))
					}
					jsonEqual(t, fmt.Sprintf("bursts %s/%d/%s limit 3", c.window, c.threshold, c.key), got.Bursts, want[:min(len(want), 3)])
				}
			})
		})
	}
}
