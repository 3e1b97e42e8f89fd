// Package estest gives tests a real Elasticsearch node.
//
// URL returns ES_URL when it is set; otherwise it runs
// `scripts/elasticsearch start`, which fetches the integ-test-zip
// distribution once and starts (or reuses) a node on 127.0.0.1. A test that
// cannot get a node fails with the reason: it never skips.
//
// Data streams cannot be deleted on the integ-test-zip distribution (it has no
// data-stream APIs), so tests isolate themselves by writing to their own data
// stream: schema.DataStream(Namespace(t)). They are left behind; the script
// starts a stopped node whose data directory holds too many of them empty
// (ES_MAX_INDICES).
package estest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"math/big"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/activitylog/activitylog/internal/esclient"
	"github.com/activitylog/activitylog/internal/servertest"
	"github.com/activitylog/activitylog/setup"
)

// node is the node every test of the process uses (tests in one package
// binary share one node), and its schema install.
type node struct {
	server servertest.Shared

	schemaOnce sync.Once
	schemaErr  string
}

// shared is, like pgtest's and mysqltest's servers, a package-level
// variable only because every test in a test binary must share one node
// (and one schema install), and tests have no other place to keep it.
var shared node

// RepoRoot returns the repository's root directory.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	return servertest.RepoRoot(tb)
}

// URL returns the address of a running Elasticsearch node: ES_URL when it
// is set, or the node scripts/elasticsearch starts (or reuses) once per
// process. It fails tb if no node can be had.
func URL(tb testing.TB) string {
	tb.Helper()
	return strings.TrimRight(shared.server.Address(tb, "ES_URL", "elasticsearch", "Elasticsearch"), "/")
}

// Config returns the client configuration for the node, with the
// credentials from ES_USERNAME/ES_PASSWORD or ES_API_KEY when set.
func Config(tb testing.TB) esclient.Config {
	tb.Helper()
	c := esclient.FromEnv(os.Getenv)
	c.URLs = []string{URL(tb)}
	return c
}

// Client returns a typed client to the node.
func Client(tb testing.TB) *elasticsearch.TypedClient {
	tb.Helper()
	es, err := Config(tb).Typed()
	if err != nil {
		tb.Fatalf("estest: client: %v", err)
	}
	return es
}

// Namespace returns a data stream namespace no other test uses.
func Namespace(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatalf("estest: namespace: %v", err)
	}
	return "t" + hex.EncodeToString(b[:])
}

// InstallSchema installs the activity schema on the node once per test
// process, with the default options.
func InstallSchema(tb testing.TB) {
	tb.Helper()
	es := Client(tb)
	shared.schemaOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := setup.Install(ctx, es, setup.Config{}); err != nil {
			shared.schemaErr = err.Error()
		}
	})
	if shared.schemaErr != "" {
		tb.Fatalf("estest: install schema: %s", shared.schemaErr)
	}
}

// FreePortPair returns a free port of [from, to) for a throw-away node's
// HTTP, whose transport port (the HTTP port plus 1,000, where
// scripts/elasticsearch starts looking) is free too. It starts at a random
// place, so that test binaries running at once rarely pick the same one.
func FreePortPair(tb testing.TB, from, to int) int {
	tb.Helper()
	r, err := rand.Int(rand.Reader, big.NewInt(int64(to-from)))
	if err != nil {
		tb.Fatalf("estest: random port: %v", err)
	}
	for i := range to - from {
		port := from + (int(r.Int64())+i)%(to-from)
		if portFree(port) && portFree(port+1000) {
			return port
		}
	}
	tb.Fatalf("estest: no free port pair in [%d, %d)", from, to)
	return 0
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	return l.Close() == nil
}
