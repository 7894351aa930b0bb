"""Balance constraints under concurrency: 200 postings and booking requests at once against
one no-overdraft account never drive it below zero, and every refusal is a clear 422."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
from ledger.domain import Account
from shared_kernel.testing import Headers

from .ledger_api import entry, open_account, post, read

pytestmark = pytest.mark.integration

FUNDS = 100 * 50_00
EACH = 50_00


async def test_200_concurrent_postings_and_requests_never_overdraw_the_account(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    accountant, trader = as_role("accountant"), as_role("trader", "front")
    bank = await open_account(
        ledger_client,
        accountant,
        "1200",
        "asset",
        balance_constraint="credits_must_not_exceed_debits",
    )
    capital = await open_account(ledger_client, accountant, "0800", "equity")
    expense = await open_account(ledger_client, accountant, "4400", "expense")
    funded = await post(ledger_client, accountant, entry(bank, capital, FUNDS, voucher="EB"))
    assert funded.status_code == 201, funded.text

    async def spend(number: int) -> httpx.Response:
        body = entry(expense, bank, EACH, voucher=f"ER-{number}")
        if number % 2:
            return await ledger_client.post("/v1/booking-requests", json=body, headers=trader)
        return await post(ledger_client, accountant, body)

    answers = await asyncio.gather(*(spend(n) for n in range(200)))

    outcomes = Counter(
        (a.status_code, a.json().get("code") if a.status_code != 201 else None) for a in answers
    )
    assert outcomes == {(201, None): 100, (422, "InsufficientFunds"): 100}, outcomes
    refusal = next(a for a in answers if a.status_code == 422).json()
    assert refusal["field"] == "lines[1].amount"
    assert "Insufficient funds on account 1200" in refusal["detail"]

    # The write model: booked and reserved exactly use up the funds, never more.
    ledger = ledger_client.ledger  # type: ignore[attr-defined]
    async with ledger.runtime.engine.connect() as conn:
        history = await ledger.runtime.store.read_stream(conn, bank)
    account = Account.load(bank, [ledger.runtime.codec.decode_envelope(e) for e in history])
    assert account.debits_posted == FUNDS
    assert account.credits_posted + account.credits_pending == FUNDS
    assert not account.violates_constraint()

    # The read model agrees once it has caught up with every answer.
    for answer in answers:
        if answer.status_code == 201:
            await read(ledger_client, accountant, f"/v1/accounts/{bank}", answer.json()["position"])
    view = await read(ledger_client, accountant, f"/v1/accounts/{bank}", funded.json()["position"])
    posted = sum(1 for n, a in enumerate(answers) if a.status_code == 201 and n % 2 == 0)
    assert view["balance"] == FUNDS - posted * EACH
    assert view["credit_pending"] == (100 - posted) * EACH
    assert view["available_balance"] == 0
