"""``copy_rows``: COPY in the caller's transaction, the same rows as an INSERT would write,
a unique violation raised as SQLAlchemy's ``IntegrityError`` naming its constraint, and the
table's schema translated as the connection says."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from shared_kernel.bulk_rows import FILLING, copy_rows, filling
from shared_kernel.schema import events
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.integration

WHEN = datetime(2026, 11, 26, 9, 30, 15, 123456, tzinfo=UTC)


def event_row(position: int, stream: str, version: int) -> dict[str, Any]:
    return {
        "position": position,
        "event_id": uuid4(),
        "stream_id": stream,
        "stream_type": "thing",
        "stream_version": version,
        "event_type": "kernel.Thing",
        "event_version": 1,
        "data": {"amount": position * 100, "lines": [{"side": "debit", "note": "é"}]},
        "correlation_id": "c",
        "causation_id": "c",
        "actor": "user:anna",
        "actor_office": "back",
        "recorded_at": WHEN,
        "hash": f"{position:064d}",
        # The trace context goes through COPY as through INSERT (and may be missing).
        "traceparent": f"00-{position:032x}-{position:016x}-01" if position % 2 else None,
        "tracestate": "vendor=x" if position % 2 else None,
    }


async def stored(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(events).order_by(events.c.position))
        # ``tx`` is the writing transaction's id (a column default), the same for both paths
        # but not part of the rows given.
        return [{k: v for k, v in row.items() if k != "tx"} for row in rows.mappings()]


async def test_copied_events_read_back_as_inserted_ones(engine: AsyncEngine) -> None:
    inserted = [event_row(1, "a", 1), event_row(2, "a", 2)]
    copied = [event_row(3, "b", 1), event_row(4, "a", 3)]
    async with engine.begin() as conn:
        await conn.execute(events.insert(), inserted)
        await copy_rows(conn, events, copied)

    assert await stored(engine) == inserted + copied


async def test_a_taken_stream_version_fails_the_copy_as_an_integrity_error(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await copy_rows(conn, events, [event_row(1, "a", 1)])
    with pytest.raises(IntegrityError) as raised:
        async with engine.begin() as conn:
            await conn.execute(sa.select(sa.func.count()).select_from(events))
            await copy_rows(conn, events, [event_row(2, "b", 1), event_row(3, "a", 1)])

    assert "events_stream_version_key" in str(raised.value.orig)
    assert [row["position"] for row in await stored(engine)] == [1]


@pytest.mark.parametrize("first_statement", [True, False])
async def test_copied_rows_go_with_the_transaction(
    engine: AsyncEngine, first_statement: bool
) -> None:
    """Also when the COPY is the transaction's first statement (the transaction has not
    reached the driver yet): the rows are then inserted, never committed on their own."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        if not first_statement:
            await conn.execute(sa.text("SELECT 1"))
        await copy_rows(conn, events, [event_row(1, "a", 1)])
        await transaction.rollback()

    assert await stored(engine) == []


async def test_rows_land_in_the_translated_schema_with_days_as_text_and_json(
    engine: AsyncEngine,
) -> None:
    metadata = sa.MetaData()
    table = sa.Table(
        "days",
        metadata,
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("doc", JSONB, nullable=False),
        schema="placeholder",
    )
    async with engine.begin() as conn:
        await conn.execute(sa.text('CREATE SCHEMA "scratch_g1"'))
        translated = await conn.execution_options(
            schema_translate_map={"placeholder": "scratch_g1"}, **{FILLING: True}
        )
        await translated.run_sync(metadata.create_all)
        assert filling(translated)
        await copy_rows(
            translated,
            table,
            [
                {"key": "a", "day": "2026-11-26", "at": WHEN, "doc": {"n": 1}},
                {"key": "b", "day": date(2026, 11, 27), "at": None, "doc": "[1, 2]"},
            ],
        )
        found = await conn.execute(sa.text('SELECT * FROM "scratch_g1".days ORDER BY key'))

        assert [tuple(row) for row in found] == [
            ("a", date(2026, 11, 26), WHEN, {"n": 1}),
            ("b", date(2026, 11, 27), None, [1, 2]),
        ]
    async with engine.connect() as plain:
        assert not filling(plain)
