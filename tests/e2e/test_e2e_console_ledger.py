"""The console's Ledger section in a real browser against the real stack: a trader submits a
booking request, the accountant finds it in My work, approves it, and the trial balance shows
it; the trader has no approve button and the approval address answers 403; an accountant
posts an entry with German amounts; every ledger page passes axe and is photographed."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.async_api import Page, expect

from .browser import check_page, chromium, log_in, needs_chromium, offline_page
from .conftest import System, login
from .test_e2e_ledger_books import open_account

pytestmark = [pytest.mark.e2e, needs_chromium]


async def fill_line(page: Page, row: int, account: str, side: str, amount: str) -> None:
    """One row of the lines editor (a select of the chart, or an account id for a trader)."""
    field = page.locator(f"#line-{row}-account")
    if await field.evaluate("e => e.tagName") == "SELECT":
        await field.select_option(account)
    else:
        await field.fill(account)
    await page.locator(f"#line-{row}-side").select_option(side)
    await page.locator(f"#line-{row}-amount").fill(amount)


async def test_a_booking_request_from_trader_to_trial_balance(module_system: System) -> None:
    console = module_system.console_url
    number = uuid.uuid4().int % 10**6
    async with httpx.AsyncClient(base_url=module_system.gateway_url, timeout=30) as gateway:
        accountant = await login(gateway, "accountant")
        bank = await open_account(gateway, accountant, f"12{number:06d}", "asset")
        revenue = await open_account(gateway, accountant, f"84{number:06d}", "revenue")
    voucher = f"BR-{uuid.uuid4().hex[:8]}"

    async with chromium() as browser:
        # The trader submits a booking request through the console's form.
        trader = await offline_page(browser)
        await log_in(trader, console, "trader")
        await trader.get_by_role("navigation").get_by_role("link", name="Ledger").click()
        await trader.get_by_role("heading", name="Booking requests").wait_for()
        await check_page(trader, "ledger-requests-trader")
        await trader.get_by_role("link", name="New booking request").click()
        await trader.get_by_label("Voucher number").fill(voucher)
        await trader.get_by_label("Booking text").fill(f"Fee {voucher}")
        await fill_line(trader, 1, bank, "debit", "1,234.56")
        await fill_line(trader, 2, revenue, "credit", "1,234.00")
        submit = trader.get_by_role("button", name="Submit for approval")
        await expect(submit).to_be_disabled()  # unbalanced: the script holds it back
        await expect(trader.locator("[data-balance]")).to_contain_text("Not balanced yet")
        await trader.locator("#line-2-amount").fill("1234.56")
        await expect(submit).to_be_enabled()
        await check_page(trader, "ledger-request-form")
        await submit.click()
        await trader.get_by_role(
            "heading", name=re.compile(f"Booking request {voucher}")
        ).wait_for()
        request_id = trader.url.split("/booking-requests/")[1].split("?")[0]
        await expect(trader.get_by_text("pending", exact=True)).to_be_visible()
        assert await trader.get_by_role("button", name="Approve and post").count() == 0
        await check_page(trader, "ledger-request-trader")

        # The approval's address is not the trader's: 403 to a visit and to a forged form.
        approval = f"{console}/ledger/booking-requests/{request_id}/approval"
        shown = await trader.goto(approval)
        assert shown is not None and shown.status == 403
        await trader.get_by_text("Your roles do not allow this page.").wait_for()
        csrf = await trader.locator("input[name=csrf_token]").first.input_value()
        forged = await trader.request.post(approval, form={"csrf_token": csrf})
        assert forged.status == 403

        # The accountant finds it in My work, opens it and approves it.
        office = await offline_page(browser)
        await log_in(office, console, "accountant")
        await office.get_by_role("link", name=voucher).click()
        await office.get_by_role(
            "heading", name=re.compile(f"Booking request {voucher}")
        ).wait_for()
        await check_page(office, "ledger-request-accountant")
        await office.get_by_role("button", name="Approve and post").click()
        await expect(office.get_by_text("approved", exact=True)).to_be_visible()
        await office.get_by_role("link", name="journal entry").click()
        await office.get_by_role("heading", name=f"Entry {voucher}").wait_for()
        await expect(office.get_by_role("link", name="booking request", exact=True)).to_be_visible()
        await check_page(office, "ledger-entry")

        # The trial balance of the month shows it, on screen and in the CSV.
        await office.goto(f"{console}/ledger/trial-balance")
        row = office.get_by_role("row", name=re.compile(f"84{number:06d}"))
        await expect(row).to_contain_text("€1,234.56")
        await check_page(office, "ledger-trial-balance")
        csv = await office.request.get(f"{console}/ledger/trial-balance.csv")
        assert csv.status == 200
        assert f"12{number:06d},Account 12{number:06d},asset,EUR,0.00,1234.56,0.00,1234.56" in (
            await csv.text()
        )


async def test_every_ledger_page_reads_well_in_english_and_german(module_system: System) -> None:
    console = module_system.console_url
    number = uuid.uuid4().int % 10**6
    async with httpx.AsyncClient(base_url=module_system.gateway_url, timeout=30) as gateway:
        accountant = await login(gateway, "accountant")
        bank = await open_account(gateway, accountant, f"13{number:06d}", "asset")
        income = await open_account(gateway, accountant, f"85{number:06d}", "revenue")
        trader = await login(gateway, "trader")
        pending = await gateway.post(
            "/ledger/v1/booking-requests",
            json={
                "voucher_number": f"P-{number}",
                "booking_date": "2026-11-15",
                "text": "Pending in November",
                "lines": [
                    {"account_id": bank, "side": "debit", "amount": 100, "currency": "EUR"},
                    {"account_id": income, "side": "credit", "amount": 100, "currency": "EUR"},
                ],
            },
            headers=trader,
        )
        assert pending.status_code == 201, pending.text
        november = await gateway.post(  # an entry, so that November is listed as a period
            "/ledger/v1/journal-entries",
            json={
                "voucher_number": f"N-{number}",
                "booking_date": "2026-11-14",
                "text": "Booked in November",
                "lines": [
                    {"account_id": bank, "side": "debit", "amount": 100, "currency": "EUR"},
                    {"account_id": income, "side": "credit", "amount": 100, "currency": "EUR"},
                ],
            },
            headers=accountant,
        )
        assert november.status_code == 201, november.text

    async with chromium() as browser:
        # In German: the posting form reads "1.234,56" and the entry shows "1.234,56 €".
        page = await offline_page(browser, locale="de-DE")
        # Logged in in English (the helper knows the English form), then switched to German.
        await page.context.add_cookies([{"name": "console_locale", "value": "en", "url": console}])
        await log_in(page, console, "accountant")
        await page.get_by_label("Language").select_option("de")
        await page.get_by_role("button", name="Switch").click()
        await page.get_by_role("heading", name="Meine Arbeit").wait_for()
        await page.goto(f"{console}/ledger/post")
        voucher = f"DE-{uuid.uuid4().hex[:8]}"
        await page.get_by_label("Belegnummer").fill(voucher)
        await page.get_by_label("Buchungstext").fill("Beratung")
        await fill_line(page, 1, bank, "debit", "1.234,56")
        await fill_line(page, 2, income, "credit", "1.234,56")
        await expect(page.locator("[data-balance]")).to_contain_text("Ausgeglichen.")
        await page.get_by_role("button", name="Zeile hinzufügen").click()
        await expect(page.locator("[data-line]")).to_have_count(7)
        await expect(page.get_by_label("Konto, Zeile 7")).to_be_focused()
        await check_page(page, "ledger-post-de")
        await page.get_by_role("button", name="Buchen").click()
        await page.get_by_role("heading", name=f"Buchung {voucher}").wait_for()
        await expect(page.get_by_text("1.234,56\xa0€").first).to_be_visible()
        await check_page(page, "ledger-entry-de")
        await page.goto(f"{console}/ledger/trial-balance")
        await expect(page.get_by_role("row", name=re.compile(f"85{number:06d}"))).to_contain_text(
            "1.234,56\xa0€"
        )
        await check_page(page, "ledger-trial-balance-de")

        # In English, every other page of the section.
        page = await offline_page(browser)
        await log_in(page, console, "accountant")
        for path, name, heading in [
            ("/ledger", "ledger-chart", "Chart of accounts"),
            (f"/ledger/accounts/{bank}", "ledger-statement", f"Account 13{number:06d}"),
            ("/ledger/journal", "ledger-journal", "Journal"),
            ("/ledger/post", "ledger-post", "Post an entry"),
            ("/ledger/booking-requests", "ledger-requests", "Booking requests"),
            ("/ledger/balance-sheet", "ledger-balance-sheet", "Balance sheet"),
            ("/ledger/profit-and-loss", "ledger-profit-and-loss", "Profit and loss"),
            ("/ledger/periods", "ledger-periods", "Periods"),
            ("/ledger/verification", "ledger-verification", "Verification of the hash chain"),
        ]:
            answer = await page.goto(f"{console}{path}")
            assert answer is not None and answer.status == 200, path
            await page.get_by_role("heading", name=re.compile(heading)).first.wait_for()
            await check_page(page, name)
        await expect(page.get_by_text("The journal's hash chain is intact.")).to_be_visible()

        # Closing November is refused while a request dated in it is pending: shown readably.
        await page.goto(f"{console}/ledger/periods")
        await page.locator("#confirm-2026-11").check()
        page.on("dialog", lambda dialog: dialog.accept())
        await page.get_by_role("button", name="Close period 2026-11").click()
        await expect(page.get_by_role("alert")).to_contain_text("pending booking request")
        await check_page(page, "ledger-periods-refused")
