"""Leases of tokens from a shared bucket: few round trips, and no more served across gateways
than the shared bucket allows plus one lease per gateway (the bound in adapters/leases.py).

The shared store is faked by the in-memory buckets (the same port), counting its takes."""

from __future__ import annotations

import asyncio

import pytest
from gateway.adapters.leases import LeasedBuckets, lease_size
from gateway.adapters.rate_limit import RateLimiter, Taken
from gateway.adapters.shared_buckets import RateLimitStoreUnavailable

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class SharedStore(RateLimiter):
    """A shared store that counts its round trips, each taking one turn of the event loop."""

    def __init__(self, per_second: float, burst: int, clock: Clock) -> None:
        super().__init__(per_second, burst, clock=clock)
        self.round_trips = 0
        self.down = False

    async def take(self, key: str, wanted: int = 1) -> Taken:
        self.round_trips += 1
        await asyncio.sleep(0)
        if self.down:
            raise RateLimitStoreUnavailable("the database is away")
        return self.take_now(key, wanted)


def test_a_lease_is_a_few_percent_of_the_burst_and_at_least_one() -> None:
    assert [lease_size(burst) for burst in (1, 3, 20, 200, 1_000_000)] == [1, 1, 1, 10, 50_000]


async def test_requests_are_served_from_the_lease_with_one_round_trip_per_lease() -> None:
    clock = Clock()
    shared = SharedStore(per_second=10, burst=100, clock=clock)
    leased = LeasedBuckets(shared, lease=5, clock=clock)

    served = [await leased.take("ada") for _ in range(12)]

    assert served == [Taken(1)] * 12
    assert shared.round_trips == 3
    assert shared.take_now("ada", 100).granted == 100 - 15  # three leases of five taken


async def test_a_refusal_is_remembered_until_the_next_token_is_due() -> None:
    clock = Clock()
    shared = SharedStore(per_second=0.5, burst=2, clock=clock)
    leased = LeasedBuckets(shared, lease=1, clock=clock)
    assert [(await leased.take("ada")).granted for _ in range(2)] == [1, 1]

    refused = await leased.take("ada")
    clock.now += 1.5
    still_refused = await leased.take("ada")
    trips_while_refused = shared.round_trips
    clock.now += 0.5
    served_again = await leased.take("ada")

    assert refused.granted == still_refused.granted == 0
    assert refused.wait_seconds == pytest.approx(2.0)
    assert still_refused.wait_seconds == pytest.approx(0.5)
    assert trips_while_refused == 3  # the second refusal cost no round trip
    assert served_again == Taken(1)


async def test_the_rest_of_an_old_lease_is_dropped() -> None:
    clock = Clock()
    shared = SharedStore(per_second=1, burst=20, clock=clock)
    leased = LeasedBuckets(shared, lease=5, lease_seconds=1.0, clock=clock)
    await leased.take("ada")
    clock.now += 1.0

    await leased.take("ada")

    assert shared.round_trips == 2  # four tokens of the first lease were not served


async def test_concurrent_requests_without_tokens_share_one_round_trip() -> None:
    clock = Clock()
    shared = SharedStore(per_second=10, burst=100, clock=clock)
    leased = LeasedBuckets(shared, lease=5, clock=clock)

    served = await asyncio.gather(*(leased.take("ada") for _ in range(12)))

    assert list(served) == [Taken(1)] * 12
    assert shared.round_trips == 3


async def test_concurrent_requests_are_refused_together_when_the_shared_bucket_is_empty() -> None:
    clock = Clock()
    shared = SharedStore(per_second=1, burst=3, clock=clock)
    leased = LeasedBuckets(shared, lease=1, clock=clock)

    answers = await asyncio.gather(*(leased.take("ada") for _ in range(10)))

    assert sum(a.granted for a in answers) == 3
    assert shared.round_trips == 4  # three leases of one, then one refusal for the other seven


async def test_a_store_that_fails_fails_every_waiting_request_and_is_tried_again_later() -> None:
    clock = Clock()
    shared = SharedStore(per_second=10, burst=100, clock=clock)
    leased = LeasedBuckets(shared, lease=5, clock=clock)
    shared.down = True

    answers = await asyncio.gather(*(leased.take("ada") for _ in range(3)), return_exceptions=True)
    shared.down = False
    after = await leased.take("ada")

    assert [type(a) for a in answers] == [RateLimitStoreUnavailable] * 3
    assert shared.round_trips == 2
    assert after == Taken(1)


async def test_served_across_gateways_stays_within_the_bucket_plus_one_lease_per_gateway() -> None:
    clock = Clock()
    burst, per_second, lease = 20, 10.0, 4
    shared = SharedStore(per_second, burst, clock)
    # Leases that never grow old: the worst case for the bound.
    gateways = [LeasedBuckets(shared, lease=lease, lease_seconds=3600, clock=clock) for _ in "abc"]
    for gateway in gateways:  # each takes a lease and serves one request of it
        assert await gateway.take("ada") == Taken(1)
    clock.now += 60  # the shared bucket refills; the gateways still hold their leases

    served, seconds = 0, 3.0
    start = clock.now
    while clock.now < start + seconds:
        for gateway in gateways:
            served += (await gateway.take("ada")).granted
        clock.now += 0.01

    allowed = burst + per_second * seconds
    assert allowed < served <= allowed + len(gateways) * lease, served
