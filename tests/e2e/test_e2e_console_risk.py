"""The Risk section in a real browser against the real stack: a risk officer opens the heat map
and follows a cell to the register and the risk, opens a limit (requested by one risk officer
and approved by a second), asks for a change that only the colleague may approve, records
measures about a breach, reads a KRI's chart; a trader runs a pre-deal check. Every page is
screenshotted and checked with axe-core."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Page

from .browser import check_page, chromium, log_in, needs_chromium, offline_page
from .conftest import System, login

pytestmark = [pytest.mark.e2e, needs_chromium]

LIMIT = 100_000  # minor units: EUR 1,000.00
DEAL = 105_000  # one deal beyond the limit: a breach


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def fresh(written: dict[str, Any]) -> dict[str, Any]:
    """Read-your-writes parameters for the risk API after ``written``."""
    return {"min_position": written["position"], "wait_ms": 10_000}


async def an_approved_limit(
    gateway: httpx.AsyncClient, officer: dict[str, str], second: dict[str, str], party: str
) -> str:
    requested = ok(
        await gateway.post(
            "/risk/v1/limits",
            json={
                "dimension": "counterparty",
                "counterparty": party,
                "currency": "EUR",
                "amount": LIMIT,
                "reason": "new client, credit committee",
            },
            headers=officer,
        ),
        201,
    )
    approved = ok(
        await gateway.post(f"/risk/v1/limits/{requested['id']}/approval", json={}, headers=second)
    )
    ok(
        await gateway.get(
            f"/risk/v1/limits/{requested['id']}", params=fresh(approved), headers=officer
        )
    )
    return str(requested["id"])


async def a_risk_awaiting_acceptance(
    gateway: httpx.AsyncClient, officer: dict[str, str], title: str
) -> str:
    identified = ok(
        await gateway.post(
            "/risk/v1/risks",
            json={
                "title": title,
                "description": "The payment hub fails for a business day.",
                "category": "operational",
                "owner": "head-of-payments",
                "likelihood": 4,
                "impact": 5,
            },
            headers=officer,
        ),
        201,
    )
    risk_id = identified["id"]
    ok(
        await gateway.put(
            f"/risk/v1/risks/{risk_id}/treatment",
            json={"treatment": "accept", "reason": "within appetite after the standby hub"},
            headers=officer,
        )
    )
    until = (datetime.now(UTC) + timedelta(days=90)).date().isoformat()
    requested = ok(
        await gateway.post(
            f"/risk/v1/risks/{risk_id}/acceptances",
            json={"reason": "residual within appetite", "until": until},
            headers=officer,
        ),
        201,
    )
    ok(await gateway.get(f"/risk/v1/risks/{risk_id}", params=fresh(requested), headers=officer))
    return str(risk_id)


async def a_breach(
    gateway: httpx.AsyncClient, accountant: dict[str, str], officer: dict[str, str], party: str
) -> None:
    """One posted deal beyond the limit; returns once risk has recorded the breach."""
    accounts = []
    for code, name, kind in [("1410", "Receivables", "asset"), ("8410", "Revenue", "revenue")]:
        opened = ok(
            await gateway.post(
                "/ledger/v1/accounts",
                json={"code": code, "name": name, "account_type": kind, "currency": "EUR"},
                headers=accountant,
            ),
            201,
        )
        accounts.append(opened["id"])
    ok(
        await gateway.post(
            "/ledger/v1/journal-entries",
            json={
                "voucher_number": f"D-{uuid.uuid4().hex[:8]}",
                "booking_date": datetime.now(UTC).date().isoformat(),
                "text": f"Deal with {party}",
                "metadata": {"counterparty": party, "desk": "rates"},
                "lines": [
                    {"account_id": accounts[0], "side": "debit", "amount": DEAL, "currency": "EUR"},
                    {
                        "account_id": accounts[1],
                        "side": "credit",
                        "amount": DEAL,
                        "currency": "EUR",
                    },
                ],
            },
            headers=accountant,
        ),
        201,
    )
    window = {
        "from": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "to": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
    }
    # Risk counts the entry from the ledger's topic: a loaded machine may take a while.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        report = ok(await gateway.get("/risk/v1/reports/breaches", params=window, headers=officer))
        if report["items"]:
            return
        await asyncio.sleep(0.3)
    raise AssertionError("risk recorded no breach")


async def a_measured_kri(gateway: httpx.AsyncClient, officer: dict[str, str]) -> str:
    kri_id = f"failed-payments-{uuid.uuid4().hex[:6]}"
    defined = ok(
        await gateway.post(
            "/risk/v1/kris",
            json={
                "kri_id": kri_id,
                "name": "Failed payments",
                "unit": "%",
                "direction": "higher_is_worse",
                "amber": 2.0,
                "red": 5.0,
                "owner": "head-of-payments",
            },
            headers=officer,
        ),
        201,
    )
    last = defined
    for days_ago, value in [(3, 1.0), (2, 1.5), (1, 3.5)]:
        at = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()
        last = ok(
            await gateway.post(
                f"/risk/v1/kris/{kri_id}/measurements",
                json={"value": value, "measured_at": at},
                headers=officer,
            ),
            201,
        )
    ok(await gateway.get(f"/risk/v1/kris/{kri_id}", params=fresh(last), headers=officer))
    return kri_id


async def open_as(browser: Any, console_url: str, user: str) -> Page:
    page = await offline_page(browser)
    await log_in(page, console_url, user)
    return page


async def test_a_risk_officer_works_the_heat_map_limits_breaches_and_kris(
    module_system: System,
) -> None:
    party = f"ACME-{uuid.uuid4().hex[:6]}"
    title = f"Payment hub outage {uuid.uuid4().hex[:4]}"
    async with httpx.AsyncClient(base_url=module_system.gateway_url, timeout=30) as gateway:
        officer = await login(gateway, "risk-officer")
        second = await login(gateway, "risk-officer-2")
        accountant = await login(gateway, "accountant")
        limit_id = await an_approved_limit(gateway, officer, second, party)
        risk_id = await a_risk_awaiting_acceptance(gateway, officer, title)
        await a_breach(gateway, accountant, officer, party)
        await a_measured_kri(gateway, officer)

    url = module_system.console_url
    async with chromium() as browser:
        page = await open_as(browser, url, "risk-officer")
        await page.goto(f"{url}/risk")
        await page.get_by_role("heading", name="Risk heat map").wait_for()
        await check_page(page, "risk-heat-map")
        # The inherent cell likelihood 4 x impact 5 holds the new risk: it filters the register.
        await page.locator('a[href*="likelihood=4&impact=5&rating=inherent"]').click()
        await page.get_by_role("heading", name="Risk register").wait_for()
        assert await page.get_by_role("link", name=title).count() == 1
        await check_page(page, "risk-register")

        # The requester of the acceptance may withdraw it but not approve it.
        await page.get_by_role("link", name=title).click()
        await page.get_by_role("heading", name=title).wait_for()
        assert await page.get_by_role("button", name="Approve").count() == 0
        assert await page.get_by_role("button", name="Withdraw").count() == 1
        await page.get_by_text("Plan an action").click()
        await page.locator("#rf-actions-title").fill("Test the standby hub")
        await page.locator("#rf-actions-owner").fill("head-of-payments")
        await page.locator("#rf-actions-due_date").fill("2027-01-31")
        await page.get_by_role("button", name="Plan action").click()
        actions = page.locator("section", has=page.get_by_role("heading", name="Actions"))
        await actions.get_by_text("Test the standby hub").wait_for()
        # Every form open, so that axe checks them too.
        await page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true })")
        await check_page(page, "risk-detail")

        await page.goto(f"{url}/risk/register/new")
        await page.get_by_role("heading", name="Identify a risk").wait_for()
        await check_page(page, "risk-identify")

        await page.goto(f"{url}/risk/limits")
        row = page.locator("table.limits tr", has_text=party)
        await row.wait_for()
        assert await row.locator("meter").count() == 1
        assert "breached" in await row.inner_text()
        await check_page(page, "risk-limits")

        await row.get_by_role("link", name=party).click()
        await page.get_by_role("heading", name="Versions").wait_for()
        versions = page.locator("section", has=page.get_by_role("heading", name="Versions"))
        assert "risk-officer-2" in await versions.inner_text()
        await page.get_by_label("Amount (EUR)").fill("2,000.00")
        await page.get_by_label("Reason", exact=True).fill("client grew, committee 2026-12")
        await page.get_by_role("button", name="Request change").click()
        await page.get_by_role("heading", name="Pending request").wait_for()
        pending = page.locator("section", has=page.get_by_role("heading", name="Pending request"))
        assert "€2,000.00" in await pending.inner_text()
        assert await page.get_by_role("button", name="Approve").count() == 0
        await check_page(page, "risk-limit")

        await page.goto(f"{url}/risk/breaches")
        breach = page.locator("section.breach", has_text=party)
        await breach.wait_for()
        await breach.get_by_label("Measures taken").fill("Trading with the client stopped.")
        await breach.get_by_role("button", name="Record measures").click()
        await page.locator("section.breach", has_text="Trading with the client stopped.").wait_for()
        await check_page(page, "risk-breaches")

        await page.goto(f"{url}/risk/kris")
        chart = page.locator("svg[role=img]", has_text="Failed payments")
        await chart.wait_for()
        assert await chart.locator("circle").count() == 3
        await check_page(page, "risk-kris")

        # The colleague approves the change (four-eyes) and the acceptance.
        colleague = await open_as(browser, url, "risk-officer-2")
        await colleague.goto(f"{url}/risk/limits/{limit_id}")
        await colleague.get_by_role("button", name="Approve").click()
        await colleague.get_by_role("heading", name="Versions").wait_for()
        versions = colleague.locator(
            "section", has=colleague.get_by_role("heading", name="Versions")
        )
        assert "€2,000.00" in await versions.inner_text()
        await colleague.goto(f"{url}/risk/risks/{risk_id}")
        await colleague.get_by_role("button", name="Approve").click()
        acceptance = colleague.locator(
            "section", has=colleague.get_by_role("heading", name="Acceptance")
        )
        await acceptance.get_by_text("approved").wait_for()

        # The front office asks before it deals: the raised limit has room again.
        trader = await open_as(browser, url, "trader")
        await trader.goto(f"{url}/risk/pre-deal-check")
        await trader.get_by_label("Counterparty").fill(party)
        await trader.get_by_label("Amount").fill("10.00")
        await trader.get_by_role("button", name="Check").click()
        answer = trader.locator("section", has=trader.get_by_role("heading", name="Answer"))
        await answer.wait_for()
        assert "The deal fits every limit it counts under." in await answer.inner_text()
        await check_page(trader, "risk-pre-deal-check")
        await trader.goto(f"{url}/risk/limits")
        await trader.get_by_text("Your roles do not allow this page.").wait_for()
