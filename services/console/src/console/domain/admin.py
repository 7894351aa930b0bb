"""What the admin pages offer: the roles by office, and how to read a refused role change.

The roles and their offices are the kernel's vocabulary (``shared_kernel.roles``). The console
does not check segregation of duties itself: the gateway refuses a combination that breaks it
(code ``SegregationOfDuties``), and the page explains the rule next to the refusal.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared_kernel.roles import Office, Role

SEGREGATION_OF_DUTIES = "SegregationOfDuties"
# Offices in the order the forms list them; "system" is the services' own work, no role's.
OFFICES = (Office.FRONT, Office.BACK, Office.OVERSIGHT)


@dataclass(frozen=True)
class RoleGroup:
    office: str
    roles: tuple[str, ...]


def role_groups() -> list[RoleGroup]:
    """Every role, grouped by the office it works in."""
    return [
        RoleGroup(office.value, tuple(sorted(role.value for role in Role if role.office is office)))
        for office in OFFICES
    ]


def breaks_segregation(code: str | None) -> bool:
    """True when the API refused a change because it would break segregation of duties."""
    return code == SEGREGATION_OF_DUTIES


def version_header(version: str | None) -> dict[str, str]:
    """``If-Match`` with the version the page was showing, so that a change made meanwhile by
    another administrator is refused (409) instead of overwritten; nothing when unknown."""
    text = (version or "").strip()
    return {"If-Match": f'"{text}"'} if text.isdigit() else {}
