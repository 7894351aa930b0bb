"""My work and Team in a real browser against the real stack: a trader's booking requests are
in the accountant's My work to approve and in the trader's own with their state (one a deal
risk refused, with the reason); the trader's ticket is in IT support's My work with its service
level; a risk officer's limit request waits for the second risk officer, not for its requester;
the controller sees all of it on Team."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from .browser import check_page, chromium, log_in, needs_chromium, offline_page
from .conftest import System, login
from .office_story import eventually
from .test_e2e_ledger_books import entry, open_account

pytestmark = [pytest.mark.e2e, needs_chromium]


async def submit(
    api: httpx.AsyncClient, trader: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    submitted = await api.post("/ledger/v1/booking-requests", json=body, headers=trader)
    assert submitted.status_code == 201, submitted.text
    answer: dict[str, Any] = submitted.json()
    return answer


async def request_of(
    api: httpx.AsyncClient, reader: dict[str, str], request_id: str
) -> dict[str, Any]:
    found = await api.get(f"/ledger/v1/booking-requests/{request_id}", headers=reader)
    return {} if found.status_code == 404 else dict(found.json())


async def my_work_of(browser: Browser, console_url: str, username: str) -> Page:
    page = await offline_page(browser)
    await log_in(page, console_url, username)
    await page.get_by_role("heading", name="My work", exact=True).wait_for()
    return page


async def test_my_work_of_trader_and_accountant_and_the_team_of_the_controller(
    module_system: System,
) -> None:
    suffix = uuid.uuid4().hex[:8]
    plain, deal = f"MW-{suffix}", f"DL-{suffix}"
    async with httpx.AsyncClient(base_url=module_system.gateway_url, timeout=30) as api:
        accountant, trader = await login(api, "accountant"), await login(api, "trader")
        number = uuid.uuid4().int % 10**7
        fees = await open_account(api, accountant, f"4{number:07d}", "expense")
        bank = await open_account(api, accountant, f"1{number:07d}", "asset")
        first = await submit(api, trader, entry(fees, bank, 1234_56, "2026-11-26", plain))
        # A deal with a counterparty no limit covers: risk refuses it ("no deal without a limit").
        deal_body = entry(fees, bank, 50_00, "2026-11-26", deal)
        deal_body["metadata"] = {"counterparty": f"NOLIMIT-{suffix}", "desk": "rates"}
        second = await submit(api, trader, deal_body)
        await eventually(
            "the plain request readable",
            lambda: request_of(api, accountant, first["id"]),
            bool,
        )
        admin = await login(api, "admin")
        queue = await api.post(
            "/tickets/v1/queues",
            json={"name": f"desk-{suffix}", "escalation_group": "it", "members": ["it-support"]},
            headers=admin,
        )
        assert queue.status_code == 201, queue.text
        title = f"Blotter frozen {suffix}"
        opened = await api.post(
            "/tickets/v1/tickets",
            json={
                "ticket_type": "incident",
                "queue_id": queue.json()["id"],
                "impact": 2,
                "urgency": 1,
                "title": title,
                "description": "The order blotter stopped updating.",
            },
            headers=trader,
        )
        assert opened.status_code == 201, opened.text
        officer = await login(api, "risk-officer")
        counterparty = f"HOME-{suffix}"
        limit = await api.post(
            "/risk/v1/limits",
            json={
                "dimension": "counterparty",
                "counterparty": counterparty,
                "currency": "EUR",
                "amount": 1_000_000_00,
                "reason": "new client",
            },
            headers=officer,
        )
        assert limit.status_code == 201, limit.text
        refused = await eventually(
            "the deal refused by risk",
            lambda: request_of(api, accountant, second["id"]),
            lambda view: bool(view and view["clearance"]["status"] == "refused"),
        )

    async with chromium() as browser:
        page = await my_work_of(browser, module_system.console_url, "trader")
        mine = page.locator("#card-my-requests")
        await expect(mine.get_by_role("row", name=plain)).to_contain_text("Awaiting approval")
        await expect(mine.get_by_role("row", name=plain)).to_contain_text("€1,234.56")
        await expect(page.locator("#card-my-tickets")).to_contain_text(title)
        refused_row = mine.get_by_role("row", name=deal)
        await expect(refused_row).to_contain_text("Refused by risk")
        await expect(refused_row).to_contain_text(str(refused["clearance"]["reason"])[:30])
        assert await page.locator("#card-approvals").count() == 0
        await expect(page.locator('form[action="/risk/pre-deal-check"]')).to_be_visible()
        await check_page(page, "home-trader")

        page = await my_work_of(browser, module_system.console_url, "accountant")
        approvals = page.locator("#card-approvals")
        await expect(approvals.get_by_role("link", name=plain)).to_have_attribute(
            "href", f"/ledger/booking-requests/{first['id']}"
        )
        await expect(approvals.get_by_role("row", name=deal)).to_contain_text("refused")
        assert await page.locator("#card-my-requests").count() == 0
        assert await page.get_by_role("link", name="Team").count() == 0
        await check_page(page, "home-accountant")

        page = await my_work_of(browser, module_system.console_url, "it-support")
        assigned = page.locator("#card-assigned-tickets").get_by_role("row", name=title)
        await expect(assigned).to_contain_text("due in")
        await check_page(page, "home-it-support")

        page = await my_work_of(browser, module_system.console_url, "risk-officer-2")
        requests = page.locator("#card-limit-requests")
        await expect(requests.get_by_role("row", name=counterparty)).to_contain_text("risk-officer")
        await expect(requests).to_contain_text("€1,000,000.00")
        await expect(requests).to_contain_text("New limit: new client")
        await check_page(page, "home-risk-officer")
        page = await my_work_of(browser, module_system.console_url, "risk-officer")
        await expect(page.locator("#card-limit-requests")).to_be_visible()
        assert await page.locator("#card-limit-requests").get_by_text(counterparty).count() == 0

        page = await my_work_of(browser, module_system.console_url, "controller")
        await page.get_by_role("navigation").get_by_role("link", name="Team").click()
        await page.get_by_role("heading", name="Team", exact=True).wait_for()
        tasks = page.locator("table.team-tasks")
        await expect(tasks.get_by_role("row", name=plain)).to_contain_text("Accounting")
        await expect(tasks.get_by_role("row", name=title)).to_contain_text("it-support")
        await expect(tasks.get_by_role("row", name=counterparty)).to_contain_text("Risk management")
        await expect(page.locator("table.team-load")).to_contain_text("Accounting")
        await check_page(page, "team")
