"""One command, one transaction: load aggregates, save their new events, remember the answer.

A command handler in a service's ``app`` layer does::

    async with uow:
        account = await uow.get(Account, account_id)
        account.close(...)
        return await uow.commit()

``commit`` appends the pending events of every tracked aggregate atomically (optimistic
concurrency per stream) and, when the request carried an ``Idempotency-Key``, stores the result
under that key in the same transaction, so a retry can never run the command twice.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import Any, TypeVar
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from shared_kernel.codec import EventCodec
from shared_kernel.domain import Aggregate
from shared_kernel.envelope import Actor
from shared_kernel.errors import ConcurrencyConflict, Conflict, NotFound
from shared_kernel.eventstore import EventMetadata, EventStore, NewEvent, StreamAppend
from shared_kernel.identity import Caller
from shared_kernel.roles import CallerKind, Role
from shared_kernel.schema import idempotency_keys

A = TypeVar("A", bound=Aggregate)
C = TypeVar("C")


@dataclass(frozen=True)
class Idempotency:
    """A client's ``Idempotency-Key`` with a fingerprint of the request it came with."""

    key: str
    request_hash: str


@dataclass(frozen=True)
class CommandContext:
    """Who runs a command and why; stamped on every event it produces. ``caller`` is the
    signed caller of a request, or ``Caller.system(name)`` for the services' own work (a
    sweeper, an inbox): see ``CommandContext.system``."""

    caller: Caller
    correlation_id: str = field(default_factory=lambda: str(uuid4()))
    causation_id: str | None = None
    idempotency: Idempotency | None = None

    @classmethod
    def system(cls, name: str, *, causation_id: str | None = None) -> CommandContext:
        """The context of a service's own work, recorded as the actor ``system:<name>``."""
        return cls(Caller.system(name), causation_id=causation_id)

    @property
    def actor(self) -> Actor:
        """Who the command's events name (the stored record of the caller)."""
        return self.caller.actor

    @property
    def roles(self) -> frozenset[Role]:
        return self.caller.roles

    @property
    def kind(self) -> CallerKind:
        return self.caller.kind

    @property
    def is_person(self) -> bool:
        return self.caller.is_person

    def metadata(self) -> EventMetadata:
        return EventMetadata(
            actor=self.actor,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id or self.correlation_id,
        )


@dataclass(frozen=True)
class CommandResult:
    """What a command answers: the aggregate it touched, its new version, and the global
    position of its last event, so that the caller can read its own writes."""

    aggregate_id: str
    version: int
    position: int
    replayed: bool = False


class IdempotencyKeyReused(Conflict):
    """The same Idempotency-Key came with a different request."""

    status = 422
    title = "Idempotency key reused"


