"""Transaction-scoped advisory locks on constrained accounts.

Optimistic concurrency per account stream already makes balance checks exact: of two
commands that read the same version of a constrained account, only one commits. Under heavy
contention on one account (say 200 concurrent postings) that means many retries; taking this
lock first makes the contenders queue instead, so almost none of them has to retry. The lock
is only an optimisation: correctness never depends on it.

Deadlock-free: every command takes these locks in one global order (by key) before it
appends, and the event store's position lock is always taken last, at commit.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

# The two-key form of advisory locks lives in a key space apart from the one-key form that
# the kernel uses for positions and the relay; this class id names the ledger's accounts.
ACCOUNT_LOCK_CLASS = 0x1ED9E7


async def lock_accounts(conn: AsyncConnection, account_ids: Iterable[str]) -> None:
    """Lock the accounts until the transaction ends, in one round trip, in key order."""
    ids = sorted(set(account_ids))
    if not ids:
        return
    await conn.execute(
        sa.text(
            "SELECT count(pg_advisory_xact_lock(:lock_class, k)) FROM "
            "(SELECT DISTINCT hashtext(id) AS k FROM unnest(CAST(:ids AS text[])) AS id "
            "ORDER BY k OFFSET 0) AS keys"
        ),
        {"lock_class": ACCOUNT_LOCK_CLASS, "ids": ids},
    )
