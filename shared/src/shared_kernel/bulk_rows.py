"""Many rows into one table at once: PostgreSQL's COPY through the driver, in the caller's
transaction.

``executemany`` sends one INSERT per row and a multi-row VALUES list is compiled anew for
every row count; COPY streams the rows in the binary format, encoded by asyncpg in C, and the
server appends them without planning a statement per row. It is the fast path of two writers:

- a rebuild filling a fresh read-model generation (``ProjectionWriter`` in fill mode marks its
  connection with ``FILLING``; a projection's insert-only writes ask ``filling(conn)`` and
  COPY then, see ``shared_kernel.recordsets.insert_rows``);
- an append of many events at once (``copy_rows(conn, events, rows)`` in place of
  ``conn.execute(events.insert(), rows)``; a unique violation still raises SQLAlchemy's
  ``IntegrityError`` naming the constraint, so a caller's conflict handling stays as it is).

COPY has no ON CONFLICT: it is for rows that must all be new (a duplicate fails the whole
statement, as a plain INSERT does).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from operator import itemgetter
from typing import Any

import orjson
import sqlalchemy as sa
from asyncpg.exceptions import IntegrityConstraintViolationError
from sqlalchemy.ext.asyncio import AsyncConnection

#: execution option of a connection filling a new read-model generation (a rebuild)
FILLING = "read_model_filling"


def _options(conn: AsyncConnection) -> Mapping[str, Any]:
    sync = conn.sync_connection
    return sync.get_execution_options() if sync is not None else {}


def filling(conn: AsyncConnection) -> bool:
    """Is ``conn`` filling a new read-model generation (no reader, insert-only rows COPYable)?"""
    return bool(_options(conn).get(FILLING, False))


def _as_date(value: Any) -> Any:
    # Projections may carry days as ISO text (what their JSON path sends); COPY wants dates.
    return date.fromisoformat(value) if isinstance(value, str) else value


def _as_json(value: Any) -> Any:
    # The driver's json/jsonb codec (set by SQLAlchemy) takes JSON text.
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _converter(column_type: sa.types.TypeEngine[Any]) -> Callable[[Any], Any] | None:
    if isinstance(column_type, sa.JSON):  # also postgresql JSONB
        return _as_json
    if isinstance(column_type, sa.Date) and not isinstance(column_type, sa.DateTime):
        return _as_date
    return None


def _records(
    table: sa.Table, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> list[tuple[Any, ...]]:
    """The rows as tuples in ``columns`` order, the few values COPY wants in another type
    converted column by column (the per-row work stays in C: ``itemgetter``, ``zip``)."""
    pick = itemgetter(*columns)
    records = [pick(row) for row in rows] if len(columns) > 1 else [(pick(r),) for r in rows]
    converters = [(i, _converter(table.c[c].type)) for i, c in enumerate(columns)]
    converting = [(i, f) for i, f in converters if f is not None]
    if not converting:
        return records
    values = [list(column) for column in zip(*records, strict=True)]
    for i, convert in converting:
        values[i] = [convert(v) for v in values[i]]
    return list(zip(*values, strict=True))


async def copy_rows(
    conn: AsyncConnection, table: sa.Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert ``rows`` (mappings with the same keys, the table's column names) into ``table``
    with COPY, in ``conn``'s transaction; the table's schema goes through the connection's
    ``schema_translate_map``. A connection whose transaction has not reached the driver yet
    (nothing executed in it) gets a plain INSERT: a COPY there would commit on its own."""
    if not rows:
        return
    columns = list(rows[0])
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if driver is None or not driver.is_in_transaction():
        await conn.execute(table.insert(), list(rows))
        return
    translate = _options(conn).get("schema_translate_map") or {}
    schema = translate.get(table.schema, table.schema)
    try:
        await driver.copy_records_to_table(
            table.name,
            schema_name=schema,
            columns=columns,
            records=_records(table, columns, rows),
        )
    except IntegrityConstraintViolationError as exc:
        # As an INSERT through SQLAlchemy would raise it (the message names the constraint).
        raise sa.exc.IntegrityError(f"COPY {table.name}", None, exc) from exc
