"""The relay's read: the events after its cursor that it can prove complete, in position order.

Positions come from a sequence (``eventstore``): they commit out of order, and an aborted
transaction leaves its positions unused forever. A reader of "everything after the cursor" must
therefore never jump over a missing position that a transaction still running may yet commit
(the gap trap), nor wait forever for one that no transaction will.

The rule (``GapTracker``): a read sees position p missing below a position it does see. Its
writer took its transaction id before it drew p, and p was drawn before the visible later
position committed, so that writer's id is below the read's snapshot ``xmax``: the gap's
*horizon*. Once a later snapshot has ``xmin >= horizon`` every transaction that could hold p
has ended, and if p is still missing in a snapshot taken after that it never commits (an aborted
transaction, or one that drew it and failed its checks): p is skipped. Until then the relay
publishes nothing beyond p. Only this database's transactions count (``OrderedReader``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from shared_kernel.outbox_records import OutboxRow, read_outbox_rows


@dataclass(frozen=True)
class Snapshot:
    """The bounds around a read: every writer below ``xmin`` had ended before it (so its
    commit is visible to it), and every writer that drew a position before it is below
    ``xmax``."""

    xmin: int
    xmax: int


class GapTracker:
    """Pure: how many of the positions read after a cursor may be published now.

    It remembers, for each missing position, the horizon of the first read that saw it
    missing; positions at or below the cursor are forgotten as the cursor passes them."""

    def __init__(self) -> None:
        self._horizons: dict[int, int] = {}

    @property
    def waiting_on(self) -> int | None:
        """The lowest missing position whose fate is not known yet (None when there is none)."""
        return min(self._horizons, default=None)

    def publishable(self, cursor: int, positions: Sequence[int], snapshot: Snapshot) -> int:
        """The length of the leading run of ``positions`` (increasing, all after ``cursor``,
        read in ``snapshot``) that may be published: it stops before the first missing
        position that a running transaction may still commit."""
        expected, count = cursor + 1, 0
        for position in positions:
            while expected < position:
                horizon = self._horizons.setdefault(expected, snapshot.xmax)
                if snapshot.xmin < horizon:
                    self._forget_up_to(cursor if count == 0 else positions[count - 1])
                    return count
                expected += 1  # final: no transaction that could commit it is left
            count, expected = count + 1, position + 1
        self._forget_up_to(positions[count - 1] if count else cursor)
        return count

    def _forget_up_to(self, position: int) -> None:
        for missing in [p for p in self._horizons if p <= position]:
            del self._horizons[missing]


# The oldest transaction id still running *in this database* (as xid8), else the next one to
# be assigned. Not the snapshot's own xmin, which is cluster-wide: a long write in another
# service's database on the same server would hold every gap here for its whole duration.
# pg_stat_activity shows 32-bit ids; each is widened around the 64-bit ``xmax`` of the same
# moment by its signed distance from it (running ids are within 2^31 of it, either side).
_OLDEST_RUNNING = sa.text(
    "SELECT coalesce(min(ref.xmax + (((a.backend_xid::text::bigint - ref.xmax % 4294967296"
    " + 6442450944) % 4294967296) - 2147483648)), min(ref.xmax))"
    " FROM (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax) AS ref"
    " LEFT JOIN pg_stat_activity AS a"
    " ON a.datname = current_database() AND a.backend_xid IS NOT NULL"
)

# The next transaction id to be assigned: an upper bound of every id already in use.
_NEXT_XID = sa.text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")


class OrderedReader:
    """Reads a batch after the cursor and answers the part of it that the ``GapTracker`` lets
    through. A batch that runs on from the cursor without a gap (the usual case) is answered
    as read. Otherwise three more statements, each with its own snapshot (READ COMMITTED), in
    this order:

    1. the oldest running transaction of this database (``xmin``): a writer older than that
       has ended, so its commit is visible to the next statement;
    2. the events after the cursor, again;
    3. the next transaction id (``xmax``): above that of every writer that drew a position
       before statement 2 ran, so a safe horizon for the gaps statement 2 shows."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.gaps = GapTracker()

    async def read_after(self, cursor: int, limit: int) -> list[OutboxRow]:
        async with self._engine.connect() as conn:
            batch = await read_outbox_rows(conn, cursor, limit)
            if _runs_on(cursor, batch):
                self.gaps.publishable(cursor, [row["position"] for row in batch], _NO_GAP)
                return batch
            xmin = int((await conn.execute(_OLDEST_RUNNING)).scalar_one())
            batch = await read_outbox_rows(conn, cursor, limit)
            xmax = int((await conn.execute(_NEXT_XID)).scalar_one())
        snapshot = Snapshot(xmin=xmin, xmax=xmax)
        count = self.gaps.publishable(cursor, [row["position"] for row in batch], snapshot)
        return batch[:count]


# For a batch without gaps, where the bounds are never consulted.
_NO_GAP = Snapshot(xmin=0, xmax=0)


def _runs_on(cursor: int, batch: Sequence[OutboxRow]) -> bool:
    """Whether ``batch`` holds consecutive positions right after ``cursor`` (or nothing)."""
    return not batch or batch[-1]["position"] - cursor == len(batch)
