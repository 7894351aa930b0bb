"""Events of the gateway. They travel to Kafka, so they never carry secrets: the password hash
of an operator stays in the gateway's own ``operator_credentials`` table."""

from __future__ import annotations

from dataclasses import dataclass
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


EVENTS: tuple[type[DomainEvent], ...] = (OperatorRegistered,)
