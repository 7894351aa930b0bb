"""The counted ledger entries of the exposure inbox as rows of one table, written in the
inbox's transaction: one statement reads a batch's entries, one writes them.

An entry counted before this table existed is a ``CountedItem`` stream of the event store
(``LedgerItemCounted``, perhaps ``LedgerItemSettled``): the entries a batch does not find in
the table are looked up there too, so stored history keeps counting exactly as before (a
reversal of such an entry settles its stream, as it always did)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from shared_kernel.errors import ConcurrencyConflict
from shared_kernel.unit_of_work import UnitOfWork, sql_connection

from risk.app.exposures import CountedEntries, EntryItem, StreamCountedEntries
from risk.domain.exposure_items import CountedEntry, ItemStatus

metadata = sa.MetaData()

counted_entries = sa.Table(
    "risk_counted_entries",
    metadata,
    sa.Column("entry_id", sa.Text, primary_key=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("counterparty", sa.Text),
    sa.Column("desk", sa.Text),
    # Per currency, minor units: {"EUR": 1200}.
    sa.Column("amounts", sa.dialects.postgresql.JSONB, nullable=False),
    sa.Column("settled_by", sa.Text),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

_LOAD = sa.text(
    "SELECT entry_id, status, counterparty, desk, amounts::text AS amounts, settled_by, at "
    "FROM risk_counted_entries WHERE entry_id = ANY(:ids)"
)
# One statement for the batch's new entries, whatever their number: arrays unnested into
# rows. An entry another writer counted meanwhile (its reversal and it, handled by two
# instances at once) is not written and not returned: the batch is retried on fresh rows.
_INSERT = sa.text(
    "INSERT INTO risk_counted_entries "
    "(entry_id, status, counterparty, desk, amounts, settled_by, at) "
    "SELECT i, s, c, d, a::jsonb, b, t FROM unnest("
    "CAST(:ids AS text[]), CAST(:statuses AS text[]), CAST(:counterparties AS text[]), "
    "CAST(:desks AS text[]), CAST(:amounts AS text[]), CAST(:settled_by AS text[]), "
    "CAST(:ats AS timestamptz[])) AS u(i, s, c, d, a, b, t) "
    "ON CONFLICT (entry_id) DO NOTHING RETURNING entry_id"
)
# Settled entries: only from the status they were read in (else another writer moved them).
_SETTLE = sa.text(
    "UPDATE risk_counted_entries AS e SET status = u.s, settled_by = u.b, at = u.t "
    "FROM unnest(CAST(:ids AS text[]), CAST(:read_as AS text[]), CAST(:statuses AS text[]), "
    "CAST(:settled_by AS text[]), CAST(:ats AS timestamptz[])) AS u(i, r, s, b, t) "
    "WHERE e.entry_id = u.i AND e.status = u.r RETURNING e.entry_id"
)


class SqlCountedEntries(CountedEntries):
    """Counted entries in ``risk_counted_entries``, older ones in their streams."""

    def __init__(self) -> None:
        self._streams = StreamCountedEntries()

    async def load(self, uow: UnitOfWork, entry_ids: Sequence[str]) -> dict[str, EntryItem]:
        if not entry_ids:
            return {}
        rows = await sql_connection(uow).execute(_LOAD, {"ids": list(entry_ids)})
        found: dict[str, EntryItem] = {}
        for row in rows:
            entry = CountedEntry(
                row.entry_id,
                ItemStatus(row.status),
                row.counterparty,
                row.desk,
                orjson.loads(row.amounts),
                row.at,
            )
            entry.settled_by = row.settled_by
            entry.read_as = entry.status
            found[row.entry_id] = entry
        older = [entry_id for entry_id in entry_ids if entry_id not in found]
        found.update(await self._streams.load(uow, older))
        return found

    def new(self, uow: UnitOfWork, entry: CountedEntry) -> EntryItem:
        return entry

    async def save(self, uow: UnitOfWork, entries: Sequence[EntryItem]) -> None:
        """Insert the new entries and settle the read ones, at most two statements; raises
        ConcurrencyConflict when another writer got to one of them first."""
        rows = [e for e in entries if isinstance(e, CountedEntry) and e.changed]
        new = [e for e in rows if e.read_as is None]
        read = [e for e in rows if e.read_as is not None]
        conn = sql_connection(uow)
        if new:
            params: dict[str, Any] = {
                "ids": [e.ledger_id for e in new],
                "statuses": [e.status.value for e in new],
                "counterparties": [e.counterparty for e in new],
                "desks": [e.desk for e in new],
                "amounts": [orjson.dumps(e.amounts).decode() for e in new],
                "settled_by": [e.settled_by for e in new],
                "ats": [e.at for e in new],
            }
            _written(await conn.execute(_INSERT, params), new, "counted")
        if read:
            params = {
                "ids": [e.ledger_id for e in read],
                "read_as": [e.read_as.value for e in read if e.read_as is not None],
                "statuses": [e.status.value for e in read],
                "settled_by": [e.settled_by for e in read],
                "ats": [e.at for e in read],
            }
            _written(await conn.execute(_SETTLE, params), read, "settled")
        for entry in rows:
            entry.changed, entry.read_as = False, entry.status


def _written(result: sa.CursorResult[Any], entries: list[CountedEntry], what: str) -> None:
    written = {row[0] for row in result}
    missed = [e.ledger_id for e in entries if e.ledger_id not in written]
    if missed:
        raise ConcurrencyConflict(
            f"ledger entries {missed[:5]} were {what} by another writer meanwhile"
        )
