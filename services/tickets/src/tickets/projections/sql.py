"""Set-based writes for the tickets read model: many rows in one statement, whatever their
number (the same technique as the ledger's projections).

The rows travel as one JSON array parameter and ``json_to_recordset`` turns it back into
typed rows in the database: the per-row work stays in C (``json``) and in PostgreSQL, and
the statement's text does not depend on the number of rows.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.selectable import TableValuedAlias

Row = dict[str, Any]


def _json_default(value: Any) -> str:
    if isinstance(value, date):  # dates and datetimes: ISO 8601, which PostgreSQL parses
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def records(table: sa.Table, columns: list[str], rows: list[Row]) -> TableValuedAlias:
    """``json_to_recordset(:rows) AS r(col type, ...)`` typed like ``table``'s columns."""
    payload = json.dumps(rows, default=_json_default, separators=(",", ":"))
    typed = [sa.column(c, table.c[c].type) for c in columns]
    return (
        sa.func.json_to_recordset(sa.cast(sa.literal(payload, sa.Text), JSON))
        .table_valued(*typed)
        .render_derived(name="r", with_types=True)
    )


async def insert_new(conn: AsyncConnection, table: sa.Table, rows: list[Row]) -> None:
    """Insert ``rows`` (dicts with the same keys) in one statement; rows whose key is taken
    (also by an earlier row of the same list) are left out, as ON CONFLICT DO NOTHING."""
    if not rows:
        return
    columns = list(rows[0])
    source = records(table, columns, rows)
    await conn.execute(
        pg_insert(table)
        .from_select(columns, sa.select(*(source.c[c] for c in columns)))
        .on_conflict_do_nothing()
    )


async def update_rows(
    conn: AsyncConnection,
    table: sa.Table,
    key: str,
    rows: list[Row],
    *,
    coalesce: Collection[str] = (),
    add: Collection[str] = (),
) -> None:
    """Update the rows of ``table`` whose ``key`` is in ``rows`` with the rows' other
    columns, in one statement. The rows have the same keys and distinct ``key`` values.
    Columns in ``coalesce`` keep a value already set; columns in ``add`` are increments."""
    if not rows:
        return
    columns = [key, *(c for c in rows[0] if c != key)]
    source = records(table, columns, rows)
    values: dict[str, Any] = {}
    for column in columns[1:]:
        if column in coalesce:
            values[column] = sa.func.coalesce(table.c[column], source.c[column])
        elif column in add:
            values[column] = table.c[column] + source.c[column]
        else:
            values[column] = source.c[column]
    await conn.execute(table.update().where(table.c[key] == source.c[key]).values(values))
