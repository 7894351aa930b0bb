"""The ledger inbox handler on the kernel's in-memory backend: posted entries, approved,
rejected and pending booking requests and reversals give the same exposures in every order
the ledger's streams can arrive in (Kafka keeps order per stream only), and handling the
same events again changes nothing. (Pending requests are deals: they reserve only when a
limit clears them, so the backends here start with a generous limit on ACME.)"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger.bootstrap import ledger_codec
from ledger.domain.events import (
    BookingRequestApproved,
    BookingRequestRejected,
    JournalEntryReversed,
)
from risk.app.exposures import LedgerExposures
from risk.bootstrap import risk_codec
from risk.domain.exposure import Exposure, keys_for
from risk.domain.exposure_events import ExposureChanged, ThresholdCrossed
from shared_kernel.domain import DomainEvent
from shared_kernel.envelope import Actor, EventEnvelope, versioned_type
from shared_kernel.errors import ConcurrencyConflict
from shared_kernel.memory import InMemoryBackend
from shared_kernel.unit_of_work import CommandContext

from .ledger_feed import T0, deal, line, posted, submitted

pytestmark = pytest.mark.unit

CODEC = ledger_codec()
RISK_CODEC = risk_codec()  # built once: a codec takes ~0.2 s to build


CONTEXT = CommandContext.system("test")
Histories = dict[str, tuple[str, list[DomainEvent]]]


def histories(backend: InMemoryBackend) -> Histories:
    """Every stream's type and decoded events."""
    found: Histories = {}
    for envelope in backend.events():
        stream = found.setdefault(envelope.subject, (envelope.stream_type, []))
        stream[1].append(backend.codec.decode_envelope(envelope))
    return found


async def handle(
    handler: LedgerExposures, backend: InMemoryBackend, batch: Sequence[EventEnvelope]
) -> None:
    """One batch in one unit of work, committed as the inbox runner commits it."""
    async with backend.make_uow(CONTEXT) as uow:
        await handler.handle(uow, handler.codec.read_all(batch))
        await uow.commit()


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
    backend: InMemoryBackend,
    events: Sequence[EventEnvelope],
    rng: random.Random,
) -> None:
    start = 0
    while start < len(events):
        size = rng.randint(1, 4)
        await handle(handler, backend, events[start : start + size])
        start += size


def totals(backend: InMemoryBackend) -> dict[Any, tuple[int, int]]:
    found = {}
    for stream_id, (stream_type, history) in histories(backend).items():
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


async def with_acme_limit(backend: InMemoryBackend, amount: int = 1_000_000_00) -> None:
    """An active limit on ACME in EUR, attached as its approval attaches it."""
    [key, *_] = keys_for("ACME", None, "EUR")
    async with backend.make_uow(CONTEXT) as uow:
        exposure = Exposure.of(key)
        exposure.attach("l-acme", 1, amount, 8000, T0 - timedelta(days=1), None, at=T0)
        uow.add(exposure)
        await uow.commit()


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
async def test_every_arrival_order_gives_the_same_exposures(seed: int) -> None:
    rng = random.Random(seed)
    backend = InMemoryBackend(RISK_CODEC)
    await with_acme_limit(backend)
    handler = LedgerExposures()
    events = envelopes(ledger_streams(), rng)
    await handle_in_batches(handler, backend, events, rng)
    assert totals(backend) == EXPECTED

    # The same events again (a redelivery that escaped the inbox table) change nothing.
    before = len(backend.events())
    await handle_in_batches(handler, backend, events, rng)
    assert len(backend.events()) == before


async def test_a_stale_cached_exposure_is_reloaded_after_a_conflict() -> None:
    backend = InMemoryBackend(RISK_CODEC)
    handler = LedgerExposures()
    rng = random.Random(1)
    streams = ledger_streams()
    await handle_in_batches(handler, backend, envelopes({"e1": streams["e1"]}, rng), rng)
    # Another writer (a limit approval) moves the exposure stream behind the cache's back.
    [key, *_] = keys_for("ACME", None, "EUR")
    async with backend.make_uow(CONTEXT) as uow:
        other = await uow.get(Exposure, key.id)
        other.attach("l1", 1, 700_00, 8000, T0, None, at=T0)  # 500/700: below
        await uow.commit()

    # The cached exposure knows no limit: the deal would be refused (NoActiveLimit), but its
    # refusal writes to the exposure it read, so the stale read fails the commit.
    second = envelopes({"r3": streams["r3"]}, rng)
    with pytest.raises(ConcurrencyConflict):
        await handle(handler, backend, second)
    await handle(handler, backend, second)  # the inbox retries the batch
    async with backend.make_uow(CONTEXT) as uow:
        reloaded = await uow.get(Exposure, key.id)
    assert (reloaded.posted, reloaded.pending) == (500_00, 70_00)
    assert "l1" in reloaded.limits and reloaded.limits["l1"].state.value == "warning"


def crossings_of(backend: InMemoryBackend) -> list[tuple[str, str]]:
    return [
        (type(event).__name__, event.cause_id)
        for _, history in histories(backend).values()
        for event in history
        if isinstance(event, ThresholdCrossed)
    ]


def count_of(backend: InMemoryBackend, event_type: type) -> int:
    return sum(
        isinstance(e, event_type) for _, history in histories(backend).values() for e in history
    )


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
        backend = InMemoryBackend(RISK_CODEC)
        async with backend.make_uow(CONTEXT) as uow:
            uow.add(limit)
            await uow.commit()
        handler = LedgerExposures()
        for start in range(0, len(events), batch_size):
            await handle(handler, backend, events[start : start + batch_size])
        results.append(backend)
    one_at_a_time, batched = results
    assert crossings_of(batched) == crossings_of(one_at_a_time)
    assert crossings_of(batched), "the deals cross the limit's thresholds"
    assert totals(batched) == totals(one_at_a_time)
    assert count_of(batched, ExposureChanged) < count_of(one_at_a_time, ExposureChanged)
