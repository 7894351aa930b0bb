"""Registering operators and logging them in."""

from __future__ import annotations

from dataclasses import dataclass

from shared_kernel.errors import Conflict
from shared_kernel.identity import Identity
from shared_kernel.unit_of_work import CommandResult, UnitOfWork

from gateway.adapters.credentials import CredentialStore
from gateway.adapters.passwords import Passwords
from gateway.domain.operator import Operator, operator_stream_id
from gateway.domain.passwords import check_password
from gateway.domain.roles import check_roles


@dataclass(frozen=True)
class RegisterOperator:
    username: str
    display_name: str
    roles: frozenset[str]
    password: str


@dataclass(frozen=True)
class LogIn:
    username: str
    password: str
    request_id: str


class OperatorExists(Conflict):
    """An operator with this username is already registered."""


class InvalidCredentials(Exception):
    """Unknown username or wrong password: deliberately not told apart."""


async def register_operator(
    command: RegisterOperator, uow: UnitOfWork, credentials: CredentialStore, passwords: Passwords
) -> CommandResult:
    """Record ``OperatorRegistered`` and store the password hash in one transaction."""
    check_password(command.password)
    operator = Operator.register(command.username, command.display_name, check_roles(command.roles))
    # Hash before the transaction opens: hashing is slow and must not hold a connection.
    password_hash = await passwords.hash(command.password)
    async with uow:
        if await uow.find(Operator, operator.id) is not None or not await credentials.add(
            uow.connection, command.username, password_hash
        ):
            raise OperatorExists(
                f"operator {command.username!r} is already registered", field="username"
            )
        uow.add(operator)
        return await uow.commit()


async def log_in(
    command: LogIn, uow: UnitOfWork, credentials: CredentialStore, passwords: Passwords
) -> Identity:
    """The identity of the operator whose password matches; InvalidCredentials otherwise."""
    async with uow:
        operator = await uow.find(Operator, operator_stream_id(command.username))
        password_hash = await credentials.password_hash(uow.connection, command.username)
    if operator is None:
        password_hash = None  # still verify, against a dummy hash, so that timing tells nothing
    if not await passwords.verify(password_hash, command.password) or operator is None:
        raise InvalidCredentials()
    return Identity(
        subject=operator.username,
        roles=operator.roles,
        office=operator.office.value,
        request_id=command.request_id,
    )
