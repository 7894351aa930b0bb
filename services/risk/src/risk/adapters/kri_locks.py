"""A transaction-scoped advisory lock per KRI.

Optimistic concurrency on the KRI's stream already makes each status change exact: of two
measurements that read the same version, only one commits and the other is rerun on fresh
state. Under contention (many systems posting to one KRI, or several tickets partitions
moving one count) that means many reruns; taking this lock before loading the KRI makes the
contenders queue instead. Only an optimisation: correctness never depends on it.

Deadlock-free: a transaction takes at most one of these locks, before the event store's
position lock (always last, at commit).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

# Two-key advisory locks live apart from the kernel's one-key locks; this class names KRIs.
KRI_LOCK_CLASS = 0x4B5249


async def lock_kri(conn: AsyncConnection, stream_id: str) -> None:
    """Wait for, then hold until the transaction ends, the lock of one KRI stream."""
    await conn.execute(
        sa.text("SELECT pg_advisory_xact_lock(:lock_class, hashtext(:stream_id))"),
        {"lock_class": KRI_LOCK_CLASS, "stream_id": stream_id},
    )
