"""The ledger inbox handler against an in-memory event store: posted entries, approved,
rejected and pending booking requests and reversals give the same exposures in every order
the ledger's streams can arrive in (Kafka keeps order per stream only), and handling the
same events again changes nothing."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger.bootstrap import ledger_codec
from ledger.domain.events import (
    BookingRequestApproved,
    BookingRequestRejected,
    BookingRequestSubmitted,
    JournalEntryPosted,
    JournalEntryReversed,
    PostedLine,
)
from risk.app.exposures import LedgerExposures
from risk.domain.exposure import Exposure, keys_for
from risk.domain.exposure_events import ExposureChanged, ThresholdCrossed
from shared_kernel.domain import Aggregate, DomainEvent
from shared_kernel.envelope import Actor, EventEnvelope, versioned_type
from shared_kernel.errors import ConcurrencyConflict
from shared_kernel.unit_of_work import CommandContext, CommandResult, UnitOfWork

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
CODEC = ledger_codec()


class InMemoryUnitOfWork(UnitOfWork):
    """The real UnitOfWork's contract (find, add, commit with a version check per stream)
    over a dict of streams."""

    def __init__(self, streams: dict[str, tuple[str, list[DomainEvent]]]) -> None:
        self.streams = streams
        self.context = CommandContext.system("test")
        self._tracked: list[Aggregate] = []
        self._guards: list[Aggregate] = []

    async def __aenter__(self) -> InMemoryUnitOfWork:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def find_many(self, cls: Any, aggregate_ids: list[str]) -> dict[str, Any]:
        loaded = {}
        for stream_id in aggregate_ids:
            found = self.streams.get(stream_id)
            if found and found[0] == cls.stream_type:
                loaded[stream_id] = cls.load(stream_id, found[1])
                self._tracked.append(loaded[stream_id])
        return loaded

    async def commit(self, result_for: Aggregate | None = None) -> CommandResult:
        changed = [a for a in self._tracked if a.pending_events()]
        for aggregate in changed:
            if len(self.streams.get(aggregate.id, ("", []))[1]) != aggregate.version:
                raise ConcurrencyConflict(f"{aggregate.id} moved")
        for aggregate in changed:
            stream = self.streams.setdefault(aggregate.id, (aggregate.stream_type, []))
            stream[1].extend(aggregate.pending_events())
            aggregate.mark_saved()
        return CommandResult("", 0, 0)


def line(side: str, amount: int, currency: str = "EUR") -> PostedLine:
    return PostedLine("acc-" + side, "1400" if side == "debit" else "8000", side, amount, currency)


def deal(amount: int, currency: str = "EUR") -> tuple[PostedLine, ...]:
    return (line("debit", amount, currency), line("credit", amount, currency))


def posted(
    entry_id: str, lines: tuple[PostedLine, ...], metadata: dict[str, str], **fields: Any
) -> JournalEntryPosted:
    return JournalEntryPosted(
        entry_id, "V-" + entry_id, date(2026, 11, 26), "deal", lines, metadata=metadata, **fields
    )


def submitted(request_id: str, amount: int, metadata: dict[str, str]) -> BookingRequestSubmitted:
    return BookingRequestSubmitted(
        request_id,
        "V-" + request_id,
        date(2026, 11, 26),
        date(2026, 11, 26),
        "2026-11",
        "deal",
        deal(amount),
        "user:trader",
        T0 + timedelta(days=3),
        metadata=metadata,
    )


ACME_FX = {"counterparty": "ACME", "desk": "FX"}
ACME = {"counterparty": "ACME"}


def ledger_streams() -> dict[str, list[DomainEvent]]:
    """Ledger streams, each in its own order; between streams any order may arrive."""
    reversal_lines = (line("credit", 200_00), line("debit", 200_00))
    return {
        "e1": [posted("e1", deal(500_00), ACME_FX)],
        "r1": [submitted("r1", 350_00, ACME_FX), BookingRequestApproved("r1", "e2", "user:acc")],
        "e2": [posted("e2", deal(350_00), ACME_FX, request_id="r1")],
        "e3": [
            posted("e3", deal(200_00), ACME),
            JournalEntryReversed("e3", "e5", "user:acc", "wrong"),
        ],
        "e5": [posted("e5", reversal_lines, {}, reverses="e3")],
        "r2": [submitted("r2", 100_00, ACME), BookingRequestRejected("r2", "user:acc", "no")],
        "r3": [submitted("r3", 70_00, ACME_FX)],
        "e6": [posted("e6", deal(999_00), {})],
        "e7": [posted("e7", deal(30_00, "USD") + deal(10_00), {"desk": "FX"})],
    }


EXPECTED = {
    ("counterparty", "ACME", None, "EUR"): (850_00, 70_00),
    ("desk", None, "FX", "EUR"): (860_00, 70_00),
    ("counterparty_desk", "ACME", "FX", "EUR"): (850_00, 70_00),
    ("desk", None, "FX", "USD"): (30_00, 0),
}


def envelopes(streams: dict[str, list[DomainEvent]], rng: random.Random) -> list[EventEnvelope]:
    """One arrival order: streams interleaved at random, each stream's order kept."""
    cursors = {stream_id: 0 for stream_id in streams}
    arrived: list[EventEnvelope] = []
    while cursors:
        stream_id = rng.choice(sorted(cursors))
        event = streams[stream_id][cursors[stream_id]]
        cursors[stream_id] += 1
        if cursors[stream_id] == len(streams[stream_id]):
            del cursors[stream_id]
        arrived.append(
            EventEnvelope(
                id=uuid4(),
                source="/ledger",
                type=versioned_type(event.event_type, event.version),
                subject=stream_id,
                time=T0,
                data=CODEC.encode(event),
                stream_type="ledger",
                stream_version=1,
                position=len(arrived) + 1,
                correlation_id="c",
                causation_id="c",
                actor=Actor("user:acc", "back"),
            )
        )
    return arrived


