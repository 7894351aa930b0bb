"""One typed settings base for every service, read from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from sqlalchemy.engine import make_url

from shared_kernel.envelope import DEFAULT_SCHEMA_BASE_URL
from shared_kernel.kafka_connection import KafkaConnection, SaslMechanism, SecurityProtocol

# The PostgreSQL server ``make run`` starts when ``DATABASE_URL`` is not given.
DEFAULT_DATABASE_SERVER = "postgresql://postgres@127.0.0.1:55432/postgres"


def service_database_url(service: str, environ: Mapping[str, str]) -> str:
    """The database a service uses: ``<SERVICE>_DATABASE_URL`` when set, else the database named
    after the service on the server of ``DATABASE_URL`` (``make run``'s local server by default).

    The one answer to "which database does service X use", for the service, its command line
    (``python -m <service> migrate | rebuild | verify``) and ``make run`` alike."""
    own = environ.get(f"{service.upper()}_DATABASE_URL")
    if own:
        return own
    server = make_url(environ.get("DATABASE_URL") or DEFAULT_DATABASE_SERVER)
    return server.set(database=service).render_as_string(hide_password=False)


class ServiceDatabaseSource(PydanticBaseSettingsSource):
    """Settings source for ``database_url``: see ``service_database_url``. Ranks below values
    passed to the constructor and above the plain ``DATABASE_URL`` environment variable."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything is answered in __call__

    def __call__(self) -> dict[str, Any]:
        service: str = getattr(self.settings_cls, "service", "")
        if not service:
            return {}
        return {"database_url": service_database_url(service, os.environ)}


class ServiceSettings(BaseSettings):
    """Common settings. ``DATABASE_URL`` names a PostgreSQL server, on which each service uses
    the database named after it; ``<SERVICE>_DATABASE_URL`` names a service's database anywhere.
    ``KAFKA_BOOTSTRAP_SERVERS`` points at any broker."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    # The service these settings belong to, which names its database (see above).
    service: ClassVar[str] = ""

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = DEFAULT_DATABASE_SERVER
    # Connections the process opens to its database (a quarter as many more at a peak), each
    # kept once opened: see ``shared_kernel.db``.
    database_pool_size: int = Field(default=32, ge=1, le=200)
    # Concurrent commands commit their appends together, in one transaction
    # (``shared_kernel.group_commit``); false: each command in a transaction of its own.
    group_commit: bool = True
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Authentication (``kafka_connection``): PLAINTEXT sends none, as a local broker expects;
    # the cluster profile (deploy/kafka/cluster.sh) gives each service its own SCRAM principal.
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr = SecretStr("")
    # Copies of each partition of the topics a service creates, and how many must hold an
    # acknowledged write: 1/1 for one broker, 3/2 for the cluster profile.
    kafka_replication_factor: int = Field(default=1, ge=1)
    kafka_min_insync_replicas: int = Field(default=1, ge=1)
    topic_partitions: int = 6
    # Prefix of every topic and consumer group, so that test runs or tenants never collide.
    topic_namespace: str = ""
    # The gateway's public key (PEM file) that signs forwarded identities.
    identity_public_key_file: Path = Path(".data/keys/identity_ed25519.pub.pem")
    run_relay: bool = True
    run_projections: bool = True
    # Inboxes: other services' events turned into this service's own (see ``inbox``).
    run_inboxes: bool = True
    read_wait_max_seconds: float = 10.0
    log_level: str = "INFO"
    # The gateway's URL, where every CloudEvent's ``dataschema`` points (its ``/schemas/...``).
    schema_base_url: str = DEFAULT_SCHEMA_BASE_URL
    # Traces (``tracing``): off by default; ``otlp`` sends them to OTEL_EXPORTER_OTLP_ENDPOINT.
    otel_traces_exporter: Literal["none", "otlp", "console"] = "none"
    # Log lines as JSON objects (one a line) or as text for people (``make run``).
    log_format: Literal["json", "text"] = "json"
    # Readiness (``/health/ready``): each check's deadline, and how many events a read model
    # or an inbox may be behind its topics (summed over partitions) and still count as ready.
    ready_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    ready_max_lag_events: int = Field(default=1000, ge=0)
    # How often a scrape of /metrics may sample the lags (database and Kafka reads) at most.
    metrics_sample_interval_seconds: float = Field(default=5.0, ge=0)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        database = ServiceDatabaseSource(settings_cls)
        return init_settings, database, env_settings, dotenv_settings, file_secret_settings

    @field_validator("schema_base_url")
    @classmethod
    def _schema_base_is_a_web_address(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("SCHEMA_BASE_URL must be an http:// or https:// URL")
        return url.rstrip("/")

    def kafka_connection(self) -> KafkaConnection:
        """The brokers and this service's Kafka principal, for every client it builds."""
        return KafkaConnection(
            self.kafka_bootstrap_servers,
            self.kafka_security_protocol,
            self.kafka_sasl_mechanism,
            self.kafka_sasl_username,
            self.kafka_sasl_password.get_secret_value(),
        )

    @model_validator(mode="after")
    def _kafka_settings_hold_together(self) -> ServiceSettings:
        if self.kafka_min_insync_replicas > self.kafka_replication_factor:
            raise ValueError(
                "KAFKA_MIN_INSYNC_REPLICAS must not exceed KAFKA_REPLICATION_FACTOR: "
                "no write could ever be acknowledged"
            )
        self.kafka_connection()  # raises if SASL is asked for without credentials
        return self

    @model_validator(mode="after")
    def _refuse_development_defaults_in_production(self) -> ServiceSettings:
        if self.environment == "production" and "@127.0.0.1:55432/" in self.database_url:
            raise ValueError("DATABASE_URL must be set explicitly in production")
        return self
