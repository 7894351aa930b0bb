"""Leases of tokens from shared buckets, so that a request rarely waits for the database.

A database round trip on every authenticated request would cost the gateway latency and CPU
(its CPU per request is watched closely). So each gateway takes ``lease`` tokens at a time
from a caller's shared bucket and serves them from memory, until they are used up or
``lease_seconds`` old (the rest of an old lease is dropped: a caller that went quiet must not
keep tokens leased minutes ago). A refusal is remembered too, until the shared bucket's next
token is due: a flood that is refused costs no round trip per request either. So the database
sees one take per ``lease`` requests of a busy caller, and at most about one per
``lease_seconds`` from each gateway for a quiet one.

The bound. Every token served was first taken from the shared bucket, and each gateway holds
at most one lease of at most ``lease`` tokens per key. So over any period, the requests a
caller gets served across G gateways number at most what the shared bucket allows in that
period (``burst + per_second * seconds``) plus what the gateways held leased when it began:

    served <= burst + per_second * seconds + G * lease

Leasing can also under-serve slightly: tokens dropped with an old lease are lost to the caller
(at most ``lease - 1`` per gateway and ``lease_seconds``, which a caller near its limit never
leaves unused).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from gateway.adapters.rate_limit import Taken, TokenBuckets

# A lease of a few percent of the burst: the G x lease above stays small beside the burst,
# and at full rate one request in ``lease`` waits for the database.
LEASE_SHARE_OF_BURST = 0.05
LEASE_SECONDS = 1.0


def lease_size(burst: int) -> int:
    """The tokens a gateway leases at a time: a few percent of the burst, at least one."""
    return max(1, math.floor(burst * LEASE_SHARE_OF_BURST))


@dataclass
class _Lease:
    tokens: int
    # Until when the tokens may be served; after a refusal (``refused``), until when it stands
    # (the shared bucket's next token is due then).
    until: float
    refused: bool = False


class LeasedBuckets:
    """``TokenBuckets`` served from leases of a shared store's buckets (see module doc).

    Concurrent requests of one key that find no tokens share one round trip; memory is bounded
    by forgetting the least recently used lease beyond ``max_keys`` (its tokens are lost, which
    errs on the side of refusing)."""

    def __init__(
        self,
        shared: TokenBuckets,
        *,
        lease: int,
        lease_seconds: float = LEASE_SECONDS,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if lease < 1:
            raise ValueError("a lease holds at least one token")
        self.per_second = shared.per_second
        self.burst = shared.burst
        self.lease = lease
        self._shared = shared
        self._lease_seconds = lease_seconds
        self._max_keys = max_keys
        self._clock = clock
        self._leases: OrderedDict[str, _Lease] = OrderedDict()
        self._fetching: dict[str, asyncio.Future[None]] = {}

    async def take(self, key: str, wanted: int = 1) -> Taken:
        if wanted != 1:  # not what requests take: straight from the shared bucket
            return await self._shared.take(key, wanted)
        fetched = False
        while True:
            now = self._clock()
            lease = self._leases.get(key)
            # A lease fetched for this request counts even if its time is up already (a
            # refusal may be due to end at once): no round trip twice in a row for nothing.
            if lease is not None and (now < lease.until or fetched):
                self._leases.move_to_end(key)
                if lease.tokens:
                    lease.tokens -= 1
                    return Taken(1)
                if lease.refused and key not in self._fetching:
                    return Taken(0, max(0.0, lease.until - now))
            # shield: a request that gives up does not cancel the lease others wait for.
            await asyncio.shield(self._fetch(key))
            fetched = True

    def _fetch(self, key: str) -> asyncio.Future[None]:
        """The round trip for a new lease of ``key``; one at a time per key."""
        fetching = self._fetching.get(key)
        if fetching is None:
            fetching = self._fetching[key] = asyncio.ensure_future(self._lease_from_shared(key))
            fetching.add_done_callback(lambda done: self._fetched(key, done))
        return fetching

    def _fetched(self, key: str, done: asyncio.Future[None]) -> None:
        if self._fetching.get(key) is done:  # a fetch cancelled before it began
            del self._fetching[key]
        if not done.cancelled():
            done.exception()  # retrieved: the waiters raise it (or none waits any more)

    async def _lease_from_shared(self, key: str) -> None:
        try:
            taken = await self._shared.take(key, self.lease)
        finally:
            # At once, not in a done callback: a waiter that resumes first must not find
            # this finished fetch still under way (awaiting it would not even yield).
            del self._fetching[key]
        now = self._clock()
        if taken.granted:
            self._leases[key] = _Lease(taken.granted, now + self._lease_seconds)
        else:
            self._leases[key] = _Lease(0, now + taken.wait_seconds, refused=True)
        self._leases.move_to_end(key)
        if len(self._leases) > self._max_keys:
            self._leases.popitem(last=False)
