"""Token buckets in the gateway's PostgreSQL, where every gateway sees them.

One statement per take, atomic: it inserts a full bucket minus the take, or refills the
existing one by the time passed and takes from it, and answers what it handed out. Two
gateways taking from one bucket at once are serialized by the row's lock; neither reads a
value the other is about to change. Times come from the database's clock
(``clock_timestamp()``), so that gateways on machines whose clocks differ still agree.

The table is bounded: a bucket that has refilled completely says no more than a missing row
(a missing key starts full), so ``forget_full`` deletes such rows; the gateway runs it every
``FORGET_FULL_EVERY_SECONDS``. What remains are the keys used within the time their bucket
takes to refill (``burst / per_second``: two seconds for identities by default, a minute for
log-ins).

A store that cannot be reached raises ``RateLimitStoreUnavailable`` (503): without its
database the gateway cannot confirm a caller either.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.adapters.rate_limit import Taken

log = logging.getLogger(__name__)

FORGET_FULL_EVERY_SECONDS = 60.0

# The statement's parameters, typed once (asyncpg would guess text for ``least(:a, :b)``).
_WANTED, _RATE, _BURST = (f"CAST(:{name} AS float8)" for name in ("wanted", "per_second", "burst"))
# Within ``ON CONFLICT DO UPDATE``: ``b`` is the stored bucket, ``excluded.updated_at`` the
# statement's one reading of the clock. SET clauses all see the old row, so the refill is
# spelled out wherever it is needed.
_REFILLED = (
    f"least({_BURST}, b.tokens + {_RATE}"
    " * greatest(0, extract(epoch from excluded.updated_at - b.updated_at)))"
)
_TAKEN = f"least({_WANTED}, floor({_REFILLED}))"
_LEFT = f"({_REFILLED} - {_TAKEN})"
_TAKE = text(
    f"""
    INSERT INTO rate_limit_buckets AS b (key, tokens, last_taken, updated_at, full_at)
    SELECT :key, {_BURST} - first.taken, first.taken, now.at,
           now.at + make_interval(secs => first.taken / {_RATE})
    FROM (SELECT clock_timestamp() AS at) AS now,
         (SELECT least({_WANTED}, {_BURST}) AS taken) AS first
    ON CONFLICT (key) DO UPDATE SET
        tokens = {_LEFT},
        last_taken = {_TAKEN},
        updated_at = excluded.updated_at,
        full_at = excluded.updated_at + make_interval(secs => ({_BURST} - {_LEFT}) / {_RATE})
    RETURNING last_taken, tokens
    """
)
_FORGET_FULL = text("DELETE FROM rate_limit_buckets WHERE full_at <= clock_timestamp()")

# What a database that cannot be reached (or answer) raises through SQLAlchemy and asyncpg.
UNREACHABLE = (exc.DBAPIError, exc.TimeoutError, OSError, asyncio.TimeoutError)


class RateLimitStoreUnavailable(Exception):
    """The shared buckets cannot be read: the request is refused with 503, as every request
    is that needs the gateway's database while it is away."""


class BucketTable:
    """The ``rate_limit_buckets`` table: every limit's buckets, keys prefixed by the limit."""

    def __init__(self, engine: AsyncEngine) -> None:
        # One statement, so no transaction around it: one round trip instead of three.
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    def buckets(self, limit: str, per_second: float, burst: int) -> SharedBuckets:
        return SharedBuckets(self, limit, per_second, burst)

    async def take(self, key: str, wanted: int, per_second: float, burst: int) -> Taken:
        values = {
            "key": key,
            "wanted": float(wanted),
            "per_second": float(per_second),
            "burst": float(burst),
        }
        try:
            async with self._engine.connect() as connection:
                row = (await connection.execute(_TAKE, values)).one()
        except UNREACHABLE as error:
            raise RateLimitStoreUnavailable(f"the rate limits' database failed: {error}") from error
        taken, left = int(row.last_taken), float(row.tokens)
        return Taken(taken) if taken else Taken(0, (1.0 - left) / per_second)

    async def forget_full(self) -> int:
        """Delete the buckets that have refilled completely; returns how many."""
        async with self._engine.connect() as connection:
            return (await connection.execute(_FORGET_FULL)).rowcount

    async def forget_full_forever(self, every_seconds: float = FORGET_FULL_EVERY_SECONDS) -> None:
        """``forget_full`` every so often, until cancelled (run it under the supervisor,
        which restarts it after a failure). Several gateways doing it at once is harmless."""
        while True:
            await asyncio.sleep(every_seconds)
            forgotten = await self.forget_full()
            log.debug("forgot %d full rate-limit buckets", forgotten)


class SharedBuckets:
    """One limit's buckets in the shared table (``TokenBuckets``)."""

    def __init__(self, table: BucketTable, limit: str, per_second: float, burst: int) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("a rate limit needs per_second > 0 and burst >= 1")
        self.per_second = per_second
        self.burst = burst
        self._table = table
        self._prefix = f"{limit}:"

    async def take(self, key: str, wanted: int = 1) -> Taken:
        return await self._table.take(self._prefix + key, wanted, self.per_second, self.burst)
