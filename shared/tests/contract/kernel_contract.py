"""The behaviour every backend of the kernel's ports owes (the pattern of ``eventsourcing``'s
recorder tests): one suite, subclassed once per backend with a ``backend`` fixture.

``shared/tests/unit/test_kernel_contract_memory.py`` runs it on the in-memory backend and
``shared/tests/integration/test_kernel_contract_postgres.py`` on PostgreSQL: the same
assertions, so a unit test on the in-memory backend means what it would mean in production.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from uuid import uuid4

import pytest
from shared_kernel.codec import EventCodec
from shared_kernel.commands import MakeUnitOfWork
from shared_kernel.domain import Aggregate, Cause, DomainEvent, caused_by
from shared_kernel.errors import ConcurrencyConflict
from shared_kernel.eventstore import NewEvent, StreamAppend
from shared_kernel.group_commit import DuplicateRequest
from shared_kernel.identity import Caller
from shared_kernel.unit_of_work import (
    CommandContext,
    Idempotency,
    IdempotencyKeyReused,
)


@dataclass(frozen=True)
class Counted(DomainEvent):
    event_type = "contract.Counted"

    by: int


@dataclass(frozen=True)
class TurnTaken(DomainEvent):
    """Carries the whole state of its aggregate, so the last one alone rebuilds it."""

    event_type = "contract.TurnTaken"

    next_member: str
    turns: int


class Counter(Aggregate):
    stream_type = "counter"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.total = 0

    def count(self, by: int) -> None:
        self._record(Counted(by))

    def _apply(self, event: DomainEvent) -> None:
        assert isinstance(event, Counted)
        self.total += event.by


class RoundRobin(Aggregate):
    stream_type = "round-robin"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.next_member = ""
        self.turns = 0

    def take(self, member: str) -> None:
        self._record(TurnTaken(member, self.turns + 1))

    def _apply(self, event: DomainEvent) -> None:
        assert isinstance(event, TurnTaken)
        self.next_member, self.turns = event.next_member, event.turns


CODEC = EventCodec([Counted, TurnTaken])


def context(key: str | None = None, request: str = "r1", who: str = "user:anna") -> CommandContext:
    idempotency = Idempotency(key, request) if key else None
    return CommandContext(Caller(who, (), "back"), idempotency=idempotency)


def new_id() -> str:
    return f"counter-{uuid4()}"


async def count(make_uow: MakeUnitOfWork, stream_id: str, *amounts: int) -> int:
    """Count on a counter (created when new) in one unit of work; its new version."""
    async with make_uow(context()) as uow:
        counter = await uow.find(Counter, stream_id) or Counter(stream_id)
        uow.add(counter)
        for amount in amounts:
            counter.count(amount)
        return (await uow.commit()).version


async def totals(make_uow: MakeUnitOfWork, *stream_ids: str) -> dict[str, tuple[int, int]]:
    """(total, version) of each existing counter."""
    async with make_uow(context()) as uow:
        found = await uow.find_many(Counter, list(stream_ids))
    return {i: (c.total, c.version) for i, c in found.items()}


class KernelContract:
    """The contract; a subclass supplies ``make_uow`` (a fresh, empty backend per test)."""

    @pytest.fixture
    def make_uow(self) -> MakeUnitOfWork:
        raise NotImplementedError

    # -- append, versions, read order --------------------------------------------------------

    async def test_appends_number_streams_from_one_and_positions_increasing_after_the_head(
        self, make_uow: MakeUnitOfWork
    ) -> None:
        first, second = new_id(), new_id()
        async with make_uow(context()) as uow:
            head = await uow.store.head(uow.transaction)
            events_before = len(await uow.store.read_after(uow.transaction, 0, 1_000_000))
            stored = await uow.store.append(
                uow.transaction,
                [
                    StreamAppend(first, "counter", 0, [NewEvent("contract.Counted", 1, {"by": 1})]),
                    StreamAppend(
                        second,
                        "counter",
                        0,
                        [NewEvent("contract.Counted", 1, {"by": n}) for n in (2, 3)],
                    ),
                ],
                context().metadata(),
            )
            await uow.commit()
        assert [(e.subject, e.stream_version) for e in stored] == [
            (first, 1),
            (second, 1),
            (second, 2),
        ]
        # Unique and increasing, after everything before (a backend may leave gaps: positions
        # of aborted transactions; the relay publishes in order and skips no event).
        positions = [e.position for e in stored]
        assert positions == sorted(set(positions)) and positions[0] > head
        assert [e.type for e in stored] == ["contract.Counted.v1"] * 3
        async with make_uow(context()) as uow:
            store, tx = uow.store, uow.transaction
            assert await store.head(tx) == positions[-1]
            assert [e.id for e in await store.read_after(tx, head, 10)] == [e.id for e in stored]
            assert [e.id for e in await store.read_after(tx, positions[0], 1)] == [stored[1].id]
            streams = await store.read_streams(tx, [second, first, "counter-none"])
            assert {k: [e.data["by"] for e in v] for k, v in streams.items()} == {
                first: [1],
                second: [2, 3],
            }
            last = await store.read_last(tx, second)
            assert last is not None and last.id == stored[2].id
            assert await store.read_last(tx, "counter-none") is None
            report = await store.verify_chain(tx)
        assert report.intact and report.checked == events_before + 3

    async def test_a_stale_expected_version_is_refused_and_nothing_of_the_append_is_written(
        self, make_uow: MakeUnitOfWork
    ) -> None:
        moved, fresh = new_id(), new_id()
        await count(make_uow, moved, 5)
        async with make_uow(context()) as uow:
            ours = Counter(fresh)
            ours.count(1)
            uow.add(ours)
            stale = Counter(moved)  # believes the stream is new: it is at version 1
            stale.count(2)
            uow.add(stale)
            with pytest.raises(ConcurrencyConflict):
                await uow.commit()
        assert await totals(make_uow, moved, fresh) == {moved: (5, 1)}

    async def test_of_two_commands_on_one_version_the_second_conflicts(
        self, make_uow: MakeUnitOfWork
    ) -> None:
        stream_id = new_id()
        await count(make_uow, stream_id, 1)
        async with make_uow(context()) as first, make_uow(context()) as second:
            mine, theirs = await first.get(Counter, stream_id), await second.get(Counter, stream_id)
            mine.count(10)
            theirs.count(100)
            await first.commit()
            with pytest.raises(ConcurrencyConflict):
                await second.commit()
        assert await totals(make_uow, stream_id) == {stream_id: (11, 2)}

    async def test_a_guard_alone_fails_when_its_stream_moved(
        self, make_uow: MakeUnitOfWork
    ) -> None:
        """A command that decided on a stream without changing it ("the period is open")
        and wrote nothing else must still fail when that stream moved meanwhile."""
        stream_id = new_id()
        await count(make_uow, stream_id, 1)
        async with make_uow(context()) as uow:
            uow.expect_unchanged(await uow.get(Counter, stream_id))
            await count(make_uow, stream_id, 1)  # another command changes it
            with pytest.raises(ConcurrencyConflict):
                await uow.commit()

    async def test_a_guard_beside_changes_fails_the_whole_commit(
        self, make_uow: MakeUnitOfWork
    ) -> None:
        guarded, changed = new_id(), new_id()
        await count(make_uow, guarded, 1)
        async with make_uow(context()) as uow:
            uow.expect_unchanged(await uow.get(Counter, guarded))
            counter = Counter(changed)
            counter.count(3)
            uow.add(counter)
            await count(make_uow, guarded, 1)
            with pytest.raises(ConcurrencyConflict):
                await uow.commit()
        assert changed not in await totals(make_uow, changed)

    async def test_an_unmoved_guard_lets_the_commit_through_and_answers_the_head(
        self, make_uow: MakeUnitOfWork
    ) -> None:
        stream_id = new_id()
        await count(make_uow, stream_id, 1)
        async with make_uow(context()) as uow:
            uow.expect_unchanged(await uow.get(Counter, stream_id))
            result = await uow.commit()
            head = await uow.store.head(uow.transaction)
        assert (result.aggregate_id, result.position) == ("", head)

    async def test_ensure_current_refuses_when_a_read_stream_moved(
        self, make_uow: MakeUnitOfWork
    ) -> None:
        stream_id = new_id()
        await count(make_uow, stream_id, 1)
        async with make_uow(context()) as uow:
            await uow.get(Counter, stream_id)
            await uow.ensure_current()  # nothing moved
            await count(make_uow, stream_id, 1)
            with pytest.raises(ConcurrencyConflict):
                await uow.ensure_current()

    async def test_an_aggregate_added_twice_is_saved_once(self, make_uow: MakeUnitOfWork) -> None:
        stream_id = new_id()
        async with make_uow(context()) as uow:
            counter = Counter(stream_id)
            counter.count(4)
            uow.add(counter)
            uow.add(counter)
            result = await uow.commit()
        assert (result.aggregate_id, result.version) == (stream_id, 1)
        assert await totals(make_uow, stream_id) == {stream_id: (4, 1)}

    # -- business cases: correlation and causation per event -------------------------------------

    async def test_events_recorded_inside_caused_by_carry_that_case_and_cause(
        self, make_uow: MakeUnitOfWork
    ) -> None:
        first, second = new_id(), new_id()
        async with make_uow(context()) as uow:
            a, b = Counter(first), Counter(second)
            uow.add(a)
            uow.add(b)
            a.count(1)
            with caused_by(Cause("case-1", "event-1")):
                a.count(2)
                with caused_by(Cause("case-2", "event-2")):
                    b.count(3)
            b.count(4)
            b.restamp(lambda e: Cause("case-3", "event-3") if e == Counted(4) else None)
            await uow.commit()
            own = uow.context.correlation_id
        async with make_uow(context()) as uow:  # a committed unit of work reads no more
            streams = await uow.store.read_streams(uow.transaction, [first, second])
        stamped = [
            (e.data["by"], e.correlation_id, e.causation_id)
            for e in streams[first] + streams[second]
        ]
        assert stamped == [
            (1, own, own),
            (2, "case-1", "event-1"),
            (3, "case-2", "event-2"),
            (4, "case-3", "event-3"),
        ]

    async def test_a_command_on_an_existing_aggregate_can_continue_its_case(
        self, make_uow: MakeUnitOfWork
    ) -> None:
        stream_id = new_id()
        started = context()
        async with make_uow(started) as uow:
            counter = Counter(stream_id)
            uow.add(counter)
            assert uow.case_of(counter) is None
            counter.count(1)
            await uow.commit()
        later = context()
        async with make_uow(later) as uow:
            counter = await uow.get(Counter, stream_id)
            assert uow.case_of(counter) == started.correlation_id
            with uow.continuing_case(counter):
                counter.count(2)
            await uow.commit()
        async with make_uow(context()) as uow:
            stored = (await uow.store.read_streams(uow.transaction, [stream_id]))[stream_id]
        assert [(e.correlation_id, e.causation_id) for e in stored] == [
            (started.correlation_id, started.correlation_id),
            (started.correlation_id, later.correlation_id),
        ]

    async def test_tracking_many_new_aggregates_takes_linear_time(
        self, make_uow: MakeUnitOfWork
    ) -> None:
        """A bulk posting tracks thousands of new aggregates: a membership test over a list
        made that quadratic (1.5 s for 10,000 entries; ~6 s for these 20,000)."""
        async with make_uow(context()) as uow:
            counters = [Counter(f"counter-{n}") for n in range(20_000)]
            started = time.perf_counter()
            for counter in counters:
                uow.add(counter)
            elapsed = time.perf_counter() - started
        assert elapsed < 1.0, f"adding 20,000 aggregates took {elapsed:.2f} s"

    async def test_an_uncommitted_unit_of_work_leaves_nothing(
        self, make_uow: MakeUnitOfWork
    ) -> None:
        stream_id = new_id()
        async with make_uow(context()) as uow:
            counter = Counter(stream_id)
            counter.count(1)
            uow.add(counter)
        assert await totals(make_uow, stream_id) == {}

    async def test_prefetched_streams_are_served_once_then_read_afresh(
        self, make_uow: MakeUnitOfWork
    ) -> None:
        stream_id, new = new_id(), new_id()
        await count(make_uow, stream_id, 1)
        async with make_uow(context()) as uow:
            await uow.prefetch([stream_id, new, stream_id])
            await count(make_uow, stream_id, 2)  # another command, after the read ahead
            first = await uow.find(Counter, stream_id)
            again = await uow.find(Counter, stream_id)
            assert await uow.find(Counter, new) is None
            assert first is not None and again is not None
            assert (first.total, first.version) == (1, 1)  # as read ahead
            assert (again.total, again.version) == (3, 2)  # read afresh
            first.count(5)  # decided on the read-ahead state: refused at commit
            with pytest.raises(ConcurrencyConflict):
                await uow.commit()

    # -- idempotency -------------------------------------------------------------------------

    async def test_a_repeated_key_gets_the_first_answer_and_a_reused_key_is_refused(
        self, make_uow: MakeUnitOfWork
    ) -> None:
        key, stream_id = f"key-{uuid4()}", new_id()
        async with make_uow(context(key)) as uow:
            assert await uow.previous_result() is None
            counter = Counter(stream_id)
            counter.count(1)
            uow.add(counter)
            first = await uow.commit()
        async with make_uow(context(key)) as uow:
            again = await uow.previous_result()
        assert again is not None and again.replayed
        assert (again.aggregate_id, again.version, again.position) == (
            first.aggregate_id,
            first.version,
            first.position,
        )
        async with make_uow(context(key, request="another body")) as uow:
            with pytest.raises(IdempotencyKeyReused):
                await uow.previous_result()
        async with make_uow(context(key, who="user:bert")) as uow:
            assert await uow.previous_result() is None  # keys are scoped per caller
        # The same, asked before a unit of work is entered (as the command bus asks it).
        assert await make_uow(context(key)).answered_before() == again
        with pytest.raises(IdempotencyKeyReused):
            await make_uow(context(key, request="another body")).answered_before()
        assert await make_uow(context(key, who="user:bert")).answered_before() is None
        assert await make_uow(context()).answered_before() is None

    async def test_of_two_requests_with_one_key_the_second_commit_is_a_duplicate(
        self, make_uow: MakeUnitOfWork
    ) -> None:
        key, first_id, second_id = f"key-{uuid4()}", new_id(), new_id()
        async with make_uow(context(key)) as first, make_uow(context(key)) as second:
            for uow, stream_id in ((first, first_id), (second, second_id)):
                assert await uow.previous_result() is None
                counter = Counter(stream_id)
                counter.count(1)
                uow.add(counter)
            await first.commit()
            with pytest.raises(DuplicateRequest):
                await second.commit()
        assert set(await totals(make_uow, first_id, second_id)) == {first_id}

    # -- inbox claims, find_latest, locks --------------------------------------------------

    async def test_claims_answer_only_ids_never_claimed_in_a_committed_transaction(
        self, make_uow: MakeUnitOfWork
    ) -> None:
        a, b, c = uuid4(), uuid4(), uuid4()
        async with make_uow(context()) as uow:
            assert await uow.claim("risk.inbox", [a, b, a]) == {a, b}
            await uow.commit()
        async with make_uow(context()) as uow:
            assert await uow.claim("risk.inbox", [c]) == {c}
            # not committed: the claim of c is forgotten
        async with make_uow(context()) as uow:
            assert await uow.claim("risk.inbox", [a, b, c]) == {c}
            assert await uow.claim("risk.other", [a]) == {a}  # per consumer
            await uow.commit()

    async def test_a_released_claim_can_be_claimed_again_once_its_release_commits(
        self, make_uow: MakeUnitOfWork
    ) -> None:
        a, b = uuid4(), uuid4()
        async with make_uow(context()) as uow:
            await uow.claim("risk.inbox", [a])
            await uow.commit()
        async with make_uow(context()) as uow:
            assert await uow.release("risk.inbox", [a, b]) == {a}
            # not committed: a stays claimed
        async with make_uow(context()) as uow:
            assert await uow.claim("risk.inbox", [a]) == set()
            assert await uow.release("risk.inbox", [a]) == {a}
            assert await uow.release("risk.inbox", [a]) == set()
            assert await uow.claim("risk.inbox", [a]) == {a}  # handled again, in this one
            await uow.commit()
        async with make_uow(context()) as uow:
            assert await uow.claim("risk.inbox", [a]) == set()
            assert await uow.release("risk.inbox", [a]) == {a}
            await uow.commit()
        async with make_uow(context()) as uow:
            assert await uow.claim("risk.inbox", [a]) == {a}

    async def test_find_latest_folds_the_last_event_at_the_stream_version(
        self, make_uow: MakeUnitOfWork
    ) -> None:
        stream_id = f"turns-{uuid4()}"
        for member in ("anna", "bert", "carl"):
            async with make_uow(context()) as uow:
                turns = await uow.find_latest(RoundRobin, stream_id)
                turns.take(member)
                await uow.commit()
        async with make_uow(context()) as uow:
            turns = await uow.find_latest(RoundRobin, stream_id)
            assert (turns.next_member, turns.turns, turns.version) == ("carl", 3, 3)
            fresh = await uow.find_latest(RoundRobin, f"turns-{uuid4()}")
            assert (fresh.turns, fresh.version) == (0, 0)

    async def test_stream_ids_page_through_the_streams_of_one_type_in_id_order(
        self, make_uow: MakeUnitOfWork
    ) -> None:
        prefix = new_id()
        for suffix in ("c", "a", "b"):
            await count(make_uow, f"{prefix}-{suffix}", 1, 2)  # two events: listed once
        async with make_uow(context()) as uow:
            turns = await uow.find_latest(RoundRobin, f"{prefix}-a0")  # another type
            turns.take("anna")
            await uow.commit()
        async with make_uow(context()) as uow:
            first = await uow.stream_ids(Counter, after=prefix, limit=2)
            rest = await uow.stream_ids(Counter, after=first[-1], limit=2)
        assert first == [f"{prefix}-a", f"{prefix}-b"]
        assert rest[0] == f"{prefix}-c"

    async def test_a_lock_is_held_until_the_transaction_ends(
        self, make_uow: MakeUnitOfWork
    ) -> None:
        key = str(uuid4())
        order: list[str] = []

        async def second() -> None:
            async with make_uow(context()) as uow:
                await uow.lock("contract.scope", key)
                order.append("second locked")

        async with make_uow(context()) as uow:
            await uow.lock("contract.scope", key, str(uuid4()))
            await uow.lock("contract.scope", key)  # re-entrant
            waiting = asyncio.create_task(second())
            await asyncio.sleep(0.05)
            order.append("first ends")
        await asyncio.wait_for(waiting, 10)
        assert order == ["first ends", "second locked"]

    async def test_holding_appends_makes_other_appends_wait_until_the_transaction_ends(
        self, make_uow: MakeUnitOfWork
    ) -> None:
        stream = new_id()
        order: list[str] = []

        async def append() -> None:
            await count(make_uow, stream, 1)
            order.append("appended")

        async with make_uow(context()) as uow:
            await uow.hold_appends()
            await uow.hold_appends()  # re-entrant
            waiting = asyncio.create_task(append())
            await asyncio.sleep(0.05)
            order.append("holder ends")
        await asyncio.wait_for(waiting, 10)
        assert order == ["holder ends", "appended"]

    async def test_locks_of_other_keys_and_scopes_do_not_wait(
        self, make_uow: MakeUnitOfWork
    ) -> None:
        key = str(uuid4())
        async with make_uow(context()) as uow:
            await uow.lock("contract.scope", key)
            async with make_uow(context()) as other:
                await asyncio.wait_for(other.lock("contract.other", key), 10)
                await asyncio.wait_for(other.lock("contract.scope", str(uuid4())), 10)
