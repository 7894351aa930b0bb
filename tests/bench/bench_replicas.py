"""Journal entries through the gateway with 1, 2 and 4 ledger replicas on a three-broker Kafka
cluster (issue 16).

A cluster of its own (deploy/kafka/cluster.sh: three KRaft nodes, replication 3, two in sync,
SASL/SCRAM) on bench ports, started once and stopped at the end. For each replica count a fresh
ledger database and topic namespace, that many ledger processes (uvicorn, one worker each, every
one with its relay standby or leader, projections and sweeper, as ``LEDGER_REPLICAS`` runs them),
and one gateway spreading over them. 32 clients post balanced entries through the gateway.

On a machine with two cores, more processes cannot add CPU: the figures show what coordination
costs (more consumers in each group, a relay leader and standbys, more connections), not a gain.
The services log in to Kafka as the cluster's admin principal: the ACLs name fixed topic
prefixes, and every run here needs a fresh namespace (the authentication is the same).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from tempfile import TemporaryDirectory

from bench_common import PY, ROOT, Report, Result, create_database, namespace
from bench_http import (
    DURATION,
    Load,
    Service,
    Skip,
    command,
    cpu_seconds,
    load,
    log_in,
    open_accounts,
    start_service,
    stop,
)
from shared_kernel.identity import ensure_keypair

sys.path.insert(0, str(ROOT / "deploy"))
import kafka_profile  # deploy/kafka_profile.py: the cluster's credentials

REPLICAS = (1, 2, 4)
# Seconds of load per replica count (and a fifth of it to warm up): the README's test runs it
# shorter, to see that it works, not to measure.
SECONDS = float(os.environ.get("BENCH_REPLICAS_SECONDS", DURATION))
CLUSTER_PORT = int(os.environ.get("BENCH_KAFKA_CLUSTER_PORT", "29192"))
CONTROLLER_PORT = CLUSTER_PORT + 100
CLUSTER_DIR = ROOT / ".data" / "bench" / "kafka-cluster"


def cluster_env() -> dict[str, str]:
    return {
        **os.environ,
        "KAFKA_CLUSTER_DATA_DIR": str(CLUSTER_DIR),
        "KAFKA_CLUSTER_PORT": str(CLUSTER_PORT),
        "KAFKA_CLUSTER_CONTROLLER_PORT": str(CONTROLLER_PORT),
        "TOPIC_NAMESPACE": "",
    }


@contextlib.asynccontextmanager
async def cluster() -> AsyncIterator[dict[str, str]]:
    """A fresh three-node cluster; yields the Kafka settings of a client on it (admin)."""
    env = cluster_env()
    script = ["bash", "deploy/kafka/cluster.sh"]
    await command([*script, "stop"], env, "cluster.sh stop")
    await asyncio.to_thread(shutil.rmtree, CLUSTER_DIR, ignore_errors=True)
    await command([*script, "start"], env, "cluster.sh start")
    try:
        secrets = kafka_profile.credentials(CLUSTER_DIR)
        yield {
            "KAFKA_BOOTSTRAP_SERVERS": ",".join(
                f"127.0.0.1:{CLUSTER_PORT + node}" for node in range(3)
            ),
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "KAFKA_SASL_USERNAME": "admin",
            "KAFKA_SASL_PASSWORD": secrets["KAFKA_ADMIN_PASSWORD"],
            "KAFKA_REPLICATION_FACTOR": "3",
            "KAFKA_MIN_INSYNC_REPLICAS": "2",
        }
    finally:
        await command([*script, "stop"], env, "cluster.sh stop")


@contextlib.asynccontextmanager
async def office(
    replicas: int, kafka: dict[str, str], logs: Path
) -> AsyncIterator[tuple[Service, list[Service]]]:
    """``replicas`` ledger processes on one fresh database and a gateway over all of them."""
    private, public = ensure_keypair(logs / "keys")
    common = {
        **os.environ,
        **kafka,
        "ENVIRONMENT": "development",
        "TOPIC_NAMESPACE": namespace(),
        "IDENTITY_PUBLIC_KEY_FILE": str(public),
        "IDENTITY_PRIVATE_KEY_FILE": str(private),
        "LOG_LEVEL": "WARNING",
    }
    ledger_env = {**common, "LEDGER_DATABASE_URL": await create_database("ledger", migrate=False)}
    await command([PY, "-m", "ledger", "migrate"], ledger_env, "python -m ledger migrate")
    ledgers: list[Service] = []
    gateway: Service | None = None
    try:
        for replica in range(1, replicas + 1):
            directory = logs / f"ledger-{replica}"
            directory.mkdir()
            ledgers.append(await start_service("ledger", ledger_env, directory))
        gateway_env = {
            **common,
            "GATEWAY_DATABASE_URL": await create_database("gateway", migrate=False),
            "GATEWAY_SERVICES": json.dumps({"ledger": [s.url for s in ledgers]}),
            # All clients are one operator: measure throughput, not the per-identity limit.
            "RATE_LIMIT_PER_SECOND": "1000000",
            "RATE_LIMIT_BURST": "1000000",
        }
        await command([PY, "-m", "gateway", "migrate"], gateway_env, "python -m gateway migrate")
        await command([PY, "-m", "gateway", "seed-demo"], gateway_env, "gateway seed-demo")
        gateway = await start_service("gateway", gateway_env, logs)
        yield gateway, ledgers
    finally:
        if gateway is not None:
            await stop(gateway)
        for ledger in reversed(ledgers):
            await stop(ledger)


def cpu_of(services: Sequence[Service]) -> list[float]:
    return [cpu_seconds(service) or 0.0 for service in services]


async def measure(replicas: int, kafka: dict[str, str]) -> tuple[Load, list[float], float]:
    """One replica count: the load through the gateway, each ledger replica's CPU seconds over
    the measured run, and the gateway's."""
    with TemporaryDirectory(prefix=f"bench-replicas-{replicas}-") as tmp:
        async with office(replicas, kafka, Path(tmp)) as (gateway, ledgers):
            bearer = await log_in(gateway)
            accounts = await open_accounts(gateway, ledgers[0], bearer)
            path = "/ledger/v1/journal-entries"
            await load(gateway.url, path, lambda: bearer, accounts, SECONDS / 5)
            before, gateway_before = cpu_of(ledgers), cpu_of([gateway])[0]
            through = await load(gateway.url, path, lambda: bearer, accounts, SECONDS)
            after, gateway_after = cpu_of(ledgers), cpu_of([gateway])[0]
    spent = [a - b for a, b in zip(after, before, strict=True)]
    return through, spent, gateway_after - gateway_before


