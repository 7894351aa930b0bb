"""Token buckets: a burst, then a steady rate, and an honest Retry-After."""

import pytest
from gateway.adapters.rate_limit import RateLimited, RateLimiter, RateLimits

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_granted_then_refused_until_tokens_refill() -> None:
    clock = Clock()
    limiter = RateLimiter(per_second=2, burst=3, clock=clock)

    assert [limiter.acquire("ada") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("ada") == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.acquire("ada") == 0.0
    assert limiter.acquire("bo") == 0.0  # every key has its own bucket


def test_an_idle_bucket_refills_no_further_than_the_burst() -> None:
    clock = Clock()
    limiter = RateLimiter(per_second=1, burst=2, clock=clock)
    limiter.acquire("ada")
    clock.now += 3600

    assert [limiter.acquire("ada") for _ in range(3)][-1] > 0


def test_memory_is_bounded_by_forgetting_the_least_recently_used_key() -> None:
    limiter = RateLimiter(per_second=1, burst=1, max_keys=2, clock=Clock())
    limiter.acquire("a")
    limiter.acquire("b")
    limiter.acquire("c")  # "a" is forgotten

    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("c") > 0


def test_log_in_is_limited_per_username_and_per_client() -> None:
    clock = Clock()
    limits = RateLimits(
        per_identity=RateLimiter(100, 100, clock=clock),
        login_user=RateLimiter(1 / 60, 2, clock=clock),
        login_client=RateLimiter(3 / 60, 3, clock=clock),
    )
    limits.check_login("ada", "10.0.0.1")
    limits.check_login("ada", "10.0.0.1")
    with pytest.raises(RateLimited) as same_user:
        limits.check_login("ada", "10.0.0.2")
    limits.check_login("bo", "10.0.0.1")
    with pytest.raises(RateLimited) as same_client:
        limits.check_login("cy", "10.0.0.1")

    assert same_user.value.retry_after == 60
    assert same_client.value.retry_after == 20


def test_retry_after_is_a_whole_number_of_seconds_and_at_least_one() -> None:
    assert RateLimited("slow down", 0.01).retry_after == 1
    assert RateLimited("slow down", 1.2).retry_after == 2
