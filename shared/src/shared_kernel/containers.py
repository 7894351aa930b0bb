"""PostgreSQL and Kafka for the tests as testcontainers, where a Docker engine answers.

Chosen by :mod:`shared_kernel.test_servers`; never run on the project's own machines (no Docker
engine, no image registry there), so this path is kept thin and its settings mirror the
embedded servers' (deploy/postgres/pg.py, deploy/kafka/kafka.sh). testcontainers is imported
inside :func:`start_containers`, so importing this module needs no Docker.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from shared_kernel.test_servers import Images, Server

if TYPE_CHECKING:
    from testcontainers.community.kafka import KafkaContainer

KAFKA_START_TIMEOUT_S = 120
# Single-broker settings as deploy/kafka/kafka.sh writes them (as the apache/kafka image's
# KAFKA_* variables).
KAFKA_SETTINGS = {
    "KAFKA_NUM_PARTITIONS": "6",
    "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
    "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
    "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
    "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
    "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": "1",
    "KAFKA_LOG_RETENTION_MS": "-1",
    "KAFKA_LOG_RETENTION_BYTES": "-1",
    "KAFKA_HEAP_OPTS": "-Xmx512m -Xms128m",
}
POSTGRES_COMMAND = "postgres -c max_connections=300 -c timezone=UTC -c log_timezone=UTC"


@contextlib.contextmanager
def start_containers(images: Images, servers: tuple[Server, ...]) -> Iterator[dict[Server, str]]:
    """Start the given servers, yield their addresses, stop them when the block ends."""
    from testcontainers.community.postgres import PostgresContainer

    with contextlib.ExitStack() as stack:
        started: dict[Server, str] = {}
        if Server.POSTGRES in servers:
            postgres = PostgresContainer(
                images.postgres,
                username="postgres",
                password="postgres",  # a throw-away server on a random local port
                dbname="postgres",
                driver=None,
            ).with_command(POSTGRES_COMMAND)
            stack.enter_context(postgres)
            started[Server.POSTGRES] = postgres.get_connection_url()
        if Server.KAFKA in servers:
            kafka = _apache_kafka(images.kafka)
            kafka.start(timeout=KAFKA_START_TIMEOUT_S)
            stack.callback(kafka.stop)
            started[Server.KAFKA] = kafka.get_bootstrap_server()
        yield started


def _apache_kafka(image: str) -> KafkaContainer:
    """testcontainers' KafkaContainer in KRaft mode, started the apache/kafka image's way.

    Its start script runs the Confluent image's scripts and its KRaft check compares the tag
    with Confluent's version numbers; the apache/kafka image (the compose file's) is KRaft only
    and starts with /etc/kafka/docker/run, as testcontainers-java's KafkaContainer starts it.
    """
    from testcontainers.community.kafka import KafkaContainer

    class ApacheKafkaContainer(KafkaContainer):
        def _verify_min_kraft_version(self) -> None:
            """Every apache/kafka image runs KRaft."""

        def tc_start(self) -> None:
            host = self.get_container_host_ip()
            port = self.get_exposed_port(self.port)
            script = (
                "#!/bin/bash\n"
                f"export KAFKA_ADVERTISED_LISTENERS={self.listener_name}://{host}:{port},"
                "BROKER://$(hostname -i | cut -d' ' -f1):9092\n"
                "exec /etc/kafka/docker/run\n"
            )
            self.create_file(script.encode(), KafkaContainer.TC_START_SCRIPT)

    container = ApacheKafkaContainer(image).with_kraft()
    for name, value in KAFKA_SETTINGS.items():
        container.with_env(name, value)
    return container
