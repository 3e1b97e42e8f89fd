package httpapi

import (
	"context"
	"time"

	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/schema"
)

func (s *Server) activities(ctx context.Context, req request) (any, error) {
	p := req.params
	var after *querysvc.Position
	if p.Cursor != "" {
		pos, err := s.cursors.open(req.principal, p, p.Cursor)
		if err != nil {
			return nil, err
		}
		after = &pos
	}
	page, err := s.store.Search(ctx, p.Filter, querysvc.Page{Size: p.Limit, After: after})
	if err != nil {
		return nil, err
	}
	out := activitiesResponse{Activities: page.Activities, Total: page.Total}
	if page.Next != nil {
		if out.NextCursor, err = s.cursors.issue(req.principal, p, *page.Next); err != nil {
			return nil, err
		}
	}
	return &out, nil
}

func (s *Server) activity(ctx context.Context, req request) (any, error) {
	id := req.http.PathValue("id")
	if len(id) > maxIDLen || hasControl(id) {
		return nil, querysvc.Errorf(querysvc.CodeInvalid, "id is malformed")
	}
	a, err := s.store.Get(ctx, id, req.params.Filter.Tenant)
	if err != nil {
		return nil, err
	}
	return &activityResponse{a}, nil
}

func rangeOf(p Params) timeRange { return timeRange{From: p.Filter.From, To: p.Filter.To} }

func (s *Server) trends(ctx context.Context, req request) (any, error) {
	p := req.params
	if p.Interval == "" {
		p.Interval = querysvc.IntervalAuto
	}
	t, err := s.store.Trends(ctx, p.Filter, p.Interval, p.Split)
	if err != nil {
		return nil, err
	}
	return &trendsResponse{rangeOf(p), t}, nil
}

func (s *Server) breakdown(ctx context.Context, req request, attr string) (any, error) {
	b, err := s.store.Breakdown(ctx, req.params.Filter, attr)
	if err != nil {
		return nil, err
	}
	return &breakdownResponse{rangeOf(req.params), b}, nil
}

func (s *Server) events(ctx context.Context, req request) (any, error) {
	return s.breakdown(ctx, req, schema.AttrEvent)
}

func (s *Server) categories(ctx context.Context, req request) (any, error) {
	return s.breakdown(ctx, req, schema.AttrCategory)
}

func (s *Server) topUsers(ctx context.Context, req request) (any, error) {
	users, err := s.store.TopUsers(ctx, req.params.Filter, req.params.Limit)
	if err != nil {
		return nil, err
	}
	return &usersResponse{rangeOf(req.params), users}, nil
}

func (s *Server) authStats(ctx context.Context, req request) (any, error) {
	a, err := s.store.Auth(ctx, req.params.Filter, req.params.Limit)
	if err != nil {
		return nil, err
	}
	return &authResponse{rangeOf(req.params), a}, nil
}

func (s *Server) alerts(ctx context.Context, req request) (any, error) {
	alerts, err := s.store.Alerts(ctx, req.params.Filter, req.params.Limit)
	if err != nil {
		return nil, err
	}
	return &alertsResponse{rangeOf(req.params), alerts}, nil
}

// Bursts defaults.
const (
	DefaultBurstWindow    = 5 * time.Minute
	DefaultBurstThreshold = 5
	maxBurstWindows       = 10000
)

func (s *Server) bursts(ctx context.Context, req request) (any, error) {
	p := req.params
	q := querysvc.BurstQuery{Window: p.Window, Threshold: p.Threshold, KeyField: p.Key, Limit: p.Limit}
	if q.Window == 0 {
		q.Window = DefaultBurstWindow
	}
	if q.Threshold == 0 {
		q.Threshold = DefaultBurstThreshold
	}
	if q.KeyField == "" {
		q.KeyField = schema.AttrClientAddress
	}
	if n := p.Filter.To.Sub(p.Filter.From) / q.Window; n > maxBurstWindows {
		return nil, querysvc.Errorf(querysvc.CodeInvalid, "parameter window: from..to holds %d windows, more than %d; use a longer window or a shorter range", n, maxBurstWindows)
	}
	bursts, total, err := s.store.Bursts(ctx, p.Filter, q) // newest first: the most recent are kept
	if err != nil {
		return nil, err
	}
	return &burstsResponse{rangeOf(p), int64(q.Window / time.Second), q.Threshold, q.KeyField, total, bursts}, nil
}
