# Sourced by deploy/test.sh and deploy/bench.sh: a throw-away PostgreSQL and Kafka of their own.
#
#   start_scratch_infra NAME PG_PORT KAFKA_PORT URL_VARIABLE
#
# Unless URL_VARIABLE (the PostgreSQL server URL the suite reads) and KAFKA_BOOTSTRAP_SERVERS are
# both exported already, wipes .data/NAME and starts fresh servers there; exports both variables;
# stops on exit what it started. Expects PY (the project's python) and the repository as cwd.

scratch_started_pg="" scratch_started_kafka=""

stop_scratch_infra() {
  [ -n "$scratch_started_kafka" ] && bash deploy/kafka/kafka.sh stop >/dev/null 2>&1 || true
  [ -n "$scratch_started_pg" ] && $PY deploy/postgres/pg.py stop >/dev/null 2>&1 || true
}

start_scratch_infra() {
  local name=$1 pg_port=$2 kafka_port=$3 url_var=$4
  export PYTHON=$PY
  trap stop_scratch_infra EXIT
  if [ -z "${!url_var:-}" ] || [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
    export KAFKA_DATA_DIR=$PWD/.data/$name/kafka KAFKA_PORT=$kafka_port
    export KAFKA_CONTROLLER_PORT=$((kafka_port + 1))
    export PG_DATA_DIR=$PWD/.data/$name/postgres PG_PORT=$pg_port
    bash deploy/kafka/kafka.sh stop >/dev/null 2>&1 || true
    $PY deploy/postgres/pg.py stop >/dev/null 2>&1 || true
    rm -rf ".data/$name"
  fi
  if [ -z "${!url_var:-}" ]; then
    $PY deploy/postgres/pg.py start
    scratch_started_pg=1
    export "$url_var=postgresql://postgres@127.0.0.1:${PG_PORT}/postgres"
  fi
  if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
    bash deploy/kafka/kafka.sh start
    scratch_started_kafka=1
    export KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:${KAFKA_PORT}"
  fi
}
