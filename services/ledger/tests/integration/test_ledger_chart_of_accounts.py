"""The chart of accounts over HTTP: sub-accounts under their parent, balance constraints with
a credit limit, closing an account."""

from __future__ import annotations

import httpx
import pytest
from shared_kernel.testing import Headers

from .ledger_api import entry, eventually, open_account, post, read

pytestmark = pytest.mark.integration


async def test_sub_accounts_need_their_parent_and_are_listed_under_it(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    headers = as_role("accountant")
    orphan = await ledger_client.post(
        "/v1/accounts",
        json={"code": "1200.10", "name": "Bank EUR", "account_type": "asset", "currency": "EUR"},
        headers=headers,
    )
    assert (orphan.status_code, orphan.json()["code"]) == (422, "ParentAccountMissing")
    await open_account(ledger_client, headers, "1200", "asset")
    child = await open_account(ledger_client, headers, "1200.10", "asset", "USD")
    view = await eventually(ledger_client, headers, f"/v1/accounts/{child}", lambda a: True)
    assert (view["parent_code"], view["currency"]) == ("1200", "USD")
    listed = await eventually(
        ledger_client, headers, "/v1/accounts", lambda page: page["items"], parent_code="1200"
    )
    assert [a["code"] for a in listed["items"]] == ["1200.10"]


async def test_a_credit_limit_needs_a_constraint_and_bounds_the_overdraft(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    headers = as_role("accountant")
    refused = await ledger_client.post(
        "/v1/accounts",
        json={
            "code": "1300",
            "name": "X",
            "account_type": "asset",
            "currency": "EUR",
            "credit_limit": 100,
        },
        headers=headers,
    )
    assert (refused.status_code, refused.json()["field"]) == (422, "credit_limit")
    bank = await open_account(
        ledger_client,
        headers,
        "1200",
        "asset",
        balance_constraint="credits_must_not_exceed_debits",
        credit_limit=500_00,
    )
    revenue = await open_account(ledger_client, headers, "8400", "revenue")
    within = await post(ledger_client, headers, entry(revenue, bank, 500_00))
    assert within.status_code == 201, within.text
    beyond = await post(ledger_client, headers, entry(revenue, bank, 1))
    assert (beyond.status_code, beyond.json()["code"]) == (422, "InsufficientFunds")
    view = await read(ledger_client, headers, f"/v1/accounts/{bank}", within.json()["position"])
    assert (view["balance"], view["headroom"], view["credit_limit"]) == (-500_00, 0, 500_00)


async def test_a_closed_account_takes_no_more_bookings(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    headers = as_role("accountant")
    bank = await open_account(
        ledger_client, headers, "1200", "asset", balance_constraint="credits_must_not_exceed_debits"
    )
    old = await open_account(ledger_client, headers, "1210", "asset")
    revenue = await open_account(ledger_client, headers, "8400", "revenue")
    assert (await post(ledger_client, headers, entry(bank, revenue, 100))).status_code == 201
    request = await ledger_client.post(
        "/v1/booking-requests", json=entry(revenue, bank, 50), headers=as_role("trader", "front")
    )
    busy = await ledger_client.post(
        f"/v1/accounts/{bank}/closing", json={"reason": "moved banks"}, headers=headers
    )
    assert (busy.status_code, busy.json()["code"]) == (422, "AccountHasReservations")

    stale = await ledger_client.post(
        f"/v1/accounts/{old}/closing",
        json={"reason": "moved banks"},
        headers={**headers, "If-Match": "7"},
    )
    assert stale.status_code == 412
    closed = await ledger_client.post(
        f"/v1/accounts/{old}/closing", json={"reason": "moved banks"}, headers=headers
    )
    assert closed.status_code == 200, closed.text
    refused = await post(ledger_client, headers, entry(old, revenue, 100))
    assert (refused.status_code, refused.json()["code"], refused.json()["field"]) == (
        422,
        "AccountClosed",
        "lines[0].account_id",
    )
    again = await ledger_client.post(
        f"/v1/accounts/{old}/closing", json={"reason": "again"}, headers=headers
    )
    assert again.status_code == 409
    view = await read(ledger_client, headers, f"/v1/accounts/{old}", closed.json()["position"])
    assert view["closed_by"] == "user:accountant"
    assert request.status_code == 201


async def test_the_front_office_may_not_keep_the_chart_and_bad_input_is_a_4xx(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    body = {"code": "1300", "name": "X", "account_type": "asset", "currency": "EUR"}
    trader = await ledger_client.post("/v1/accounts", json=body, headers=as_role("trader", "front"))
    assert trader.status_code == 403
    headers = as_role("accountant")
    for path in ("/v1/accounts/%00", "/v1/journal-entries/a%00b", "/v1/booking-requests/%20"):
        assert (await ledger_client.get(path, headers=headers)).status_code == 422, path
    for params in ({"as_of": "0"}, {"as_of": "2026-02-30"}):
        answer = await ledger_client.get("/v1/reports/balances", params=params, headers=headers)
        assert answer.status_code == 422, params
    huge = await ledger_client.get("/v1/accounts", params={"min_position": 10**22}, headers=headers)
    assert huge.status_code == 422
    bad_cursor = await ledger_client.get(
        "/v1/journal-entries", params={"cursor": "eyJhIjogMX0"}, headers=headers
    )
    assert (bad_cursor.status_code, bad_cursor.json()["field"]) == (422, "cursor")
    nul = await post(ledger_client, headers, {**entry("a", "b", 1), "text": "a\u0000b"})
    assert nul.status_code == 422


async def test_the_front_office_lists_the_open_accounts_for_its_requests_without_figures(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    accountant, trader = as_role("accountant"), as_role("trader")
    bank = await open_account(ledger_client, accountant, "1200", "asset")
    cash = await open_account(ledger_client, accountant, "1000", "asset")
    closed = await ledger_client.post(
        f"/v1/accounts/{cash}/closing",
        json={"reason": "no cash kept"},
        headers={**accountant, "If-Match": "1"},
    )
    assert closed.status_code == 200, closed.text

    listed = await eventually(
        ledger_client,
        trader,
        "/v1/booking-accounts",
        lambda page: {a["account_id"] for a in page["items"]} == {bank},
    )
    (item,) = listed["items"]
    assert item == {
        "account_id": bank,
        "code": "1200",
        "name": item["name"],
        "account_type": "asset",
        "currency": "EUR",
    }
    # The chart with its balances stays closed to the front office behind the gateway too.
    refused = await ledger_client.get("/v1/booking-accounts", headers=as_role("monitoring"))
    assert refused.status_code == 403
