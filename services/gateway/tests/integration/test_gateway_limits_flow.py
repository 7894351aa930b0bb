"""Rate limits against a real gateway: a log-in flood per username and per client address,
and a request flood per identity, each answered 429 with Retry-After."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from .conftest import ADMIN_PASSWORD, RunningGateway, StartGateway
from .test_gateway_audit_topic import audit_records

pytestmark = pytest.mark.integration

# The test client's connections come from 127.0.0.1: trusted here to name other clients.
LOCAL_PROXY = (ip_network("127.0.0.1/32"),)


async def attempt(running: RunningGateway, username: str, password: str = "wrong-password") -> int:
    response = await running.client.post(
        "/auth/login", json={"username": username, "password": password}
    )
    if response.status_code == 429:
        assert int(response.headers["Retry-After"]) >= 1
        assert response.json()["code"] == "RateLimited"
    return response.status_code


async def test_a_password_guessing_flood_on_one_username_gets_429(running: RunningGateway) -> None:
    # 5 attempts per minute per username (see conftest)
    statuses = [await attempt(running, "root") for _ in range(5)]
    with_the_right_password = await attempt(running, "root", ADMIN_PASSWORD)

    assert statuses == [401] * 5
    assert with_the_right_password == 429  # refused before the password is even looked at


async def test_a_flood_from_one_client_across_usernames_gets_429(running: RunningGateway) -> None:
    # 8 attempts per minute per client address, whatever the usernames
    statuses = [await attempt(running, f"user-{n}") for n in range(9)]

    assert statuses == [401] * 8 + [429]


async def test_a_request_flood_gets_429_with_retry_after(start_gateway: StartGateway) -> None:
    running = await start_gateway(rate_limit_per_second=0.2, rate_limit_burst=3)
    admin = await running.admin()

    answers = [await running.client.get("/admin/v1/operators", headers=admin) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].headers["Retry-After"] == "5"


async def test_failures_from_rotating_addresses_do_not_lock_the_real_user_out(
    start_gateway: StartGateway,
) -> None:
    running = await start_gateway(trusted_proxies=LOCAL_PROXY)

    async def from_address(address: str, password: str = "wrong-password") -> int:
        response = await running.client.post(
            "/auth/login",
            json={"username": "root", "password": password},
            headers={"X-Forwarded-For": address},
        )
        return response.status_code

    guesses = [await from_address(f"198.51.100.{n}") for n in range(1, 21)]
    real_user = await from_address("203.0.113.7", ADMIN_PASSWORD)

    assert guesses == [401] * 20
    assert real_user == 200


async def test_every_lock_out_is_an_audit_record_naming_the_limit(
    start_gateway: StartGateway,
) -> None:
    running = await start_gateway(trusted_proxies=LOCAL_PROXY)
    answers = [
        await running.client.post(
            "/auth/login",
            json={"username": "root", "password": "wrong-password"},
            headers={"X-Forwarded-For": "198.51.100.1", "X-Request-Id": f"guess-number-{n}"},
        )
        for n in range(6)
    ]

    records = await audit_records(running)

    assert [a.status_code for a in answers] == [401] * 5 + [429]
    [locked] = records[answers[5].headers["X-Request-Id"]]
    assert (locked["decision"], locked["status"], locked["reason"]) == (
        "deny",
        429,
        "LoginLimitPerUsernameAndClient",
    )
    assert (locked["subject"], locked["client"], locked["forwarded_client"]) == (
        "root",
        "127.0.0.1",
        "198.51.100.1",
    )
    assert locked["client_request_id"] == "guess-number-5"
