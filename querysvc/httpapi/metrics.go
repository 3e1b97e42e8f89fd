package httpapi

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
	"time"
)

// metrics counts requests per route and status and their durations, and
// writes them in the Prometheus text exposition format.
type metrics struct {
	mu        sync.Mutex
	requests  map[[2]string]uint64 // route, status code
	durations map[string]*summary  // route
	limited   uint64
	audited   uint64
}

type summary struct {
	count uint64
	sum   float64
}

func newMetrics() *metrics {
	return &metrics{requests: map[[2]string]uint64{}, durations: map[string]*summary{}}
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[[2]string{route, strconv.Itoa(status)}]++
	s, ok := m.durations[route]
	if !ok {
		s = &summary{}
		m.durations[route] = s
	}
	s.count++
	s.sum += d.Seconds()
	if status == 429 {
		m.limited++
	}
}

func (m *metrics) audit() {
	m.mu.Lock()
	m.audited++
	m.mu.Unlock()
}

func (m *metrics) write(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([][2]string, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	fmt.Fprintln(w, "# HELP querysvc_http_requests_total HTTP requests by route and status code.")
	fmt.Fprintln(w, "# TYPE querysvc_http_requests_total counter")
	for _, k := range keys {
		fmt.Fprintf(w, "querysvc_http_requests_total{route=%q,code=%q} %d\n", k[0], k[1], m.requests[k])
	}
	routes := make([]string, 0, len(m.durations))
	for r := range m.durations {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	fmt.Fprintln(w, "# HELP querysvc_http_request_duration_seconds Time to answer HTTP requests by route.")
	fmt.Fprintln(w, "# TYPE querysvc_http_request_duration_seconds summary")
	for _, r := range routes {
		s := m.durations[r]
		fmt.Fprintf(w, "querysvc_http_request_duration_seconds_sum{route=%q} %g\n", r, s.sum)
		fmt.Fprintf(w, "querysvc_http_request_duration_seconds_count{route=%q} %d\n", r, s.count)
	}
	fmt.Fprintln(w, "# HELP querysvc_rate_limited_total Requests refused by the per-principal rate limit.")
	fmt.Fprintln(w, "# TYPE querysvc_rate_limited_total counter")
	fmt.Fprintf(w, "querysvc_rate_limited_total %d\n", m.limited)
	fmt.Fprintln(w, "# HELP querysvc_audit_records_total Audit records emitted for reads of the log.")
	fmt.Fprintln(w, "# TYPE querysvc_audit_records_total counter")
	fmt.Fprintf(w, "querysvc_audit_records_total %d\n", m.audited)
}
