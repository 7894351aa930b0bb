"""Who is calling, confirmed against the current state on every request.

A token proves who logged in, but an administrator may disable that operator or revoke a role
a minute later, and an API key may be revoked at any time. So every request is checked against
the event-sourced state of the operator or system, read from the database at most
``ttl_seconds`` (1 s) earlier: a disabled operator, a revoked role or a revoked key stops
working within that second in every gateway process, at once in the process that made the
change, at the cost of about one small query per caller and second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from shared_kernel.identity import Caller
from shared_kernel.roles import CallerKind
from shared_kernel.unit_of_work import CommandContext, UnitOfWork, sql_connection

from gateway.adapters.api_keys import ApiKeyStore, StoredKey, key_matches
from gateway.domain.api_keys import System, key_id_in, system_stream_id
from gateway.domain.operator import Operator, operator_stream_id

T = TypeVar("T")
READER = CommandContext.system("gateway")


class CallerRejected(Exception):
    """The credentials do not (or no longer) admit the caller: 401. ``reason`` and ``claimed``
    (whom the credentials name, when known) go to the audit trail, ``detail`` to the caller."""

    def __init__(self, reason: str, detail: str, claimed: str | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.claimed = claimed


class Callers:
    def __init__(
        self,
        make_uow: Callable[[CommandContext], UnitOfWork],
        keys: ApiKeyStore,
        *,
        ttl_seconds: float = 1.0,
        max_entries: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._make_uow = make_uow
        self._keys = keys
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, Any]] = {}
        self._loading: dict[str, asyncio.Task[Any]] = {}
        self._generation = 0

    async def confirm(self, identity: Caller) -> Caller:
        """The caller of a verified access token, with the operator's current roles; raises
        CallerRejected when the operator is gone or disabled, IdentityBreaksSegregation (403)
        when their roles break segregation of duties."""
        if identity.kind is not CallerKind.PERSON:
            raise CallerRejected("NotAnOperatorToken", "the access token is not valid")
        stream_id = operator_stream_id(identity.subject)
        operator: Operator | None = await self._cached(
            stream_id, lambda: self._find(Operator, stream_id)
        )
        if operator is None:
            raise CallerRejected("OperatorUnknown", "the operator of this token does not exist")
        if not operator.enabled:
            raise CallerRejected("OperatorDisabled", "this operator has been disabled")
        operator.ensure_segregated()
        return operator.caller(identity.request_id)

    async def authenticate_key(self, key_text: str, request_id: str) -> Caller:
        """The caller (a system) whose active API key this is; CallerRejected otherwise,
        IdentityBreaksSegregation (403) when its roles break segregation of duties."""
        key_id = key_id_in(key_text)
        if key_id is None:
            raise CallerRejected("ApiKeyMalformed", "the API key is not valid")
        stored = await self._cached(f"key:{key_id}", lambda: self._stored_key(key_id))
        if stored is None or not key_matches(key_text, stored):
            raise CallerRejected("ApiKeyUnknown", "the API key is not valid", f"key:{key_id}")
        stream_id = system_stream_id(stored.system)
        system: System | None = await self._cached(stream_id, lambda: self._find(System, stream_id))
        if system is None or not system.accepts(key_id):
            raise CallerRejected("ApiKeyRevoked", "the API key has been revoked", stored.system)
        system.ensure_segregated()
        return system.caller(request_id)

    def forget(self) -> None:
        """Drop everything cached (after an administrative change in this process); loads
        already under way are not cached either."""
        self._entries.clear()
        self._generation += 1

    async def _find(self, cls: type[Operator] | type[System], stream_id: str) -> Any:
        async with self._make_uow(READER) as uow:
            return await uow.find(cls, stream_id)

    async def _stored_key(self, key_id: str) -> StoredKey | None:
        async with self._make_uow(READER) as uow:
            return await self._keys.find(sql_connection(uow), key_id)

    async def _cached(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        """``load()``'s answer, at most ``ttl`` old; concurrent misses share one load."""
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            cached: T = entry[1]
            return cached
        task = self._loading.get(key)
        if task is None:
            task = asyncio.ensure_future(load())
            self._loading[key] = task
            started, generation = now, self._generation

            def settle(done: asyncio.Task[Any]) -> None:
                self._loading.pop(key, None)
                if done.cancelled() or done.exception() is not None:
                    return
                if generation == self._generation:
                    self._store(key, started + self._ttl, done.result())

            task.add_done_callback(settle)
        # shield: a caller that gives up does not cancel the load the others wait for.
        result: T = await asyncio.shield(task)
        return result

    def _store(self, key: str, expires: float, value: Any) -> None:
        if len(self._entries) >= self._max_entries:
            now = self._clock()
            self._entries = {k: e for k, e in self._entries.items() if e[0] > now}
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
        self._entries[key] = (expires, value)
