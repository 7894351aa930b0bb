"""Voucher numbers identify a voucher: one number, one entry per fiscal year (the calendar
year of the booking date), for single posts, batches, booking requests and reversals, exact
under concurrency; against real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest
from shared_kernel.testing import Headers

from .ledger_api import entry, open_account, post

pytestmark = pytest.mark.integration


async def two_accounts(client: httpx.AsyncClient, headers: dict[str, str]) -> tuple[str, str]:
    bank = await open_account(client, headers, "1200", "asset")
    revenue = await open_account(client, headers, "8400", "revenue")
    return bank, revenue


def assert_in_use(answer: httpx.Response, holder: str) -> dict[str, Any]:
    """A 409 problem that says the number is taken and names who holds it."""
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = answer.json()
    assert (problem["code"], problem["field"]) == ("VoucherNumberInUse", "voucher_number")
    assert holder in problem["detail"], problem["detail"]
    return problem


async def test_a_voucher_number_is_used_once_per_fiscal_year(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    accountant = as_role("accountant")
    bank, revenue = await two_accounts(ledger_client, accountant)
    first = await post(ledger_client, accountant, entry(bank, revenue, 10_00, voucher="RE-7"))
    assert first.status_code == 201, first.text

    again = await post(
        ledger_client,
        accountant,
        entry(bank, revenue, 20_00, voucher=" RE-7 ", booking_date="2026-12-31"),
    )
    problem = assert_in_use(again, f"journal entry {first.json()['id']}")
    assert "fiscal year 2026" in problem["detail"]

    # Another fiscal year starts its own numbering; another spelling is another number.
    next_year = entry(bank, revenue, 20_00, voucher="RE-7", booking_date="2027-01-02")
    assert (await post(ledger_client, accountant, next_year)).status_code == 201
    other = entry(bank, revenue, 20_00, voucher="re-7")
    assert (await post(ledger_client, accountant, other)).status_code == 201


async def test_a_batch_refuses_numbers_in_use_and_numbers_repeated_within_it(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    accountant = as_role("accountant")
    bank, revenue = await two_accounts(ledger_client, accountant)
    first = await post(ledger_client, accountant, entry(bank, revenue, 10_00, voucher="B-1"))
    assert first.status_code == 201, first.text

    batch = [
        entry(bank, revenue, 1_00, voucher="B-2"),
        entry(bank, revenue, 1_00, voucher="B-1"),
        entry(bank, revenue, 1_00, voucher="B-2"),
        entry(bank, revenue, 1_00, voucher="B-3"),
    ]
    refused = await ledger_client.post(
        "/v1/journal-entry-batches", json={"entries": batch}, headers=accountant
    )

    assert refused.status_code == 409, refused.text
    errors = refused.json()["errors"]
    assert [(e["index"], e["code"], e["field"]) for e in errors] == [
        (1, "VoucherNumberInUse", "voucher_number"),
        (2, "VoucherNumberInUse", "voucher_number"),
    ]
    assert f"journal entry {first.json()['id']}" in errors[0]["detail"]
    assert "by entry 0 of this batch" in errors[1]["detail"]
    # Nothing of the refused batch was claimed: its numbers are still free.
    alone = await post(ledger_client, accountant, entry(bank, revenue, 1_00, voucher="B-2"))
    assert alone.status_code == 201, alone.text


async def test_a_booking_request_reserves_its_number_until_it_is_decided(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    accountant, trader = as_role("accountant"), as_role("trader", "front")
    bank, revenue = await two_accounts(ledger_client, accountant)

    async def submit(voucher: str) -> httpx.Response:
        body = entry(bank, revenue, 5_00, voucher=voucher)
        return await ledger_client.post("/v1/booking-requests", json=body, headers=trader)

    pending = await submit("BR-1")
    assert pending.status_code == 201, pending.text
    request_id = pending.json()["id"]
    reserved = f"booking request {request_id}"
    assert_in_use(
        await post(ledger_client, accountant, entry(bank, revenue, 1, voucher="BR-1")), reserved
    )
    assert_in_use(await submit("BR-1"), reserved)

    # Approval posts the entry under the reserved number; the number stays taken by it.
    approved = await ledger_client.post(
        f"/v1/booking-requests/{request_id}/approval", headers=accountant
    )
    assert approved.status_code == 200, approved.text
    entry_id = approved.json()["id"]
    assert_in_use(await submit("BR-1"), f"journal entry {entry_id}")

    # A rejected request releases its number.
    rejected_id = (await submit("BR-2")).json()["id"]
    rejection = await ledger_client.post(
        f"/v1/booking-requests/{rejected_id}/rejection",
        json={"reason": "no invoice"},
        headers=accountant,
    )
    assert rejection.status_code == 200, rejection.text
    reused = await post(ledger_client, accountant, entry(bank, revenue, 1, voucher="BR-2"))
    assert reused.status_code == 201, reused.text


async def test_of_twenty_concurrent_posts_with_one_number_exactly_one_is_booked(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    accountant = as_role("accountant")
    bank, revenue = await two_accounts(ledger_client, accountant)
    body = entry(bank, revenue, 3_00, voucher="RACE-1")

    answers = await asyncio.gather(*(post(ledger_client, accountant, body) for _ in range(20)))

    assert Counter(a.status_code for a in answers) == {201: 1, 409: 19}
    winner = next(a for a in answers if a.status_code == 201).json()["id"]
    for answer in answers:
        if answer.status_code == 409:
            assert_in_use(answer, f"journal entry {winner}")


async def test_a_reversal_takes_its_own_derived_number(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    accountant = as_role("accountant")
    bank, revenue = await two_accounts(ledger_client, accountant)
    original = await post(ledger_client, accountant, entry(bank, revenue, 9_00, voucher="S-1"))
    taken = await post(ledger_client, accountant, entry(bank, revenue, 9_00, voucher="ST-S-2"))
    other = await post(ledger_client, accountant, entry(bank, revenue, 9_00, voucher="S-2"))

    reversal = await ledger_client.post(
        f"/v1/journal-entries/{original.json()['id']}/reversal",
        json={"reason": "wrong amount"},
        headers=accountant,
    )
    assert reversal.status_code == 201, reversal.text
    assert reversal.headers["location"] == f"/v1/journal-entries/{reversal.json()['id']}"
    again = await post(ledger_client, accountant, entry(bank, revenue, 1, voucher="ST-S-1"))
    assert_in_use(again, f"journal entry {reversal.json()['id']}")

    # The derived number of S-2 is taken: the reversal is refused until it gets its own.
    path = f"/v1/journal-entries/{other.json()['id']}/reversal"
    clash = await ledger_client.post(path, json={"reason": "typo"}, headers=accountant)
    assert_in_use(clash, f"journal entry {taken.json()['id']}")
    numbered = await ledger_client.post(
        path, json={"reason": "typo", "voucher_number": "ST-S-2b"}, headers=accountant
    )
    assert numbered.status_code == 201, numbered.text
