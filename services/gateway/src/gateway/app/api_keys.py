"""Systems and their API keys: registering a system, issuing and revoking its keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from shared_kernel.errors import Conflict, NotFound
from shared_kernel.unit_of_work import CommandResult, UnitOfWork, sql_connection

from gateway.adapters.api_keys import ApiKeyStore, NewApiKey, new_api_key
from gateway.adapters.credentials import NAME_LOCK
from gateway.domain.api_keys import System, system_stream_id
from gateway.domain.operator import Operator, operator_stream_id
from gateway.domain.roles import check_roles


@dataclass(frozen=True)
class RegisterSystem:
    name: str
    display_name: str
    roles: frozenset[str]


@dataclass(frozen=True)
class IssueApiKey:
    system: str


@dataclass(frozen=True)
class RevokeApiKey:
    system: str
    key_id: str


@dataclass(frozen=True, repr=False)
class IssuedApiKey:
    """A new key with its text, to be shown once."""

    result: CommandResult
    key: NewApiKey
    issued_at: datetime


class SystemExists(Conflict):
    """A system (or an operator) with this name is already registered."""


async def register_system(command: RegisterSystem, uow: UnitOfWork) -> CommandResult:
    system = System.register(command.name, command.display_name, check_roles(command.roles))
    async with uow:
        await uow.lock(NAME_LOCK, command.name)
        taken = await uow.find(System, system.id) or await uow.find(
            Operator, operator_stream_id(command.name)
        )
        if taken is not None:
            raise SystemExists(f"the name {command.name!r} is already registered", field="name")
        uow.add(system)
        return await uow.commit()


async def issue_api_key(command: IssueApiKey, uow: UnitOfWork, keys: ApiKeyStore) -> IssuedApiKey:
    """Record ``ApiKeyIssued`` and store the key's hash in one transaction. The key text is
    returned to be shown once; nothing keeps it."""
    key, now = new_api_key(), datetime.now(UTC)
    async with uow:
        system = await _system(uow, command.system)
        system.issue_key(key.key_id, now)
        await keys.add(sql_connection(uow), system.name, key)
        return IssuedApiKey(await uow.commit(system), key, now)


async def revoke_api_key(command: RevokeApiKey, uow: UnitOfWork) -> CommandResult:
    async with uow:
        system = await _system(uow, command.system)
        system.revoke_key(command.key_id, datetime.now(UTC))
        return await uow.commit(system)


async def _system(uow: UnitOfWork, name: str) -> System:
    system = await uow.find(System, system_stream_id(name))
    if system is None:
        raise NotFound(f"there is no system {name!r}", code="SystemNotFound")
    return system
