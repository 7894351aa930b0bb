"""The ledger's first slice over HTTP, against real PostgreSQL and Kafka."""

from __future__ import annotations

import httpx
import pytest
from shared_kernel.testing import Headers

pytestmark = pytest.mark.integration


async def open_account(
    client: httpx.AsyncClient, headers: dict[str, str], code: str, kind: str
) -> str:
    response = await client.post(
        "/v1/accounts",
        json={"code": code, "name": f"Account {code}", "account_type": kind, "currency": "EUR"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_post_entry_and_read_balance_back(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    headers = as_role("accountant")
    cash = await open_account(ledger_client, headers, "1000", "asset")
    revenue = await open_account(ledger_client, headers, "8400", "revenue")
    posted = await ledger_client.post(
        "/v1/journal-entries",
        json={
            "voucher_number": "RE-2026-001",
            "booking_date": "2026-11-26",
            "text": "Consulting invoice paid in cash",
            "lines": [
                {"account_id": cash, "side": "debit", "amount": 11900, "currency": "EUR"},
                {"account_id": revenue, "side": "credit", "amount": 11900, "currency": "EUR"},
            ],
        },
        headers=headers,
    )
    assert posted.status_code == 201, posted.text
    position = posted.json()["position"]

    account = await ledger_client.get(
        f"/v1/accounts/{cash}", params={"min_position": position}, headers=headers
    )
    assert account.status_code == 200, account.text
    assert account.headers["X-Consistent"] == "true"
    assert account.json()["balance"] == 11900
    revenue_view = await ledger_client.get(
        f"/v1/accounts/{revenue}", params={"min_position": position}, headers=headers
    )
    assert revenue_view.json()["balance"] == 11900

    lines = await ledger_client.get(f"/v1/accounts/{cash}/lines", headers=headers)
    assert [line["amount"] for line in lines.json()["items"]] == [11900]


async def test_unbalanced_entry_is_refused_with_the_problem_named(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    headers = as_role("accountant")
    cash = await open_account(ledger_client, headers, "1000", "asset")
    revenue = await open_account(ledger_client, headers, "8400", "revenue")
    response = await ledger_client.post(
        "/v1/journal-entries",
        json={
            "voucher_number": "RE-1",
            "booking_date": "2026-11-26",
            "text": "unbalanced",
            "lines": [
                {"account_id": cash, "side": "debit", "amount": 100, "currency": "EUR"},
                {"account_id": revenue, "side": "credit", "amount": 99, "currency": "EUR"},
            ],
        },
        headers=headers,
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "Unbalanced"


async def test_idempotency_key_returns_first_answer_and_refuses_other_body(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    headers = {**as_role("accountant"), "Idempotency-Key": "open-1200"}
    body = {"code": "1200", "name": "Bank", "account_type": "asset", "currency": "EUR"}
    first = await ledger_client.post("/v1/accounts", json=body, headers=headers)
    again = await ledger_client.post("/v1/accounts", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = await ledger_client.post(
        "/v1/accounts", json={**body, "name": "Other"}, headers=headers
    )
    assert other.status_code == 422
    assert other.json()["field"] == "Idempotency-Key"


async def test_front_office_and_anonymous_callers_are_refused(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    body = {"code": "1300", "name": "X", "account_type": "asset", "currency": "EUR"}
    assert (await ledger_client.post("/v1/accounts", json=body)).status_code == 401
    front = await ledger_client.post("/v1/accounts", json=body, headers=as_role("trader", "front"))
    assert front.status_code == 403
