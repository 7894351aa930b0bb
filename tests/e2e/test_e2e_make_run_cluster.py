"""`KAFKA_PROFILE=cluster make run`, as the README's "Kafka cluster" section says: the whole back
office on three Kafka brokers with SASL/SCRAM and ACLs, each service its own principal."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from tests.e2e.make_run_stack import ROOT, MakeRunStack, free_ports, make_run_stack

# Three brokers, PostgreSQL, migrations and the demo month on two cores: minutes to start.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def readme_command() -> str:
    """The line of the README's "Kafka cluster" block that starts make run on the cluster."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Kafka cluster\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash\n", 1)[1].split("\n```", 1)[0]
    [line] = [line for line in block.splitlines() if "make run" in line]
    return line.split("#", 1)[0].strip()


@pytest.fixture(scope="module")
def stack() -> Iterator[MakeRunStack]:
    command = readme_command()
    assert command == "KAFKA_PROFILE=cluster make run", command
    name, value = command.split()[0].split("=")
    data_dir = Path(tempfile.mkdtemp(prefix="backoffice-make-run-cluster-"))
    extra = {
        name: value,  # what the README sets before `make run`; the ports are this stack's own
        "KAFKA_CLUSTER_PORT": str(free_ports(3)),
        "KAFKA_CLUSTER_CONTROLLER_PORT": str(free_ports(3)),
    }
    try:
        with make_run_stack(data_dir, extra) as running:
            yield running
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def test_make_run_on_the_cluster_serves_the_office_through_its_own_principals(
    stack: MakeRunStack,
) -> None:
    gateway = f"http://127.0.0.1:{stack.port('gateway')}"
    with httpx.Client(base_url=gateway, timeout=30) as http:
        ready = http.get("/health/ready")
        assert ready.status_code == 200, ready.text
        # The demo month went in through the gateway and out through each relay: nothing is
        # left unpublished, and the ledger's read model has applied all of it.
        ledger = f"http://127.0.0.1:{stack.port('ledger')}"
        metrics = httpx.get(f"{ledger}/metrics", timeout=30).text
    relay_lag = re.search(
        r'^backoffice_relay_lag_positions\{service="ledger"\} (\S+)$', metrics, re.M
    )
    assert relay_lag and float(relay_lag.group(1)) == 0.0, metrics[-2000:]

    status = subprocess.run(
        ["bash", "deploy/kafka/cluster.sh", "status"],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.count(" running ") == 3, status.stdout


async def test_the_cluster_lets_no_one_in_without_a_login(stack: MakeRunStack) -> None:
    """The services above worked, so they logged in: a client without credentials cannot."""
    bootstrap = f"127.0.0.1:{stack.env['KAFKA_CLUSTER_PORT']}"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    try:
        with pytest.raises(KafkaConnectionError):
            await asyncio.wait_for(producer.start(), 60)
    finally:
        await producer.stop()
