"""The relay's read: the events after its cursor that it can prove complete, in position order.

Positions come from a sequence (``eventstore``): they commit out of order, and an aborted
transaction leaves its positions unused forever. A reader of "everything after the cursor" must
therefore never jump over a missing position that a transaction still running may yet commit
(the gap trap), nor wait forever for one that no transaction will.

The rule (``GapTracker``): a read sees position p missing below a position it does see. Its
writer took its transaction id before it drew p, and p was drawn before the visible later
position committed, so that writer's id is below the read's snapshot ``xmax``: the gap's
*horizon*. Once a later snapshot has ``xmin >= horizon`` every transaction that could hold p
has ended, and if p is still missing in that same snapshot it never commits (an aborted
transaction, or one that drew it and failed its checks): p is skipped. Until then the relay
publishes nothing beyond p.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from shared_kernel.envelope import EventEnvelope
from shared_kernel.eventstore import EventStore


@dataclass(frozen=True)
class Snapshot:
    """The bounds of the snapshot a read ran in: every transaction id below ``xmin`` had
    ended, none at or above ``xmax`` had started."""

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


# Both bounds of the snapshot of the transaction they run in (REPEATABLE READ: one snapshot).
_SNAPSHOT = sa.text(
    "SELECT pg_snapshot_xmin(s)::text::bigint AS xmin, pg_snapshot_xmax(s)::text::bigint AS xmax"
    " FROM pg_current_snapshot() AS s"
)


class OrderedReader:
    """Reads a batch after the cursor and the bounds of its snapshot in one REPEATABLE READ
    transaction, and answers the part of it that the ``GapTracker`` lets through."""

    def __init__(self, engine: AsyncEngine, store: EventStore) -> None:
        self._engine = engine
        self._store = store
        self.gaps = GapTracker()

    async def read_after(self, cursor: int, limit: int) -> list[tuple[EventEnvelope, str]]:
        async with self._engine.connect() as conn:
            await conn.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            bounds = (await conn.execute(_SNAPSHOT)).one()
            batch = await self._store.read_after_raw(conn, cursor, limit)
        snapshot = Snapshot(xmin=int(bounds.xmin), xmax=int(bounds.xmax))
        count = self.gaps.publishable(cursor, [e.position for e, _ in batch], snapshot)
        return batch[:count]
