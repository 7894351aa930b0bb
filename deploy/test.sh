#!/usr/bin/env bash
# `make test`: start a throw-away PostgreSQL and Kafka on test ports, run the whole suite, stop them.
# Data lives in .data/test and is wiped first, so every run starts clean. Existing servers can be
# used instead by exporting TEST_DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS; TEST_PG_PORT and
# TEST_KAFKA_PORT choose the ports of the servers started here.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
source deploy/scratch-infra.sh
start_scratch_infra test "${TEST_PG_PORT:-55433}" "${TEST_KAFKA_PORT:-19092}" TEST_DATABASE_URL

set +e
$PY -m pytest -q -p no:randomly "$@"
status=$?
set -e
exit $status
