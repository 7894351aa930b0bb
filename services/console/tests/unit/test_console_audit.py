"""The Audit page against a fake gateway: filters passed through, results, refusals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .fake_gateway import FakeGateway, browser, logged_in

pytestmark = pytest.mark.unit

SEARCH = "GET /audit/v1/decisions"


def decision(**fields: object) -> dict[str, object]:
    return {
        "id": "00000000-0000-7000-8000-000000000001",
        "time": "2026-12-03T08:00:00Z",
        "subject": "trader",
        "subject_kind": "user",
        "office": "front",
        "roles": ["trader"],
        "method": "POST",
        "route": "/auth/login",
        "path": "/auth/login",
        "target": None,
        "status": 200,
        "outcome": "allow",
        "reason": "LoggedIn",
        "client": "127.0.0.1",
        "forwarded_client": None,
        "request_id": "req-1",
        "client_request_id": None,
        **fields,
    }


@pytest.fixture
def gateway() -> FakeGateway:
    fake = FakeGateway()
    fake.operator("auditor", ["auditor"], "oversight", [SEARCH, "GET /cases/{correlation_id}"])
    return fake


def searches(gateway: FakeGateway) -> list[dict[str, str]]:
    return [dict(c.url.params) for c in gateway.calls if c.url.path == "/audit/v1/decisions"]


async def test_an_auditor_sees_the_decisions_newest_first(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on(
        "GET",
        "/audit/v1/decisions",
        {
            "items": [
                decision(
                    subject="accountant",
                    method="POST",
                    path="/ledger/v1/booking-requests/x/approval",
                    status=403,
                    outcome="deny",
                    reason="RoleMissing",
                    request_id="req-2",
                ),
                decision(method="POST", path="/ledger/v1/booking-requests", request_id="req-3"),
                decision(),
            ],
            "next_cursor": None,
        },
    )
    client = await logged_in(browser(gateway.app(tmp_path)), "auditor")

    page = await client.get("/audit")

    assert page.status_code == 200
    assert "RoleMissing" in page.text and "/ledger/v1/booking-requests/x/approval" in page.text
    assert "badge-bad" in page.text and "badge-ok" in page.text
    assert "3 Dec 2026, 09:00:00" in page.text
    # An allowed command started a case; a denied one did not, nor did a log-in.
    assert 'href="/cases/req-3"' in page.text and 'href="/cases/req-2"' not in page.text
    assert 'href="/cases/req-1"' not in page.text
    assert searches(gateway) == [{"limit": "50"}]


async def test_the_filters_go_to_the_api_with_local_times_given_their_offset(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("GET", "/audit/v1/decisions", {"items": [decision()], "next_cursor": "d1.next"})
    client = await logged_in(browser(gateway.app(tmp_path)), "auditor")
    filters = {
        "subject": "trader",
        "outcome": "deny",
        "status": "403",
        "path_prefix": "/ledger/",
        "request_id": "req-1",
        "since": "2026-12-03T09:00",
        "until": "2026-12-03T10:00:00Z",
    }

    page = await client.get("/audit", params={**filters, "request_id": " req-1 "})

    assert searches(gateway) == [
        {
            **filters,
            "since": "2026-12-03T09:00:00+01:00",  # Europe/Berlin in December
            "limit": "50",
        }
    ]
    # The form keeps what was typed, and the next page keeps the filters.
    assert 'value="trader"' in page.text and 'value="2026-12-03T09:00"' in page.text
    assert re.search(r'href="/audit\?[^"]*subject=trader[^"]*&amp;cursor=d1.next"', page.text)
    await client.get("/audit", params={**filters, "cursor": "d1.next"})
    assert searches(gateway)[-1]["cursor"] == "d1.next"


async def test_a_filter_the_api_refuses_is_shown_readably_next_to_the_form(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on(
        "GET",
        "/audit/v1/decisions",
        {
            "title": "Invalid search",
            "detail": "path_prefix must start with '/', as a path does: 'ledger'",
            "status": 422,
            "code": "InvalidPathPrefix",
        },
        422,
    )
    client = await logged_in(browser(gateway.app(tmp_path)), "auditor")

    page = await client.get("/audit", params={"path_prefix": "ledger"})

    assert page.status_code == 422
    assert "Invalid search" in page.text and "must start with &#39;/&#39;" in page.text
    assert 'name="path_prefix" value="ledger"' in page.text


async def test_a_trader_gets_the_403_page_and_the_api_is_not_asked(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await logged_in(browser(gateway.app(tmp_path)), "trader")

    page = await client.get("/audit")

    assert page.status_code == 403
    assert searches(gateway) == []
    assert 'href="/audit"' not in (await client.get("/cases")).text  # not in the menu


async def test_the_search_in_german(gateway: FakeGateway, tmp_path: Path) -> None:
    gateway.on("GET", "/audit/v1/decisions", {"items": [decision()], "next_cursor": None})
    client = await logged_in(browser(gateway.app(tmp_path)), "auditor")
    client.cookies.set("console_locale", "de")

    html = (await client.get("/audit")).text

    assert "Entscheidungen suchen" in html and ">erlaubt<" in html
    assert "03.12.2026, 09:00:00" in html
