# The back office: `make run` to try it, `make test` to prove it.
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PY := .venv/bin/python

.PHONY: help install run test test-unit lint bench faults infra-up infra-down rebuild contracts

help:
	@echo "make run        start Kafka, PostgreSQL, every service and the gateway (Ctrl-C stops)"
	@echo "make test       the whole suite against real Kafka and PostgreSQL it starts itself"
	@echo "make test-unit  unit tests only (no infrastructure)"
	@echo "make lint       ruff and mypy"
	@echo "make bench      benchmarks, each beside its same-run baseline, then the issue-14 table"
	@echo "make infra-up / infra-down   start or stop Kafka and PostgreSQL alone"
	@echo "KAFKA_PROFILE=cluster make run   the same on a 3-broker Kafka cluster with SASL and ACLs"
	@echo "make faults     the fault campaign (issue 16) on a 3-broker cluster: faults under load, one table"
	@echo "LEDGER_REPLICAS=2 GATEWAY_REPLICAS=2 make run   two ledger processes behind two gateways"
	@echo "make rebuild    rebuild every service's read models from Kafka (services running)"
	@echo "make contracts  (re)write the event schemas (services/*/contracts/) from the event classes"

install:
	@command -v java >/dev/null || { echo "Java 17+ is required (apt-get install openjdk-17-jre-headless)"; exit 1; }
	@command -v mvn >/dev/null || { echo "Maven is required (apt-get install maven)"; exit 1; }
	@test -x "$(UV)" || python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv
	@$(UV) sync --frozen --quiet
	@bash deploy/kafka/kafka.sh install

run: install
	@$(PY) deploy/run.py

test: install
	@bash deploy/test.sh

test-unit: install
	@$(PY) -m pytest -q -m unit -p no:randomly

lint: install
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .
	@$(PY) -m mypy shared/src services/ledger/src services/gateway/src services/tickets/src services/risk/src services/console/src
	@$(PY) -m mypy shared/tests services/ledger/tests services/gateway/tests services/tickets/tests services/risk/tests services/console/tests tests
	@$(PY) -m mypy deploy examples

bench: install
	@bash deploy/bench.sh

# Starts its own stack (a 3-broker cluster, free ports, data in .data/faults); FAULT_SCALE
# scales the long waits. No `install`: it must not re-sync a virtualenv it shares (as contracts).
faults:
	@test -x $(PY) || $(UV) sync --frozen --quiet
	@$(PY) -m tests.faults.campaign

infra-up: install
	@$(PY) deploy/run.py --infra-only

infra-down:
	@if [ "$(KAFKA_PROFILE)" = cluster ]; then bash deploy/kafka/cluster.sh stop; else bash deploy/kafka/kafka.sh stop; fi || true
	@PYTHON=$(PY) $(PY) deploy/postgres/pg.py stop || true

contracts:
	@test -x $(PY) || $(UV) sync --frozen --quiet
	@$(PY) -m shared_kernel.contracts write

rebuild:
	@for service in ledger tickets risk gateway; do $(PY) -m $$service rebuild || exit 1; done
