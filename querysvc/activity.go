package querysvc

import (
	"context"
	"encoding/json"
	"time"
)

// Filter narrows a search or an analytics query. Every field is optional; an
// empty field does not filter. Filter never widens what a principal may see:
// the store applies the principal's tenant on top of it.
type Filter struct {
	// Tenant asks for one tenant. An admin may name any; a partner may only
	// name its own (anything else is refused with CodeForbidden).
	Tenant string `json:"tenant,omitempty"`
	// Query is free text matched against the description (body.text) with
	// every word required. It is never parsed as query syntax.
	Query       string `json:"q,omitempty"`
	Category    string `json:"category,omitempty"`
	Event       string `json:"event,omitempty"`
	UserType    string `json:"user_type,omitempty"`
	UserID      string `json:"user_id,omitempty"`
	SubjectType string `json:"subject_type,omitempty"`
	SubjectID   string `json:"subject_id,omitempty"`
	Outcome     string `json:"outcome,omitempty"`
	// IP is a client address or a CIDR prefix.
	IP string `json:"ip,omitempty"`
	// From and To bound the record timestamp: From <= t < To. Zero is unbounded.
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
}

// Actor is who did something.
type Actor struct {
	Type string `json:"type,omitempty"`
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// Tenant is the partner business a record belongs to.
type Tenant struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// Subject is the thing acted on.
type Subject struct {
	Type string `json:"type,omitempty"`
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// Alert holds the fields of a security alert record.
type Alert struct {
	Rule          string `json:"rule,omitempty"`
	KeyType       string `json:"key_type,omitempty"`
	Key           string `json:"key,omitempty"`
	Count         int64  `json:"count,omitempty"`
	Threshold     int64  `json:"threshold,omitempty"`
	WindowSeconds int64  `json:"window_seconds,omitempty"`
	FirstSeen     string `json:"first_seen,omitempty"`
	LastSeen      string `json:"last_seen,omitempty"`
}

// Activity is one activity record as the API returns it.
type Activity struct {
	ID            string          `json:"id"`
	Timestamp     time.Time       `json:"timestamp"`
	Description   string          `json:"description,omitempty"`
	Category      string          `json:"category,omitempty"`
	Event         string          `json:"event,omitempty"`
	Outcome       string          `json:"outcome,omitempty"`
	Actor         Actor           `json:"actor"`
	Tenant        Tenant          `json:"tenant"`
	Subject       *Subject        `json:"subject,omitempty"`
	ClientAddress string          `json:"client_address,omitempty"`
	UserAgent     string          `json:"user_agent,omitempty"`
	RequestID     string          `json:"request_id,omitempty"`
	Service       string          `json:"service,omitempty"`
	FailureReason string          `json:"failure_reason,omitempty"`
	ChangedFields []string        `json:"changed_fields,omitempty"`
	Changes       json.RawMessage `json:"changes,omitempty"`
	Alert         *Alert          `json:"alert,omitempty"`
}

// DefaultMaxOpenSearches is how many searches one principal may have open
// at once, each holding a point in time in Elasticsearch (and, when its id
// is long, in the service) until its last page or its keep-alive: enough
// for a person's tabs and a script or two.
const DefaultMaxOpenSearches = 16

// Page asks for one page of a search: at most Size records after Cursor.
type Page struct {
	// Size is the number of records wanted; the HTTP layer caps it.
	Size int
	// After continues a previous search; nil starts a new one.
	After *Position
}

// Position is where a search stopped: the point in time it reads and the
// sort values of its last record. It is opaque to callers; httpapi signs it
// into a cursor bound to the principal.
type Position struct {
	PIT         string            `json:"pit"`
	SearchAfter []json.RawMessage `json:"after"`
}

// ActivityPage is one page of search results, newest first.
type ActivityPage struct {
	Activities []Activity
	// Total is the number of records matching the filter (in the point in time).
	Total int64
	// Next continues the search, or is nil on the last page.
	Next *Position
}

// Interval is a trends bucket width.
type Interval string

// Intervals.
const (
	IntervalAuto Interval = "auto"
	IntervalHour Interval = "hour"
	IntervalDay  Interval = "day"
	IntervalWeek Interval = "week"
)

// Resolve returns the concrete interval for a time range: auto becomes hour
// up to two days, day up to 62 days and week beyond.
func (i Interval) Resolve(from, to time.Time) Interval {
	if i != IntervalAuto && i != "" {
		return i
	}
	switch d := to.Sub(from); {
	case d <= 48*time.Hour:
		return IntervalHour
	case d <= 62*24*time.Hour:
		return IntervalDay
	}
	return IntervalWeek
}

// Count is a key with the number of records that have it.
type Count struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
}

// TrendBucket is one interval of activity over time.
type TrendBucket struct {
	Start time.Time `json:"start"`
	Count int64     `json:"count"`
	// Split counts the bucket's records by event or category when asked.
	Split []Count `json:"split,omitempty"`
}

// Trends is activity over time.
type Trends struct {
	Interval Interval      `json:"interval"`
	SplitBy  string        `json:"split_by,omitempty"`
	Total    int64         `json:"total"`
	Buckets  []TrendBucket `json:"buckets"`
}

// Breakdown counts records by one field (events or categories).
type Breakdown struct {
	Total   int64   `json:"total"`
	Buckets []Count `json:"buckets"`
}

// UserCount is a user with the number of records they acted in.
type UserCount struct {
	UserID   string `json:"user_id"`
	UserName string `json:"user_name,omitempty"`
	UserType string `json:"user_type,omitempty"`
	Count    int64  `json:"count"`
}

// AuthStats summarises authentication activity.
type AuthStats struct {
	Logins       int64 `json:"logins"`
	Logouts      int64 `json:"logouts"`
	FailedLogins int64 `json:"failed_logins"`
	OTPRequested int64 `json:"otp_requested"`
	OTPVerified  int64 `json:"otp_verified"`
	OTPFailed    int64 `json:"otp_failed"`
	// PasswordChanges, PasswordResetRequests and PasswordResets count the
	// password_changed, password_reset_requested and password_reset events.
	PasswordChanges       int64 `json:"password_changes"`
	PasswordResetRequests int64 `json:"password_reset_requests"`
	PasswordResets        int64 `json:"password_resets"`
	// FailureRate is failed logins / (logins + failed logins), 0 when both are 0.
	FailureRate     float64 `json:"failure_rate"`
	TopFailingIPs   []Count `json:"top_failing_ips"`
	TopFailingUsers []Count `json:"top_failing_users"`
}

// BurstQuery asks for the cluster-wide failed-login burst view.
type BurstQuery struct {
	// Window is the tumbling window length.
	Window time.Duration
	// Threshold is the least number of failures in one window to report.
	Threshold int
	// KeyField is the attribute counted by: schema.AttrClientAddress or schema.AttrUserName.
	KeyField string
	// Limit is how many bursts to return, the newest; 0 returns all.
	Limit int
}

// Burst is one key that reached the threshold of failed logins in one window.
type Burst struct {
	WindowStart time.Time `json:"window_start"`
	Key         string    `json:"key"`
	Count       int64     `json:"count"`
}

// Store answers queries over the activity log. Every method reads the
// Principal from ctx (NewContext) and confines the query to the principal's
// tenant; a call without a principal fails with CodeUnauthorized.
// Implementations are safe for concurrent use.
type Store interface {
	// Search returns one page of records matching f, newest first.
	Search(ctx context.Context, f Filter, p Page) (ActivityPage, error)
	// Get returns one record by id, or CodeNotFound when the principal cannot
	// see it; with tenant (an admin's choice; a partner may name only its
	// own), only that tenant's. An emitter's id that is not a UUID may repeat
	// across tenants: the newest match is returned.
	Get(ctx context.Context, id, tenant string) (Activity, error)
	// Trends counts records matching f per interval, split by splitBy
	// (schema.AttrEvent, schema.AttrCategory or "").
	Trends(ctx context.Context, f Filter, interval Interval, splitBy string) (Trends, error)
	// Breakdown counts records matching f by attr (schema.AttrEvent or schema.AttrCategory).
	Breakdown(ctx context.Context, f Filter, attr string) (Breakdown, error)
	// TopUsers returns the n users with the most records matching f.
	TopUsers(ctx context.Context, f Filter, n int) ([]UserCount, error)
	// Auth summarises authentication records matching f, with the top n failing IPs and user names.
	Auth(ctx context.Context, f Filter, n int) (AuthStats, error)
	// Alerts returns burst alert records matching f, newest first, at most n.
	Alerts(ctx context.Context, f Filter, n int) ([]Activity, error)
	// Bursts computes failed-login bursts from the failed-login records
	// matching f: the newest q.Limit (all when 0), newest window first and
	// by count within a window, and how many there are in all.
	Bursts(ctx context.Context, f Filter, q BurstQuery) (bursts []Burst, total int, err error)
	// Ready reports whether Elasticsearch answers and the schema is installed.
	Ready(ctx context.Context) error
}

// View describes one read of the log, for the audit trail.
type View struct {
	// Endpoint is the route template, e.g. "/v1/activities/{id}".
	Endpoint string
	// Params are the query parameters the caller sent (the cursor omitted).
	Params map[string]string
	// ID is the record asked for by id, if any.
	ID string
	// Status is the HTTP status of the answer.
	Status int
	// ClientAddress, UserAgent and RequestID describe the caller's request.
	ClientAddress string
	UserAgent     string
	RequestID     string
}

// Auditor records who read the activity log. It must not block the request
// for long and must be safe for concurrent use.
type Auditor interface {
	Viewed(ctx context.Context, p Principal, v View)
}

// AuditorFunc adapts a function to Auditor.
type AuditorFunc func(ctx context.Context, p Principal, v View)

// Viewed calls f.
func (f AuditorFunc) Viewed(ctx context.Context, p Principal, v View) { f(ctx, p, v) }
