#!/usr/bin/env bash
# `make bench`: start a throw-away PostgreSQL and Kafka on bench ports, run the benchmarks (all but
# the long ones unless --all)
# (tests/bench/run.py; each figure is printed beside its baseline measured in the same run, then
# a table of every figure with its goal, the load average and the commit),
# stop them. Data lives in .data/bench and is wiped first, so every run starts clean. Existing
# servers can be used instead by exporting BENCH_DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS.
# Arguments go to run.py: `bash deploy/bench.sh relay rebuild --profile`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
source deploy/scratch-infra.sh
start_scratch_infra bench 55434 29092 BENCH_DATABASE_URL

set +e
$PY tests/bench/run.py "$@"
status=$?
set -e
exit $status
