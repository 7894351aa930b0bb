#!/usr/bin/env bash
# `make bench`: start a throw-away PostgreSQL and Kafka on bench ports, run every benchmark
# (tests/bench/run.py; each figure is printed beside its baseline measured in the same run),
# stop them. Data lives in .data/bench and is wiped first, so every run starts clean. Existing
# servers can be used instead by exporting BENCH_DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS.
# Arguments go to run.py: `bash deploy/bench.sh relay rebuild --profile`.
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

if [ -z "${BENCH_DATABASE_URL:-}" ] || [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
  export KAFKA_DATA_DIR=$PWD/.data/bench/kafka KAFKA_PORT=29092 KAFKA_CONTROLLER_PORT=29093
  export PG_DATA_DIR=$PWD/.data/bench/postgres PG_PORT=55434
  bash deploy/kafka/kafka.sh stop >/dev/null 2>&1 || true
  $PY deploy/postgres/pg.py stop >/dev/null 2>&1 || true
  rm -rf .data/bench
fi
if [ -z "${BENCH_DATABASE_URL:-}" ]; then
  $PY deploy/postgres/pg.py start
  started_pg=1
  export BENCH_DATABASE_URL="postgresql://postgres@127.0.0.1:${PG_PORT}/postgres"
fi
if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
  bash deploy/kafka/kafka.sh start
  started_kafka=1
  export KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:${KAFKA_PORT}"
fi

set +e
$PY tests/bench/run.py "$@"
status=$?
set -e
exit $status
