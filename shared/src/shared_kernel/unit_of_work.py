"""One command, one transaction: load aggregates, save their new events, remember the answer.

``UnitOfWork`` is the port; ``PostgresUnitOfWork`` the production backend and
``shared_kernel.memory.InMemoryUnitOfWork`` the one for unit tests (one contract for both).

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

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import Any, Self, TypeVar
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from shared_kernel.codec import EventCodec
from shared_kernel.domain import Aggregate, Cause, caused_by
from shared_kernel.envelope import Actor, EventEnvelope
from shared_kernel.errors import Conflict, NotFound
from shared_kernel.eventstore import (
    POSITION_LOCK_KEY,
    EventMetadata,
    EventStore,
    NewEvent,
    StreamAppend,
)
from shared_kernel.group_commit import Answer, DuplicateRequest, GroupCommit, store_answers
from shared_kernel.identity import Caller
from shared_kernel.roles import CallerKind, Role
from shared_kernel.schema import idempotency_keys, inbox_messages
from shared_kernel.tracing import current_trace

A = TypeVar("A", bound=Aggregate)


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
        """Stamped on the command's events, with the trace context of the span current now
        (the request's, or an inbox's consumer span), when traces are on."""
        traceparent, tracestate = current_trace()
        return EventMetadata(
            actor=self.actor,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id or self.correlation_id,
            traceparent=traceparent,
            tracestate=tracestate,
        )


@dataclass(frozen=True)
class CommandResult:
    """What a command answers: the aggregate it touched, its new version, and the global
    position of its last event, so that the caller can read its own writes."""

    aggregate_id: str
    version: int
    position: int
    replayed: bool = False

    def stored(self) -> dict[str, Any]:
        """The answer as stored under an Idempotency-Key."""
        return {k: v for k, v in asdict(self).items() if k != "replayed"}


class IdempotencyKeyReused(Conflict):
    """The same Idempotency-Key came with a different request."""

    status = 422
    title = "Idempotency key reused"


class UnitOfWork(ABC):
    """The port: one command's transaction over the event store and the kernel's tables.

    It tracks the aggregates a command loads or adds and, at ``commit``, appends their pending
    events atomically (optimistic concurrency per stream, guards included) together with the
    idempotency answer and the inbox claims of the transaction. The bookkeeping lives here, once;
    a backend (``PostgresUnitOfWork``, ``shared_kernel.memory.InMemoryUnitOfWork``) supplies the
    transaction, the stored answers, the inbox claims and the locks."""

    def __init__(self, store: EventStore, codec: EventCodec, context: CommandContext) -> None:
        self.store = store
        self.codec = codec
        self.context = context
        # Keyed by identity, in tracking order: ``add`` is O(1) and a stream loaded twice is
        # tracked twice (its last read counts in ``ensure_current``).
        self._tracked: dict[int, Aggregate] = {}
        self._guards: list[Aggregate] = []
        self._cases: dict[str, str] = {}  # stream id -> correlation id of its first event
        # stream id -> its events, read ahead by ``prefetch`` and served once
        self._prefetched: dict[str, list[EventEnvelope]] = {}

    # -- what a backend supplies ---------------------------------------------------------------

    @abstractmethod
    async def __aenter__(self) -> Self: ...

    @abstractmethod
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""

    @property
    @abstractmethod
    def transaction(self) -> Any:
        """The backend's transaction handle, passed to every ``self.store`` call."""

    @abstractmethod
    async def lock(self, scope: str, *keys: str) -> None:
        """Hold a lock on each key of ``scope`` until the transaction ends; several keys are
        taken in one global order. Contenders queue instead of colliding and retrying (or, for
        a rule across streams such as "one name, whatever its kind", decide one at a time).
        Deadlock-free when every command takes its scopes in one fixed order."""

    @abstractmethod
    async def hold_appends(self) -> None:
        """Take the event store's position lock, exclusive, now: it waits for every append in
        flight (each holds the lock shared until it commits) and holds back new ones until this
        transaction ends, so every read from here on sees every event committed before. For a
        rare command that refuses on what other commands append (a period close while requests
        of its month are pending): it stops every writer, so hold it briefly."""

    @abstractmethod
    async def claim(self, consumer: str, event_ids: Sequence[UUID]) -> set[UUID]:
        """Record ``event_ids`` as handled by ``consumer`` in this transaction; answer the ids
        that were not recorded before (an inbox handles only those)."""

    @abstractmethod
    async def release(self, consumer: str, event_ids: Sequence[UUID]) -> set[UUID]:
        """Forget claims of ``consumer`` in this transaction (so an inbox may handle those
        events again: a re-drive of dead letters); answer the ids that were claimed."""

    @abstractmethod
    async def _stored_answer(self, owner: str, key: str) -> tuple[str, dict[str, Any]] | None:
        """The (request hash, result) stored under an idempotency key, if any."""

    @abstractmethod
    async def _store_answer(
        self, owner: str, key: str, request_hash: str, result: dict[str, Any]
    ) -> bool:
        """Store an answer under its key; False when the key was taken meanwhile."""

    @abstractmethod
    async def _commit_transaction(self) -> None: ...

    # -- what a command handler calls -----------------------------------------------------------

    async def previous_result(self) -> CommandResult | None:
        """The stored answer of an earlier request with the same Idempotency-Key, if any.

        Raises IdempotencyKeyReused when that earlier request was a different one."""
        idem = self.context.idempotency
        if idem is None:
            return None
        return self._replayed(await self._stored_answer(self.context.actor.subject, idem.key))

    async def answered_before(self) -> CommandResult | None:
        """``previous_result`` on its own, before the unit of work is entered (the command
        bus asks it before it runs a handler); a backend may read it without a transaction."""
        async with self:
            return await self.previous_result()

    def _replayed(self, stored: tuple[str, dict[str, Any]] | None) -> CommandResult | None:
        idem = self.context.idempotency
        if stored is None or idem is None:
            return None
        request_hash, result = stored
        if request_hash != idem.request_hash:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {idem.key!r} was already used with a different request",
                field="Idempotency-Key",
            )
        return CommandResult(**{**result, "replayed": True})

    async def get(self, cls: type[A], aggregate_id: str) -> A:
        aggregate = await self.find(cls, aggregate_id)
        if aggregate is None:
            raise NotFound(f"{cls.stream_type} {aggregate_id} does not exist")
        return aggregate

    async def find(self, cls: type[A], aggregate_id: str) -> A | None:
        found = await self.find_many(cls, [aggregate_id])
        return found.get(aggregate_id)

    async def prefetch(self, stream_ids: Iterable[str]) -> None:
        """Read these streams now, all in one round trip, for the next ``find``/``find_many``
        of each: a command that loads aggregates of several types one after another (accounts,
        then the period, then the voucher) reads them once instead of once per type. A stream
        is served from here once: loading it again (say after a lock) reads it afresh."""
        wanted = [i for i in dict.fromkeys(stream_ids) if i not in self._prefetched]
        if not wanted:
            return
        streams = await self.store.read_streams(self.transaction, wanted)
        for stream_id in wanted:
            self._prefetched[stream_id] = streams.get(stream_id, [])

    async def find_many(self, cls: type[A], aggregate_ids: list[str]) -> dict[str, A]:
        streams = {i: self._prefetched.pop(i) for i in aggregate_ids if i in self._prefetched}
        unread = [i for i in aggregate_ids if i not in streams]
        if unread:
            streams.update(await self.store.read_streams(self.transaction, unread))
        loaded: dict[str, A] = {}
        for stream_id, envelopes in streams.items():
            if envelopes and envelopes[0].stream_type == cls.stream_type:
                self._cases[stream_id] = envelopes[0].correlation_id
                history = [self.codec.decode_envelope(e) for e in envelopes]
                loaded[stream_id] = cls.load(stream_id, history)
                self.add(loaded[stream_id])
        return loaded

    async def stream_ids(
        self, cls: type[Aggregate], *, after: str | None = None, limit: int
    ) -> list[str]:
        """Up to ``limit`` ids of the aggregates of ``cls``, in id order, after ``after`` (a
        page of them; loaded with ``find``/``find_many`` when needed)."""
        return await self.store.stream_ids(
            self.transaction, cls.stream_type, after=after, limit=limit
        )

    async def find_latest(self, cls: type[A], stream_id: str) -> A:
        """The aggregate folded from its stream's last event only, at the stream's version (a
        new aggregate when the stream is empty), tracked: for aggregates whose every event
        carries their whole state (say a round-robin turn)."""
        last = await self.store.read_last(self.transaction, stream_id)
        if last is None:
            aggregate = cls(stream_id)
        else:
            aggregate = cls.load(stream_id, [self.codec.decode_envelope(last)])
            aggregate.version = last.stream_version
            self._cases.setdefault(stream_id, last.correlation_id)
        self.add(aggregate)
        return aggregate

    def case_of(self, aggregate: Aggregate) -> str | None:
        """The business case (correlation id) an aggregate belongs to: that of the first event
        of its stream (None for a new one, or one not loaded by this unit of work)."""
        return self._cases.get(aggregate.id)

    @contextmanager
    def continuing_case(self, aggregate: Aggregate) -> Iterator[None]:
        """Events recorded inside continue the case of ``aggregate`` (say approving a booking
        request continues the case its submission started), caused by this command's request.
        Without a known case, they carry the command's own correlation."""
        case = self.case_of(aggregate)
        cause = Cause(case, self.context.correlation_id) if case else None
        with caused_by(cause):
            yield

    def add(self, aggregate: Aggregate) -> None:
        """Track a new aggregate: its events are appended at ``commit``."""
        self._tracked.setdefault(id(aggregate), aggregate)

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
        latest = {a.id: a for a in self._tracked.values()}  # a stream read twice: last counts
        await self.store.check_versions(
            self.transaction,
            [StreamAppend(a.id, a.stream_type, a.version, ()) for a in latest.values()],
        )

    async def commit(self, result_for: Aggregate | None = None) -> CommandResult:
        """Append all pending events atomically and commit. ``result_for`` names the aggregate
        the answer is about (default: the first one that changed). The unit of work ends
        here: a backend may have handed its transaction back (``group_commit``)."""
        changed = [a for a in self._tracked.values() if a.pending_events()]
        appends = [
            StreamAppend(
                stream_id=a.id,
                stream_type=a.stream_type,
                expected_version=a.version,
                events=[
                    NewEvent(e.event_type, e.version, self.codec.encode(e), cause)
                    for e, cause in zip(a.pending_events(), a.pending_causes(), strict=True)
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
        subject = result_for or (changed[0] if changed else None)
        about = Subject(
            subject.id if subject else "",
            subject.version + len(subject.pending_events()) if subject else 0,
        )
        result = await self._append_and_commit(appends, about)
        for aggregate in changed:
            aggregate.mark_saved()
        return result

    async def _append_and_commit(
        self, appends: list[StreamAppend], subject: Subject
    ) -> CommandResult:
        """Append, store the idempotency answer and commit, in this unit's transaction."""
        stored = await self.store.append(self.transaction, appends, self.context.metadata())
        position = stored[-1].position if stored else await self.store.head(self.transaction)
        result = subject.result(position)
        await self._remember(result)
        await self._commit_transaction()
        return result

    async def _remember(self, result: CommandResult) -> None:
        idem = self.context.idempotency
        if idem is None:
            return
        if not await self._store_answer(
            self.context.actor.subject, idem.key, idem.request_hash, result.stored()
        ):
            # A concurrent request with the same key won; undo ours and let the caller replay.
            raise DuplicateRequest(idem.key)


@dataclass(frozen=True)
class Subject:
    """The aggregate a command's answer is about, at its version after the command."""

    aggregate_id: str
    version: int

    def result(self, position: int) -> CommandResult:
        return CommandResult(self.aggregate_id, self.version, position)


def sql_connection(uow: UnitOfWork) -> AsyncConnection:
    """The PostgreSQL connection of a unit of work, for a service's own tables beside the
    events (the gateway's credentials and API keys): only the PostgreSQL backend has them."""
    if not isinstance(uow, PostgresUnitOfWork):
        raise TypeError(f"{type(uow).__name__} has no SQL tables; use PostgresUnitOfWork")
    return uow.connection


class PostgresUnitOfWork(UnitOfWork):
    """The unit of work in one PostgreSQL transaction of the service's database.

    With a ``GroupCommit``, a command whose transaction holds only its reads commits its
    appends in a group with other commands' (``group_commit``): its own transaction ends
    after the reads. Taking a lock, holding the appends, claiming inbox messages or using the
    connection for other tables (``sql_connection``) keeps the command in its own transaction
    to the end: what those hold or write must commit with the events."""

    def __init__(
        self,
        engine: AsyncEngine,
        store: EventStore[AsyncConnection],
        codec: EventCodec,
        context: CommandContext,
        *,
        on_commit: Callable[[], None] | None = None,
        group: GroupCommit | None = None,
    ) -> None:
        super().__init__(store, codec, context)
        self._engine = engine
        self._on_commit = on_commit  # after the commit, e.g. ``AppendSignal.committed``
        self._group = group
        self._alone = group is None  # the transaction holds more than reads: commits alone
        self._conn: AsyncConnection | None = None
        self._tx: AsyncTransaction | None = None

    async def __aenter__(self) -> Self:
        self._conn = await self._engine.connect()
        self._tx = await self._conn.begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._end_transaction()

    async def _end_transaction(self) -> None:
        """Roll back what was not committed and give the connection back."""
        if self._conn is None:  # ended already: the appends went to a group commit
            return
        assert self._tx is not None
        try:
            if self._tx.is_active:
                await self._tx.rollback()
        finally:
            await self._conn.close()
            self._conn = None

    @property
    def connection(self) -> AsyncConnection:
        """The transaction's connection, for a service's own tables beside the events: what
        is written there commits with the events, so the command commits alone."""
        self._alone = True
        return self.transaction

    @property
    def transaction(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("UnitOfWork used outside 'async with', or after its commit")
        return self._conn

    async def lock(self, scope: str, *keys: str) -> None:
        """Transaction-scoped advisory locks in the two-key space (``hashtext(scope)``,
        ``hashtext(key)``), apart from the kernel's one-key locks, taken in key-hash order in
        one round trip. Deadlock-free as long as a command takes its scopes in one fixed order
        and before the event store's locks (the position lock, then the stream locks, taken at
        commit or by ``hold_appends``; see ``eventstore``)."""
        if not keys:
            return
        await self.connection.execute(_LOCK, {"scope": scope, "keys": sorted(set(keys))})

    async def hold_appends(self) -> None:
        # Exclusive against the shared hold of every append (which, in this transaction, is
        # re-entrant: a lock never conflicts with its own transaction's).
        await self.connection.execute(sa.select(sa.func.pg_advisory_xact_lock(POSITION_LOCK_KEY)))

    async def claim(self, consumer: str, event_ids: Sequence[UUID]) -> set[UUID]:
        unique = list(dict.fromkeys(event_ids))
        rows = await self.connection.execute(_CLAIM, {"consumer": consumer, "ids": unique})
        return {row.event_id for row in rows}

    async def release(self, consumer: str, event_ids: Sequence[UUID]) -> set[UUID]:
        statement = (
            inbox_messages.delete()
            .where(
                inbox_messages.c.consumer == consumer,
                inbox_messages.c.event_id.in_(list(dict.fromkeys(event_ids))),
            )
            .returning(inbox_messages.c.event_id)
        )
        return {row.event_id for row in await self.connection.execute(statement)}

    async def _stored_answer(self, owner: str, key: str) -> tuple[str, dict[str, Any]] | None:
        return await _read_answer(self.transaction, owner, key)

    async def answered_before(self) -> CommandResult | None:
        """One statement outside a transaction (no BEGIN and ROLLBACK around it: two round
        trips fewer per command that carries an Idempotency-Key), on the driver's connection:
        nothing has begun a transaction on it, so the driver runs the statement on its own,
        and SQLAlchemy's statement and result handling cost more than the read (every
        posting asks)."""
        idem = self.context.idempotency
        if idem is None:
            return None
        async with self._engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            row = await driver.fetchrow(_READ_ANSWER_ALONE, self.context.actor.subject, idem.key)
        stored = None if row is None else (str(row["request_hash"]), json.loads(row["result"]))
        return self._replayed(stored)

    async def _store_answer(
        self, owner: str, key: str, request_hash: str, result: dict[str, Any]
    ) -> bool:
        stored = await store_answers(self.transaction, [(owner, key, request_hash, result)])
        return (owner, key) in stored

    async def _commit_transaction(self) -> None:
        assert self._tx is not None
        await self._tx.commit()
        if self._on_commit is not None:
            self._on_commit()

    async def _append_and_commit(
        self, appends: list[StreamAppend], subject: Subject
    ) -> CommandResult:
        if self._group is None or self._alone or not any(a.events for a in appends):
            return await super()._append_and_commit(appends, subject)
        metadata = self.context.metadata()  # the request's trace, taken in its own task
        idem = self.context.idempotency
        answer = None
        if idem is not None:
            answer = Answer(
                self.context.actor.subject,
                idem.key,
                idem.request_hash,
                lambda stored: subject.result(stored[-1].position).stored(),
            )
        await self._end_transaction()  # only reads: its connection serves the group
        stored = await self._group.commit(appends, metadata, answer)
        if self._on_commit is not None:
            self._on_commit()
        return subject.result(stored[-1].position)


# Built once, like every statement of the command path (building costs more Python than
# running takes).
_READ_ANSWER = sa.select(idempotency_keys.c.request_hash, idempotency_keys.c.result).where(
    idempotency_keys.c.owner == sa.bindparam("owner"), idempotency_keys.c.key == sa.bindparam("key")
)
_READ_ANSWER_ALONE = (
    "SELECT request_hash, result::text AS result"
    " FROM idempotency_keys WHERE owner = $1 AND key = $2"
)


async def _read_answer(
    conn: AsyncConnection, owner: str, key: str
) -> tuple[str, dict[str, Any]] | None:
    row = (await conn.execute(_READ_ANSWER, {"owner": owner, "key": key})).first()
    return None if row is None else (str(row.request_hash), dict(row.result))


_LOCK = sa.text(
    "SELECT count(pg_advisory_xact_lock(hashtext(:scope), k)) FROM "
    "(SELECT DISTINCT hashtext(key) AS k FROM unnest(CAST(:keys AS text[])) AS key "
    "ORDER BY k OFFSET 0) AS keys"
)

# One statement for any number of ids (an array, unnested): compiled once, not per batch.
_CLAIM = (
    pg_insert(inbox_messages)
    .from_select(
        ["consumer", "event_id"],
        sa.select(
            sa.bindparam("consumer", type_=sa.Text),
            sa.func.unnest(sa.bindparam("ids", type_=ARRAY(PG_UUID(as_uuid=True)))),
        ),
    )
    .on_conflict_do_nothing()
    .returning(inbox_messages.c.event_id)
)


def approver_of(context: CommandContext) -> Caller:
    """The approver of a command (for ``ensure_four_eyes``): its caller."""
    return context.caller
