"""Token buckets per key (an identity, a username, a client address).

The buckets live in the memory of one gateway process: with N gateway processes a caller gets
up to N times the configured rate, and a restart refills every bucket. That is acceptable for
the purpose (stop floods and password guessing, not meter exact quotas); an exact limit across
processes would need a shared store such as PostgreSQL or Redis on every request.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


class RateLimited(Exception):
    """Too many requests; ``retry_after`` is the whole number of seconds to wait (>= 1)."""

    def __init__(self, detail: str, wait_seconds: float) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = max(1, math.ceil(wait_seconds))


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """``burst`` requests at once, then ``per_second`` on average, per key.

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

    def acquire(self, key: str) -> float:
        """Take one token: 0.0 when granted, else the seconds until one will be available."""
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
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.per_second


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
        per_identity: RateLimiter,
        login_username_and_client: RateLimiter,
        login_client: RateLimiter,
    ) -> None:
        self.per_identity = per_identity
        self.login_username_and_client = login_username_and_client
        self.login_client = login_client

    def check_identity(self, kind: str, subject: str) -> None:
        wait = self.per_identity.acquire(f"{kind}:{subject}")
        if wait:
            raise RateLimited(
                f"too many requests from {subject}; at most {self.per_identity.per_second:g} "
                f"per second (bursts of {self.per_identity.burst})",
                wait,
            )

    def check_login(self, username: str, client: str) -> None:
        """Raises LoginLockedOut when ``client`` made too many attempts, in all or for
        ``username``. A client address holds no space, so the pair's key is unambiguous."""
        wait = self.login_client.acquire(client)
        if wait:
            raise LoginLockedOut(self.PER_CLIENT, wait)
        wait = self.login_username_and_client.acquire(f"{client} {username}")
        if wait:
            raise LoginLockedOut(self.PER_USERNAME_AND_CLIENT, wait)
