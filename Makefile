# activitylog — the two commands a new user needs:
#   make demo   run the whole pipeline on this machine and show records landing in Elasticsearch
#   make test   run every test, against a real Elasticsearch node, real PostgreSQL and MariaDB servers and the real
#               collector binary
# Both fetch and start everything they need (see scripts/prereqs, scripts/elasticsearch, scripts/postgres and
# scripts/mariadb).

GO        ?= go
GOFLAGS   ?=
TEST_TIMEOUT ?= 15m
COMMANDS  := bin/activitycol bin/activityctl bin/querysvc bin/loyalty

.PHONY: all build test demo vet bench fuzz es-start es-stop pg-start pg-stop my-start my-stop clean prereqs FORCE

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

# Starts (or reuses) the Elasticsearch node and the PostgreSQL and MariaDB servers, then runs vet and every test
# with them and the built collector. Each URL or DSN is the last line its script prints; each script's exit status
# is checked on its own (sh has no pipefail, and a pipe into tail would hide a failed start).
test: build
	@set -e; es_out=$$(scripts/elasticsearch start) || { echo "make test: Elasticsearch did not start" >&2; exit 1; }; \
	es_url=$$(printf '%s\n' "$$es_out" | tail -n 1); \
	echo "make test: Elasticsearch at $$es_url"; \
	pg_out=$$(scripts/postgres start) || { echo "make test: PostgreSQL did not start (see the lines above)" >&2; exit 1; }; \
	pg_url=$$(printf '%s\n' "$$pg_out" | tail -n 1); \
	echo "make test: PostgreSQL at $$pg_url"; \
	my_out=$$(scripts/mariadb start) || { echo "make test: MariaDB did not start (see the lines above)" >&2; exit 1; }; \
	my_dsn=$$(printf '%s\n' "$$my_out" | tail -n 1); \
	echo "make test: MariaDB at $$my_dsn"; \
	$(GO) vet ./...; \
	ES_URL=$$es_url PG_URL=$$pg_url MYSQL_DSN=$$my_dsn ACTIVITYCOL_BIN=$(CURDIR)/bin/activitycol \
		$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

# The main job: Elasticsearch, schema, collector, query service and the example service with demo traffic.
demo: build
	@scripts/demo

# Benchmarks that compare against their baselines in the same run (see README "Performance").
bench: build
	@set -e; es_out=$$(scripts/elasticsearch start) || { echo "make bench: Elasticsearch did not start" >&2; exit 1; }; \
	es_url=$$(printf '%s\n' "$$es_out" | tail -n 1); \
	pg_out=$$(scripts/postgres start) || { echo "make bench: PostgreSQL did not start (see the lines above)" >&2; exit 1; }; \
	pg_url=$$(printf '%s\n' "$$pg_out" | tail -n 1); \
	my_out=$$(scripts/mariadb start) || { echo "make bench: MariaDB did not start (see the lines above)" >&2; exit 1; }; \
	my_dsn=$$(printf '%s\n' "$$my_out" | tail -n 1); \
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
