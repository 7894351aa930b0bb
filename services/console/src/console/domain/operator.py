"""Who is at the console: the gateway's answer to ``GET /auth/me``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Operator:
    subject: str
    roles: frozenset[str]
    office: str  # "front", "back" or "oversight"
    kind: str  # "user" or "system"
    permissions: frozenset[str]  # "METHOD /<service>/v1/..." as the gateway's policy allows

    @classmethod
    def from_me(cls, me: Mapping[str, Any]) -> Operator:
        return cls(
            subject=str(me["subject"]),
            roles=frozenset(str(role) for role in me.get("roles", [])),
            office=str(me.get("office", "")),
            kind=str(me.get("kind", "user")),
            permissions=frozenset(str(p) for p in me.get("permissions", [])),
        )

    def may(self, *routes: str) -> bool:
        """True when the policy lets this operator call every one of the routes given
        (each "METHOD /path" with the policy's ``{name}`` placeholders)."""
        return all(route in self.permissions for route in routes)

    def may_any(self, *routes: str) -> bool:
        return any(route in self.permissions for route in routes)

    @property
    def back_office(self) -> bool:
        return self.office == "back"

    @property
    def front_office(self) -> bool:
        return self.office == "front"
