package store

import (
	"errors"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8/typedapi/types"

	"github.com/activitylog/activitylog/querysvc"
)

// TestESError maps Elasticsearch's answers to the service's errors. Real
// answers are what the integration tests meet (an expired cursor:
// TestExpiredCursor); a too_many_buckets refusal needs search.max_buckets
// lowered on the whole node, which would disturb the tests running beside
// this one, so its answer is built here, in the form Elasticsearch gives it.
func TestESError(t *testing.T) {
	answer := func(status int, typ string, roots ...string) error {
		ee := types.NewElasticsearchError()
		ee.Status = status
		ee.ErrorCause.Type = typ
		for _, r := range roots {
			ee.ErrorCause.RootCause = append(ee.ErrorCause.RootCause, types.ErrorCause{Type: r})
		}
		return ee
	}
	for _, tt := range []struct {
		name     string
		err      error
		code, in string
	}{
		{"expired point in time", answer(404, "search_phase_execution_exception", "search_context_missing_exception"), querysvc.CodeInvalid, "cursor has expired"},
		{"missing index", answer(404, "index_not_found_exception"), querysvc.CodeUnavailable, "not found"},
		{"too many buckets", answer(400, "search_phase_execution_exception", "too_many_buckets_exception"), querysvc.CodeInvalid, "search.max_buckets"},
		{"too many buckets at the top", answer(503, "too_many_buckets_exception"), querysvc.CodeInvalid, "narrow the time range"},
		{"bad query", answer(400, "parsing_exception"), querysvc.CodeInvalid, "rejected the query"},
		{"overloaded", answer(429, "es_rejected_execution_exception"), querysvc.CodeUnavailable, "unavailable"},
		{"not Elasticsearch's", errors.New("dial tcp: refused"), querysvc.CodeUnavailable, "unavailable"},
	} {
		err := esError("search", tt.err)
		if querysvc.ErrorCode(err) != tt.code || !strings.Contains(querysvc.ErrorMessage(err), tt.in) {
			t.Errorf("%s: got %q %q, want %q with %q", tt.name, querysvc.ErrorCode(err), querysvc.ErrorMessage(err), tt.code, tt.in)
		}
	}
}
