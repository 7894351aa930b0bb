"""The exposure inbox keeps the entries it counted as rows (``risk_counted_entries``), one
statement per batch, and still reads the entries counted before as streams: a reversal of
such an entry settles its stream. A replay of the same ledger events changes nothing."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
import sqlalchemy as sa
from aiokafka import ConsumerRecord
from ledger.bootstrap import ledger_codec
from ledger.domain.events import JournalEntryPosted, PostedLine
from risk.adapters.counted_entries import SqlCountedEntries, counted_entries
from risk.app.exposures import LedgerExposures
from risk.bootstrap import RiskSettings, bootstrap
from risk.domain.exposure import Exposure, keys_for
from risk.domain.exposure_items import CountedItem, ItemStatus, item_id
from shared_kernel.envelope import EventEnvelope, versioned_type
from shared_kernel.errors import ConcurrencyConflict
from shared_kernel.inbox import InboxWriter
from shared_kernel.schema import events
from shared_kernel.unit_of_work import CommandContext, sql_connection
from sqlalchemy.ext.asyncio import AsyncEngine

from .test_risk_malformed_ledger_event import RecordingDeadLetters, ledger_record

pytestmark = pytest.mark.integration

CODEC = ledger_codec()


def entry(offset: int, entry_id: str, amount: int, reverses: str | None = None) -> ConsumerRecord:
    """A posted entry of ``amount`` on ACME (a reversal: mirrored lines, no metadata)."""
    debit, credit = ("credit", "debit") if reverses else ("debit", "credit")
    lines = (
        PostedLine("acc-1", "1400", debit, amount, "EUR"),
        PostedLine("acc-2", "8000", credit, amount, "EUR"),
    )
    event = JournalEntryPosted(
        entry_id,
        f"V-{entry_id}",
        date(2026, 11, 26),
        "deal",
        lines,
        metadata={} if reverses else {"counterparty": "ACME"},
        reverses=reverses,
    )
    event_type = versioned_type(event.event_type, event.version)
    return ledger_record(offset, entry_id, event_type, CODEC.encode(event))


async def test_rows_for_new_entries_streams_for_old_ones_and_a_replay_changes_nothing(
    risk_settings: RiskSettings,
) -> None:
    risk = bootstrap(risk_settings)
    uow_of = risk.runtime.unit_of_work
    rows = SqlCountedEntries()
    dead = RecordingDeadLetters()
    # Counted before the table: a stream of its own.
    before = [entry(0, "e-old", 400_00)]
    # Counted after: the old one reversed, a new one, and a reversal arriving before its entry.
    after = [
        entry(1, "r-old", 400_00, reverses="e-old"),
        entry(2, "e-new", 250_00),
        entry(3, "r-late", 100_00, reverses="e-late"),
        entry(4, "e-late", 100_00),
    ]
    try:
        await InboxWriter(LedgerExposures(), "risk", uow_of, dead).write(before)
        writer = InboxWriter(LedgerExposures(entries=rows), "risk", uow_of, dead)
        await writer.write(after)

        async def state() -> tuple[tuple[int, int], list[tuple[str, str]], int]:
            async with uow_of(CommandContext.system("test")) as uow:
                [key] = keys_for("ACME", None, "EUR")
                exposure = await uow.find(Exposure, key.id)
                assert exposure is not None
                conn = sql_connection(uow)
                found = await conn.execute(
                    sa.select(counted_entries.c.entry_id, counted_entries.c.status).order_by(
                        counted_entries.c.entry_id
                    )
                )
                count = await conn.execute(sa.select(sa.func.count()).select_from(events))
                return (
                    (exposure.posted, exposure.pending),
                    [(r.entry_id, r.status) for r in found],
                    int(count.scalar_one()),
                )

        settled = await state()
        assert settled[0] == (250_00, 0)
        assert settled[1] == [("e-late", "settled"), ("e-new", "posted")]
        async with uow_of(CommandContext.system("test")) as uow:
            old = await uow.find(CountedItem, item_id("entry", "e-old"))
            assert old is not None and old.status is ItemStatus.SETTLED
            assert await uow.find(CountedItem, item_id("entry", "e-new")) is None

        # A replay from offset zero, by a new instance of the inbox: nothing changes.
        replay = InboxWriter(LedgerExposures(entries=rows), "risk", uow_of, dead)
        await replay.write(before + after)
        assert await state() == settled
        assert dead.sent == []
    finally:
        await risk.runtime.engine.dispose()


async def test_an_entry_and_its_reversal_handled_at_once_by_two_instances_count_nothing(
    risk_settings: RiskSettings,
) -> None:
    """Two inbox instances (two partitions): one handles a reversal before its entry was
    seen, the other the entry, at the same time. The one that writes second does not
    overwrite the other's row: it fails with a conflict and, retried on fresh rows, counts
    the entry as reversed (nothing), exactly as in one instance."""
    risk = bootstrap(risk_settings)
    uow_of = risk.runtime.unit_of_work
    context = CommandContext.system("test")
    first, second = (LedgerExposures(entries=SqlCountedEntries()) for _ in range(2))
    [reversal] = first.codec.read_all([envelope(entry(0, "r-1", 300_00, reverses="e-1"))])
    [original] = second.codec.read_all([envelope(entry(1, "e-1", 300_00))])

    async def count_original() -> None:
        async with uow_of(context) as uow:
            await second.handle(uow, [original])
            await uow.commit()

    try:
        async with uow_of(context) as uow:
            await first.handle(uow, [reversal])  # e-1 settled before seen, not committed
            racing = asyncio.create_task(count_original())
            await waiting_on_a_lock(risk.runtime.engine)  # its insert waits on our row
            await uow.commit()
        with pytest.raises(ConcurrencyConflict):
            await racing
        await count_original()  # the retry

        async with uow_of(context) as uow:
            [key] = keys_for("ACME", None, "EUR")
            exposure = await uow.find(Exposure, key.id)
            assert exposure is None or (exposure.posted, exposure.pending) == (0, 0)
            rows = await SqlCountedEntries().load(uow, ["e-1"])
            assert [(i, row.status) for i, row in rows.items()] == [("e-1", ItemStatus.SETTLED)]
    finally:
        await risk.runtime.engine.dispose()


def envelope(record: ConsumerRecord) -> EventEnvelope:
    return EventEnvelope.from_json_bytes(record.value or b"")


async def waiting_on_a_lock(engine: AsyncEngine, timeout: float = 30.0) -> None:
    """Until a session of this database waits for a lock."""
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        async with engine.connect() as conn:
            if (await conn.execute(query)).scalar_one():
                return
        await asyncio.sleep(0.05)
    raise AssertionError("no session ever waited for the row")
