"""Set-based projection writes (``shared_kernel.recordsets``) on a real PostgreSQL: many rows in
one statement, built once per table and column list and reused with other rows."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from shared_kernel.recordsets import add_to, insert_new, insert_rows, update_rows
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

pytestmark = pytest.mark.integration

metadata = sa.MetaData()
totals = sa.Table(
    "recordset_totals",
    metadata,
    sa.Column("account", sa.Text, primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("debit", sa.BigInteger, nullable=False),
    sa.Column("lines", sa.Integer, nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("seen_at", sa.DateTime(timezone=True)),
)
DAY = date(2026, 11, 26)


async def rows(conn: AsyncConnection) -> list[tuple[object, ...]]:
    found = await conn.execute(
        sa.select(totals.c.account, totals.c.debit, totals.c.lines, totals.c.note).order_by(
            totals.c.account
        )
    )
    return [tuple(row) for row in found]


async def test_rows_are_inserted_added_to_and_updated_in_one_statement_each(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        seen = datetime(2026, 11, 26, 9, 30, 15, 123456, tzinfo=UTC)
        await insert_rows(
            conn,
            totals,
            [
                {"account": "a", "day": DAY, "debit": 5, "lines": 1, "seen_at": seen},
                {"account": "b", "day": DAY, "debit": 7, "lines": 1, "seen_at": seen},
            ],
        )
        # The same columns in another order, and a key already taken (left out).
        await insert_new(
            conn,
            totals,
            [
                {"lines": 1, "debit": 9, "day": DAY, "account": "a"},
                {"lines": 2, "debit": 3, "day": DAY, "account": "c"},
            ],
        )
        await add_to(
            conn,
            totals,
            ["account", "day"],
            [
                {"account": "b", "day": DAY, "debit": 10, "lines": 2},
                {"account": "d", "day": DAY, "debit": 1, "lines": 1},
            ],
        )
        await update_rows(
            conn,
            totals,
            "account",
            [
                {"account": "a", "note": "first", "lines": 4},
                {"account": "c", "note": None, "lines": 0},
            ],
            coalesce={"note"},
            add={"lines"},
        )
        await update_rows(
            conn, totals, "account", [{"account": "a", "note": "second"}], coalesce={"note"}
        )
        assert await rows(conn) == [
            ("a", 5, 5, "first"),  # coalesce keeps the note already set
            ("b", 17, 3, None),
            ("c", 3, 2, None),
            ("d", 1, 1, None),
        ]
        stored = await conn.execute(sa.select(totals.c.seen_at).where(totals.c.account == "a"))
        assert stored.scalar_one() == seen  # datetimes keep their microseconds and zone
        await conn.run_sync(metadata.drop_all)


async def test_nothing_to_write_sends_no_statement(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for write in (insert_rows, insert_new):
            await write(conn, totals, [])  # the table does not even exist
        await add_to(conn, totals, ["account"], [])
        await update_rows(conn, totals, "account", [])
