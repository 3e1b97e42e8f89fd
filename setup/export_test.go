package setup

import (
	"context"

	"github.com/elastic/go-elasticsearch/v8"
)

// CheckStreamRetentionPrivileges exposes the privilege check Install makes
// before it applies the retention to the existing data streams to the
// external tests, which run it against a secured node whose integ-test-zip
// server cannot reach the branch of Install that needs those privileges.
func CheckStreamRetentionPrivileges(ctx context.Context, es *elasticsearch.TypedClient) error {
	return checkStreamPrivileges(ctx, es, true)
}
