"""The Operator aggregate: a person who may log in to the back office."""

from __future__ import annotations

import re
from typing import Self

from shared_kernel.domain import Aggregate, DomainEvent
from shared_kernel.errors import DomainError

from gateway.domain.events import OperatorRegistered
from gateway.domain.roles import Office, office_of

USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,62}$")
MAX_DISPLAY_NAME = 200


def operator_stream_id(username: str) -> str:
    return f"operator:{username}"


class Operator(Aggregate):
    stream_type = "operator"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.username = ""
        self.display_name = ""
        self.roles: frozenset[str] = frozenset()
        self.office = Office.NONE

    @classmethod
    def register(cls, username: str, display_name: str, roles: frozenset[str]) -> Self:
        """A new operator; refuses a malformed username and roles that break segregation of
        duties."""
        if not USERNAME.match(username):
            raise DomainError(
                "username must be 2 to 63 lower-case letters, digits or . _ -, "
                "starting with a letter",
                field="username",
                code="InvalidUsername",
            )
        display_name = display_name.strip()
        if not display_name or len(display_name) > MAX_DISPLAY_NAME:
            raise DomainError(
                f"display name must be 1 to {MAX_DISPLAY_NAME} characters",
                field="display_name",
                code="InvalidDisplayName",
            )
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

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case OperatorRegistered():
                self.username = event.username
                self.display_name = event.display_name
                self.roles = frozenset(event.roles)
                self.office = Office(event.office)
            case _:
                raise TypeError(f"Operator cannot apply {type(event).__name__}")
