// Package deploy checks the docker compose deployment (docker-compose.yml,
// .env.example and the Dockerfiles) against the code it deploys: the
// collector configuration otelcol-config.yaml, the commands' documented
// flags and environment, and the Elasticsearch version the tests run. No
// Docker engine runs where the tests run, so the checks are static: they
// parse the files at test time rather than repeat what they say. The tests
// also run scripts/elasticsearch against stand-ins (a foreign node on its
// port, a download cut short), the failures a fresh machine meets first.
package deploy