class UnitOfWork:
    def __init__(
        self, engine: AsyncEngine, store: EventStore, codec: EventCodec, context: CommandContext
    ) -> None:
        self._engine = engine
        self.store = store
        self.codec = codec
        self.context = context
        self._conn: AsyncConnection | None = None
        self._tx: AsyncTransaction | None = None
        self._tracked: list[Aggregate] = []
        self._guards: list[Aggregate] = []

    async def __aenter__(self) -> UnitOfWork:
        self._conn = await self._engine.connect()
        self._tx = await self._conn.begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._conn is not None and self._tx is not None
        try:
            if self._tx.is_active:
                await self._tx.rollback()
        finally:
            await self._conn.close()
            self._conn = None

    @property
    def connection(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("UnitOfWork used outside 'async with'")
        return self._conn

    async def previous_result(self) -> CommandResult | None:
        """The stored answer of an earlier request with the same Idempotency-Key, if any.

        Raises IdempotencyKeyReused when that earlier request was a different one."""
        idem = self.context.idempotency
        if idem is None:
            return None
        row = (
            await self.connection.execute(
                sa.select(idempotency_keys.c.request_hash, idempotency_keys.c.result).where(
                    idempotency_keys.c.owner == self.context.actor.subject,
                    idempotency_keys.c.key == idem.key,
                )
            )
        ).first()
        if row is None:
            return None
        if row.request_hash != idem.request_hash:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {idem.key!r} was already used with a different request",
                field="Idempotency-Key",
            )
        return CommandResult(**{**row.result, "replayed": True})

    async def get(self, cls: type[A], aggregate_id: str) -> A:
        aggregate = await self.find(cls, aggregate_id)
        if aggregate is None:
            raise NotFound(f"{cls.stream_type} {aggregate_id} does not exist")
        return aggregate

    async def find(self, cls: type[A], aggregate_id: str) -> A | None:
        found = await self.find_many(cls, [aggregate_id])
        return found.get(aggregate_id)

    async def find_many(self, cls: type[A], aggregate_ids: list[str]) -> dict[str, A]:
        streams = await self.store.read_streams(self.connection, aggregate_ids)
        loaded: dict[str, A] = {}
        for stream_id, envelopes in streams.items():
            if envelopes and envelopes[0].stream_type == cls.stream_type:
                history = [self.codec.decode_envelope(e) for e in envelopes]
                loaded[stream_id] = cls.load(stream_id, history)
                self._tracked.append(loaded[stream_id])
        return loaded

    def add(self, aggregate: Aggregate) -> None:
        if aggregate not in self._tracked:
            self._tracked.append(aggregate)

    def expect_unchanged(self, aggregate: Aggregate) -> None:
        """The command decided on this aggregate's state without changing it (e.g. "the period
        is open"); the commit fails with a conflict if another command changed it meanwhile."""
        self._guards.append(aggregate)

    async def ensure_current(self) -> None:
        """Raise ConcurrencyConflict when a stream this unit of work read has moved since.

        A command reads its streams one after another, so a later read may see a write that
        an earlier one missed. Before refusing on what a later read found (say "this number is
        taken"), a command calls this: if another command changed what it read first, it is
        rerun on fresh state and answers what that state says (say "already reversed")."""
        latest = {a.id: a for a in self._tracked}  # a stream read twice: its last read counts
        await self.store.check_versions(
            self.connection,
            [StreamAppend(a.id, a.stream_type, a.version, ()) for a in latest.values()],
        )

    async def commit(self, result_for: Aggregate | None = None) -> CommandResult:
        """Append all pending events atomically and commit. ``result_for`` names the aggregate
        the answer is about (default: the first one that changed)."""
        changed = [a for a in self._tracked if a.pending_events()]
        appends = [
            StreamAppend(
                stream_id=a.id,
                stream_type=a.stream_type,
                expected_version=a.version,
                events=[
                    NewEvent(e.event_type, e.version, self.codec.encode(e))
                    for e in a.pending_events()
                ],
            )
            for a in changed
        ] + [
            StreamAppend(
                stream_id=g.id, stream_type=g.stream_type, expected_version=g.version, events=()
            )
            for g in self._guards
            if g not in changed
        ]
        stored = await self.store.append(self.connection, appends, self.context.metadata())
        subject = result_for or (changed[0] if changed else None)
        for aggregate in changed:
            aggregate.mark_saved()
        position = stored[-1].position if stored else await self.store.head(self.connection)
        result = CommandResult(
            aggregate_id=subject.id if subject else "",
            version=subject.version if subject else 0,
            position=position,
        )
        await self._remember(result)
        assert self._tx is not None
        await self._tx.commit()
        return result

    async def _remember(self, result: CommandResult) -> None:
        idem = self.context.idempotency
        if idem is None:
            return
        body: dict[str, Any] = {k: v for k, v in asdict(result).items() if k != "replayed"}
        inserted = await self.connection.execute(
            pg_insert(idempotency_keys)
            .values(
                owner=self.context.actor.subject,
                key=idem.key,
                request_hash=idem.request_hash,
                result=body,
            )
            .on_conflict_do_nothing()
            .returning(idempotency_keys.c.key)
        )
        if inserted.first() is None:
            # A concurrent request with the same key won; undo ours and let the caller replay.
            raise DuplicateRequest(idem.key)


class DuplicateRequest(Exception):
    """A concurrent request with the same Idempotency-Key committed first."""


async def run_command(
    make_uow: Callable[[CommandContext], UnitOfWork],
    context: CommandContext,
    handler: Callable[[C, UnitOfWork], Awaitable[CommandResult]],
    command: C,
) -> CommandResult:
    """Run ``handler`` once per Idempotency-Key: a repeat gets the first answer back."""
    if context.idempotency is not None:
        async with make_uow(context) as probe:
            previous = await probe.previous_result()
        if previous is not None:
            return previous
    try:
        return await handler(command, make_uow(context))
    except DuplicateRequest:
        async with make_uow(context) as probe:
            previous = await probe.previous_result()
        assert previous is not None, "a duplicate request must have left its answer"
        return previous


async def run_command_retrying(
    make_uow: Callable[[CommandContext], UnitOfWork],
    context: CommandContext,
    handler: Callable[[C, UnitOfWork], Awaitable[CommandResult]],
    command: C,
    *,
    attempts: int,
) -> CommandResult:
    """``run_command``, rerun (up to ``attempts`` times) when another command changed one of
    its streams first: the handler then decides again on the new state."""
    for attempt in range(1, attempts + 1):
        try:
            return await run_command(make_uow, context, handler, command)
        except ConcurrencyConflict:
            if attempt == attempts:
                raise
            # Full jitter, capped: contenders spread out instead of colliding again.
            await asyncio.sleep(random.uniform(0, min(0.2, 0.002 * 2**attempt)))
    raise AssertionError("unreachable")


def approver_of(context: CommandContext) -> Caller:
    """The approver of a command (for ``ensure_four_eyes``): its caller."""
    return context.caller
