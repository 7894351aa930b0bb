"""The ledger's reading pages against a fake gateway: chart, statement, journal, entry,
reports (with the CSV), periods and verification; the 403 page for those without the route."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from .fake_gateway import FakeGateway, browser, csrf_of, logged_in
from .ledger_data import AUDITOR_ROUTES, BANK, LEDGER_ROUTES, REVENUE, TRIAL_BALANCE, entry

pytestmark = pytest.mark.unit


@pytest.fixture
def gateway() -> FakeGateway:
    fake = FakeGateway()
    fake.operator("accountant", ["accountant"], "back", LEDGER_ROUTES)
    fake.operator("auditor", ["auditor"], "oversight", AUDITOR_ROUTES)
    fake.on("GET", "/ledger/v1/accounts", {"items": [BANK, REVENUE], "next_cursor": None})
    fake.on("GET", "/ledger/v1/journal-entries", {"items": [entry()], "next_cursor": "c2"})
    fake.on("GET", "/ledger/v1/journal-entries/entry-1", entry())
    fake.on("GET", "/ledger/v1/reports/trial-balance", TRIAL_BALANCE)
    return fake


async def client_of(gateway: FakeGateway, tmp_path: Path, user: str) -> httpx.AsyncClient:
    return await logged_in(browser(gateway.app(tmp_path)), user)


def sent(gateway: FakeGateway, path: str) -> httpx.Request:
    return [call for call in gateway.calls if call.url.path == path][-1]


async def test_the_chart_shows_every_account_with_its_balance_in_major_units(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await client_of(gateway, tmp_path, "accountant")
    answer = await client.get("/ledger")
    assert answer.status_code == 200
    assert "Chart of accounts" in answer.text
    assert '<a href="/ledger/accounts/acc-bank">1200</a>' in answer.text
    assert "€1,234.56" in answer.text and "123456" not in answer.text


async def test_the_chart_in_german_writes_amounts_the_german_way(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await client_of(gateway, tmp_path, "accountant")
    client.cookies.set("console_locale", "de")
    answer = await client.get("/ledger")
    assert "Kontenplan" in answer.text
    assert "1.234,56\xa0€" in answer.text


async def test_a_trader_without_the_chart_is_taken_to_the_booking_requests(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await client_of(gateway, tmp_path, "trader")
    answer = await client.get("/ledger", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ledger/booking-requests"


@pytest.mark.parametrize(
    "page",
    [
        "/ledger/journal",
        "/ledger/journal/entry-1",
        "/ledger/post",
        "/ledger/trial-balance",
        "/ledger/trial-balance.csv",
        "/ledger/balance-sheet",
        "/ledger/profit-and-loss",
        "/ledger/periods",
        "/ledger/verification",
        "/ledger/accounts/acc-bank",
    ],
)
async def test_a_front_office_user_gets_the_403_page_before_the_api_is_asked(
    gateway: FakeGateway, tmp_path: Path, page: str
) -> None:
    client = await client_of(gateway, tmp_path, "trader")
    answer = await client.get(page)
    assert answer.status_code == 403
    assert "Your roles do not allow this page." in answer.text
    assert not [c for c in gateway.calls if c.url.path.startswith("/ledger/")]


async def test_the_journal_filters_by_period_at_the_api_and_by_text_here(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    other = entry("entry-2", voucher_number="V-200", text="Office rent")
    gateway.on(
        "GET", "/ledger/v1/journal-entries", {"items": [entry(), other], "next_cursor": None}
    )
    client = await client_of(gateway, tmp_path, "accountant")
    answer = await client.get("/ledger/journal", params={"period": "2026-11", "q": "rent"})
    assert answer.status_code == 200
    assert sent(gateway, "/ledger/v1/journal-entries").url.params["period"] == "2026-11"
    assert "V-200" in answer.text and "V-100" not in answer.text
    assert "1 of 2 entries on this page match." in answer.text


async def test_the_journal_refuses_a_malformed_period_readably(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await client_of(gateway, tmp_path, "accountant")
    answer = await client.get("/ledger/journal", params={"period": "November"})
    assert answer.status_code == 422
    assert "period" in answer.text


async def test_the_journal_pages_on_with_the_apis_cursor(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await client_of(gateway, tmp_path, "accountant")
    answer = await client.get("/ledger/journal")
    assert "cursor=c2" in answer.text and "Next page" in answer.text
    await client.get("/ledger/journal", params={"cursor": "c2"})
    assert sent(gateway, "/ledger/v1/journal-entries").url.params["cursor"] == "c2"


async def test_an_entry_shows_its_lines_history_case_and_the_reversal_form(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("GET", "/ledger/v1/journal-entries/entry-1", entry(reverses="entry-0"))
    client = await client_of(gateway, tmp_path, "accountant")
    answer = await client.get("/ledger/journal/entry-1")
    assert answer.status_code == 200
    assert "Consulting fee ACME" in answer.text
    assert 'href="/cases/case-1"' in answer.text
    assert 'href="/ledger/journal/entry-0"' in answer.text
    assert 'action="/ledger/journal/entry-1/reversal"' in answer.text


async def test_an_auditor_reads_an_entry_without_the_reversal_form(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await client_of(gateway, tmp_path, "auditor")
    answer = await client.get("/ledger/journal/entry-1")
    assert answer.status_code == 200
    assert "/reversal" not in answer.text


async def test_a_reversed_entry_offers_no_second_reversal(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("GET", "/ledger/v1/journal-entries/entry-1", entry(reversed_by="entry-9"))
    client = await client_of(gateway, tmp_path, "accountant")
    answer = await client.get("/ledger/journal/entry-1")
    assert 'href="/ledger/journal/entry-9"' in answer.text
    assert "/reversal" not in answer.text


async def test_reversing_posts_the_reason_with_the_version_seen_and_goes_to_the_new_entry(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on(
        "POST",
        "/ledger/v1/journal-entries/entry-1/reversal",
        {"id": "entry-2", "version": 1, "position": 43},
        201,
    )
    client = await client_of(gateway, tmp_path, "accountant")
    form = await client.get("/ledger/journal/entry-1")
    answer = await client.post(
        "/ledger/journal/entry-1/reversal",
        data={"csrf_token": csrf_of(form.text), "reason": "booked twice", "version": "1"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ledger/journal/entry-2?min_position=43"
    call = sent(gateway, "/ledger/v1/journal-entries/entry-1/reversal")
    assert json.loads(call.content) == {"reason": "booked twice"}
    assert call.headers["If-Match"] == "1"


async def test_a_refused_reversal_is_shown_on_the_entry_with_its_status(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on(
        "POST",
        "/ledger/v1/journal-entries/entry-1/reversal",
        {"title": "Period closed", "detail": "Period 2026-11 is closed.", "code": "PeriodClosed"},
        409,
    )
    client = await client_of(gateway, tmp_path, "accountant")
    form = await client.get("/ledger/journal/entry-1")
    answer = await client.post(
        "/ledger/journal/entry-1/reversal",
        data={"csrf_token": csrf_of(form.text), "reason": "wrong account"},
    )
    assert answer.status_code == 409
    assert "Period closed" in answer.text and "Period 2026-11 is closed." in answer.text
    assert "wrong account" in answer.text  # the typed reason is kept


async def test_a_statement_shows_the_running_balance(gateway: FakeGateway, tmp_path: Path) -> None:
    gateway.on(
        "GET",
        "/ledger/v1/accounts/acc-bank/statement",
        {
            "account": BANK,
            "from": "2026-01-01",
            "to": "2026-12-31",
            "opening_balance": 0,
            "closing_balance": 123456,
            "items": [
                {"entry_id": "entry-1", "line_no": 1, "booking_date": "2026-11-30",
                 "voucher_number": "V-100", "text": "Consulting fee ACME", "side": "debit",
                 "amount": 123456, "currency": "EUR", "position": 42, "balance": 123456},
            ],
            "next_cursor": None,
        },
    )  # fmt: skip
    client = await client_of(gateway, tmp_path, "accountant")
    answer = await client.get("/ledger/accounts/acc-bank", params={"from": "2026-01-01"})
    assert answer.status_code == 200
    assert sent(gateway, "/ledger/v1/accounts/acc-bank/statement").url.params["from"] == (
        "2026-01-01"
    )
    assert 'href="/ledger/journal/entry-1"' in answer.text and "€1,234.56" in answer.text


async def test_the_trial_balance_shows_the_period_and_its_totals(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await client_of(gateway, tmp_path, "accountant")
    answer = await client.get("/ledger/trial-balance", params={"period": "2026-11"})
    assert answer.status_code == 200
    assert sent(gateway, "/ledger/v1/reports/trial-balance").url.params["period"] == "2026-11"
    assert "€1,234.56" in answer.text and "balanced" in answer.text
    assert "/ledger/trial-balance.csv?period=2026-11" in answer.text


async def test_the_trial_balance_csv_has_locale_neutral_major_units(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await client_of(gateway, tmp_path, "accountant")
    client.cookies.set("console_locale", "de")
    answer = await client.get("/ledger/trial-balance.csv", params={"period": "2026-11"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "trial-balance-2026-11.csv" in answer.headers["content-disposition"]
    rows = answer.text.splitlines()
    assert rows[0].startswith("period,code,name")
    assert rows[1] == "2026-11,1200,Bank,asset,EUR,0.00,1234.56,0.00,1234.56"


async def test_the_balance_sheet_and_profit_and_loss_show_their_sections(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    bank = {k: BANK[k] for k in ("account_id", "code", "name", "account_type", "normal_side",
                                 "currency", "parent_code")}  # fmt: skip
    gateway.on(
        "GET",
        "/ledger/v1/reports/balance-sheet",
        {"as_of": "2026-11-30", "currencies": [{
            "currency": "EUR",
            "asset": {"accounts": [{**bank, "balance": 123456}], "total": 123456},
            "liability": {"accounts": [], "total": 0},
            "equity": {"accounts": [], "total": 0},
            "result": 123456, "liabilities_and_equity": 123456, "balanced": True}]},
    )  # fmt: skip
    revenue = {**bank, "code": "8400", "name": "Revenue", "account_type": "revenue"}
    gateway.on(
        "GET",
        "/ledger/v1/reports/profit-and-loss",
        {"from": "2026-01-01", "to": "2026-11-30", "currencies": [{
            "currency": "EUR",
            "revenue": {"accounts": [{**revenue, "amount": 123456}], "total": 123456},
            "expense": {"accounts": [], "total": 0}, "result": 123456}]},
    )  # fmt: skip
    client = await client_of(gateway, tmp_path, "accountant")
    sheet = await client.get("/ledger/balance-sheet", params={"as_of": "2026-11-30"})
    assert sheet.status_code == 200 and "1200 Bank" in sheet.text and "Result to date" in sheet.text
    assert sent(gateway, "/ledger/v1/reports/balance-sheet").url.params["as_of"] == "2026-11-30"
    pnl = await client.get(
        "/ledger/profit-and-loss", params={"from": "2026-01-01", "to": "2026-11-30"}
    )
    assert pnl.status_code == 200 and "8400 Revenue" in pnl.text and "€1,234.56" in pnl.text


async def test_closing_a_period_needs_the_confirmation_box(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("GET", "/ledger/v1/periods", {"items": [
        {"period": "2026-11", "status": "open", "closed_at": None, "closed_by": None,
         "entries": 3}]})  # fmt: skip
    client = await client_of(gateway, tmp_path, "accountant")
    page = await client.get("/ledger/periods")
    assert 'data-confirm="Close period 2026-11 for good?' in page.text
    assert 'name="confirm" value="yes" required' in page.text
    answer = await client.post(
        "/ledger/periods/2026-11/closing", data={"csrf_token": csrf_of(page.text)}
    )
    assert answer.status_code == 422
    assert "Tick “I confirm”" in answer.text
    assert not [c for c in gateway.calls if c.method == "POST" and "closing" in c.url.path]


async def test_pending_requests_keeping_a_period_open_are_shown_readably(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("GET", "/ledger/v1/periods", {"items": [
        {"period": "2026-11", "status": "open", "closed_at": None, "closed_by": None,
         "entries": 3}]})  # fmt: skip
    gateway.on(
        "POST",
        "/ledger/v1/periods/2026-11/closing",
        {"title": "Conflict", "code": "PendingBookingRequests",
         "detail": "Period 2026-11 has 1 pending booking request(s) dated in it: req-1."},
        409,
    )  # fmt: skip
    client = await client_of(gateway, tmp_path, "accountant")
    page = await client.get("/ledger/periods")
    answer = await client.post(
        "/ledger/periods/2026-11/closing",
        data={"csrf_token": csrf_of(page.text), "confirm": "yes"},
    )
    assert answer.status_code == 409
    assert "PendingBookingRequests" in answer.text and "pending booking request(s)" in answer.text
    assert 'href="/ledger/booking-requests?status=pending"' in answer.text


async def test_the_verification_page_names_the_first_mismatch(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("GET", "/ledger/v1/verification", {
        "intact": False, "checked": 1200, "seconds": 0.25, "detail": "hash differs",
        "first_mismatch": {"what": "hash", "position": 17, "event_id": "ev-17",
                           "event_type": "JournalEntryPosted", "stream_type": "entry",
                           "stream_id": "entry-1", "entry_id": "entry-1",
                           "voucher_number": "V-100", "recorded_at": "2026-11-30T10:00:00Z",
                           "recorded_by": "accountant"}})  # fmt: skip
    client = await client_of(gateway, tmp_path, "auditor")
    answer = await client.get("/ledger/verification")
    assert answer.status_code == 200
    assert "does not match" in answer.text and 'href="/ledger/journal/entry-1"' in answer.text
    assert "1,200" in answer.text
