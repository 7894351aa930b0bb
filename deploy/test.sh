#!/usr/bin/env bash
# `make test`: start a throw-away PostgreSQL and Kafka on test ports, run the whole suite, stop them.
# Data lives in .data/test and is wiped first, so every run starts clean. Existing servers can be
# used instead by exporting TEST_DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export PYTHON=$PY

started_pg="" started_kafka=""
cleanup() {
  [ -n "$started_kafka" ] && bash deploy/kafka/kafka.sh stop >/dev/null 2>&1 || true
  [ -n "$started_pg" ] && $PY deploy/postgres/pg.py stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

if [ -z "${TEST_DATABASE_URL:-}" ] || [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
  export KAFKA_DATA_DIR=$PWD/.data/test/kafka KAFKA_PORT=${TEST_KAFKA_PORT:-19092}
  export KAFKA_CONTROLLER_PORT=$((KAFKA_PORT + 1))
  export PG_DATA_DIR=$PWD/.data/test/postgres PG_PORT=${TEST_PG_PORT:-55433}
  bash deploy/kafka/kafka.sh stop >/dev/null 2>&1 || true
  $PY deploy/postgres/pg.py stop >/dev/null 2>&1 || true
  rm -rf .data/test
fi
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  $PY deploy/postgres/pg.py start
  started_pg=1
  export TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:${PG_PORT}/postgres"
fi
if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
  bash deploy/kafka/kafka.sh start
  started_kafka=1
  export KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:${KAFKA_PORT}"
fi

set +e
$PY -m pytest -q -p no:randomly "$@"
status=$?
set -e
exit $status
