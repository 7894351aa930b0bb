"""Set-based writes for projections: many rows in one statement, whatever their number.

The rows travel as one JSON array parameter and ``json_to_recordset`` turns it back into
typed rows in the database. A multi-row VALUES list would be compiled anew for every row
count, executemany sends the rows one by one, and array parameters (``unnest``) cost the
driver a Python-level type check per element: this keeps the per-row work in C (orjson, which
writes dates, datetimes and UUIDs itself) and in PostgreSQL. A rebuild filling a new
generation COPYs insert-only rows instead (``shared_kernel.bulk_rows``).

Each statement is built once per table and column list and kept: building one (the typed
record set, INSERT ... SELECT, ON CONFLICT) costs about 0.36 ms of Python, more than the
database takes to run it for a few rows, and a kept statement also keeps its memoised cache
key, so SQLAlchemy finds its compiled form at once. The rows are its only parameter.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import lru_cache
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert, Update
from sqlalchemy.sql.selectable import TableValuedAlias

from shared_kernel.bulk_rows import copy_rows, filling

Row = dict[str, Any]
_ROWS = "rows"


def _parameters(rows: Sequence[Row]) -> dict[str, str]:
    return {_ROWS: orjson.dumps(rows).decode()}


def _records(table: sa.Table, columns: Sequence[str]) -> TableValuedAlias:
    """``json_to_recordset(:rows) AS r(col type, ...)`` typed like ``table``'s columns."""
    typed = [sa.column(c, table.c[c].type) for c in columns]
    return (
        sa.func.json_to_recordset(sa.cast(sa.bindparam(_ROWS, type_=sa.Text), JSON))
        .table_valued(*typed)
        .render_derived(name="r", with_types=True)
    )


async def insert_rows(conn: AsyncConnection, table: sa.Table, rows: list[Row]) -> None:
    """Insert ``rows`` (dicts with the same keys) in one statement (COPY while filling)."""
    if not rows:
        return
    if filling(conn):
        await copy_rows(conn, table, rows)
        return
    await conn.execute(_insert(table, tuple(rows[0]), skip_taken=False), _parameters(rows))


async def insert_new(conn: AsyncConnection, table: sa.Table, rows: list[Row]) -> None:
    """Insert ``rows`` in one statement; rows whose key is taken (also by an earlier row of
    the same list) are left out, as ON CONFLICT DO NOTHING."""
    if rows:
        await conn.execute(_insert(table, tuple(rows[0]), skip_taken=True), _parameters(rows))


async def add_to(
    conn: AsyncConnection, table: sa.Table, keys: Sequence[str], rows: list[Row]
) -> None:
    """Add ``rows``' figures to the table's rows with the same keys (insert when new). The
    rows' keys must be distinct: one statement may not update a row twice. The rows are
    locked in the keys' order (sorted by the database, cheaper than in Python), so that two
    transactions adding to the same rows wait for one another instead of deadlocking."""
    if rows:
        figures = tuple(c for c in rows[0] if c not in keys)
        await conn.execute(_add(table, tuple(keys), figures), _parameters(rows))


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
    if rows:
        others = tuple(c for c in rows[0] if c != key)
        statement = _update(table, key, others, frozenset(coalesce), frozenset(add))
        await conn.execute(statement, _parameters(rows))


@lru_cache(maxsize=512)
def _insert(table: sa.Table, columns: tuple[str, ...], *, skip_taken: bool) -> Insert:
    source = _records(table, columns)
    statement = pg_insert(table).from_select(
        list(columns), sa.select(*(source.c[c] for c in columns))
    )
    return statement.on_conflict_do_nothing() if skip_taken else statement


@lru_cache(maxsize=512)
def _add(table: sa.Table, keys: tuple[str, ...], figures: tuple[str, ...]) -> Insert:
    columns = [*keys, *figures]
    source = _records(table, columns)
    ordered = sa.select(*(source.c[c] for c in columns)).order_by(*(source.c[k] for k in keys))
    statement = pg_insert(table).from_select(columns, ordered)
    return statement.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={c: table.c[c] + statement.excluded[c] for c in figures},
    )


@lru_cache(maxsize=512)
def _update(
    table: sa.Table,
    key: str,
    others: tuple[str, ...],
    coalesce: frozenset[str],
    add: frozenset[str],
) -> Update:
    source = _records(table, [key, *others])
    values: dict[str, Any] = {}
    for column in others:
        if column in coalesce:
            values[column] = sa.func.coalesce(table.c[column], source.c[column])
        elif column in add:
            values[column] = table.c[column] + source.c[column]
        else:
            values[column] = source.c[column]
    return table.update().where(table.c[key] == source.c[key]).values(values)
