"""Limits as a risk officer and a trader meet them, through the gateway: a limit requested by one
risk officer and approved by a second (never by the first), ledger postings for the counterparty
showing up as live utilisation in risk, the warning and then the breach recorded once each and
naming the entry that caused them, and the pre-deal check saying no once the limit is used up."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from .conftest import System, login

pytestmark = pytest.mark.e2e

LIMIT = 100_000  # minor units: EUR 1,000.00


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def open_accounts(gateway: httpx.AsyncClient, accountant: dict[str, str]) -> list[str]:
    ids = []
    for code, name, kind in [("1400", "Receivables", "asset"), ("8400", "Revenue", "revenue")]:
        opened = ok(
            await gateway.post(
                "/ledger/v1/accounts",
                json={"code": code, "name": name, "account_type": kind, "currency": "EUR"},
                headers=accountant,
            ),
            201,
        )
        ids.append(opened["id"])
    return ids


async def post_deal(
    gateway: httpx.AsyncClient,
    accountant: dict[str, str],
    accounts: list[str],
    counterparty: str,
    amount: int,
) -> str:
    entry = ok(
        await gateway.post(
            "/ledger/v1/journal-entries",
            json={
                "voucher_number": f"D-{uuid.uuid4().hex[:8]}",
                "booking_date": datetime.now(UTC).date().isoformat(),
                "text": f"Deal with {counterparty}",
                "metadata": {"counterparty": counterparty, "desk": "rates"},
                "lines": [
                    {
                        "account_id": accounts[0],
                        "side": "debit",
                        "amount": amount,
                        "currency": "EUR",
                    },
                    {
                        "account_id": accounts[1],
                        "side": "credit",
                        "amount": amount,
                        "currency": "EUR",
                    },
                ],
            },
            headers=accountant,
        ),
        201,
    )
    return str(entry["id"])


async def limit_when(
    gateway: httpx.AsyncClient, officer: dict[str, str], limit_id: str, total: int
) -> dict[str, Any]:
    """The limit once risk has counted ``total`` against it (risk reads the ledger's topic)."""
    deadline = time.monotonic() + 30
    while True:
        limit = ok(await gateway.get(f"/risk/v1/limits/{limit_id}", headers=officer))
        if limit["exposure"]["total"] == total or time.monotonic() > deadline:
            return limit
        await asyncio.sleep(0.2)


async def pre_deal(
    gateway: httpx.AsyncClient,
    trader: dict[str, str],
    counterparty: str,
    amount: int,
    after: int | None = None,
) -> dict[str, Any]:
    """The check, answered once risk has applied position ``after`` (read your writes)."""
    answer = await gateway.post(
        "/risk/v1/pre-deal-checks",
        params={"min_position": after, "wait_ms": 10_000} if after else {},
        json={"counterparty": counterparty, "currency": "EUR", "amount": amount},
        headers=trader,
    )
    if after:
        assert answer.headers.get("X-Consistent") == "true"
    return ok(answer)


async def test_ledger_postings_fill_a_four_eyes_limit_until_warning_breach_and_refusal(
    system: System,
) -> None:
    counterparty = f"ACME-{uuid.uuid4().hex[:6]}"
    began = datetime.now(UTC) - timedelta(minutes=1)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as gateway:
        officer, second = (
            await login(gateway, "risk-officer"),
            await login(gateway, "risk-officer-2"),
        )
        accountant, trader = await login(gateway, "accountant"), await login(gateway, "trader")

        # No limit yet: no deal.
        before = await pre_deal(gateway, trader, counterparty, 1)
        assert before["allowed"] is False and before["reasons"]

        requested = ok(
            await gateway.post(
                "/risk/v1/limits",
                json={
                    "dimension": "counterparty",
                    "counterparty": counterparty,
                    "currency": "EUR",
                    "amount": LIMIT,
                    "reason": "new client, credit committee 2026-11",
                },
                headers=officer,
            ),
            201,
        )
        limit_id = requested["id"]
        own = await gateway.post(f"/risk/v1/limits/{limit_id}/approval", json={}, headers=officer)
        assert own.status_code == 403, own.text
        approved = ok(
            await gateway.post(f"/risk/v1/limits/{limit_id}/approval", json={}, headers=second)
        )
        fits = await pre_deal(gateway, trader, counterparty, 50_000, approved["position"])
        assert fits["allowed"] is True

        accounts = await open_accounts(gateway, accountant)
        await post_deal(gateway, accountant, accounts, counterparty, 50_000)
        warned_by = await post_deal(gateway, accountant, accounts, counterparty, 35_000)
        limit = await limit_when(gateway, officer, limit_id, 85_000)
        assert limit["threshold_state"] == "warning", limit
        assert limit["utilisation"] == pytest.approx(0.85)

        breached_by = await post_deal(gateway, accountant, accounts, counterparty, 20_000)
        limit = await limit_when(gateway, officer, limit_id, 105_000)
        assert limit["threshold_state"] == "breached", limit
        assert limit["headroom"] == LIMIT - 105_000

        refused = await pre_deal(gateway, trader, counterparty, 1)
        assert refused["allowed"] is False
        assert refused["limits"][0]["headroom"] == LIMIT - 105_000

        window = {
            "from": began.isoformat(),
            "to": (datetime.now(UTC) + timedelta(minutes=1)).isoformat(),
        }
        report = ok(
            await gateway.get(
                "/risk/v1/reports/breaches",
                params={**window, "limit_id": limit_id, "kind": ["warning_reached", "breached"]},
                headers=officer,
            )
        )
        crossings = [(c["kind"], c["cause_id"]) for c in report["items"]]
        assert sorted(crossings) == sorted(
            [("warning_reached", warned_by), ("breached", breached_by)]
        ), report
        breach = next(c for c in report["items"] if c["kind"] == "breached")
        ok(
            await gateway.post(
                f"/risk/v1/limit-breaches/{breach['id']}/measures",
                json={"measures": "Trading with the counterparty stopped; limit review tomorrow."},
                headers=officer,
            ),
            200,
        )
