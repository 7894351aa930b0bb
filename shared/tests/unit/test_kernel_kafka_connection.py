"""How a service's Kafka clients authenticate: PLAINTEXT leaves aiokafka as it was, SASL gives
every client the service's own principal, and settings that cannot work are refused at start."""

from __future__ import annotations

from typing import ClassVar

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import ValidationError
from shared_kernel.kafka import create_producer
from shared_kernel.kafka_connection import KafkaConnection, client_kwargs
from shared_kernel.settings import ServiceSettings

pytestmark = pytest.mark.unit

KAFKA_VARIABLES = (
    "KAFKA_BOOTSTRAP_SERVERS",
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
    "KAFKA_REPLICATION_FACTOR",
    "KAFKA_MIN_INSYNC_REPLICAS",
)


class LedgerSettings(ServiceSettings):
    service: ClassVar[str] = "ledger"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in KAFKA_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_plaintext_passes_only_the_brokers_as_before() -> None:
    assert client_kwargs("b1:9092,b2:9092") == {"bootstrap_servers": "b1:9092,b2:9092"}
    assert client_kwargs(KafkaConnection("b1:9092")) == {"bootstrap_servers": "b1:9092"}


def test_default_settings_connect_without_credentials_to_one_replica() -> None:
    settings = LedgerSettings()
    assert client_kwargs(settings.kafka_connection()) == {"bootstrap_servers": "127.0.0.1:9092"}
    assert (settings.kafka_replication_factor, settings.kafka_min_insync_replicas) == (1, 1)


async def test_sasl_settings_give_every_client_the_service_principal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9192,127.0.0.1:9193")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "ledger")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "s3cret")
    kwargs = client_kwargs(LedgerSettings().kafka_connection())
    assert kwargs == {
        "bootstrap_servers": "127.0.0.1:9192,127.0.0.1:9193",
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "ledger",
        "sasl_plain_password": "s3cret",
    }
    # aiokafka takes them as they are (an unknown or missing one raises when the client is
    # built), for a consumer as for the producer.
    consumer = AIOKafkaConsumer(**kwargs)
    assert consumer._client._sasl_plain_username == "ledger"
    producer = create_producer(LedgerSettings().kafka_connection(), client_id="ledger-service")
    assert isinstance(producer, AIOKafkaProducer)
    assert producer.client._sasl_plain_username == "ledger"


def test_sasl_ssl_adds_a_tls_context() -> None:
    connection = KafkaConnection("b:9093", "SASL_SSL", "SCRAM-SHA-256", "risk", "pw")
    kwargs = client_kwargs(connection)
    assert kwargs["security_protocol"] == "SASL_SSL"
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-256"
    assert kwargs["ssl_context"] is not None


def test_the_password_stays_out_of_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "ledger")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "s3cret")
    settings = LedgerSettings()
    assert "s3cret" not in repr(settings)
    assert "s3cret" not in repr(settings.kafka_connection())


def test_sasl_without_credentials_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "ledger")
    with pytest.raises(ValidationError, match="KAFKA_SASL_PASSWORD"):
        LedgerSettings()


def test_an_unknown_protocol_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SSL_ONLY")
    with pytest.raises(ValidationError, match="kafka_security_protocol"):
        LedgerSettings()


def test_more_in_sync_replicas_than_replicas_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("KAFKA_MIN_INSYNC_REPLICAS", "2")
    assert LedgerSettings().kafka_min_insync_replicas == 2
    monkeypatch.setenv("KAFKA_MIN_INSYNC_REPLICAS", "4")
    with pytest.raises(ValidationError, match="KAFKA_MIN_INSYNC_REPLICAS"):
        LedgerSettings()
