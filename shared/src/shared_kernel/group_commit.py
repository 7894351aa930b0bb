"""Group commit: the appends of many concurrent commands written in one transaction.

A command's own transaction costs its round trips (lock, versions, insert, answer, COMMIT) and
a commit record of its own; with a few commands in flight, most of a command's time is that.
``GroupCommit`` queues the commands that reach their commit and writes what is queued in one
transaction: one lock statement, one read of the streams' versions, one INSERT of all events,
one INSERT of all idempotency answers, one COMMIT. While it writes, the next commands queue,
so the group grows with the load; alone, a command waits for no one.

What each command gets is what its own transaction would have given it:
- the commands are decided in queue order, each against the streams as the ones before it
  leave them (``PostgresEventStore.prepare``): a stale one gets its ``ConcurrencyConflict``
  and writes nothing, and the others are written;
- an Idempotency-Key taken meanwhile (or by an earlier command of the same group) refuses
  only that command (``DuplicateRequest``);
- a statement PostgreSQL refuses (say data it cannot store) fails the group before anything is
  committed; each of its commands is then written again in a transaction of its own, so the
  failure stays with the command that caused it;
- a database that cannot serve now (``database_unavailable``) fails every command of the
  group at once: each alone would only wait for it again;
- a failed COMMIT fails every command of the group, as a failed COMMIT of its own would (none
  is retried: it may have been written).

Only a unit of work whose transaction holds nothing but its reads and its appends may join a
group: one that took a lock, claimed inbox messages or wrote its own tables commits alone
(``PostgresUnitOfWork``). Its reads ran in a transaction of its own before; under READ
COMMITTED each read has its own snapshot anyway, and the versions it read are checked again
here under the stream locks, so nothing a command decided on can change unseen.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared_kernel.db_unavailable import database_unavailable
from shared_kernel.envelope import EventEnvelope
from shared_kernel.errors import ConcurrencyConflict
from shared_kernel.eventstore import Chained, EventMetadata, PostgresEventStore, StreamAppend
from shared_kernel.metrics import GROUP_COMMIT_COMMANDS, GROUP_COMMITS

log = logging.getLogger(__name__)

# The most commands in one transaction: beyond it the group's own statements grow long while
# the commit record is already shared; the rest go in the next group.
MAX_GROUP = 64


class DuplicateRequest(Exception):
    """A concurrent request with the same Idempotency-Key committed first."""


@dataclass(frozen=True)
class Answer:
    """The answer a command stores under its Idempotency-Key, built from its stored events
    (their positions are drawn in the group's transaction)."""

    owner: str
    key: str
    request_hash: str
    result_of: Callable[[list[EventEnvelope]], dict[str, Any]]


@dataclass
class _Command:
    appends: Sequence[StreamAppend]
    metadata: EventMetadata
    answer: Answer | None
    done: asyncio.Future[list[EventEnvelope]] = field(repr=False)


class _StatementFailed(Exception):
    """A statement of the group's transaction failed: nothing of it was committed."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


class GroupCommit:
    """Commits the appends of concurrent commands of one service's database together."""

    def __init__(self, engine: AsyncEngine, store: PostgresEventStore, service: str = "") -> None:
        self._engine = engine
        self._store = store
        self._service = service
        self._queue: deque[_Command] = deque()
        self._writer: asyncio.Task[None] | None = None
        self.groups = 0  # transactions written, and commands in them: the mean group size
        self.commands = 0

    async def commit(
        self, appends: Sequence[StreamAppend], metadata: EventMetadata, answer: Answer | None
    ) -> list[EventEnvelope]:
        """Append (with the answer, if any) and commit; answer the stored events. Raises
        ``ConcurrencyConflict``, ``DuplicateRequest`` or the database's error, as a
        transaction of the command's own would."""
        done: asyncio.Future[list[EventEnvelope]] = asyncio.get_running_loop().create_future()
        self._queue.append(_Command(appends, metadata, answer, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_queued(), name="group commit")
        # A caller cancelled before its group is taken is left out; once taken, it is written.
        return await done

    async def _write_queued(self) -> None:
        while self._queue:
            group: list[_Command] = []
            while self._queue and len(group) < MAX_GROUP:
                command = self._queue.popleft()
                if not command.done.done():
                    group.append(command)
            if group:
                await self._write_group(group)

    async def _write_group(self, group: list[_Command]) -> None:
        try:
            outcomes = await self._transaction(group)
        except _StatementFailed as failed:
            if len(group) == 1:
                _settle(group[0], failed.cause)
                return
            log.info("group of %d failed (%s); writing each alone", len(group), failed.cause)
            for command in group:
                await self._write_group([command])
            return
        except BaseException as exc:  # the COMMIT, the connection, or this task cancelled
            for command in group:
                _settle(command, exc)
            if not isinstance(exc, Exception):
                raise
            return
        self.groups += 1
        self.commands += len(group)
        GROUP_COMMITS.labels(self._service).inc()
        GROUP_COMMIT_COMMANDS.labels(self._service).inc(len(group))
        for command, outcome in zip(group, outcomes, strict=True):
            _settle(command, outcome)

    async def _transaction(self, group: list[_Command]) -> list[list[EventEnvelope] | Exception]:
        async with self._engine.connect() as conn:
            transaction = await conn.begin()
            try:
                outcomes = await self._statements(conn, group)
            except (DBAPIError, ConcurrencyConflict) as exc:
                # Refused data, or (the last line of defence) the unique version index; not a
                # database that cannot serve now: each command alone would only wait for it.
                if database_unavailable(exc):
                    raise
                await transaction.rollback()
                raise _StatementFailed(exc) from exc
            except BaseException:
                await transaction.rollback()
                raise
            await transaction.commit()
            return outcomes

    async def _statements(
        self, conn: AsyncConnection, group: list[_Command]
    ) -> list[list[EventEnvelope] | Exception]:
        prepared = await self._store.prepare(conn, [(c.appends, c.metadata) for c in group])
        outcomes: list[Chained | Exception] = list(prepared)
        answered: dict[tuple[str, str], int] = {}  # (owner, key) -> the command storing it
        for n, (command, outcome) in enumerate(zip(group, prepared, strict=True)):
            if command.answer is None or isinstance(outcome, ConcurrencyConflict):
                continue
            owner_key = (command.answer.owner, command.answer.key)
            if owner_key in answered:  # the same key twice in one group: the first one wins
                outcomes[n] = DuplicateRequest(command.answer.key)
            else:
                answered[owner_key] = n
        if answered:
            stored = await _store_answers(conn, group, outcomes, answered)
            for owner_key, n in answered.items():
                if owner_key not in stored:  # taken by a request committed before
                    outcomes[n] = DuplicateRequest(owner_key[1])
        await self._store.insert(
            conn, [row for outcome in outcomes if isinstance(outcome, list) for row in outcome]
        )
        return [
            [envelope for envelope, _ in outcome] if isinstance(outcome, list) else outcome
            for outcome in outcomes
        ]


async def _store_answers(
    conn: AsyncConnection,
    group: list[_Command],
    outcomes: list[Chained | Exception],
    answered: dict[tuple[str, str], int],
) -> set[tuple[str, str]]:
    """Store the answers of the commands in ``answered``, built from their chained events."""
    answers = []
    for (owner, key), n in answered.items():
        answer, chained = group[n].answer, outcomes[n]
        assert answer is not None and isinstance(chained, list)
        result = answer.result_of([envelope for envelope, _ in chained])
        answers.append((owner, key, answer.request_hash, result))
    return await store_answers(conn, answers)


async def store_answers(
    conn: AsyncConnection, answers: Sequence[tuple[str, str, str, dict[str, Any]]]
) -> set[tuple[str, str]]:
    """Insert idempotency answers, each (owner, key, request hash, result), in one statement;
    the (owner, key) pairs that were free and are now taken by them (a key taken before keeps
    its answer)."""
    if not answers:
        return set()
    owners, keys, hashes, results = (list(column) for column in zip(*answers, strict=True))
    rows = await conn.execute(
        _STORE_ANSWERS,
        {
            "owners": owners,
            "keys": keys,
            "hashes": hashes,
            "results": [json.dumps(result) for result in results],
        },
    )
    return {(row.owner, row.key) for row in rows}


def _settle(command: _Command, outcome: list[EventEnvelope] | BaseException) -> None:
    if command.done.done():  # its caller was cancelled while the group was written
        return
    if isinstance(outcome, asyncio.CancelledError):
        command.done.cancel()
    elif isinstance(outcome, BaseException):
        command.done.set_exception(outcome)
    else:
        command.done.set_result(outcome)


_STORE_ANSWERS = sa.text(
    "INSERT INTO idempotency_keys (owner, key, request_hash, result)"
    " SELECT a.owner, a.key, a.request_hash, CAST(a.result AS jsonb) FROM unnest("
    "CAST(:owners AS text[]), CAST(:keys AS text[]), CAST(:hashes AS text[]),"
    " CAST(:results AS text[])) AS a(owner, key, request_hash, result)"
    " ON CONFLICT DO NOTHING RETURNING owner, key"
)
