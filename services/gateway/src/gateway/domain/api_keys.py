"""Systems and their API keys.

A system (trading, CRM, monitoring) calls the back office with API keys instead of a password.
It holds roles like an operator, under the same segregation of duties. It may hold several keys
at once, so that a key is rotated without downtime: issue the new key, switch the system over,
revoke the old key. The key text is ``bo_<key id>_<secret>``: the key id is public (it names
the key in listings and events and finds its hash), the secret is shown once at issue and kept
only as a hash, outside the events.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Self

from shared_kernel.domain import Aggregate, DomainEvent
from shared_kernel.errors import Conflict, DomainError, NotFound
from shared_kernel.identity import Caller
from shared_kernel.roles import CallerKind, Role, roles_of

from gateway.domain.events import ApiKeyIssued, ApiKeyRevoked, SystemRegistered
from gateway.domain.operator import check_display_name, check_name
from gateway.domain.roles import (
    ADMIN,
    IdentityBreaksSegregation,
    Office,
    check_roles,
    office_of,
    segregation_violation,
)

KEY_PREFIX = "bo"
KEY_ID = re.compile(r"^[0-9a-f]{16}$")
_KEY_TEXT = re.compile(r"^bo_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
# Enough for a rotation (old and new) with room to spare; more live keys are a hygiene problem.
MAX_ACTIVE_KEYS = 5


def system_stream_id(name: str) -> str:
    return f"system:{name}"


def key_id_in(key_text: str) -> str | None:
    """The key id of a well-formed API key text, else None (never raises)."""
    found = _KEY_TEXT.fullmatch(key_text)
    return found.group(1) if found else None


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    issued_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class System(Aggregate):
    stream_type = "system"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.name = ""
        self.display_name = ""
        self.roles: frozenset[Role] = frozenset()
        self.office = Office.OVERSIGHT
        self.keys: dict[str, ApiKey] = {}

    @classmethod
    def register(cls, name: str, display_name: str, roles: frozenset[str]) -> Self:
        """A new system; the roles follow the same rules as an operator's, and administration
        stays with people: a system may not hold ``admin``."""
        check_name(name, "name")
        display_name = check_display_name(display_name)
        if ADMIN in check_roles(roles):
            raise DomainError(
                "a system may not hold the admin role; administration is done by people",
                field="roles",
                code="AdminRoleForSystem",
            )
        office = office_of(roles)
        system = cls(system_stream_id(name))
        system._record(
            SystemRegistered(
                name=name,
                display_name=display_name,
                roles=tuple(sorted(roles)),
                office=office.value,
            )
        )
        return system

    def ensure_segregated(self) -> None:
        """Refuse (403) a system whose stored roles break segregation of duties."""
        violation = segregation_violation(self.roles)
        if violation is not None:
            raise IdentityBreaksSegregation("system", self.name, violation)

    def caller(self, request_id: str) -> Caller:
        """The system as the caller of a request made with one of its keys."""
        return Caller(self.name, self.roles, self.office, request_id, CallerKind.SYSTEM)

    @property
    def active_keys(self) -> list[ApiKey]:
        return [key for key in self.keys.values() if key.active]

    def accepts(self, key_id: str) -> bool:
        key = self.keys.get(key_id)
        return key is not None and key.active

    def issue_key(self, key_id: str, at: datetime) -> None:
        if not KEY_ID.fullmatch(key_id):
            raise ValueError(f"malformed key id {key_id!r}")
        if key_id in self.keys:
            raise Conflict(f"key id {key_id} is taken", code="KeyIdTaken")
        if len(self.active_keys) >= MAX_ACTIVE_KEYS:
            raise Conflict(
                f"{self.name} already has {MAX_ACTIVE_KEYS} active API keys; revoke one first",
                code="TooManyApiKeys",
            )
        self._record(ApiKeyIssued(system=self.name, key_id=key_id, issued_at=at))

    def revoke_key(self, key_id: str, at: datetime) -> None:
        """Revoke an active key; revoking a revoked key again changes nothing."""
        key = self.keys.get(key_id)
        if key is None:
            raise NotFound(f"{self.name} has no API key {key_id}", code="ApiKeyNotFound")
        if key.active:
            self._record(ApiKeyRevoked(system=self.name, key_id=key_id, revoked_at=at))

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case SystemRegistered():
                self.name = event.name
                self.display_name = event.display_name
                self.roles = roles_of(event.roles)
                self.office = Office(event.office)
            case ApiKeyIssued():
                self.keys[event.key_id] = ApiKey(event.key_id, event.issued_at)
            case ApiKeyRevoked():
                issued = self.keys[event.key_id]
                self.keys[event.key_id] = ApiKey(issued.key_id, issued.issued_at, event.revoked_at)
            case _:
                raise TypeError(f"System cannot apply {type(event).__name__}")
