"""Group commit on real PostgreSQL: the commands of one group share a transaction, yet each
gets what a transaction of its own would have given it (its events, its conflict, its
duplicate key, its refused data) and nothing of a refused one is written."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
import sqlalchemy as sa
from kernel_contract import CODEC, Counter, context, new_id
from kernel_harness import SOURCE, STREAM_TYPE, metadata_for, new_events
from shared_kernel.db_unavailable import database_unavailable
from shared_kernel.envelope import EventEnvelope
from shared_kernel.errors import ConcurrencyConflict
from shared_kernel.eventstore import POSITION_LOCK_KEY, PostgresEventStore, StreamAppend
from shared_kernel.group_commit import Answer, DuplicateRequest, GroupCommit
from shared_kernel.schema import events, idempotency_keys
from shared_kernel.unit_of_work import PostgresUnitOfWork
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.integration

STORE = PostgresEventStore(SOURCE)
Outcome = list[EventEnvelope] | BaseException


def new(stream_id: str, expected: int, values: Sequence[Any]) -> list[StreamAppend]:
    return [StreamAppend(stream_id, STREAM_TYPE, expected, new_events(values))]


def answer(key: str, owner: str = "user:anna") -> Answer:
    return Answer(owner, key, f"hash-{key}", lambda stored: {"position": stored[-1].position})


async def at_once(
    group: GroupCommit, *commands: tuple[list[StreamAppend], Answer | None]
) -> list[Outcome]:
    """Commands that reach their commit together (one group: the writer starts after all of
    them are queued)."""
    return await asyncio.gather(
        *(
            group.commit(appends, metadata_for(f"c{n}"), a)
            for n, (appends, a) in enumerate(commands)
        ),
        return_exceptions=True,
    )


async def stored_values(engine: AsyncEngine, stream_id: str) -> list[Any]:
    async with engine.connect() as conn:
        stream = (await STORE.read_streams(conn, [stream_id])).get(stream_id, [])
    return [e.data["value"] for e in stream]


async def chain_intact(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        return (await STORE.verify_chain(conn)).intact


async def test_commands_reaching_their_commit_together_share_one_transaction(
    engine: AsyncEngine,
) -> None:
    group = GroupCommit(engine, STORE)
    streams = [new_id() for _ in range(10)]
    outcomes = await at_once(group, *((new(s, 0, [n, n]), None) for n, s in enumerate(streams)))
    assert (group.groups, group.commands) == (1, 10)
    for n, (stream_id, outcome) in enumerate(zip(streams, outcomes, strict=True)):
        assert isinstance(outcome, list)
        assert [(e.subject, e.stream_version) for e in outcome] == [(stream_id, 1), (stream_id, 2)]
        assert await stored_values(engine, stream_id) == [n, n]
    positions = [e.position for outcome in outcomes if isinstance(outcome, list) for e in outcome]
    assert positions == sorted(positions)  # drawn in queue order
    assert await chain_intact(engine)


async def test_a_stale_command_in_a_group_is_refused_alone_and_writes_nothing(
    engine: AsyncEngine,
) -> None:
    group = GroupCommit(engine, STORE)
    shared, other = new_id(), new_id()
    await group.commit(new(shared, 0, ["first"]), metadata_for("setup"), None)
    # Both read the stream at version 1: the first in the queue wins, as it would have alone.
    won, lost, bystander = await at_once(
        group,
        (new(shared, 1, ["won"]), None),
        (new(shared, 1, ["lost"]), None),
        (new(other, 0, ["bystander"]), None),
    )
    assert isinstance(won, list) and isinstance(bystander, list)
    assert isinstance(lost, ConcurrencyConflict)
    assert await stored_values(engine, shared) == ["first", "won"]
    assert await stored_values(engine, other) == ["bystander"]
    assert await chain_intact(engine)


async def test_a_guard_behind_an_append_to_its_stream_in_the_same_group_fails(
    engine: AsyncEngine,
) -> None:
    group = GroupCommit(engine, STORE)
    period, entry = new_id(), new_id()
    await group.commit(new(period, 0, ["open"]), metadata_for("setup"), None)
    guarded = [StreamAppend(period, STREAM_TYPE, 1, ()), *new(entry, 0, ["booked"])]
    closed, booked = await at_once(group, (new(period, 1, ["closed"]), None), (guarded, None))
    assert isinstance(closed, list)
    assert isinstance(booked, ConcurrencyConflict)  # decided on the open period: refused
    assert await stored_values(engine, entry) == []


async def test_an_idempotency_key_taken_before_or_earlier_in_the_group_refuses_only_its_command(
    engine: AsyncEngine,
) -> None:
    group = GroupCommit(engine, STORE)
    await group.commit(new(new_id(), 0, ["earlier"]), metadata_for("setup"), answer("k-old"))
    first, twin, stale_key, other_owner = new_id(), new_id(), new_id(), new_id()
    outcomes = await at_once(
        group,
        (new(first, 0, ["first"]), answer("k-new")),
        (new(twin, 0, ["twin"]), answer("k-new")),
        (new(stale_key, 0, ["again"]), answer("k-old")),
        (new(other_owner, 0, ["bob's"]), answer("k-new", owner="user:bob")),
    )
    assert isinstance(outcomes[0], list) and isinstance(outcomes[3], list)
    assert isinstance(outcomes[1], DuplicateRequest) and isinstance(outcomes[2], DuplicateRequest)
    assert await stored_values(engine, twin) == [] and await stored_values(engine, stale_key) == []
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(idempotency_keys.c.owner, idempotency_keys.c.result).where(
                idempotency_keys.c.key == "k-new"
            )
        )
        answers = {owner: result for owner, result in rows}
    assert answers == {
        "user:anna": {"position": outcomes[0][-1].position},
        "user:bob": {"position": outcomes[3][-1].position},
    }


async def test_data_postgresql_refuses_fails_only_the_command_that_carries_it(
    engine: AsyncEngine,
) -> None:
    group = GroupCommit(engine, STORE)
    before, culprit, after = new_id(), new_id(), new_id()
    outcomes = await at_once(
        group,
        (new(before, 0, ["fine"]), answer("k-before")),
        (new(culprit, 0, ["NUL \x00 is no JSONB text"]), None),
        (new(after, 0, ["fine too"]), None),
    )
    assert isinstance(outcomes[0], list) and isinstance(outcomes[2], list)
    assert isinstance(outcomes[1], DBAPIError)
    assert await stored_values(engine, before) == ["fine"]
    assert await stored_values(engine, after) == ["fine too"]
    assert await stored_values(engine, culprit) == []
    assert await chain_intact(engine)


async def test_a_caller_cancelled_before_its_group_is_taken_is_not_written(
    engine: AsyncEngine,
) -> None:
    group = GroupCommit(engine, STORE)
    held, cancelled = new_id(), new_id()
    async with engine.connect() as blocker:
        await blocker.begin()  # holds every append back (as ``hold_appends`` does)
        await blocker.execute(sa.select(sa.func.pg_advisory_xact_lock(POSITION_LOCK_KEY)))
        first = asyncio.create_task(group.commit(new(held, 0, [1]), metadata_for("a"), None))
        await asyncio.sleep(0.2)  # the writer took it and waits for the lock
        second = asyncio.create_task(group.commit(new(cancelled, 0, [2]), metadata_for("b"), None))
        await asyncio.sleep(0.05)
        second.cancel()
        await blocker.rollback()
    assert [e.subject for e in await first] == [held]
    with pytest.raises(asyncio.CancelledError):
        await second
    await asyncio.sleep(0.1)  # the writer looked at the queue again
    assert await stored_values(engine, cancelled) == []
    assert group.commands == 1


async def test_a_unit_of_work_holding_more_than_reads_commits_alone(engine: AsyncEngine) -> None:
    group = GroupCommit(engine, STORE)

    async def count(*, lock: bool) -> int:
        async with PostgresUnitOfWork(engine, STORE, CODEC, context(), group=group) as uow:
            counter = Counter(new_id())
            uow.add(counter)
            if lock:
                await uow.lock("test.scope", counter.id)
            counter.count(1)
            await uow.commit()
        return group.commands

    assert await count(lock=True) == 0  # its lock must hold until its events commit
    assert await count(lock=False) == 1
    async with engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(events))).scalar() == 2


async def test_a_database_that_drops_the_group_fails_every_command_at_once(
    engine: AsyncEngine,
) -> None:
    group = GroupCommit(engine, STORE)
    async with engine.connect() as blocker:
        await blocker.begin()
        await blocker.execute(sa.select(sa.func.pg_advisory_xact_lock(POSITION_LOCK_KEY)))
        commands = asyncio.gather(
            *(group.commit(new(new_id(), 0, [n]), metadata_for("c"), None) for n in range(3)),
            return_exceptions=True,
        )
        await asyncio.sleep(0.3)  # the group waits for the position lock
        async with engine.connect() as admin:  # the server ends the group's session
            await admin.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
                    " AND pid <> pg_backend_pid()"
                )
            )
        # Not retried one by one: each alone would wait for the lock the blocker still holds.
        outcomes = await asyncio.wait_for(commands, timeout=5)
    assert all(isinstance(o, Exception) and database_unavailable(o) for o in outcomes), outcomes
    async with engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(events))).scalar() == 0
