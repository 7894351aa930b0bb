"""Token buckets: a burst, then a steady rate, and an honest Retry-After."""

import pytest
from gateway.adapters.rate_limit import LoginLockedOut, RateLimited, RateLimiter, RateLimits

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


def login_limits(clock: Clock, per_pair: int = 2, per_client: int = 3) -> RateLimits:
    return RateLimits(
        per_identity=RateLimiter(100, 100, clock=clock),
        login_username_and_client=RateLimiter(per_pair / 60, per_pair, clock=clock),
        login_client=RateLimiter(per_client / 60, per_client, clock=clock),
    )


def test_log_in_is_limited_per_username_from_one_client_and_per_client() -> None:
    limits = login_limits(Clock())
    limits.check_login("ada", "10.0.0.1")
    limits.check_login("ada", "10.0.0.1")
    with pytest.raises(LoginLockedOut) as same_pair:
        limits.check_login("ada", "10.0.0.1")
    limits.check_login("ada", "10.0.0.2")  # ada from elsewhere is not locked out
    limits.check_login("bo", "10.0.0.3")
    limits.check_login("cy", "10.0.0.3")
    limits.check_login("di", "10.0.0.3")
    with pytest.raises(LoginLockedOut) as same_client:
        limits.check_login("ed", "10.0.0.3")

    assert (same_pair.value.limit, same_pair.value.retry_after) == (
        "LoginLimitPerUsernameAndClient",
        30,
    )
    assert (same_client.value.limit, same_client.value.retry_after) == ("LoginLimitPerClient", 20)


def test_failures_from_rotating_addresses_never_lock_the_user_out_of_a_fresh_address() -> None:
    limits = login_limits(Clock(), per_pair=10, per_client=60)
    for n in range(1000):
        limits.check_login("root", f"10.0.{n // 250}.{n % 250}")

    limits.check_login("root", "192.0.2.7")  # the real root, from an address that never failed


def test_retry_after_is_a_whole_number_of_seconds_and_at_least_one() -> None:
    assert RateLimited("slow down", 0.01).retry_after == 1
    assert RateLimited("slow down", 1.2).retry_after == 2
