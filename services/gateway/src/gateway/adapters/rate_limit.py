"""Token buckets per key (an identity, a username, a client address), behind one port.

Two stores implement the port (``TokenBuckets``): ``RateLimiter`` keeps the buckets in one
gateway process's memory (``RATE_LIMIT_STORE=memory``: with N gateway processes a caller gets
up to N times the rate, and a restart refills every bucket), ``SharedBuckets`` keeps them in
the gateway's PostgreSQL where every gateway sees them (``postgres``, the default; see
``shared_buckets.py``). Per identity, ``LeasedBuckets`` (``leases.py``) spares each request the
database round trip by leasing a few tokens at a time from the shared bucket.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class RateLimited(Exception):
    """Too many requests; ``retry_after`` is the whole number of seconds to wait (>= 1)."""

    def __init__(self, detail: str, wait_seconds: float) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = max(1, math.ceil(wait_seconds))


@dataclass(frozen=True)
class Taken:
    """What a take handed out: ``granted`` tokens (at most the number wanted), and when none
    was, the seconds until the next one (``wait_seconds``)."""

    granted: int
    wait_seconds: float = 0.0


class TokenBuckets(Protocol):
    """``burst`` tokens at once, then ``per_second`` on average, per key: the port of both
    stores, so that ``RateLimits`` does not care where the buckets live."""

    per_second: float
    burst: int

    async def take(self, key: str, wanted: int = 1) -> Taken:
        """Up to ``wanted`` tokens from the bucket of ``key`` (fewer when fewer are left)."""
        ...


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """The buckets in this process's memory (``TokenBuckets``).

    Memory is bounded: beyond ``max_keys`` the least recently used bucket is forgotten (such a
    key starts again with a full bucket, which errs on the side of serving)."""

    def __init__(
        self,
        per_second: float,
        burst: int,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("a rate limit needs per_second > 0 and burst >= 1")
        self.per_second = per_second
        self.burst = burst
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    async def take(self, key: str, wanted: int = 1) -> Taken:
        return self.take_now(key, wanted)

    def take_now(self, key: str, wanted: int = 1) -> Taken:
        """``take`` without a suspension point (nothing here waits)."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            if len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.per_second)
            bucket.updated = now
        granted = min(wanted, math.floor(bucket.tokens))
        if granted >= 1:
            bucket.tokens -= granted
            return Taken(granted)
        return Taken(0, (1.0 - bucket.tokens) / self.per_second)


class LoginLockedOut(RateLimited):
    """Log-in attempts refused for a while; ``limit`` names the bucket that ran dry."""

    def __init__(self, limit: str, wait_seconds: float) -> None:
        super().__init__("too many log-in attempts; wait before trying again", wait_seconds)
        self.limit = limit


class RateLimits:
    """The gateway's limits: per identity on every authenticated request, and stricter ones on
    log-in against password guessing: per username from one client address, and per client
    address whatever the username.

    Deliberately no limit per username alone: attempts from addresses an attacker rotates
    would then lock the real user out, even with the right password from their own address.
    A guesser is slowed per address instead (and by the cost of each password hash)."""

    PER_CLIENT = "LoginLimitPerClient"
    PER_USERNAME_AND_CLIENT = "LoginLimitPerUsernameAndClient"

    def __init__(
        self,
        per_identity: TokenBuckets,
        login_username_and_client: TokenBuckets,
        login_client: TokenBuckets,
    ) -> None:
        self.per_identity = per_identity
        self.login_username_and_client = login_username_and_client
        self.login_client = login_client

    async def check_identity(self, kind: str, subject: str) -> None:
        taken = await self.per_identity.take(f"{kind}:{subject}")
        if not taken.granted:
            raise RateLimited(
                f"too many requests from {subject}; at most {self.per_identity.per_second:g} "
                f"per second (bursts of {self.per_identity.burst})",
                taken.wait_seconds,
            )

    async def check_login(self, username: str, client: str) -> None:
        """Raises LoginLockedOut when ``client`` made too many attempts, in all or for
        ``username``. A client address holds no space, so the pair's key is unambiguous."""
        taken = await self.login_client.take(client)
        if not taken.granted:
            raise LoginLockedOut(self.PER_CLIENT, taken.wait_seconds)
        taken = await self.login_username_and_client.take(f"{client} {username}")
        if not taken.granted:
            raise LoginLockedOut(self.PER_USERNAME_AND_CLIENT, taken.wait_seconds)
