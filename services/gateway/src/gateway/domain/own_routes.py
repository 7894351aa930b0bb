"""The gateway's own routes (served by it, never forwarded) and who may use them.

The policy file decides about the services' routes; the gateway's own routes are decided here,
by area (the first segments of their path), so that a new route of an area is governed like
its neighbours without another list to keep:

- ``/admin/v1``: the administration of operators, systems and API keys: ``admin`` only;
- ``/audit/v1``: the search of the gateway's decisions: ``auditor`` and ``admin``;
- ``/cases``: a business case across the services: anyone with credentials (each sees only
  the cases its office may see, see ``domain/cases.py``).

Log-in and ``/auth/me`` are open to anyone and belong to no area. None of these routes decides
a four-eyes request, so none is refused to a system that holds the roles.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared_kernel.errors import PermissionDenied

from gateway.domain.roles import Role


@dataclass(frozen=True)
class OwnArea:
    """Routes under ``prefix``; ``roles`` None means anyone with credentials."""

    name: str
    prefix: str
    roles: frozenset[Role] | None
    refusal: str  # the problem's code when a caller lacks the roles

    def contains(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")

    def open_to(self, roles: Iterable[str]) -> bool:
        return self.roles is None or not self.roles.isdisjoint(roles)

    def authorize(self, roles: Iterable[str]) -> None:
        """PermissionDenied unless the roles open this area."""
        if not self.open_to(roles):
            needed = ", ".join(sorted(self.roles or ()))
            raise PermissionDenied(
                f"the {self.name} is open to the role(s) {needed} only", code=self.refusal
            )


ADMINISTRATION = OwnArea(
    "administration API", "/admin/v1", frozenset({Role.ADMIN}), "AdminRequired"
)
AUDIT = OwnArea(
    "audit search", "/audit/v1", frozenset({Role.AUDITOR, Role.ADMIN}), "AuditorRequired"
)
CASES = OwnArea("case timeline", "/cases", None, "CredentialsRequired")
OWN_AREAS: tuple[OwnArea, ...] = (ADMINISTRATION, AUDIT, CASES)


@dataclass(frozen=True)
class OwnRoute:
    """One operation of the gateway itself, as its router declares it."""

    method: str
    path: str  # the template, e.g. /admin/v1/operators/{username}

    def describe(self) -> str:
        return f"{self.method} {self.path}"


def area_of(path: str) -> OwnArea | None:
    """The area a path of the gateway belongs to; None for log-in, health and documentation."""
    return next((area for area in OWN_AREAS if area.contains(path)), None)
