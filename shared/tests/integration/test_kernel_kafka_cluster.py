"""The cluster profile (deploy/kafka/cluster.sh): three KRaft brokers, replication 3 with 2 in
sync, SASL/SCRAM principals and ACLs. One cluster per module (about 45 s to start here); the
README's "Kafka cluster" commands are the ones run, as written, with this module's ports."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError
from shared_kernel.kafka import TopicSpec, create_producer, ensure_topics, events_topic
from shared_kernel.kafka_connection import KafkaConnection, client_kwargs

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("java") is None, reason="the Kafka cluster needs Java 17+ (not found)"
    ),
    # Starting three JVMs on two cores, then a broker killed and restarted.
    pytest.mark.timeout(600),
]

ROOT = Path(__file__).resolve().parents[3]
README_COMMANDS = [
    "deploy/kafka/cluster.sh start",
    "deploy/kafka/cluster.sh status",
    "deploy/kafka/cluster.sh kill-node 2",
    "deploy/kafka/cluster.sh start-node 2",
    # Not run here (the whole stack on the cluster takes minutes); deploy/run.py's part of it is
    # tests/unit/test_run_kafka_profile.py.
    "KAFKA_PROFILE=cluster make run",
    "deploy/kafka/cluster.sh stop",
]


def readme_cluster_commands() -> list[str]:
    """The commands of the README's "Kafka cluster" block, without their comments."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Kafka cluster\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash\n", 1)[1].split("\n```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]


