package httpapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/querysvc/internal/seed"
	"github.com/elastic/go-elasticsearch/v8"

	"github.com/activitylog/activitylog/internal/esclient"
)

func elasticClient(url string) (*elasticsearch.TypedClient, error) {
	return esclient.Config{URLs: []string{url}}.Reader()
}

func seedIndex(t *testing.T, ns string, recs []seed.Record) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return seed.Index(ctx, estest.Client(t), ns, recs, 2)
}
