"""Token buckets in memory: a burst, then a steady rate, and an honest Retry-After."""

import pytest
from gateway.adapters.rate_limit import (
    LoginLockedOut,
    RateLimited,
    RateLimiter,
    RateLimits,
    Taken,
)

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_granted_then_refused_until_tokens_refill() -> None:
    clock = Clock()
    limiter = RateLimiter(per_second=2, burst=3, clock=clock)

    assert [limiter.take_now("ada") for _ in range(3)] == [Taken(1)] * 3
    refused = limiter.take_now("ada")
    assert refused.granted == 0
    assert refused.wait_seconds == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.take_now("ada") == Taken(1)
    assert limiter.take_now("bo") == Taken(1)  # every key has its own bucket


def test_a_take_of_several_gets_what_is_left() -> None:
    clock = Clock()
    limiter = RateLimiter(per_second=1, burst=5, clock=clock)

    assert limiter.take_now("ada", 3) == Taken(3)
    assert limiter.take_now("ada", 3) == Taken(2)
    assert limiter.take_now("ada", 3).granted == 0


def test_an_idle_bucket_refills_no_further_than_the_burst() -> None:
    clock = Clock()
    limiter = RateLimiter(per_second=1, burst=2, clock=clock)
    limiter.take_now("ada")
    clock.now += 3600

    assert [limiter.take_now("ada").granted for _ in range(3)] == [1, 1, 0]


def test_memory_is_bounded_by_forgetting_the_least_recently_used_key() -> None:
    limiter = RateLimiter(per_second=1, burst=1, max_keys=2, clock=Clock())
    limiter.take_now("a")
    limiter.take_now("b")
    limiter.take_now("c")  # "a" is forgotten

    assert limiter.take_now("a") == Taken(1)
    assert limiter.take_now("c").granted == 0


def login_limits(clock: Clock, per_pair: int = 2, per_client: int = 3) -> RateLimits:
    return RateLimits(
        per_identity=RateLimiter(100, 100, clock=clock),
        login_username_and_client=RateLimiter(per_pair / 60, per_pair, clock=clock),
        login_client=RateLimiter(per_client / 60, per_client, clock=clock),
    )


async def test_log_in_is_limited_per_username_from_one_client_and_per_client() -> None:
    limits = login_limits(Clock())
    await limits.check_login("ada", "10.0.0.1")
    await limits.check_login("ada", "10.0.0.1")
    with pytest.raises(LoginLockedOut) as same_pair:
        await limits.check_login("ada", "10.0.0.1")
    await limits.check_login("ada", "10.0.0.2")  # ada from elsewhere is not locked out
    await limits.check_login("bo", "10.0.0.3")
    await limits.check_login("cy", "10.0.0.3")
    await limits.check_login("di", "10.0.0.3")
    with pytest.raises(LoginLockedOut) as same_client:
        await limits.check_login("ed", "10.0.0.3")

    assert (same_pair.value.limit, same_pair.value.retry_after) == (
        "LoginLimitPerUsernameAndClient",
        30,
    )
    assert (same_client.value.limit, same_client.value.retry_after) == ("LoginLimitPerClient", 20)


async def test_failures_from_rotating_addresses_never_lock_the_user_out_elsewhere() -> None:
    limits = login_limits(Clock(), per_pair=10, per_client=60)
    for n in range(1000):
        await limits.check_login("root", f"10.0.{n // 250}.{n % 250}")

    # the real root, from an address that never failed
    await limits.check_login("root", "192.0.2.7")


def test_retry_after_is_a_whole_number_of_seconds_and_at_least_one() -> None:
    assert RateLimited("slow down", 0.01).retry_after == 1
    assert RateLimited("slow down", 1.2).retry_after == 2
