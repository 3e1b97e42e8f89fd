package setup

import (
	"context"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
)

// CheckStreamRetentionPrivileges exposes the privilege check Install makes
// before it applies the retention to the existing data streams to the
// external tests, which run it against a secured node whose integ-test-zip
// server cannot reach the branch of Install that needs those privileges.
func CheckStreamRetentionPrivileges(ctx context.Context, es *elasticsearch.TypedClient) error {
	return checkStreamPrivileges(ctx, es, true)
}

// MaxStreamRetention exposes the read of data_streams.lifecycle.retention.max
// to the external tests, which check it against the real node's answer: that
// node runs no data stream lifecycle, so Install never reads it there.
func MaxStreamRetention(ctx context.Context, es *elasticsearch.TypedClient) (time.Duration, error) {
	return maxStreamRetention(ctx, es)
}
