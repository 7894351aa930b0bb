"""The administration of operators, systems and API keys: commands and the queries behind them.

Every change is a command run once per ``Idempotency-Key`` (``run_command``) that records an
event; afterwards this process forgets what it cached about callers, so the change applies to
the very next request (other gateway processes follow within a second, see ``callers``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Generic, TypeVar

from shared_kernel.commands import run_command
from shared_kernel.errors import Conflict, NotFound
from shared_kernel.unit_of_work import (
    CommandContext,
    CommandResult,
    UnitOfWork,
    sql_connection,
)

from gateway.adapters.api_keys import ApiKeyStore
from gateway.adapters.credentials import CredentialStore
from gateway.adapters.passwords import Passwords
from gateway.app import api_keys, operators
from gateway.app.api_keys import IssuedApiKey
from gateway.app.callers import READER, Callers
from gateway.domain.api_keys import System, system_stream_id
from gateway.domain.operator import Operator, operator_stream_id
from gateway.domain.roles import segregation_violation

T = TypeVar("T")
C = TypeVar("C")
MAX_PAGE = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class OperatorView:
    username: str
    display_name: str
    roles: list[str]
    office: str
    enabled: bool
    version: int

    @classmethod
    def of(cls, operator: Operator) -> OperatorView:
        return cls(
            operator.username,
            operator.display_name,
            sorted(operator.roles),
            operator.office.value,
            operator.enabled,
            operator.version,
        )


@dataclass(frozen=True)
class SystemView:
    name: str
    display_name: str
    roles: list[str]
    office: str
    active_keys: int
    version: int

    @classmethod
    def of(cls, system: System) -> SystemView:
        return cls(
            system.name,
            system.display_name,
            sorted(system.roles),
            system.office.value,
            len(system.active_keys),
            system.version,
        )


@dataclass(frozen=True)
class ApiKeyView:
    key_id: str
    issued_at: datetime
    revoked_at: datetime | None


class ApiKeyAlreadyIssued(Conflict):
    """The Idempotency-Key of an earlier, completed key issue came again: the key's text was
    shown once and is kept nowhere, so the first answer cannot be repeated."""


class Administration:
    def __init__(
        self,
        make_uow: Callable[[CommandContext], UnitOfWork],
        credentials: CredentialStore,
        passwords: Passwords,
        keys: ApiKeyStore,
        callers: Callers,
    ) -> None:
        self._make_uow = make_uow
        self._credentials = credentials
        self._passwords = passwords
        self._keys = keys
        self._callers = callers

    async def register_operator(
        self, context: CommandContext, command: operators.RegisterOperator
    ) -> CommandResult:
        handler = partial(
            operators.register_operator, credentials=self._credentials, passwords=self._passwords
        )
        return await self._run(context, handler, command)

    async def grant_role(
        self, context: CommandContext, command: operators.GrantRole
    ) -> CommandResult:
        return await self._run(context, operators.grant_role, command)

    async def revoke_role(
        self, context: CommandContext, command: operators.RevokeRole
    ) -> CommandResult:
        return await self._run(context, operators.revoke_role, command)

    async def disable_operator(
        self, context: CommandContext, command: operators.DisableOperator
    ) -> CommandResult:
        return await self._run(context, operators.disable_operator, command)

    async def register_system(
        self, context: CommandContext, command: api_keys.RegisterSystem
    ) -> CommandResult:
        return await self._run(context, api_keys.register_system, command)

    async def issue_api_key(
        self, context: CommandContext, command: api_keys.IssueApiKey
    ) -> IssuedApiKey:
        issued: list[IssuedApiKey] = []

        async def handler(cmd: api_keys.IssueApiKey, uow: UnitOfWork) -> CommandResult:
            issued.append(await api_keys.issue_api_key(cmd, uow, self._keys))
            return issued[-1].result

        result = await self._run(context, handler, command)
        if not issued:
            raise ApiKeyAlreadyIssued(
                f"this Idempotency-Key already issued an API key for {command.system} (system "
                f"version {result.version}); its text was shown once only. If it was lost, "
                "revoke that key and issue a new one",
                field="Idempotency-Key",
            )
        return issued[0]

    async def revoke_api_key(
        self, context: CommandContext, command: api_keys.RevokeApiKey
    ) -> CommandResult:
        return await self._run(context, api_keys.revoke_api_key, command)

    async def operators(self, after: str | None, limit: int) -> Page[OperatorView]:
        async with self._make_uow(READER) as uow:
            names = await self._credentials.usernames(sql_connection(uow), after, limit + 1)
            ids = [operator_stream_id(name) for name in names[:limit]]
            found = await uow.find_many(Operator, ids)
        items = [OperatorView.of(found[i]) for i in ids if i in found]
        return Page(items, names[limit - 1] if len(names) > limit else None)

    async def operator(self, username: str) -> OperatorView:
        async with self._make_uow(READER) as uow:
            operator = await uow.find(Operator, operator_stream_id(username))
        if operator is None:
            raise NotFound(f"there is no operator {username!r}", code="OperatorNotFound")
        return OperatorView.of(operator)

    async def systems(self, after: str | None, limit: int) -> Page[SystemView]:
        async with self._make_uow(READER) as uow:
            start = None if after is None else system_stream_id(after)
            ids = await uow.stream_ids(System, after=start, limit=limit + 1)
            found = await uow.find_many(System, ids[:limit])
        items = [SystemView.of(found[i]) for i in ids[:limit] if i in found]
        cursor = ids[limit - 1].removeprefix("system:") if len(ids) > limit else None
        return Page(items, cursor)

    async def api_keys(self, system: str) -> list[ApiKeyView]:
        """The keys of a system, oldest first: ids and dates, never a key's text or hash."""
        async with self._make_uow(READER) as uow:
            found = await uow.find(System, system_stream_id(system))
        if found is None:
            raise NotFound(f"there is no system {system!r}", code="SystemNotFound")
        return [ApiKeyView(k.key_id, k.issued_at, k.revoked_at) for k in found.keys.values()]

    async def identities_breaking_segregation(self) -> list[str]:
        """Every registered operator and system whose stored roles break segregation of duties
        (written before the rule was complete), as ``operator tom (admin, trader)``; the
        gateway refuses them until an administrator revokes a role."""
        found = [
            f"operator {view.username} ({', '.join(view.roles)})"
            async for view in _every(self.operators)
            if segregation_violation(view.roles)
        ]
        return found + [
            f"system {view.name} ({', '.join(view.roles)})"
            async for view in _every(self.systems)
            if segregation_violation(view.roles)
        ]

    async def _run(
        self,
        context: CommandContext,
        handler: Callable[[C, UnitOfWork], Awaitable[CommandResult]],
        command: C,
    ) -> CommandResult:
        try:
            return await run_command(self._make_uow, context, handler, command)
        finally:
            self._callers.forget()


async def _every(page_of: Callable[[str | None, int], Awaitable[Page[T]]]) -> AsyncIterator[T]:
    """Every item of a paged listing, page by page."""
    cursor: str | None = None
    while True:
        page = await page_of(cursor, MAX_PAGE)
        for item in page.items:
            yield item
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