def free_port_range(count: int) -> int:
    """The first of ``count`` consecutive ports nobody listens on."""
    for _ in range(100):
        first = random.randrange(20000, 30000)
        try:
            for port in range(first, first + count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return first
    raise RuntimeError("no free port range")


@dataclass(frozen=True)
class Cluster:
    env: dict[str, str]
    bootstrap: str
    namespace: str
    passwords: dict[str, str]

    def run(self, command: str) -> str:
        """A README command, run by bash in the repository with this cluster's settings."""
        done = subprocess.run(
            ["bash", "-e", "-c", command],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        return done.stdout + done.stderr

    def principal(self, user: str, password: str | None = None) -> KafkaConnection:
        secret = self.passwords[user] if password is None else password
        return KafkaConnection(self.bootstrap, "SASL_PLAINTEXT", "SCRAM-SHA-512", user, secret)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    assert readme_cluster_commands() == README_COMMANDS, "the README's cluster block changed"
    first = free_port_range(6)
    namespace = f"t{uuid.uuid4().hex[:8]}."
    passwords = {u: f"{u}-{uuid.uuid4().hex}" for u in ("admin", "ledger", "tickets", "data-team")}
    env = {
        **os.environ,
        "KAFKA_CLUSTER_DATA_DIR": str(tmp_path_factory.mktemp("kafka-cluster")),
        "KAFKA_CLUSTER_PORT": str(first),
        "KAFKA_CLUSTER_CONTROLLER_PORT": str(first + 3),
        "TOPIC_NAMESPACE": namespace,
        **{f"KAFKA_{u.upper().replace('-', '_')}_PASSWORD": p for u, p in passwords.items()},
    }
    bootstrap = ",".join(f"127.0.0.1:{first + n}" for n in range(3))
    started = Cluster(env, bootstrap, namespace, passwords)
    started.run(README_COMMANDS[0])
    try:
        yield started
    finally:
        started.run(README_COMMANDS[-1])
    assert "node 1 stopped" in started.run(f"{README_COMMANDS[1]} || true")


def test_the_cluster_runs_three_brokers_and_keeps_passwords_out_of_its_logs(
    cluster: Cluster,
) -> None:
    status = cluster.run(README_COMMANDS[1])
    assert [f"node {n} running" in status for n in (1, 2, 3)] == [True, True, True]
    data = Path(cluster.env["KAFKA_CLUSTER_DATA_DIR"])
    assert oct((data / "credentials.env").stat().st_mode & 0o777) == "0o600"
    logs = "".join(p.read_text(errors="replace") for p in data.glob("node-*/logs/*"))
    assert "Kafka Server started" in logs
    assert not [user for user, secret in cluster.passwords.items() if secret in logs]


async def test_topics_get_three_replicas_two_of_which_must_acknowledge(cluster: Cluster) -> None:
    topic = events_topic("ledger", cluster.namespace)
    ledger = cluster.principal("ledger")
    await ensure_topics(ledger, [TopicSpec(topic, 3)], replication_factor=3, min_insync_replicas=2)
    admin = AIOKafkaAdminClient(**client_kwargs(ledger))
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
        shapes = {(len(p["replicas"]), len(p["isr"])) for p in described["partitions"]}
        configs = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    assert shapes == {(3, 3)}
    entries = {e[0]: e[1] for e in configs[0].resources[0][4]}
    assert entries["min.insync.replicas"] == "2"


async def test_with_one_broker_killed_writes_are_acknowledged_and_read(cluster: Cluster) -> None:
    topic = events_topic("ledger", cluster.namespace)
    ledger = cluster.principal("ledger")
    await ensure_topics(ledger, [TopicSpec(topic, 3)], replication_factor=3, min_insync_replicas=2)
    cluster.run(README_COMMANDS[2])  # kill-node 2
    try:
        run = uuid.uuid4().hex
        producer = create_producer(ledger, client_id="ledger-service")  # acks=all, idempotent
        await producer.start()
        try:
            sent = [f"{run}-{i}".encode() for i in range(200)]
            acks = await asyncio.wait_for(
                asyncio.gather(*[await producer.send(topic, v, key=v) for v in sent]), 120
            )
        finally:
            await producer.stop()
        assert len(acks) == len(sent)
        received = await read_all(ledger, topic, run)
        assert sorted(received) == sorted(sent)
    finally:
        assert "node 2 started" in cluster.run(README_COMMANDS[3])  # start-node 2
    # Back in every in-sync replica set: the next broker may die without a refusal.
    assert await in_sync_replica_counts(ledger, topic, wanted=3, within=90) == {3}


async def in_sync_replica_counts(
    connection: KafkaConnection, topic: str, *, wanted: int, within: float
) -> set[int]:
    """The ISR sizes of the topic's partitions, once all are ``wanted`` or after ``within`` s."""
    admin = AIOKafkaAdminClient(**client_kwargs(connection))
    await admin.start()
    try:
        deadline = asyncio.get_running_loop().time() + within
        while True:
            [described] = await admin.describe_topics([topic])
            counts = {len(p["isr"]) for p in described["partitions"]}
            if counts == {wanted} or asyncio.get_running_loop().time() > deadline:
                return counts
            await asyncio.sleep(1)
    finally:
        await admin.close()


async def read_all(connection: KafkaConnection, topic: str, run: str) -> list[bytes]:
    """Every value of this run on the topic, from the beginning to the end offsets."""
    consumer = AIOKafkaConsumer(**client_kwargs(connection), enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(3)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        values: list[bytes] = []
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                values += [r.value for r in records if r.value and r.value.startswith(run.encode())]
        return values
    finally:
        await consumer.stop()


@pytest.mark.parametrize("foreigner", ["data-team", "tickets"])
async def test_a_foreign_principal_cannot_write_the_ledger_topic(
    cluster: Cluster, foreigner: str
) -> None:
    topic = events_topic("ledger", cluster.namespace)
    await ensure_topics(cluster.principal("ledger"), [TopicSpec(topic, 3)], replication_factor=3)
    # A plain producer: not even the idempotent one's cluster-wide start is needed to be refused.
    producer = AIOKafkaProducer(**client_kwargs(cluster.principal(foreigner)), acks="all")
    await producer.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await asyncio.wait_for(producer.send_and_wait(topic, b"forged"), 60)
    finally:
        await producer.stop()
    # Nor can it make a topic of the ledger's.
    with pytest.raises(TopicAuthorizationFailedError, match=r"ledger\.forged"):
        await ensure_topics(
            cluster.principal(foreigner),
            [TopicSpec(f"{cluster.namespace}ledger.forged", 1)],
            attempts=1,
        )


async def test_the_data_team_reads_what_the_ledger_wrote(cluster: Cluster) -> None:
    topic = events_topic("ledger", cluster.namespace)
    ledger = cluster.principal("ledger")
    await ensure_topics(ledger, [TopicSpec(topic, 3)], replication_factor=3)
    run = uuid.uuid4().hex
    producer = create_producer(ledger, client_id="ledger-service")
    await producer.start()
    try:
        await producer.send_and_wait(topic, f"{run}-posted".encode(), key=b"k")
    finally:
        await producer.stop()
    assert await read_all(cluster.principal("data-team"), topic, run) == [f"{run}-posted".encode()]


@pytest.mark.parametrize("who", ["unauthenticated", "wrong password"])
async def test_a_client_without_valid_credentials_is_refused(cluster: Cluster, who: str) -> None:
    if who == "unauthenticated":
        kwargs = client_kwargs(cluster.bootstrap)  # PLAINTEXT: no SASL handshake at all
    else:
        kwargs = client_kwargs(cluster.principal("ledger", password="guessed"))
    producer = AIOKafkaProducer(**kwargs, request_timeout_ms=10000)
    try:
        with pytest.raises(KafkaConnectionError):
            await asyncio.wait_for(producer.start(), 60)
    finally:
        await producer.stop()