async def run(report: Report) -> None:
    try:
        async with cluster() as kafka:
            rates: dict[int, float] = {}
            for replicas in REPLICAS:
                through, spent, gateway_cpu = await measure(replicas, kafka)
                rates[replicas] = through.rate
                entries = len(through.latencies) or 1
                shares = " / ".join(f"{s:.1f}" for s in spent)
                report.add(
                    Result(
                        name=f"journal entries via gateway, {replicas} ledger replica(s)",
                        value=through.rate,
                        unit="entries/s",
                        detail=through.detail(),
                        baseline_name="1 replica",
                        baseline_value=rates[1],
                        notes=[
                            f"CPU seconds per ledger replica over {SECONDS:.0f}s: {shares} "
                            f"({sum(spent) / entries * 1000:.1f} ms per entry in all ledgers, "
                            f"gateway {gateway_cpu / entries * 1000:.1f} ms)",
                            *filter(None, [through.failure_note(f"{replicas} replicas")]),
                        ],
                    )
                )
    except Skip as exc:
        report.say(f"replicas benchmark skipped: {exc}")
    report.note(
        "three-broker cluster (RF 3, ISR 2, SASL/SCRAM) of its own; 32 clients through one "
        "gateway; on 2 cores more replicas measure the cost of coordination, not a gain"
    )
