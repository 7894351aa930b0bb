"""The Operator aggregate: a person who may log in to the back office."""

from __future__ import annotations

import re
from typing import Self

from shared_kernel.domain import Aggregate, DomainEvent
from shared_kernel.errors import ConcurrencyConflict, DomainError, PermissionDenied
from shared_kernel.identity import Caller
from shared_kernel.roles import CallerKind, Role, roles_of

from gateway.domain.events import (
    OperatorDisabled,
    OperatorRegistered,
    OperatorRoleGranted,
    OperatorRoleRevoked,
)
from gateway.domain.roles import (
    IdentityBreaksSegregation,
    Office,
    check_roles,
    office_of,
    segregation_violation,
)

# Also the rule for system names: operators and systems share one namespace of subjects.
USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,62}$")
MAX_DISPLAY_NAME = 200


def operator_stream_id(username: str) -> str:
    return f"operator:{username}"


def check_name(name: str, field: str) -> None:
    if not USERNAME.fullmatch(name):
        raise DomainError(
            f"{field} must be 2 to 63 lower-case letters, digits or . _ -, starting with a letter",
            field=field,
            code="InvalidUsername" if field == "username" else "InvalidName",
        )


def check_display_name(display_name: str) -> str:
    display_name = display_name.strip()
    if not display_name or len(display_name) > MAX_DISPLAY_NAME:
        raise DomainError(
            f"display name must be 1 to {MAX_DISPLAY_NAME} characters",
            field="display_name",
            code="InvalidDisplayName",
        )
    return display_name


def check_expected_version(kind: str, name: str, actual: int, expected: int | None) -> None:
    """Refuse a change made against an older version than the current one (``If-Match``)."""
    if expected is not None and expected != actual:
        raise ConcurrencyConflict(
            f"{kind} {name} is at version {actual}, not {expected}; reload and retry",
            code="VersionMismatch",
        )


class Operator(Aggregate):
    stream_type = "operator"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.username = ""
        self.display_name = ""
        self.roles: frozenset[Role] = frozenset()
        self.office = Office.OVERSIGHT
        self.enabled = True

    @classmethod
    def register(cls, username: str, display_name: str, roles: frozenset[str]) -> Self:
        """A new operator; refuses a malformed username and roles that break segregation of
        duties."""
        check_name(username, "username")
        display_name = check_display_name(display_name)
        office = office_of(roles)
        operator = cls(operator_stream_id(username))
        operator._record(
            OperatorRegistered(
                username=username,
                display_name=display_name,
                roles=tuple(sorted(roles)),
                office=office.value,
            )
        )
        return operator

    def grant_role(self, role: str, *, by: str, expected_version: int | None = None) -> None:
        """One more role, unless the result would mix front and back office. Granting a role
        the operator already holds changes nothing."""
        self._check_change(by, expected_version, "change their own roles")
        (granted,) = check_roles({role})
        if granted in self.roles:
            return
        roles = self.roles | {granted}
        office = office_of(roles)  # raises SegregationOfDutiesViolated
        self._record(
            OperatorRoleGranted(
                username=self.username, role=role, roles=tuple(sorted(roles)), office=office.value
            )
        )

    def revoke_role(self, role: str, *, by: str, expected_version: int | None = None) -> None:
        """One role less; the last role cannot go (disable the operator instead). Revoking a
        role the operator does not hold changes nothing. Revoking is how an administrator
        repairs roles stored before segregation of duties was complete, so it is allowed even
        when the remaining roles still break the rule (one more revoke will repair them)."""
        self._check_change(by, expected_version, "change their own roles")
        (revoked,) = check_roles({role})
        if revoked not in self.roles:
            return
        roles = self.roles - {revoked}
        if not roles:
            raise DomainError(
                f"{role} is the last role of {self.username}; disable the operator instead",
                field="role",
                code="LastRole",
            )
        # While the roles still break the rule, the office stays what it was.
        office = self.office if segregation_violation(roles) else office_of(roles)
        self._record(
            OperatorRoleRevoked(
                username=self.username, role=role, roles=tuple(sorted(roles)), office=office.value
            )
        )

    def ensure_segregated(self) -> None:
        """Refuse (403) an operator whose stored roles break segregation of duties."""
        violation = segregation_violation(self.roles)
        if violation is not None:
            raise IdentityBreaksSegregation("operator", self.username, violation)

    def caller(self, request_id: str) -> Caller:
        """The operator as the caller (a person) of a request, with their current roles."""
        return Caller(self.username, self.roles, self.office, request_id, CallerKind.PERSON)

    def disable(self, *, by: str, expected_version: int | None = None) -> None:
        """From now on the operator can neither log in nor use a token issued before."""
        self._check_change(by, expected_version, "disable themselves")
        if self.enabled:
            self._record(OperatorDisabled(username=self.username))

    def _check_change(self, by: str, expected_version: int | None, what: str) -> None:
        # An administrator never administers their own access: a second admin must.
        if by == self.username:
            raise PermissionDenied(
                f"{by} may not {what}; another administrator must", code="SelfAdministration"
            )
        check_expected_version("operator", self.username, self.version, expected_version)

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case OperatorRegistered():
                self.username = event.username
                self.display_name = event.display_name
                self.roles = roles_of(event.roles)
                self.office = Office(event.office)
            case OperatorRoleGranted() | OperatorRoleRevoked():
                self.roles = roles_of(event.roles)
                self.office = Office(event.office)
            case OperatorDisabled():
                self.enabled = False
            case _:
                raise TypeError(f"Operator cannot apply {type(event).__name__}")
