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
from risk.app.exposures import CountedEntries, EntryItem, LedgerExposures
from risk.bootstrap import risk_codec
from risk.domain.exposure import Exposure, keys_for
from risk.domain.exposure_events import ExposureChanged, ThresholdCrossed
from risk.domain.exposure_items import CountedEntry
from shared_kernel.domain import DomainEvent
from shared_kernel.envelope import Actor, EventEnvelope, versioned_type
from shared_kernel.errors import ConcurrencyConflict
from shared_kernel.memory import InMemoryBackend
from shared_kernel.unit_of_work import CommandContext, UnitOfWork

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
FIXED = random.Random(0)


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


class DictCountedEntries(CountedEntries):
    """Counted entries as rows of a dict (the table of ``risk.adapters.counted_entries`` in
    memory, without its transaction: enough for batches that commit)."""

    def __init__(self) -> None:
        self.rows: dict[str, CountedEntry] = {}

    async def load(self, uow: UnitOfWork, entry_ids: Sequence[str]) -> dict[str, EntryItem]:
        return {i: self.rows[i] for i in entry_ids if i in self.rows}

    def new(self, uow: UnitOfWork, entry: CountedEntry) -> EntryItem:
        return entry

    async def save(self, uow: UnitOfWork, entries: Sequence[EntryItem]) -> None:
        for entry in entries:
            if isinstance(entry, CountedEntry) and entry.changed:
                self.rows[entry.ledger_id] = entry
                entry.changed = False


async def test_a_batch_of_postings_on_one_limit_records_one_change_per_run_and_its_crossings() -> (
    None
):
    """Twelve postings of 100 on ACME against a limit of 1,000 (warning at 80 %), in one
    batch: the warning is reached by the 8th, the limit breached by the 11th. Recorded: the
    moves up to each crossing as one change, each crossing once, in order, and the rest as
    one change; nothing per ledger entry (the entries are rows)."""
    backend = InMemoryBackend(RISK_CODEC)
    await with_acme_limit(backend, amount=1_000_00)
    before = len(backend.events())
    streams: dict[str, list[DomainEvent]] = {
        f"p{n:02d}": [posted(f"p{n:02d}", deal(100_00), ACME)] for n in range(1, 13)
    }
    batch = [streams[stream_id][0] for stream_id in sorted(streams)]
    arrived = envelopes({s: [e] for s, e in zip(sorted(streams), batch, strict=True)}, FIXED)
    arrived.sort(key=lambda envelope: envelope.subject)
    entries = DictCountedEntries()
    await handle(LedgerExposures(entries=entries), backend, arrived)

    recorded = [backend.codec.decode_envelope(e) for e in backend.events()[before:]]
    shapes = [
        (type(e).__name__, e.posted if isinstance(e, ExposureChanged) else e.exposure)
        for e in recorded
        if isinstance(e, ExposureChanged | ThresholdCrossed) and e.counterparty == "ACME"
    ]
    assert shapes == [
        ("ExposureChanged", 800_00),
        ("LimitWarningReached", 800_00),
        ("ExposureChanged", 1_100_00),
        ("LimitBreached", 1_100_00),
        ("ExposureChanged", 1_200_00),
    ]
    [first, warning, _, breach, last] = [
        e for e in recorded if isinstance(e, ExposureChanged | ThresholdCrossed)
    ]
    assert isinstance(first, ExposureChanged)
    assert first.cause_ids == tuple(f"p{n:02d}" for n in range(1, 9))
    assert (warning.cause_id, breach.cause_id) == ("p08", "p11")
    assert isinstance(last, ExposureChanged) and last.cause_ids == ()
    # Five events for twelve ledger events: none of them per entry.
    assert len(recorded) == 5
    assert sorted(entries.rows) == sorted(streams)

    # The same entries again (a redelivery that escaped the inbox's claims): counted once.
    await handle(LedgerExposures(entries=entries), backend, arrived)
    assert len(backend.events()) == before + 5


async def test_a_reversal_takes_off_what_its_row_counted_in_either_order() -> None:
    """A reversal arriving after its entry takes the entry's amounts off; one arriving before
    leaves a settled row, so that the entry counts nothing when it comes."""
    backend = InMemoryBackend(RISK_CODEC)
    entries = DictCountedEntries()
    handler = LedgerExposures(entries=entries)
    reversal = (line("credit", 200_00), line("debit", 200_00))
    streams: dict[str, list[DomainEvent]] = {
        "a": [posted("a", deal(200_00), ACME)],
        "b": [posted("b", deal(300_00), ACME)],
        "ra": [posted("ra", reversal, {}, reverses="a")],
        "rc": [posted("rc", reversal, {}, reverses="c")],
        "c": [posted("c", deal(200_00), ACME)],
    }
    order = ["a", "b", "ra", "rc", "c"]
    arrived = {e.subject: e for e in envelopes(streams, FIXED)}
    for stream_id in order:
        await handle(handler, backend, [arrived[stream_id]])
    assert totals(backend) == {("counterparty", "ACME", None, "EUR"): (300_00, 0)}
    assert {i: row.status.value for i, row in entries.rows.items()} == {
        "a": "settled",
        "b": "posted",
        "c": "settled",
    }
