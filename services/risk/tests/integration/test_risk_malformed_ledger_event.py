"""A ledger event of a type the exposure inbox reads, but without the fields it needs, is
dead-lettered and counts nothing; a well-formed one in the same batch still counts. The inbox
writer runs against the risk service's real database, with the dead letters recorded here."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import ConsumerRecord
from ledger.bootstrap import ledger_codec
from ledger.domain.events import JournalEntryPosted, PostedLine
from risk.adapters.counted_entries import SqlCountedEntries
from risk.app.exposures import LedgerExposures
from risk.bootstrap import RiskSettings, bootstrap
from risk.domain.exposure import Exposure, keys_for
from shared_kernel.domain import DomainEvent
from shared_kernel.envelope import Actor, EventEnvelope, versioned_type
from shared_kernel.inbox import InboxWriter
from shared_kernel.projections import DeadLetters
from shared_kernel.unit_of_work import CommandContext

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


class RecordingDeadLetters(DeadLetters):
    """The dead-letter port, keeping what it is sent instead of producing to Kafka."""

    def __init__(self) -> None:
        self.sent: list[tuple[ConsumerRecord[bytes, bytes], str]] = []

    async def send(self, projection: str, record: ConsumerRecord[bytes, bytes], error: str) -> None:
        self.sent.append((record, error))


def ledger_record(
    offset: int, entry_id: str, event_type: str, data: dict[str, Any]
) -> ConsumerRecord[bytes, bytes]:
    envelope = EventEnvelope(
        id=uuid4(),
        source="/ledger",
        type=event_type,
        subject=entry_id,
        time=T0,
        data=data,
        stream_type="journal_entry",
        stream_version=1,
        position=offset + 1,
        correlation_id="c",
        causation_id="c",
        actor=Actor("user:acc", "back"),
    )
    value = envelope.to_json_bytes()
    return ConsumerRecord(
        "ledger.events", 0, offset, 0, 0, entry_id.encode(), value, None, 0, len(value), ()
    )


def posted(entry_id: str, amount: int) -> DomainEvent:
    lines = (
        PostedLine("acc-1", "1400", "debit", amount, "EUR"),
        PostedLine("acc-2", "8000", "credit", amount, "EUR"),
    )
    return JournalEntryPosted(
        entry_id,
        f"V-{entry_id}",
        date(2026, 11, 26),
        "deal",
        lines,
        metadata={"counterparty": "ACME"},
    )


async def test_a_malformed_ledger_event_is_dead_lettered_and_counts_no_exposure(
    risk_settings: RiskSettings,
) -> None:
    risk = bootstrap(risk_settings)
    codec = ledger_codec()
    good = posted("e-good", 500_00)
    records = [
        ledger_record(
            0, "e-good", versioned_type(good.event_type, good.version), codec.encode(good)
        ),
        # A known type without its lines (and so without amounts): malformed.
        ledger_record(
            1,
            "e-bad",
            "ledger.JournalEntryPosted.v1",
            {"entry_id": "e-bad", "metadata": {"counterparty": "ACME"}},
        ),
    ]
    dead = RecordingDeadLetters()
    entries = SqlCountedEntries()
    handler = LedgerExposures(entries=entries)
    writer = InboxWriter(handler, "risk", risk.runtime.unit_of_work, dead)
    try:
        await writer.write(records)
        await writer.write(records)  # a redelivery: nothing twice, not even the dead letter

        assert [(r.offset, error.split(":")[0]) for r, error in dead.sent] == [(1, "malformed")]
        async with risk.runtime.unit_of_work(CommandContext.system("test")) as uow:
            assert list(await entries.load(uow, ["e-bad", "e-good"])) == ["e-good"]
            [key] = keys_for("ACME", None, "EUR")
            exposure = await uow.find(Exposure, key.id)
        assert exposure is not None and (exposure.posted, exposure.pending) == (500_00, 0)
    finally:
        await risk.runtime.engine.dispose()
