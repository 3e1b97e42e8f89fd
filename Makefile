# activitylog — the two commands a new user needs:
#   make demo   run the whole pipeline on this machine and show records landing in Elasticsearch
#   make test   run every test, against a real Elasticsearch node, real PostgreSQL and MariaDB servers and the real
#               collector binary
# Both fetch and start everything they need (see scripts/prereqs, scripts/elasticsearch, scripts/postgres and
# scripts/mariadb).

GO        ?= go
GOFLAGS   ?=
TEST_TIMEOUT ?= 15m
RACE_TIMEOUT ?= 40m
COMMANDS  := bin/activitycol bin/activityctl bin/querysvc bin/loyalty

.PHONY: all build test race demo vet bench fuzz es-start es-stop pg-start pg-stop my-start my-stop clean prereqs FORCE

all: build

prereqs:
	@scripts/prereqs

build: prereqs $(COMMANDS)

# Go's build cache makes these cheap to re-run; FORCE lets Go decide what is stale.
bin/activitycol: FORCE
	$(GO) build $(GOFLAGS) -o $@ ./collector
bin/activityctl: FORCE
	$(GO) build $(GOFLAGS) -o $@ ./cmd/activityctl
bin/querysvc: FORCE
	$(GO) build $(GOFLAGS) -o $@ ./cmd/querysvc
bin/loyalty: FORCE
	$(GO) build $(GOFLAGS) -o $@ ./examples/loyalty
FORCE:

vet:
	$(GO) vet ./...

# start_servers starts (or reuses) the Elasticsearch node and the PostgreSQL and MariaDB servers for the target named
# by its argument, and sets the recipe's shell variables es_url, pg_url and my_dsn. Each URL or DSN is the last line
# its script prints; each script's exit status is checked on its own (sh has no pipefail, and a pipe into tail would
# hide a failed start).
define start_servers
es_out=$$(scripts/elasticsearch start) || { echo "make $(1): Elasticsearch did not start" >&2; exit 1; }; \
	es_url=$$(printf '%s\n' "$$es_out" | tail -n 1); \
	echo "make $(1): Elasticsearch at $$es_url"; \
	pg_out=$$(scripts/postgres start) || { echo "make $(1): PostgreSQL did not start (see the lines above)" >&2; exit 1; }; \
	pg_url=$$(printf '%s\n' "$$pg_out" | tail -n 1); \
	echo "make $(1): PostgreSQL at $$pg_url"; \
	my_out=$$(scripts/mariadb start) || { echo "make $(1): MariaDB did not start (see the lines above)" >&2; exit 1; }; \
	my_dsn=$$(printf '%s\n' "$$my_out" | tail -n 1); \
	echo "make $(1): MariaDB at $$my_dsn"
endef

# Starts (or reuses) the servers, then runs vet and every test with them and the built collector.
test: build
	@set -e; $(call start_servers,test); \
	$(GO) vet ./...; \
	ES_URL=$$es_url PG_URL=$$pg_url MYSQL_DSN=$$my_dsn ACTIVITYCOL_BIN=$(CURDIR)/bin/activitycol \
		$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

# Every test under the race detector, the collector the tests start built with it too (bin/activitycol-race):
# collectortest fails a test whose collector reported a data race.
race: build
	@set -e; $(call start_servers,race); \
	$(GO) build $(GOFLAGS) -race -o bin/activitycol-race ./collector; \
	ES_URL=$$es_url PG_URL=$$pg_url MYSQL_DSN=$$my_dsn ACTIVITYCOL_BIN=$(CURDIR)/bin/activitycol-race \
		$(GO) test -race -count=1 -timeout $(RACE_TIMEOUT) ./...

# The main job: Elasticsearch, schema, collector, query service and the example service with demo traffic.
demo: build
	@scripts/demo

# Benchmarks that compare against their baselines in the same run (see README "Performance").
bench: build
	@set -e; $(call start_servers,bench); \
	ES_URL=$$es_url PG_URL=$$pg_url MYSQL_DSN=$$my_dsn $(GO) test -run '^$$' -bench . -benchmem ./instrumentation/... ./querysvc/store/... && \
	$(GO) test -run '^$$' -bench . -benchmem -cpu 1 ./processor/... && \
	$(GO) test -run '^$$' -bench BenchmarkEncode -benchmem ./querysvc/httpapi

# Every fuzz target for FUZZ_EXECS executions each (default 100000; see scripts/fuzz).
fuzz:
	@scripts/fuzz

es-start:
	@scripts/elasticsearch start
es-stop:
	@scripts/elasticsearch stop
pg-start:
	@scripts/postgres start
pg-stop:
	@scripts/postgres stop
my-start:
	@scripts/mariadb start
my-stop:
	@scripts/mariadb stop

clean:
	rm -rf bin
