"""Events of the gateway. They travel to Kafka, so they never carry secrets: the password hash
of an operator stays in the gateway's own ``operator_credentials`` table, and an API key's hash
in ``api_keys``; events name a key only by its public key id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from shared_kernel.domain import DomainEvent


@dataclass(frozen=True)
class OperatorRegistered(DomainEvent):
    """A person was given access to the back office with these roles."""

    event_type: ClassVar[str] = "gateway.OperatorRegistered"
    version: ClassVar[int] = 1

    username: str
    display_name: str
    roles: tuple[str, ...]
    office: str


@dataclass(frozen=True)
class OperatorRoleGranted(DomainEvent):
    """An operator was given one more role; ``roles`` and ``office`` are the result."""

    event_type: ClassVar[str] = "gateway.OperatorRoleGranted"
    version: ClassVar[int] = 1

    username: str
    role: str
    roles: tuple[str, ...]
    office: str


@dataclass(frozen=True)
class OperatorRoleRevoked(DomainEvent):
    """An operator lost a role; ``roles`` and ``office`` are the result."""

    event_type: ClassVar[str] = "gateway.OperatorRoleRevoked"
    version: ClassVar[int] = 1

    username: str
    role: str
    roles: tuple[str, ...]
    office: str


@dataclass(frozen=True)
class OperatorDisabled(DomainEvent):
    """The operator may no longer log in, and tokens issued earlier stop working."""

    event_type: ClassVar[str] = "gateway.OperatorDisabled"
    version: ClassVar[int] = 1

    username: str


@dataclass(frozen=True)
class SystemRegistered(DomainEvent):
    """Another company system (trading, CRM, monitoring) may call the back office with API keys."""

    event_type: ClassVar[str] = "gateway.SystemRegistered"
    version: ClassVar[int] = 1

    name: str
    display_name: str
    roles: tuple[str, ...]
    office: str


@dataclass(frozen=True)
class ApiKeyIssued(DomainEvent):
    """A system got a new API key; the key itself was shown once and is kept only as a hash."""

    event_type: ClassVar[str] = "gateway.ApiKeyIssued"
    version: ClassVar[int] = 1

    system: str
    key_id: str
    issued_at: datetime


@dataclass(frozen=True)
class ApiKeyRevoked(DomainEvent):
    """An API key stopped working."""

    event_type: ClassVar[str] = "gateway.ApiKeyRevoked"
    version: ClassVar[int] = 1

    system: str
    key_id: str
    revoked_at: datetime


EVENTS: tuple[type[DomainEvent], ...] = (
    OperatorRegistered,
    OperatorRoleGranted,
    OperatorRoleRevoked,
    OperatorDisabled,
    SystemRegistered,
    ApiKeyIssued,
    ApiKeyRevoked,
)