async def handle_in_batches(
    handler: LedgerExposures,
    store: dict[str, tuple[str, list[DomainEvent]]],
    events: Sequence[EventEnvelope],
    rng: random.Random,
) -> None:
    start = 0
    while start < len(events):
        size = rng.randint(1, 4)
        uow = InMemoryUnitOfWork(store)
        await handler.handle(uow, events[start : start + size])
        await uow.commit()
        start += size


def totals(store: dict[str, tuple[str, list[DomainEvent]]]) -> dict[Any, tuple[int, int]]:
    found = {}
    for stream_id, (stream_type, history) in store.items():
        if stream_type == Exposure.stream_type:
            exposure = Exposure.load(stream_id, history)
            assert exposure.key is not None
            if (exposure.posted, exposure.pending) != (0, 0):
                key = exposure.key
                found[(key.dimension, key.counterparty, key.desk, key.currency)] = (
                    exposure.posted,
                    exposure.pending,
                )
    return found


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
async def test_every_arrival_order_gives_the_same_exposures(seed: int) -> None:
    rng = random.Random(seed)
    store: dict[str, tuple[str, list[DomainEvent]]] = {}
    handler = LedgerExposures()
    events = envelopes(ledger_streams(), rng)
    await handle_in_batches(handler, store, events, rng)
    assert totals(store) == EXPECTED

    # The same events again (a redelivery that escaped the inbox table) change nothing.
    before = {k: len(v[1]) for k, v in store.items()}
    await handle_in_batches(handler, store, events, rng)
    assert {k: len(v[1]) for k, v in store.items()} == before


async def test_a_stale_cached_exposure_is_reloaded_after_a_conflict() -> None:
    store: dict[str, tuple[str, list[DomainEvent]]] = {}
    handler = LedgerExposures()
    rng = random.Random(1)
    streams = ledger_streams()
    await handle_in_batches(handler, store, envelopes({"e1": streams["e1"]}, rng), rng)
    # Another writer (a limit approval) moves the exposure stream behind the cache's back.
    [key, *_] = keys_for("ACME", None, "EUR")
    other = Exposure.load(key.id, store[key.id][1])
    other.attach("l1", 1, 700_00, 8000, T0, None, at=T0)  # 500/700: below
    store[key.id][1].extend(other.pending_events())

    second = envelopes({"r3": streams["r3"]}, rng)
    uow = InMemoryUnitOfWork(store)
    await handler.handle(uow, second)
    with pytest.raises(ConcurrencyConflict):
        await uow.commit()
    uow = InMemoryUnitOfWork(store)  # the inbox retries the batch
    await handler.handle(uow, second)
    await uow.commit()
    reloaded = Exposure.load(key.id, store[key.id][1])
    assert (reloaded.posted, reloaded.pending) == (500_00, 70_00)
    assert "l1" in reloaded.limits and reloaded.limits["l1"].state.value == "warning"


def crossings_of(store: dict[str, tuple[str, list[DomainEvent]]]) -> list[tuple[str, str]]:
    return [
        (type(event).__name__, event.cause_id)
        for _, history in store.values()
        for event in history
        if isinstance(event, ThresholdCrossed)
    ]


def count_of(store: dict[str, tuple[str, list[DomainEvent]]], event_type: type) -> int:
    return sum(isinstance(e, event_type) for _, history in store.values() for e in history)


@pytest.mark.parametrize("seed", range(5))
async def test_a_batch_decides_the_crossings_of_one_event_at_a_time_in_fewer_events(
    seed: int,
) -> None:
    """Deals up and down around a limit (with reversals), all in one batch or one event per
    batch: the same crossings with the same causes and the same totals; the batch records
    the moves between crossings together."""
    rng = random.Random(seed)
    streams: dict[str, list[DomainEvent]] = {}
    for n in range(40):
        streams[f"d{n}"] = [posted(f"d{n}", deal(rng.randint(1, 90) * 1_00), ACME_FX)]
        if rng.random() < 0.3:
            streams[f"d{n}"].append(JournalEntryReversed(f"d{n}", f"s{n}", "user:acc", "no"))
            lines = (line("credit", 1), line("debit", 1))
            streams[f"s{n}"] = [posted(f"s{n}", lines, {}, reverses=f"d{n}")]
    events = envelopes(streams, rng)
    [key, *_] = keys_for("ACME", None, "EUR")
    results = []
    for batch_size in (1, len(events)):
        limit = Exposure.of(key)
        limit.attach("l1", 1, 1000_00, 8000, T0, None, at=T0)
        store: dict[str, tuple[str, list[DomainEvent]]] = {
            key.id: (Exposure.stream_type, limit.pending_events())
        }
        handler = LedgerExposures()
        for start in range(0, len(events), batch_size):
            uow = InMemoryUnitOfWork(store)
            await handler.handle(uow, events[start : start + batch_size])
            await uow.commit()
        results.append(store)
    one_at_a_time, batched = results
    assert crossings_of(batched) == crossings_of(one_at_a_time)
    assert crossings_of(batched), "the deals cross the limit's thresholds"
    assert totals(batched) == totals(one_at_a_time)
    assert count_of(batched, ExposureChanged) < count_of(one_at_a_time, ExposureChanged)
