// Package e2e holds the activity processor's end-to-end test: records with
// planted secrets, sent by a plain OTLP/HTTP client (not the activitylog
// library), pass through the real activitycol binary into a real
// Elasticsearch node. It is a package of its own because the Elasticsearch
// clients of the shared test helpers keep idle keep-alive connections, which
// its TestMain tells goleak to expect.
package e2e
