"""No input makes the gateway answer 500: NUL characters (which PostgreSQL cannot store) in
paths, queries and bodies, and over-long URLs, get a 4xx problem naming the rule."""

from __future__ import annotations

import httpx
import pytest

from .conftest import RunningGateway

pytestmark = pytest.mark.integration


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["code"] == code
    return body


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", "/admin/v1/operators/%00", "path"),
        ("GET", "/admin/v1/operators/ada%00", "path"),
        ("POST", "/admin/v1/operators/%00/disable", "path"),
        ("DELETE", "/admin/v1/operators/%00/roles/trader", "path"),
        ("GET", "/admin/v1/systems/%00/api-keys", "path"),
        ("GET", "/admin/v1/operators?after=%00", "query"),
        ("GET", "/ledger/v1/accounts?q=a%00b", "query"),
    ],
)
async def test_a_nul_in_the_url_is_refused_with_400(
    running: RunningGateway, method: str, path: str, field: str
) -> None:
    response = await running.client.request(method, path, headers=await running.admin())

    assert assert_problem(response, 400, "InvalidUrl")["field"] == field
    assert running.ledger.received == []


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/auth/login", {"username": "ro\u0000ot", "password": "x"}, "username"),
        (
            "/admin/v1/operators",
            {
                "username": "nul",
                "display_name": "A\u0000B",
                "roles": ["trader"],
                "password": "a-long-password",
            },
            "display_name",
        ),
        (
            "/admin/v1/systems",
            {"name": "nul", "display_name": "N\u0000", "roles": ["trader"]},
            None,
        ),
        ("/admin/v1/operators/root/roles", {"role": "tra\u0000der"}, "role"),
    ],
)
async def test_a_nul_in_a_body_is_refused_with_422_naming_the_field(
    running: RunningGateway, path: str, body: dict[str, object], field: str | None
) -> None:
    response = await running.client.post(path, json=body, headers=await running.admin())

    problem = assert_problem(response, 422, "InvalidRequest")
    assert problem["field"] == (field or "display_name")
    assert "NUL" in str(problem["detail"])


async def test_a_url_over_the_limit_is_refused_with_414(running: RunningGateway) -> None:
    admin = await running.admin()
    limit = running.gateway.settings.max_url_bytes

    within = await running.client.get("/ledger/v1/accounts?q=" + "a" * 1000, headers=admin)
    over = await running.client.get("/ledger/v1/accounts?q=" + "a" * limit, headers=admin)
    far_over = await running.client.get("/ledger/v1/accounts/" + "a" * 65_000, headers=admin)

    assert within.status_code == 403  # admin reads no ledger: the URL itself was fine
    assert_problem(over, 414, "UriTooLong")
    assert_problem(far_over, 414, "UriTooLong")
