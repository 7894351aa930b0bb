"""The console's Cases, Audit and Admin in a real browser against the real stack: an admin's
refused role grant explains segregation of duties, systems and API keys, an auditor finds the
trader's log-in, a case timeline opened from a request's X-Request-Id."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from playwright.async_api import Page, expect

from .browser import check_page, chromium, log_in, needs_chromium, offline_page
from .conftest import System, login
from .test_e2e_ledger_books import entry, open_account

pytestmark = [pytest.mark.e2e, needs_chromium]

# Read models (audit decisions, the case timeline) follow their events within about a second.
PATIENCE_SECONDS = 20.0


async def reload_until(page: Page, text: str) -> None:
    """Reload the page until ``text`` shows: what a person does while a read model catches up."""
    waited = 0.0
    while await page.get_by_text(text).count() == 0:
        assert waited < PATIENCE_SECONDS, f"{text!r} did not appear on {page.url}"
        await asyncio.sleep(0.5)
        waited += 0.5
        await page.reload()


async def test_an_admins_refused_role_grant_shows_the_segregation_of_duties_message(
    module_system: System,
) -> None:
    async with chromium() as browser:
        page = await offline_page(browser)
        await log_in(page, module_system.console_url, "admin")
        await page.get_by_role("navigation").get_by_role("link", name="Admin").click()
        await page.get_by_role("heading", name="Operators").wait_for()
        await check_page(page, "admin-operators")

        await page.get_by_role("link", name="trader", exact=True).click()
        await page.get_by_role("heading", name="Operator trader").wait_for()
        await check_page(page, "admin-operator")
        await page.get_by_label("Role", exact=True).select_option("accountant")
        await page.get_by_role("button", name="Grant role").click()

        await page.get_by_role("heading", name="Why: segregation of duties").wait_for()
        alert = page.get_by_role("alert")
        await expect(alert).to_contain_text("SegregationOfDuties")
        await expect(alert).to_contain_text("front-office roles (trader)")
        await expect(alert).to_contain_text("back-office roles (accountant)")
        await expect(page.locator(".segregation")).to_contain_text(
            "nobody holds front-office and back-office roles together"
        )
        await check_page(page, "admin-role-refused")

    async with httpx.AsyncClient(base_url=module_system.gateway_url, timeout=30) as gateway:
        admin = await login(gateway, "admin")
        trader = await gateway.get("/admin/v1/operators/trader", headers=admin)
        assert trader.json()["roles"] == ["trader"]  # nothing was granted


async def test_an_admin_registers_a_system_issues_a_key_once_and_revokes_it(
    module_system: System,
) -> None:
    name = f"feed-{uuid.uuid4().hex[:8]}"
    async with chromium() as browser:
        page = await offline_page(browser)
        await log_in(page, module_system.console_url, "admin")
        await page.goto(f"{module_system.console_url}/admin/operators/new")
        await check_page(page, "admin-register-operator")

        await page.goto(f"{module_system.console_url}/admin/systems")
        await page.get_by_role("link", name="trading-system").wait_for()
        await check_page(page, "admin-systems")
        await page.get_by_label("Name", exact=True).fill(name)
        await page.get_by_label("Display name").fill("Price feed")
        await page.get_by_label("monitoring").check()
        await page.get_by_role("button", name="Register system").click()
        await page.get_by_role("heading", name=f"System {name}").wait_for()
        await check_page(page, "admin-system")

        await page.get_by_role("button", name="Issue API key").click()
        await page.get_by_text("This is the only time the key is shown.").wait_for()
        api_key = await page.get_by_label("API key").input_value()
        await check_page(page, "admin-api-key-issued")
        async with httpx.AsyncClient(base_url=module_system.gateway_url, timeout=30) as gateway:
            me = await gateway.get("/auth/me", headers={"X-API-Key": api_key})
            assert (me.status_code, me.json()["subject"]) == (200, name)

            await page.get_by_role("link", name="Done: back to the system's keys").click()
            assert await page.get_by_text(api_key).count() == 0
            page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
            await page.get_by_role("button", name="Revoke").click()
            await page.get_by_text("revoked", exact=True).wait_for()
            again = await gateway.get("/auth/me", headers={"X-API-Key": api_key})
            assert again.status_code == 401


async def test_an_auditor_finds_the_traders_log_in_in_the_audit_log(
    module_system: System,
) -> None:
    async with httpx.AsyncClient(base_url=module_system.gateway_url, timeout=30) as gateway:
        logged_in = await gateway.post(
            "/auth/login", json={"username": "trader", "password": "demo-trader"}
        )
        request_id = logged_in.headers["x-request-id"]
    async with chromium() as browser:
        page = await offline_page(browser)
        await log_in(page, module_system.console_url, "auditor")
        await page.get_by_role("navigation").get_by_role("link", name="Audit").click()
        await page.get_by_label("Who").fill("trader")
        await page.get_by_label("Path starts with").fill("/auth/login")
        await page.get_by_label("Outcome").select_option("allow")
        await page.get_by_role("button", name="Search").click()
        await reload_until(page, request_id)
        row = page.get_by_role("row").filter(has_text=request_id)
        await expect(row).to_contain_text("LoggedIn")
        await expect(row).to_contain_text("POST /auth/login")
        await check_page(page, "audit-search")

        await page.get_by_label("Path starts with").fill("auth")
        await page.get_by_role("button", name="Search").click()
        await expect(page.get_by_role("alert")).to_contain_text("path_prefix must start with")
        await expect(page.get_by_label("Path starts with")).to_have_value("auth")
        await check_page(page, "audit-refused")


async def test_a_case_timeline_opened_from_a_requests_correlation_id(
    module_system: System,
) -> None:
    async with httpx.AsyncClient(base_url=module_system.gateway_url, timeout=30) as gateway:
        accountant, trader = await login(gateway, "accountant"), await login(gateway, "trader")
        number = uuid.uuid4().int % 10**7
        fees = await open_account(gateway, accountant, f"4{number:07d}", "expense")
        bank = await open_account(gateway, accountant, f"1{number:07d}", "asset")
        voucher = f"BR-{uuid.uuid4().hex[:8]}"
        submitted = await gateway.post(
            "/ledger/v1/booking-requests",
            json=entry(fees, bank, 12_34, "2026-11-26", voucher),
            headers=trader,
        )
        assert submitted.status_code == 201, submitted.text
        case, request = submitted.headers["x-request-id"], submitted.json()["id"]

    async with chromium() as browser:
        page = await offline_page(browser)
        await log_in(page, module_system.console_url, "trader")
        await page.get_by_role("navigation").get_by_role("link", name="Cases").click()
        await check_page(page, "case-open")
        await page.get_by_label("Correlation id").fill(case)
        await page.get_by_role("button", name="Open case").click()
        await reload_until(page, "Booking request submitted")
        await page.get_by_role("heading", name=f"Case {case}").wait_for()
        row = page.get_by_role("row").filter(has_text="Booking request submitted")
        await expect(row.first).to_contain_text("trader")
        link = row.first.get_by_role("link", name="Booking request")
        assert await link.get_attribute("href") == f"/ledger/booking-requests/{request}"
        await check_page(page, "case-timeline")

        await page.goto(f"{module_system.console_url}/cases/no-such-{uuid.uuid4().hex}")
        await expect(page.get_by_role("alert")).to_contain_text("No such case")
        await check_page(page, "case-not-found")

        # The back office sees the same case with its internal work, marked as such.
        back = await offline_page(browser)
        await log_in(back, module_system.console_url, "accountant")
        await back.goto(f"{module_system.console_url}/cases/{case}")
        await reload_until(back, "Voucher number claimed")
        internal = back.locator("tr.case-internal")
        await expect(internal.first).to_contain_text("internal")
        assert await back.locator("tr:not(.case-internal)").filter(has_text="trader").count() >= 1
        await check_page(back, "case-timeline-back-office")
