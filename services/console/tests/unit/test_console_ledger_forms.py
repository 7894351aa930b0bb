"""The ledger's forms against a fake gateway: posting with the lines editor (refused here when
unbalanced or unreadable, German amounts), booking requests (submit, approve, reject) and the
four-eyes rule: no button on one's own request, a forged approval refused and shown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from .fake_gateway import FakeGateway, browser, csrf_of, logged_in
from .ledger_data import BANK, LEDGER_ROUTES, REVENUE, booking_request

pytestmark = pytest.mark.unit

APPROVAL = "/ledger/v1/booking-requests/req-1/approval"


@pytest.fixture
def gateway() -> FakeGateway:
    fake = FakeGateway()
    fake.operator("accountant", ["accountant"], "back", LEDGER_ROUTES)
    fake.operator("controller", ["controller"], "back", LEDGER_ROUTES)
    fake.on("GET", "/ledger/v1/accounts", {"items": [BANK, REVENUE], "next_cursor": None})
    fake.on("GET", "/ledger/v1/booking-requests/req-1", booking_request())
    fake.on(
        "POST", "/ledger/v1/journal-entries", {"id": "entry-7", "version": 1, "position": 9}, 201
    )
    fake.on(
        "POST", "/ledger/v1/booking-requests", {"id": "req-1", "version": 1, "position": 5}, 201
    )
    return fake


async def client_of(gateway: FakeGateway, tmp_path: Path, user: str) -> httpx.AsyncClient:
    return await logged_in(browser(gateway.app(tmp_path)), user)


def posted(gateway: FakeGateway, path: str) -> list[httpx.Request]:
    return [c for c in gateway.calls if c.method == "POST" and c.url.path == path]


def entry_form(csrf: str, amounts: tuple[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "csrf_token": csrf,
        "voucher_number": "V-1",
        "booking_date": "2026-11-30",
        "text": "Consulting fee",
        "account_id": ["acc-bank", "acc-revenue", ""],
        "side": ["debit", "credit", "debit"],
        "amount": [amounts[0], amounts[1], ""],
        "currency": ["EUR", "EUR", "EUR"],
        **extra,
    }


async def test_the_posting_form_offers_the_chart_and_blank_rows_without_javascript(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await client_of(gateway, tmp_path, "accountant")
    answer = await client.get("/ledger/post")
    assert answer.status_code == 200
    assert answer.text.count('name="amount"') == 6
    assert '<option value="acc-bank" data-currency="EUR">1200 Bank (EUR)</option>' in answer.text
    assert '<script src="/static/ledger.js" defer></script>' in answer.text


async def test_a_balanced_entry_is_posted_in_minor_units(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await client_of(gateway, tmp_path, "accountant")
    csrf = csrf_of((await client.get("/ledger/post")).text)
    answer = await client.post(
        "/ledger/post", data=entry_form(csrf, ("1,234.56", "1234.56")), follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/ledger/journal/entry-7?min_position=9"
    [call] = posted(gateway, "/ledger/v1/journal-entries")
    body = json.loads(call.content)
    assert [(line["side"], line["amount"]) for line in body["lines"]] == [
        ("debit", 123456),
        ("credit", 123456),
    ]
    assert body["voucher_number"] == "V-1" and "metadata" not in body
    assert call.headers["Idempotency-Key"]


async def test_german_amounts_are_read_the_german_way(gateway: FakeGateway, tmp_path: Path) -> None:
    client = await client_of(gateway, tmp_path, "accountant")
    client.cookies.set("console_locale", "de")
    form = await client.get("/ledger/post")
    assert 'data-decimal=","' in form.text and "1.234,56" in form.text
    answer = await client.post(
        "/ledger/post",
        data=entry_form(csrf_of(form.text), ("1.234,56", "1234,56")),
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    body = json.loads(posted(gateway, "/ledger/v1/journal-entries")[0].content)
    assert [line["amount"] for line in body["lines"]] == [123456, 123456]


async def test_an_unbalanced_entry_is_refused_here_and_never_sent(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await client_of(gateway, tmp_path, "accountant")
    csrf = csrf_of((await client.get("/ledger/post")).text)
    answer = await client.post("/ledger/post", data=entry_form(csrf, ("100.00", "99.99")))
    assert answer.status_code == 422
    assert "The entry is not balanced: debits and credits differ by €0.01." in answer.text
    assert 'value="99.99"' in answer.text  # what was typed is kept
    assert not posted(gateway, "/ledger/v1/journal-entries")


async def test_an_unreadable_amount_is_named_by_its_line(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await client_of(gateway, tmp_path, "accountant")
    client.cookies.set("console_locale", "de")
    csrf = csrf_of((await client.get("/ledger/post")).text)
    answer = await client.post("/ledger/post", data=entry_form(csrf, ("12,345", "zwölf")))
    assert answer.status_code == 422
    assert "Zeile 1: „12,345“ ist kein Betrag" in answer.text
    assert "Zeile 2: „zwölf“ ist kein Betrag" in answer.text
    assert not posted(gateway, "/ledger/v1/journal-entries")


async def test_an_entry_with_one_line_or_no_voucher_is_refused_here(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await client_of(gateway, tmp_path, "accountant")
    csrf = csrf_of((await client.get("/ledger/post")).text)
    data = entry_form(csrf, ("10.00", ""), voucher_number="")
    data["account_id"] = ["acc-bank", "", ""]
    answer = await client.post("/ledger/post", data=data)
    assert answer.status_code == 422
    assert "A voucher number is required." in answer.text
    assert "An entry needs at least two lines." in answer.text
    assert not posted(gateway, "/ledger/v1/journal-entries")


async def test_the_ledgers_refusal_of_an_entry_is_shown_with_the_form_kept(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on(
        "POST",
        "/ledger/v1/journal-entries",
        {
            "title": "Unprocessable",
            "detail": "account acc-revenue is closed",
            "code": "AccountClosed",
        },
        422,
    )
    client = await client_of(gateway, tmp_path, "accountant")
    csrf = csrf_of((await client.get("/ledger/post")).text)
    answer = await client.post("/ledger/post", data=entry_form(csrf, ("5.00", "5.00")))
    assert answer.status_code == 422
    assert "account acc-revenue is closed" in answer.text and "AccountClosed" in answer.text
    assert 'value="Consulting fee"' in answer.text


async def test_posting_without_the_sessions_csrf_token_is_refused(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await client_of(gateway, tmp_path, "accountant")
    answer = await client.post("/ledger/post", data=entry_form("forged", ("5.00", "5.00")))
    assert answer.status_code == 400
    assert not posted(gateway, "/ledger/v1/journal-entries")


async def test_a_trader_submits_a_deal_with_counterparty_and_desk(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await client_of(gateway, tmp_path, "trader")
    form = await client.get("/ledger/booking-requests/new")
    assert form.status_code == 200
    assert 'placeholder="account id"' in form.text  # a trader may not read the chart
    data = entry_form(csrf_of(form.text), ("5,000.00", "5,000.00"))
    data.update(counterparty="ACME GmbH", desk="rates")
    answer = await client.post("/ledger/booking-requests/new", data=data, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/ledger/booking-requests/req-1?min_position=5"
    body = json.loads(posted(gateway, "/ledger/v1/booking-requests")[0].content)
    assert body["metadata"] == {"counterparty": "ACME GmbH", "desk": "rates"}
    assert body["lines"][0]["amount"] == 500000


async def test_a_trader_picks_the_accounts_of_a_request_from_the_booking_accounts(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    trader = gateway.operators["trader"]
    gateway.operator(
        "trader",
        trader["roles"],
        trader["office"],
        [*trader["permissions"], "GET /ledger/v1/booking-accounts"],
    )
    gateway.on(
        "GET",
        "/ledger/v1/booking-accounts",
        {
            "items": [
                {
                    "account_id": "acc-bank",
                    "code": "1200",
                    "name": "Bank",
                    "account_type": "asset",
                    "currency": "EUR",
                }
            ],
            "next_cursor": None,
        },
    )
    client = await client_of(gateway, tmp_path, "trader")
    form = await client.get("/ledger/booking-requests/new")
    assert form.status_code == 200
    assert 'placeholder="account id"' not in form.text
    assert '<option value="acc-bank" data-currency="EUR"' in form.text
    assert "1200 Bank (EUR)" in form.text
    # The chart with its balances is never asked for on the trader's behalf.
    assert not [c for c in gateway.calls if c.url.path == "/ledger/v1/accounts"]


async def test_the_list_of_requests_filters_by_status_and_clearance(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on(
        "GET", "/ledger/v1/booking-requests", {"items": [booking_request()], "next_cursor": None}
    )
    client = await client_of(gateway, tmp_path, "trader")
    answer = await client.get(
        "/ledger/booking-requests", params={"status": "pending", "clearance": "cleared"}
    )
    assert answer.status_code == 200
    call = [c for c in gateway.calls if c.url.path == "/ledger/v1/booking-requests"][-1]
    assert call.url.params["status"] == "pending" and call.url.params["clearance"] == "cleared"
    assert 'href="/ledger/booking-requests/req-1"' in answer.text and "€5,000.00" in answer.text
    assert 'href="/ledger/booking-requests/new"' in answer.text


async def test_an_unknown_status_filter_is_refused_readably(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await client_of(gateway, tmp_path, "trader")
    answer = await client.get("/ledger/booking-requests", params={"status": "whatever"})
    assert answer.status_code == 422


async def test_the_back_office_sees_approve_and_reject_on_anothers_request(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await client_of(gateway, tmp_path, "accountant")
    answer = await client.get("/ledger/booking-requests/req-1")
    assert answer.status_code == 200
    assert f'action="{APPROVAL.replace("/v1/booking-requests", "/booking-requests")}"' in (
        answer.text
    )
    assert "Approve and post" in answer.text and "Reject" in answer.text
    assert "ACME GmbH" in answer.text and "cleared" in answer.text


async def test_the_trader_sees_no_approve_button_on_own_request(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await client_of(gateway, tmp_path, "trader")
    answer = await client.get("/ledger/booking-requests/req-1")
    assert answer.status_code == 200
    assert "Approve and post" not in answer.text and "/approval" not in answer.text
    assert "a second person of the back office decides" in answer.text


async def test_an_accountant_gets_no_button_on_own_request(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("GET", "/ledger/v1/booking-requests/req-1", booking_request("accountant"))
    client = await client_of(gateway, tmp_path, "accountant")
    answer = await client.get("/ledger/booking-requests/req-1/approval")
    assert answer.status_code == 200
    assert "Approve and post" not in answer.text and "four-eyes principle" in answer.text


async def test_the_approval_address_is_403_for_the_trader_by_get_and_by_post(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await client_of(gateway, tmp_path, "trader")
    shown = await client.get("/ledger/booking-requests/req-1/approval")
    assert shown.status_code == 403
    page = await client.get("/ledger/booking-requests/req-1")
    forged = await client.post(
        "/ledger/booking-requests/req-1/approval", data={"csrf_token": csrf_of(page.text)}
    )
    assert forged.status_code == 403
    assert not posted(gateway, APPROVAL)


async def test_a_forged_approval_of_ones_own_request_is_refused_by_the_ledger_and_shown(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("GET", "/ledger/v1/booking-requests/req-1", booking_request("accountant"))
    gateway.on(
        "POST",
        APPROVAL,
        {"title": "Forbidden", "code": "FourEyesViolation",
         "detail": "four-eyes principle: accountant requested this booking request and may "
                   "not approve it"},
        403,
    )  # fmt: skip
    client = await client_of(gateway, tmp_path, "accountant")
    page = await client.get("/ledger/booking-requests/req-1")
    answer = await client.post(
        "/ledger/booking-requests/req-1/approval", data={"csrf_token": csrf_of(page.text)}
    )
    assert answer.status_code == 403
    assert "FourEyesViolation" in answer.text and "may not approve it" in answer.text
    assert len(posted(gateway, APPROVAL)) == 1


async def test_approving_sends_the_version_seen_and_shows_the_request_again(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on(
        "POST", APPROVAL, {"id": "entry-9", "version": 3, "position": 61, "request_id": "req-1"}
    )
    client = await client_of(gateway, tmp_path, "accountant")
    page = await client.get("/ledger/booking-requests/req-1")
    answer = await client.post(
        "/ledger/booking-requests/req-1/approval",
        data={"csrf_token": csrf_of(page.text), "version": "2"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ledger/booking-requests/req-1?min_position=61"
    assert posted(gateway, APPROVAL)[0].headers["If-Match"] == "2"


async def test_a_deal_awaiting_risk_is_refused_readably_on_approval(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on(
        "GET",
        "/ledger/v1/booking-requests/req-1",
        booking_request(clearance={"status": "refused", "code": "LimitExceeded",
                                   "reason": "limit L-1 exceeded", "limit_id": "L-1",
                                   "shortfall": 25000, "currency": "EUR"}),
    )  # fmt: skip
    gateway.on(
        "POST",
        APPROVAL,
        {"title": "Conflict", "code": "DealRefused", "detail": "risk refused the deal"},
        409,
    )
    client = await client_of(gateway, tmp_path, "accountant")
    page = await client.get("/ledger/booking-requests/req-1")
    assert "Risk refused the deal." in page.text and "€250.00" in page.text
    answer = await client.post(
        "/ledger/booking-requests/req-1/approval", data={"csrf_token": csrf_of(page.text)}
    )
    assert answer.status_code == 409 and "DealRefused" in answer.text


async def test_rejecting_needs_a_reason_and_sends_it(gateway: FakeGateway, tmp_path: Path) -> None:
    rejection = "/ledger/v1/booking-requests/req-1/rejection"
    gateway.on("POST", rejection, {"id": "req-1", "version": 3, "position": 62})
    client = await client_of(gateway, tmp_path, "accountant")
    csrf = csrf_of((await client.get("/ledger/booking-requests/req-1")).text)
    empty = await client.post("/ledger/booking-requests/req-1/rejection", data={"csrf_token": csrf})
    assert empty.status_code == 422 and "A reason is required" in empty.text
    assert not posted(gateway, rejection)
    answer = await client.post(
        "/ledger/booking-requests/req-1/rejection",
        data={"csrf_token": csrf, "reason": "wrong desk"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert json.loads(posted(gateway, rejection)[0].content) == {"reason": "wrong desk"}


async def test_the_list_of_requests_is_live_with_its_filters(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on(
        "GET", "/ledger/v1/booking-requests", {"items": [booking_request()], "next_cursor": None}
    )
    app = gateway.app(tmp_path, live_stream_seconds=1.2, live_interval_seconds=0.1)
    client = await logged_in(browser(app), "accountant")
    answer = await client.get("/ledger/booking-requests", params={"status": "pending"})
    assert 'data-live="/live/ledger-requests?status=pending"' in answer.text
    live = await client.get("/live/ledger-requests", params={"status": "pending"})
    assert "event: update" in live.text and "D-7" in live.text
    call = [c for c in gateway.calls if c.url.path == "/ledger/v1/booking-requests"][-1]
    assert call.url.params["status"] == "pending"
