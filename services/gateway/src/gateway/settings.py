"""The gateway's settings: the kernel's, plus keys, upstream services and the policy file."""

from __future__ import annotations

import re
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict
from shared_kernel.contracts import REPOSITORY_ROOT
from shared_kernel.settings import ServiceSettings

POLICY_FILE = Path(__file__).parent / "policy.toml"
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
# Paths the gateway serves itself, and its own audience: never the name of an upstream.
RESERVED_NAMES = frozenset({"auth", "gateway", "admin", "cases", "audit", "schemas"})
# httpx refuses URLs longer than this, so the gateway could not forward a longer one.
LONGEST_FORWARDABLE_URL = 65_536
DEFAULT_LEDGER: tuple[str, ...] = ("http://127.0.0.1:8001",)


class GatewaySettings(ServiceSettings):
    """Environment names are the field names in upper case; ``services`` is read from
    ``GATEWAY_SERVICES`` (JSON object: service name -> base URL, or a list of base URLs, one
    for each replica of the service)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    # The gateway keeps its own database (its own event store), named after it.
    service: ClassVar[str] = "gateway"
    identity_private_key_file: Path = Path(".data/keys/identity_ed25519.pem")
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=12 * 3600)
    # Longer than the longest read-your-writes wait of a service (``wait_ms`` up to 10 s), so
    # that a read waiting for its position is answered by the service, not cut off with 504.
    upstream_timeout_seconds: float = Field(default=15, gt=0, le=300)
    # Each service's replicas' base URLs (one URL given alone is a service of one replica).
    services: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: {"ledger": DEFAULT_LEDGER},
        validation_alias="GATEWAY_SERVICES",
    )
    policy_file: Path = POLICY_FILE
    # At start-up the gateway reads every service's /openapi.json and refuses to start when
    # the policy misses a route; it waits this long for services that are starting too.
    # Optional services (``GATEWAY_OPTIONAL_SERVICES``, JSON list) may be down at start-up.
    openapi_wait_seconds: float = Field(default=30, ge=0, le=600)
    optional_services: frozenset[str] = Field(
        default_factory=frozenset, validation_alias="GATEWAY_OPTIONAL_SERVICES"
    )
    max_body_bytes: int = Field(default=1_000_000, ge=1)
    # Path and query of a request, in bytes as sent; longer ones are answered 414.
    max_url_bytes: int = Field(default=16_384, ge=256, le=LONGEST_FORWARDABLE_URL)
    # Slow clients (see server.py): the request head must arrive within the first timeout of
    # the request's start, the whole body within the second of the head's end.
    header_read_timeout_seconds: float = Field(default=10, gt=0, le=300)
    body_read_timeout_seconds: float = Field(default=30, gt=0, le=3600)
    # Proxies (IP addresses or networks, comma-separated) whose X-Forwarded-For is believed;
    # none by default, so that the client address is the address of the connection's peer.
    trusted_proxies: Annotated[tuple[IPv4Network | IPv6Network, ...], NoDecode] = ()
    # Rate limits, token buckets in each gateway process's memory (see adapters/rate_limit.py):
    # per identity (operator or system) on every authenticated request; log-in attempts per
    # username from one client address and per client address, counted per minute with that
    # many at once. There is no limit per username alone: it would let anyone lock a user out.
    rate_limit_per_second: float = Field(default=100, gt=0)
    rate_limit_burst: int = Field(default=200, ge=1)
    login_attempts_per_minute_per_username_and_client: int = Field(default=10, ge=1)
    login_attempts_per_minute_per_client: int = Field(default=60, ge=1)
    # Audit records waiting for Kafka; when full, the gateway refuses requests (fail closed).
    audit_queue_capacity: int = Field(default=10_000, ge=1)
    # The checkout whose committed event schemas (services/*/contracts/) /schemas serves.
    contracts_root: Path = REPOSITORY_ROOT
    # Traces (when on): continue a client's ``traceparent`` instead of only linking to it; for
    # a gateway behind a trusted edge that traces too (a client could otherwise put its spans
    # into our traces; never anything more: tracing decides nothing).
    continue_client_traces: bool = False

    @field_validator("services", mode="before")
    @classmethod
    def _one_url_is_one_replica(cls, services: Any) -> Any:
        if isinstance(services, dict):
            return {
                name: (urls,) if isinstance(urls, str) else urls for name, urls in services.items()
            }
        return services

    @field_validator("services")
    @classmethod
    def _check_services(cls, services: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for name, urls in services.items():
            if not SERVICE_NAME.fullmatch(name) or name in RESERVED_NAMES:
                raise ValueError(f"service name {name!r} is malformed or reserved")
            if not urls:
                raise ValueError(f"service {name!r}: no base URL")
            if not all(url.startswith(("http://", "https://")) for url in urls):
                raise ValueError(f"service {name!r}: base URL must be http:// or https://")
            if len({url.rstrip("/") for url in urls}) != len(urls):
                raise ValueError(f"service {name!r}: a base URL is listed twice")
        return {name: tuple(url.rstrip("/") for url in urls) for name, urls in services.items()}

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_trusted_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list | tuple):
            # strict=True refuses a network written with host bits set (10.0.0.1/8): a typo.
            return tuple(ip_network(part, strict=True) for part in value)
        return value

    @model_validator(mode="after")
    def _optional_services_are_services(self) -> GatewaySettings:
        unknown = sorted(self.optional_services - set(self.services))
        if unknown:
            raise ValueError(f"optional service(s) {', '.join(unknown)} not in GATEWAY_SERVICES")
        return self
