"""My work and Team in a real browser against the real stack: a trader's booking requests are
in the accountant's My work to approve and in the trader's own with their state (one a deal
risk refused, with the reason); the controller sees them on Team."""

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

        page = await my_work_of(browser, module_system.console_url, "controller")
        await page.get_by_role("navigation").get_by_role("link", name="Team").click()
        await page.get_by_role("heading", name="Team", exact=True).wait_for()
        tasks = page.locator("table.team-tasks")
        await expect(tasks.get_by_role("row", name=plain)).to_contain_text("Accounting")
        await expect(page.locator("table.team-load")).to_contain_text("Accounting")
        await check_page(page, "team")
