"""One typed settings base for every service, read from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Common settings. ``DATABASE_URL`` and ``KAFKA_BOOTSTRAP_SERVERS`` point at any server."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "postgresql://postgres@127.0.0.1:55432/postgres"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
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

    @model_validator(mode="after")
    def _refuse_development_defaults_in_production(self) -> ServiceSettings:
        if self.environment == "production" and "@127.0.0.1:55432/" in self.database_url:
            raise ValueError("DATABASE_URL must be set explicitly in production")
        return self
