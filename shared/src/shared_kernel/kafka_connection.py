"""How every Kafka client of the kernel reaches the brokers: the bootstrap servers and, when the
cluster asks for it, SASL authentication (``deploy/kafka/cluster.sh`` runs SCRAM-SHA-512 with
ACLs). The one place that turns settings into aiokafka's keyword arguments, so a producer, a
consumer and an admin client of one service always present the same principal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from aiokafka.helpers import create_ssl_context

SecurityProtocol = Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


@dataclass(frozen=True)
class KafkaConnection:
    """The brokers and the credentials of one principal. ``PLAINTEXT`` (the default) sends no
    credentials; the SASL protocols need a user name and a password."""

    bootstrap_servers: str
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    sasl_username: str = ""
    # Kept out of repr: a connection may end up in a log line or a traceback.
    sasl_password: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        credentials = self.sasl_username and self.sasl_password
        if self.security_protocol != "PLAINTEXT" and not credentials:
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs "
                "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )


# A plain string is a PLAINTEXT connection: tests and tools that name brokers keep working.
KafkaTarget = str | KafkaConnection


def client_kwargs(target: KafkaTarget) -> dict[str, Any]:
    """Keyword arguments for ``AIOKafkaProducer``, ``AIOKafkaConsumer`` and
    ``AIOKafkaAdminClient``. For PLAINTEXT only ``bootstrap_servers``, so aiokafka's own
    defaults apply exactly as before this module existed."""
    connection = KafkaConnection(target) if isinstance(target, str) else target
    kwargs: dict[str, Any] = {"bootstrap_servers": connection.bootstrap_servers}
    if connection.security_protocol == "PLAINTEXT":
        return kwargs
    kwargs.update(
        security_protocol=connection.security_protocol,
        sasl_mechanism=connection.sasl_mechanism,
        # aiokafka names them "plain" but uses them for SCRAM too.
        sasl_plain_username=connection.sasl_username,
        sasl_plain_password=connection.sasl_password,
    )
    if connection.security_protocol == "SASL_SSL":
        # The system's trusted CAs; a private CA goes into the system store (or SSL_CERT_FILE).
        kwargs["ssl_context"] = create_ssl_context()
    return kwargs


def bootstrap_of(target: KafkaTarget) -> str:
    """The bootstrap servers of a target (for log lines: never the credentials)."""
    return target if isinstance(target, str) else target.bootstrap_servers
