"""Set-based writes for projections: many rows in one statement, whatever their number.

The rows travel as one JSON array parameter and ``json_to_recordset`` turns it back into
typed rows in the database. A multi-row VALUES list would be compiled anew for every row
count, executemany sends the rows one by one, and array parameters (``unnest``) cost the
driver a Python-level type check per element: this keeps the per-row work in C (``json``)
and in PostgreSQL (the array is encoded by orjson, which writes dates itself). A rebuild
filling a new generation COPYs insert-only rows instead (``shared_kernel.bulk_rows``).
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from shared_kernel.bulk_rows import copy_rows, filling
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection


def _recordset(table: sa.Table, columns: list[str], rows: list[dict[str, Any]]) -> sa.Select[Any]:
    """``SELECT * FROM json_to_recordset(:rows) AS r(col type, ...)``."""
    # Rows are dicts whose keys are the columns (in any order): dumped as they are.
    # Dates and datetimes as ISO 8601 (orjson's own), which PostgreSQL parses.
    payload = orjson.dumps(rows).decode()
    typed = [sa.column(c, table.c[c].type) for c in columns]
    records = (
        sa.func.json_to_recordset(sa.cast(sa.literal(payload, sa.Text), JSON))
        .table_valued(*typed)
        .render_derived(name="r", with_types=True)
    )
    return sa.select(*(records.c[c] for c in columns))


async def insert_rows(conn: AsyncConnection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) in one statement (COPY while filling)."""
    if filling(conn):
        await copy_rows(conn, table, rows)
        return
    columns = list(rows[0])
    await conn.execute(pg_insert(table).from_select(columns, _recordset(table, columns, rows)))


async def add_to(
    conn: AsyncConnection, table: sa.Table, keys: list[str], rows: list[dict[str, Any]]
) -> None:
    """Add ``rows``' figures to the table's rows with the same keys (insert when new). The
    rows' keys must be distinct: one statement may not update a row twice. The rows are
    locked in the keys' order (sorted by the database, cheaper than in Python), so that two
    transactions adding to the same rows wait for one another instead of deadlocking."""
    columns = [*keys, *(c for c in rows[0] if c not in keys)]
    ordered = _recordset(table, columns, rows).order_by(*(sa.literal_column(k) for k in keys))
    statement = pg_insert(table).from_select(columns, ordered)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c[k] for k in keys],
            set_={c: table.c[c] + statement.excluded[c] for c in columns if c not in keys},
        )
    )
