"""The front office reads only the booking requests it submitted: another's answers 404 as an
unknown one does, lists (and their filters) are narrowed to the caller; the back office and
auditors read them all. Signed identities of two traders against a real ledger."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from shared_kernel.testing import Headers

from .ledger_api import entry
from .test_ledger_booking_requests import funded_bank, submit

pytestmark = pytest.mark.integration

TINA, TOM = "user:tina", "user:tom"


async def listed(
    client: httpx.AsyncClient, headers: dict[str, str], position: int, **params: Any
) -> list[str]:
    """Every request id the caller's list shows, page after page, in order."""
    ids: list[str] = []
    cursor: str | None = None
    while True:
        query = {"min_position": position, "wait_ms": 10000, "limit": 1, **params}
        if cursor:
            query["cursor"] = cursor
        response = await client.get("/v1/booking-requests", params=query, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["X-Consistent"] == "true"
        page = response.json()
        ids += [item["request_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


async def test_a_trader_reads_only_their_own_booking_requests(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    accountant = as_role("accountant")
    tina = as_role("trader", "front", subject=TINA)
    tom = as_role("trader", "front", subject=TOM)
    accounts = await funded_bank(ledger_client, accountant)
    written = [
        (await submit(ledger_client, who, accounts, amount)).json()
        for who, amount in ((tina, 100_00), (tom, 200_00), (tina, 300_00))
    ]
    tinas, toms = [written[0]["id"], written[2]["id"]], [written[1]["id"]]
    last = max(w["position"] for w in written)

    assert await listed(ledger_client, tina, last) == tinas
    assert await listed(ledger_client, tom, last) == toms
    # A filter naming someone else finds nothing (rather than silently the caller's own).
    assert await listed(ledger_client, tina, last, submitted_by=TOM) == []
    assert await listed(ledger_client, tina, last, submitted_by=TINA) == tinas
    assert await listed(ledger_client, tina, last, status="pending") == tinas

    own = await ledger_client.get(f"/v1/booking-requests/{tinas[0]}", headers=tina)
    strangers = await ledger_client.get(f"/v1/booking-requests/{toms[0]}", headers=tina)
    unknown = await ledger_client.get("/v1/booking-requests/no-such-request", headers=tina)
    assert (own.status_code, own.json()["submitted_by"]) == (200, TINA)
    assert strangers.status_code == unknown.status_code == 404, strangers.text
    assert strangers.json() == {
        **unknown.json(),
        "detail": f"booking request {toms[0]} does not exist",
    }
    assert TOM not in strangers.text


@pytest.mark.parametrize(
    ("role", "office"),
    [("accountant", "back"), ("controller", "back"), ("risk-officer", "back"), ("auditor", "none")],
)
async def test_the_back_office_and_auditors_read_every_booking_request(
    ledger_client: httpx.AsyncClient, as_role: Headers, role: str, office: str
) -> None:
    accountant = as_role("accountant")
    reader = as_role(role, office, subject=f"user:{role}-reader")
    accounts = await funded_bank(ledger_client, accountant)
    written = [
        (
            await submit(ledger_client, as_role("trader", "front", subject=who), accounts, 50_00)
        ).json()
        for who in (TINA, TOM)
    ]
    last = max(w["position"] for w in written)
    ids = [w["id"] for w in written]

    assert await listed(ledger_client, reader, last) == ids
    assert await listed(ledger_client, reader, last, submitted_by=TOM) == ids[1:]
    for request_id in ids:
        response = await ledger_client.get(f"/v1/booking-requests/{request_id}", headers=reader)
        assert response.status_code == 200, response.text


async def test_a_refused_request_tells_the_front_office_no_balance(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    accountant, trader = as_role("accountant"), as_role("trader", "front", subject=TINA)
    accounts = await funded_bank(ledger_client, accountant)  # 1,000.00 EUR in the bank
    body = entry(accounts["expense"], accounts["bank"], 5000_00, voucher="ER-PROBE-1")

    by_trader = await ledger_client.post("/v1/booking-requests", json=body, headers=trader)
    body["voucher_number"] = "ER-PROBE-2"
    by_accountant = await ledger_client.post("/v1/booking-requests", json=body, headers=accountant)

    assert by_trader.status_code == by_accountant.status_code == 422, by_trader.text
    assert by_trader.json()["code"] == by_accountant.json()["code"] == "InsufficientFunds"
    assert by_trader.json()["field"] == by_accountant.json()["field"]
    assert "1,000.00" not in by_trader.text and "1000.00" not in by_trader.text
    assert "1,000.00" in by_accountant.text or "1000.00" in by_accountant.text
