"""Booking requests over HTTP: reserve on submit, post on approval by a second person of the
back office, release on rejection or expiry; against real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from ledger.bootstrap import LedgerSettings
from shared_kernel.testing import Headers

from .conftest import running_ledger
from .ledger_api import entry, open_account, post, read

pytestmark = pytest.mark.integration


async def funded_bank(client: httpx.AsyncClient, accountant: dict[str, str]) -> dict[str, str]:
    """A no-overdraft bank account holding 1,000.00 EUR, plus capital and an expense account."""
    bank = await open_account(
        client, accountant, "1200", "asset", balance_constraint="credits_must_not_exceed_debits"
    )
    capital = await open_account(client, accountant, "0800", "equity")
    expense = await open_account(client, accountant, "4400", "expense")
    funded = await post(client, accountant, entry(bank, capital, 1000_00, voucher="EB-1"))
    assert funded.status_code == 201, funded.text
    return {"bank": bank, "capital": capital, "expense": expense}


async def submit(
    client: httpx.AsyncClient, headers: dict[str, str], accounts: dict[str, str], amount: int
) -> httpx.Response:
    return await client.post(
        "/v1/booking-requests",
        json=entry(accounts["expense"], accounts["bank"], amount),
        headers=headers,
    )


async def test_front_office_request_reserves_and_back_office_approval_posts_it(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    accountant, trader = as_role("accountant"), as_role("trader", "front")
    accounts = await funded_bank(ledger_client, accountant)

    submitted = await submit(ledger_client, trader, accounts, 600_00)
    assert submitted.status_code == 201, submitted.text
    request_id = submitted.json()["id"]
    bank = await read(
        ledger_client, accountant, f"/v1/accounts/{accounts['bank']}", submitted.json()["position"]
    )
    assert (bank["balance"], bank["credit_pending"], bank["available_balance"]) == (
        1000_00,
        600_00,
        400_00,
    )
    assert bank["headroom"] == 400_00

    too_much = await submit(ledger_client, trader, accounts, 500_00)
    assert too_much.status_code == 422
    assert (too_much.json()["code"], too_much.json()["field"]) == (
        "InsufficientFunds",
        "lines[1].amount",
    )

    approved = await ledger_client.post(
        f"/v1/booking-requests/{request_id}/approval", headers=accountant
    )
    assert approved.status_code == 200, approved.text
    entry_id = approved.json()["id"]
    bank = await read(
        ledger_client, accountant, f"/v1/accounts/{accounts['bank']}", approved.json()["position"]
    )
    assert (bank["balance"], bank["credit_pending"], bank["available_balance"]) == (
        400_00,
        0,
        400_00,
    )
    posted = await read(
        ledger_client, accountant, f"/v1/journal-entries/{entry_id}", approved.json()["position"]
    )
    assert (posted["request_id"], posted["recorded_by"], posted["approved_by"]) == (
        request_id,
        "user:trader",
        "user:accountant",
    )
    request = await read(
        ledger_client, trader, f"/v1/booking-requests/{request_id}", approved.json()["position"]
    )
    assert (request["status"], request["entry_id"]) == ("approved", entry_id)

    again = await ledger_client.post(
        f"/v1/booking-requests/{request_id}/approval", headers=as_role("controller")
    )
    assert again.status_code == 409
    assert again.json()["code"] == "BookingRequestApproved"


async def test_four_eyes_the_submitter_and_the_front_office_may_not_approve(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    anna = as_role("accountant", subject="user:anna")
    accounts = await funded_bank(ledger_client, anna)
    request_id = (await submit(ledger_client, anna, accounts, 100_00)).json()["id"]

    own = await ledger_client.post(f"/v1/booking-requests/{request_id}/approval", headers=anna)
    assert own.status_code == 403
    assert own.json()["code"] == "FourEyesViolation"

    trader = await ledger_client.post(
        f"/v1/booking-requests/{request_id}/approval", headers=as_role("trader", "front")
    )
    assert trader.status_code == 403
    auditor = await ledger_client.post(
        f"/v1/booking-requests/{request_id}/approval", headers=as_role("auditor", "none")
    )
    assert auditor.status_code == 403

    by_colleague = await ledger_client.post(
        f"/v1/booking-requests/{request_id}/approval",
        headers=as_role("controller", subject="user:carl"),
    )
    assert by_colleague.status_code == 200, by_colleague.text


async def test_rejection_releases_the_reservation_and_ends_the_request(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    accountant, trader = as_role("accountant"), as_role("trader", "front")
    accounts = await funded_bank(ledger_client, accountant)
    request_id = (await submit(ledger_client, trader, accounts, 900_00)).json()["id"]

    no_reason = await ledger_client.post(
        f"/v1/booking-requests/{request_id}/rejection", json={"reason": " "}, headers=accountant
    )
    assert no_reason.status_code == 422
    rejected = await ledger_client.post(
        f"/v1/booking-requests/{request_id}/rejection",
        json={"reason": "no invoice attached"},
        headers=accountant,
    )
    assert rejected.status_code == 200, rejected.text
    bank = await read(
        ledger_client, accountant, f"/v1/accounts/{accounts['bank']}", rejected.json()["position"]
    )
    assert (bank["balance"], bank["credit_pending"], bank["available_balance"]) == (
        1000_00,
        0,
        1000_00,
    )
    approve = await ledger_client.post(
        f"/v1/booking-requests/{request_id}/approval", headers=accountant
    )
    assert approve.status_code == 409
    assert approve.json()["code"] == "BookingRequestRejected"
    # The released amount is available again.
    assert (await submit(ledger_client, trader, accounts, 1000_00)).status_code == 201


async def test_a_stale_if_match_is_refused(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    accountant, trader = as_role("accountant"), as_role("trader", "front")
    accounts = await funded_bank(ledger_client, accountant)
    request_id = (await submit(ledger_client, trader, accounts, 10_00)).json()["id"]
    stale = await ledger_client.post(
        f"/v1/booking-requests/{request_id}/approval", headers={**accountant, "If-Match": '"2"'}
    )
    assert stale.status_code == 412
    fresh = await ledger_client.post(
        f"/v1/booking-requests/{request_id}/approval", headers={**accountant, "If-Match": '"1"'}
    )
    assert fresh.status_code == 200, fresh.text


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_an_expired_request_is_refused_at_approval_and_swept_once(
    ledger_settings: LedgerSettings, as_role: Headers
) -> None:
    clock = Clock()
    accountant, trader = as_role("accountant"), as_role("trader", "front")
    async with running_ledger(
        ledger_settings,
        clock,
        booking_request_ttl_seconds=3600,
        run_expiry_sweeper=False,
    ) as client:
        accounts = await funded_bank(client, accountant)
        request_id = (await submit(client, trader, accounts, 700_00)).json()["id"]
        clock.now += timedelta(hours=1)

        late = await client.post(f"/v1/booking-requests/{request_id}/approval", headers=accountant)
        assert late.status_code == 409
        assert late.json()["code"] == "BookingRequestExpired"

        sweeper = client.ledger.sweeper  # type: ignore[attr-defined]
        for _ in range(100):  # the sweeper finds candidates in the read model
            if await sweeper.sweep_once():
                break
            await asyncio.sleep(0.05)
        assert sweeper.expired == 1
        assert await sweeper.sweep_once() == 0

        page = await client.get(
            "/v1/booking-requests", params={"status": "expired"}, headers=accountant
        )
        for _ in range(100):
            if page.json()["items"]:
                break
            await asyncio.sleep(0.05)
            page = await client.get(
                "/v1/booking-requests", params={"status": "expired"}, headers=accountant
            )
        [expired] = page.json()["items"]
        assert (expired["request_id"], expired["decided_by"]) == (request_id, None)
        bank = await client.get(f"/v1/accounts/{accounts['bank']}", headers=accountant)
        assert (bank.json()["credit_pending"], bank.json()["available_balance"]) == (0, 1000_00)


async def test_the_background_sweeper_expires_overdue_requests(
    ledger_settings: LedgerSettings, as_role: Headers
) -> None:
    accountant, trader = as_role("accountant"), as_role("trader", "front")
    async with running_ledger(
        ledger_settings, booking_request_ttl_seconds=0.5, expiry_sweep_interval_seconds=0.1
    ) as client:
        accounts = await funded_bank(client, accountant)
        submitted = (await submit(client, trader, accounts, 700_00)).json()
        request_id = submitted["id"]
        await read(client, trader, f"/v1/booking-requests/{request_id}", submitted["position"])
        for _ in range(200):
            status = (
                await client.get(f"/v1/booking-requests/{request_id}", headers=accountant)
            ).json()["status"]
            if status == "expired":
                break
            await asyncio.sleep(0.05)
        assert status == "expired"
        bank = await client.get(f"/v1/accounts/{accounts['bank']}", headers=accountant)
        assert bank.json()["available_balance"] == 1000_00
