"""Roles and the office they belong to: front office, back office, or oversight.

The office of an identity (an operator or a system) follows from its roles. Segregation of
duties (MaRisk): an identity belongs to exactly one office. Nobody holds a front-office and a
back-office role at the same time, and the oversight roles (``admin``, ``auditor``) are held
alone: never with an operational role, nor with each other, since whoever administers access or
audits the books must not also be the one whose work is administered or audited. Such a
combination is refused at registration and when one more role is granted.

Identities stored before this rule was complete may still break it; they load (so that an
administrator can revoke the offending role) but ``segregation_violation`` names what is wrong,
and the gateway refuses them until then.

The roles and offices themselves, and which office a role belongs to, are the kernel's
(``shared_kernel.roles``): every service names them; this module adds the gateway's rules.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared_kernel.errors import DomainError, PermissionDenied
from shared_kernel.roles import ROLE_OFFICES, Office, Role, UnknownRole, roles_of

__all__ = [
    "ADMIN",
    "READ_ONLY_ROLES",
    "ROLES",
    "ROLE_OFFICES",
    "IdentityBreaksSegregation",
    "Office",
    "Role",
    "SegregationOfDutiesViolated",
    "UnknownRole",
    "check_roles",
    "office_of",
    "segregation_violation",
]

ROLES: frozenset[Role] = frozenset(Role)
ADMIN = Role.ADMIN
# Oversight that only looks: the policy gives these roles read routes (GET) only.
READ_ONLY_ROLES: frozenset[Role] = frozenset({Role.AUDITOR})
SEGREGATION_OF_DUTIES = "SegregationOfDuties"


class SegregationOfDutiesViolated(DomainError):
    """Roles of more than one office, or more than one oversight role, for one identity."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, field="roles", code=SEGREGATION_OF_DUTIES)


class IdentityBreaksSegregation(PermissionDenied):
    """A stored identity (registered before the rule was complete) whose roles break
    segregation of duties: it may not act until an administrator revokes the offending role."""

    def __init__(self, kind: str, name: str, violation: str) -> None:
        self.kind, self.name = kind, name
        super().__init__(
            f"{kind} {name} may not act: {violation}; an administrator must revoke a role first",
            code=SEGREGATION_OF_DUTIES,
        )


def check_roles(roles: Iterable[str]) -> frozenset[Role]:
    """The roles as a set, refusing unknown names and an empty set."""
    wanted = roles_of(roles)
    if not wanted:
        raise DomainError("at least one role is needed", field="roles", code="NoRole")
    return wanted


def segregation_violation(roles: Iterable[str]) -> str | None:
    """What breaks segregation of duties in these (known) roles, or None when nothing does."""
    held = roles_of(roles)
    by_office = {
        office: sorted(role.value for role in held if role.office is office)
        for office in (Office.FRONT, Office.BACK, Office.OVERSIGHT)
    }
    offices = [office for office, named in by_office.items() if named]
    oversight = by_office[Office.OVERSIGHT]
    if len(offices) <= 1 and len(oversight) <= 1:
        return None
    mixed = " and ".join(
        f"{office.value}-office roles ({', '.join(named)})"
        if office is not Office.OVERSIGHT
        else f"oversight roles ({', '.join(named)})"
        for office, named in by_office.items()
        if named
    )
    return (
        "segregation of duties: an identity belongs to exactly one of front office, back office "
        "or oversight, and an oversight role (admin, auditor) is held alone; "
        f"these roles combine {mixed}"
    )


def office_of(roles: Iterable[str]) -> Office:
    """The one office an identity works in, derived from its roles; refuses unknown roles and
    any combination that breaks segregation of duties."""
    wanted = check_roles(roles)
    violation = segregation_violation(wanted)
    if violation is not None:
        raise SegregationOfDutiesViolated(violation)
    return next(iter(wanted)).office
