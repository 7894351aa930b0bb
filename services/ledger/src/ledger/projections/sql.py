"""Set-based writes for projections: many rows in one statement, whatever their number.

Each column travels as one array parameter and ``unnest`` turns the arrays back into rows.
A multi-row VALUES list would be compiled anew for every row count (which costs more than
the database's work), and executemany sends the rows one by one.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection


def _unnested(table: sa.Table, columns: list[str], rows: list[dict[str, Any]]) -> sa.Select[Any]:
    """``SELECT unnest(:a), unnest(:b), ...``: the rows as one array parameter per column.
    JSONB travels as text and is cast back."""
    selected: list[Any] = []
    for name in columns:
        kind = table.c[name].type
        values = [row[name] for row in rows]
        if isinstance(kind, JSONB):
            texts = [json.dumps(v, separators=(",", ":")) for v in values]
            array = sa.bindparam(f"v_{name}", texts, type_=ARRAY(sa.Text))
            selected.append(sa.cast(sa.func.unnest(array), JSONB))
        else:
            array = sa.bindparam(f"v_{name}", values, type_=ARRAY(kind))
            selected.append(sa.func.unnest(array))
    return sa.select(*selected)


async def insert_rows(conn: AsyncConnection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) in one statement."""
    columns = list(rows[0])
    await conn.execute(pg_insert(table).from_select(columns, _unnested(table, columns, rows)))


async def add_to(
    conn: AsyncConnection, table: sa.Table, keys: list[str], rows: list[dict[str, Any]]
) -> None:
    """Add ``rows``' figures to the table's rows with the same keys (insert when new). The
    rows' keys must be distinct: one statement may not update a row twice."""
    columns = [*keys, *(c for c in rows[0] if c not in keys)]
    statement = pg_insert(table).from_select(columns, _unnested(table, columns, rows))
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c[k] for k in keys],
            set_={c: table.c[c] + statement.excluded[c] for c in columns if c not in keys},
        )
    )
