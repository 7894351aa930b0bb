"""Roles and the office they belong to (front office, back office, or neither).

The office of an identity (an operator or a system) follows from its roles. Segregation of
duties (MaRisk): nobody holds a front-office and a back-office role at the same time, so such a
combination is refused, whether at registration or by granting one more role.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from shared_kernel.errors import DomainError


class Office(StrEnum):
    FRONT = "front"
    BACK = "back"
    NONE = "none"  # oversight roles that belong to neither office


ROLE_OFFICES: dict[str, Office] = {
    "trader": Office.FRONT,
    "customer-service": Office.FRONT,
    "accountant": Office.BACK,
    "risk-officer": Office.BACK,
    "it-support": Office.BACK,
    "controller": Office.BACK,
    # Monitoring systems (and the people on watch) raise IT incidents and post risk indicators.
    "monitoring": Office.BACK,
    "admin": Office.NONE,
    "auditor": Office.NONE,
}

ROLES: frozenset[str] = frozenset(ROLE_OFFICES)
ADMIN = "admin"
# Oversight that only looks: the policy gives these roles read routes (GET) only.
READ_ONLY_ROLES: frozenset[str] = frozenset({"auditor"})


class UnknownRole(DomainError):
    """A role name that the back office does not define."""


class SegregationOfDutiesViolated(DomainError):
    """Front-office and back-office roles held by one person."""


def check_roles(roles: Iterable[str]) -> frozenset[str]:
    """The roles as a set, refusing unknown names and an empty set."""
    wanted = frozenset(roles)
    unknown = sorted(wanted - ROLES)
    if unknown:
        raise UnknownRole(
            f"unknown role(s) {', '.join(unknown)}; known roles are {', '.join(sorted(ROLES))}",
            field="roles",
        )
    if not wanted:
        raise DomainError("at least one role is needed", field="roles", code="NoRole")
    return wanted


def office_of(roles: Iterable[str]) -> Office:
    """The office an identity works in, derived from its roles.

    Front or back when any role belongs to that office (oversight roles do not change it),
    ``none`` when all roles are oversight roles. Both offices at once are refused."""
    offices = {ROLE_OFFICES[role] for role in check_roles(roles)} - {Office.NONE}
    if offices == {Office.FRONT, Office.BACK}:
        raise SegregationOfDutiesViolated(
            "segregation of duties: no one may hold front-office roles "
            f"({', '.join(_roles_in(roles, Office.FRONT))}) and back-office roles "
            f"({', '.join(_roles_in(roles, Office.BACK))}) at the same time",
            field="roles",
            code="SegregationOfDuties",
        )
    return offices.pop() if offices else Office.NONE


def _roles_in(roles: Iterable[str], office: Office) -> list[str]:
    return sorted(role for role in set(roles) if ROLE_OFFICES[role] is office)
