"""The ledger as its users meet it, through the gateway only: the front office submits a
booking request and the back office approves it (a trader may not); an accountant keeps a
month's books up to the closed period and its trial balance; an auditor exports and verifies
them."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest

from .conftest import System, login

pytestmark = pytest.mark.e2e


async def open_account(
    gateway: httpx.AsyncClient, auth: dict[str, str], code: str, kind: str, **flags: Any
) -> str:
    response = await gateway.post(
        "/ledger/v1/accounts",
        json={"code": code, "name": f"Account {code}", "account_type": kind, "currency": "EUR"}
        | flags,
        headers=auth,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def entry(debit: str, credit: str, amount: int, day: str, voucher: str) -> dict[str, Any]:
    return {
        "voucher_number": voucher,
        "booking_date": day,
        "text": f"Voucher {voucher}",
        "lines": [
            {"account_id": debit, "side": "debit", "amount": amount, "currency": "EUR"},
            {"account_id": credit, "side": "credit", "amount": amount, "currency": "EUR"},
        ],
    }


async def consistent(
    gateway: httpx.AsyncClient, auth: dict[str, str], path: str, position: int, **params: Any
) -> dict[str, Any]:
    response = await gateway.get(
        path, params={"min_position": position, "wait_ms": 10000, **params}, headers=auth
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-consistent"] == "true"
    body: dict[str, Any] = response.json()
    return body


async def test_front_office_requests_and_back_office_approves_through_the_gateway(
    system: System, gateway: httpx.AsyncClient
) -> None:
    accountant = await login(gateway, "accountant")
    trader = await login(gateway, "trader")
    bank = await open_account(
        gateway, accountant, "1200", "asset", balance_constraint="credits_must_not_exceed_debits"
    )
    capital = await open_account(gateway, accountant, "0800", "equity")
    fees = await open_account(gateway, accountant, "4970", "expense")
    funded = await gateway.post(
        "/ledger/v1/journal-entries",
        json=entry(bank, capital, 5_000_00, "2026-11-02", "EB-1"),
        headers=accountant,
    )
    assert funded.status_code == 201, funded.text

    submitted = await gateway.post(
        "/ledger/v1/booking-requests",
        json=entry(fees, bank, 250_00, "2026-11-26", "FEE-7"),
        headers={**trader, "Idempotency-Key": "fee-7"},
    )
    assert submitted.status_code == 201, submitted.text
    request_id = submitted.json()["id"]
    reserved = await consistent(
        gateway, accountant, f"/ledger/v1/accounts/{bank}", submitted.json()["position"]
    )
    assert (reserved["balance"], reserved["available_balance"]) == (5_000_00, 4_750_00)

    by_trader = await gateway.post(
        f"/ledger/v1/booking-requests/{request_id}/approval", headers=trader
    )
    assert by_trader.status_code == 403
    assert by_trader.json()["code"] == "RoleMissing"

    approved = await gateway.post(
        f"/ledger/v1/booking-requests/{request_id}/approval", headers=accountant
    )
    assert approved.status_code == 200, approved.text
    booked = await consistent(
        gateway, accountant, f"/ledger/v1/accounts/{bank}", approved.json()["position"]
    )
    assert (booked["balance"], booked["available_balance"]) == (4_750_00, 4_750_00)
    request = await consistent(
        gateway, trader, f"/ledger/v1/booking-requests/{request_id}", approved.json()["position"]
    )
    assert (request["status"], request["decided_by"]) == ("approved", "accountant")


async def test_a_month_of_books_closed_exported_and_verified_through_the_gateway(
    system: System, gateway: httpx.AsyncClient
) -> None:
    accountant = await login(gateway, "accountant")
    controller = await login(gateway, "controller")
    auditor = await login(gateway, "auditor")
    ids = {
        code: await open_account(gateway, accountant, code, kind)
        for code, kind in [
            ("0800", "equity"),
            ("1200", "asset"),
            ("8400", "revenue"),
            ("4400", "expense"),
        ]
    }
    positions = []
    for debit, credit, amount, day, voucher in [
        ("1200", "0800", 10_000_00, "2026-11-02", "EB-2"),
        ("1200", "8400", 1_190_00, "2026-11-12", "AR-1"),
        ("4400", "1200", 400_00, "2026-11-20", "ER-1"),
    ]:
        posted = await gateway.post(
            "/ledger/v1/journal-entries",
            json=entry(ids[debit], ids[credit], amount, day, voucher),
            headers=accountant,
        )
        assert posted.status_code == 201, posted.text
        assert posted.headers["location"] == f"/ledger/v1/journal-entries/{posted.json()['id']}"
        positions.append(posted.json()["position"])
    batch = await gateway.post(
        "/ledger/v1/journal-entry-batches",
        json={
            "entries": [
                entry(ids["1200"], ids["8400"], 10_00, "2026-11-28", f"K-{n}") for n in range(20)
            ]
        },
        headers=accountant,
    )
    assert batch.status_code == 201, batch.text

    closed = await gateway.post("/ledger/v1/periods/2026-11/closing", headers=controller)
    assert closed.status_code == 200, closed.text
    late = await gateway.post(
        "/ledger/v1/journal-entries",
        json=entry(ids["4400"], ids["1200"], 1_00, "2026-11-30", "LATE"),
        headers=accountant,
    )
    assert (late.status_code, late.json()["code"]) == (422, "PeriodClosed")

    for position in [*positions, closed.json()["position"]]:
        await consistent(gateway, accountant, "/ledger/v1/periods", position)
    trial = await consistent(
        gateway,
        auditor,
        "/ledger/v1/reports/trial-balance",
        batch.json()["position"],
        period="2026-11",
    )
    for _ in range(100):  # the batch's entries sit on every partition
        if sum(a["debits"] for a in trial["accounts"] if a["code"] == "1200") == 11_390_00:
            break
        trial = await consistent(
            gateway, auditor, "/ledger/v1/reports/trial-balance", 0, period="2026-11"
        )
    assert trial["status"] == "closed"
    bank = next(a for a in trial["accounts"] if a["code"] == "1200")
    assert (bank["debits"], bank["credits"], bank["closing_balance"]) == (
        11_390_00,
        400_00,
        10_990_00,
    )
    [eur] = trial["totals"]
    assert eur["debits"] == eur["credits"] == 11_790_00

    index = (
        await gateway.get("/ledger/v1/exports/periods/2026-11/index.json", headers=auditor)
    ).json()
    assert index["media"][0]["period_status"] == "closed"
    journal = await gateway.get("/ledger/v1/exports/periods/2026-11/journal.csv", headers=auditor)
    assert journal.status_code == 200
    rows = list(csv.DictReader(io.StringIO(journal.text)))
    assert len(rows) == 2 * 23
    assert list(rows[0]) == [c["name"] for c in index["media"][0]["tables"][0]["columns"]]
    verified = await gateway.get("/ledger/v1/verification", headers=auditor)
    assert verified.status_code == 200, verified.text
    assert verified.json()["intact"] is True

    as_auditor = await gateway.post(
        "/ledger/v1/journal-entries",
        json=entry(ids["4400"], ids["1200"], 1_00, "2026-12-01", "X"),
        headers=auditor,
    )
    assert as_auditor.status_code == 403
