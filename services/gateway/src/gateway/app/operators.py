"""Operators: registering them, their roles, disabling them, and logging them in."""

from __future__ import annotations

from dataclasses import dataclass

from shared_kernel.errors import Conflict, NotFound
from shared_kernel.identity import Caller
from shared_kernel.unit_of_work import CommandResult, UnitOfWork, sql_connection

from gateway.adapters.credentials import NAME_LOCK, CredentialStore
from gateway.adapters.passwords import Passwords
from gateway.domain.api_keys import System, system_stream_id
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
class GrantRole:
    username: str
    role: str
    expected_version: int | None = None


@dataclass(frozen=True)
class RevokeRole:
    username: str
    role: str
    expected_version: int | None = None


@dataclass(frozen=True)
class DisableOperator:
    username: str
    expected_version: int | None = None


@dataclass(frozen=True)
class LogIn:
    username: str
    password: str
    request_id: str


class OperatorExists(Conflict):
    """An operator (or a system) with this name is already registered."""


class InvalidCredentials(Exception):
    """Unknown username or wrong password: deliberately not told apart."""


class OperatorDisabled(InvalidCredentials):
    """The password matched but the operator is disabled; the caller is told no more than for
    a wrong password, the audit trail is told the truth."""


async def register_operator(
    command: RegisterOperator, uow: UnitOfWork, credentials: CredentialStore, passwords: Passwords
) -> CommandResult:
    """Record ``OperatorRegistered`` and store the password hash in one transaction."""
    check_password(command.password)
    operator = Operator.register(command.username, command.display_name, check_roles(command.roles))
    # Hash before the transaction opens: hashing is slow and must not hold a connection.
    password_hash = await passwords.hash(command.password)
    async with uow:
        await uow.lock(NAME_LOCK, command.username)
        taken = await uow.find(Operator, operator.id) or await uow.find(
            System, system_stream_id(command.username)
        )
        if taken is not None or not await credentials.add(
            sql_connection(uow), command.username, password_hash
        ):
            raise OperatorExists(
                f"the name {command.username!r} is already registered", field="username"
            )
        uow.add(operator)
        return await uow.commit()


async def grant_role(command: GrantRole, uow: UnitOfWork) -> CommandResult:
    async with uow:
        operator = await _operator(uow, command.username)
        operator.grant_role(
            command.role, by=uow.context.actor.subject, expected_version=command.expected_version
        )
        return await uow.commit(operator)


async def revoke_role(command: RevokeRole, uow: UnitOfWork) -> CommandResult:
    async with uow:
        operator = await _operator(uow, command.username)
        operator.revoke_role(
            command.role, by=uow.context.actor.subject, expected_version=command.expected_version
        )
        return await uow.commit(operator)


async def disable_operator(command: DisableOperator, uow: UnitOfWork) -> CommandResult:
    async with uow:
        operator = await _operator(uow, command.username)
        operator.disable(by=uow.context.actor.subject, expected_version=command.expected_version)
        return await uow.commit(operator)


async def _operator(uow: UnitOfWork, username: str) -> Operator:
    operator = await uow.find(Operator, operator_stream_id(username))
    if operator is None:
        raise NotFound(f"there is no operator {username!r}", code="OperatorNotFound")
    return operator


async def log_in(
    command: LogIn, uow: UnitOfWork, credentials: CredentialStore, passwords: Passwords
) -> Caller:
    """The caller (a person) of the enabled operator whose password matches; InvalidCredentials
    otherwise. An operator whose stored roles break segregation of duties is refused (403,
    IdentityBreaksSegregation) once the password is proven: they are told why, nobody else."""
    async with uow:
        operator = await uow.find(Operator, operator_stream_id(command.username))
        password_hash = await credentials.password_hash(sql_connection(uow), command.username)
    if operator is None:
        password_hash = None  # still verify, against a dummy hash, so that timing tells nothing
    if not await passwords.verify(password_hash, command.password) or operator is None:
        raise InvalidCredentials()
    if not operator.enabled:
        raise OperatorDisabled()
    operator.ensure_segregated()
    return operator.caller(command.request_id)
