"""The gateway's settings: the kernel's, plus keys, upstream services and the policy file."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict
from shared_kernel.settings import ServiceSettings

POLICY_FILE = Path(__file__).parent / "policy.toml"
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
# Paths the gateway serves itself, and its own audience: never the name of an upstream.
RESERVED_NAMES = frozenset({"auth", "gateway"})


class GatewaySettings(ServiceSettings):
    """Environment names are the field names in upper case; ``services`` is read from
    ``GATEWAY_SERVICES`` (JSON object: service name -> base URL)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    # The gateway keeps its own database (its own event store), not the kernel's default one.
    database_url: str = "postgresql://postgres@127.0.0.1:55432/gateway"
    identity_private_key_file: Path = Path(".data/keys/identity_ed25519.pem")
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=12 * 3600)
    upstream_timeout_seconds: float = Field(default=10, gt=0, le=300)
    services: dict[str, str] = Field(
        default_factory=lambda: {"ledger": "http://127.0.0.1:8001"},
        validation_alias="GATEWAY_SERVICES",
    )
    policy_file: Path = POLICY_FILE
    max_body_bytes: int = Field(default=1_000_000, ge=1)

    @field_validator("services")
    @classmethod
    def _check_services(cls, services: dict[str, str]) -> dict[str, str]:
        for name, url in services.items():
            if not SERVICE_NAME.match(name) or name in RESERVED_NAMES:
                raise ValueError(f"service name {name!r} is malformed or reserved")
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"service {name!r}: base URL must be http:// or https://")
        return {name: url.rstrip("/") for name, url in services.items()}
