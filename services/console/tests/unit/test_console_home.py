"""My work against a fake gateway: the cards of the back office and the front office, never
one's own request to approve, states and SLA clocks, refusals shown in their card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from .fake_gateway import FakeGateway, browser, logged_in
from .work_data import (
    booking_request,
    breach,
    kri,
    limit,
    page,
    risk,
    threshold_change,
    ticket,
)

pytestmark = pytest.mark.unit

RISK_OFFICER = [
    "GET /ledger/v1/booking-requests",
    "GET /tickets/v1/tickets",
    "GET /risk/v1/limits",
    "POST /risk/v1/limits/{limit_id}/approval",
    "GET /risk/v1/risks",
    "GET /risk/v1/risks/{risk_id}",
    "POST /risk/v1/risks/{risk_id}/acceptances/{acceptance_id}/approval",
    "GET /risk/v1/kris",
    "GET /risk/v1/kris/{kri_id}/threshold-changes",
    "POST /risk/v1/kris/{kri_id}/threshold-changes/{change_id}/approval",
    "GET /risk/v1/reports/breaches",
    "POST /risk/v1/limit-breaches/{breach_id}/measures",
]


def by_param(gateway: FakeGateway, path: str, param: str, answers: dict[str | None, Any]) -> None:
    """Answer GET ``path`` by the value of one query parameter (others: an empty page)."""

    def answer(request: httpx.Request) -> httpx.Response:
        body = answers.get(request.url.params.get(param), page())
        return httpx.Response(
            200, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
        )

    gateway.answers[("GET", path)] = answer


def tickets_by_status(gateway: FakeGateway, *tickets: dict[str, Any]) -> None:
    """Answer the ticket list as the API does: the tickets of any of the asked statuses
    (``status`` repeated), all of them when none is asked."""

    def answer(request: httpx.Request) -> httpx.Response:
        asked = request.url.params.get_list("status")
        body = page(*(t for t in tickets if not asked or t["status"] in asked))
        return httpx.Response(
            200, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
        )

    gateway.answers[("GET", "/tickets/v1/tickets")] = answer


def sent(gateway: FakeGateway, path: str) -> list[httpx.QueryParams]:
    return [call.url.params for call in gateway.calls if call.url.path == path]


async def test_the_accountant_sees_requests_to_approve_but_never_their_own(tmp_path: Path) -> None:
    gateway = FakeGateway()
    gateway.on(
        "GET",
        "/ledger/v1/booking-requests",
        page(booking_request("r1", "trader"), booking_request("r2", "accountant")),
    )
    client = await logged_in(browser(gateway.app(tmp_path)), "accountant")
    home = await client.get("/")
    assert home.status_code == 200
    assert "Booking requests to approve" in home.text
    assert "/ledger/booking-requests/r1" in home.text and "€1,234.56" in home.text
    assert "/ledger/booking-requests/r2" not in home.text
    assert 'data-live="/live/approvals"' in home.text
    # Front-office cards and the risk officer's cards are not the accountant's.
    assert "My booking requests" not in home.text and "Pre-deal check" not in home.text
    assert "Limit requests to approve" not in home.text
    assert sent(gateway, "/ledger/v1/booking-requests")[0]["status"] == "pending"


async def test_the_trader_follows_their_requests_states_and_reasons(tmp_path: Path) -> None:
    gateway = FakeGateway()
    pending = [
        booking_request("p1", "trader", clearance="awaiting"),
        booking_request("p2", "trader", clearance="refused")
        | {"clearance": {"status": "refused", "reason": "limit ACME exceeded by €5,000.00"}},
        booking_request("p3", "trader", clearance="cleared"),
    ]
    decided = [
        booking_request("d1", "trader", status="approved", decided_at="2026-12-01T10:00:00Z"),
        booking_request(
            "d2",
            "trader",
            status="rejected",
            reason="no voucher",
            decided_at="2026-12-02T10:00:00Z",
        ),
        booking_request("d3", "trader", status="expired"),
    ]
    by_param(
        gateway,
        "/ledger/v1/booking-requests",
        "status",
        {"pending": page(*pending), None: page(*pending, *decided)},
    )
    tickets_by_status(
        gateway, ticket("t1", "it-support"), ticket("t2", "it-support", status="resolved")
    )
    client = await logged_in(browser(gateway.app(tmp_path)), "trader")
    home = (await client.get("/")).text
    for state in ("awaiting_clearance", "refused", "cleared", "approved", "rejected", "expired"):
        assert f'data-state="{state}"' in home, state
    assert "Awaiting risk clearance" in home and "limit ACME exceeded by €5,000.00" in home
    assert "no voucher" in home
    # Decided lately: newest decision first.
    assert home.index("V-d2") < home.index("V-d1")
    assert "/tickets/t1" in home and "At risk" in home and "due in" in home
    assert 'action="/risk/pre-deal-check"' in home and 'name="csrf_token"' in home
    assert "Booking requests to approve" not in home
    assert all(p["submitted_by"] == "trader" for p in sent(gateway, "/ledger/v1/booking-requests"))
    # The front office's tickets are its own (the API narrows them): no assignee filter; the
    # open ones of every open status come in one call.
    [asked] = sent(gateway, "/tickets/v1/tickets")
    assert "assignee" not in asked
    assert asked.get_list("status") == ["new", "open", "pending"]
    assert "/tickets/t2" not in home


async def test_the_risk_officer_approves_only_what_others_asked_for(tmp_path: Path) -> None:
    gateway = FakeGateway()
    gateway.operator("risk-officer", ["risk-officer"], "back", RISK_OFFICER)
    gateway.on(
        "GET",
        "/risk/v1/limits",
        page(
            limit("l1", "risk-officer-2", "ACME"),
            limit("l2", "risk-officer", "MINE"),
            limit("l3", None, "QUIET"),
        ),
    )
    gateway.on(
        "GET", "/risk/v1/risks", page(risk("k1", "risk-officer-2"), risk("k2", "risk-officer"))
    )
    gateway.on("GET", "/risk/v1/kris", page(kri("i1", "c1"), kri("i2", "c2"), kri("i3", None)))
    gateway.on(
        "GET", "/risk/v1/kris/i1/threshold-changes", [threshold_change("c1", "risk-officer-2")]
    )
    gateway.on(
        "GET", "/risk/v1/kris/i2/threshold-changes", [threshold_change("c2", "risk-officer")]
    )
    gateway.on(
        "GET",
        "/risk/v1/reports/breaches",
        page(breach("b1"), breach("b2", measures=[{"measures": "called the desk"}])),
    )
    tickets_by_status(
        gateway, ticket("t9", "risk-officer"), ticket("t8", "risk-officer", status="new")
    )
    client = await logged_in(browser(gateway.app(tmp_path)), "risk-officer")
    home = (await client.get("/")).text
    assert "/risk/limits/l1" in home and "/risk/limits/l2" not in home and "QUIET" not in home
    assert "€5,000,000.00" in home and "New limit: new client" in home
    assert "/risk/risks/k1" in home and "/risk/risks/k2" not in home
    assert "/risk/kris/i1" in home and "/risk/kris/i2" not in home and "/risk/kris/i3" not in home
    assert "CP-b1" in home and "CP-b2" not in home and "120.0 %" in home
    assert "/tickets/t9" in home and "/tickets/t8" in home
    # One call each: the open tickets of all open statuses, the risks with their acceptance
    # (no read per risk).
    [asked] = sent(gateway, "/tickets/v1/tickets")
    assert asked["assignee"] == "risk-officer"
    assert asked.get_list("status") == ["new", "open", "pending"]
    assert len(sent(gateway, "/risk/v1/risks")) == 1
    assert not [c for c in gateway.calls if c.url.path.startswith("/risk/v1/risks/")]
    # The KRI without a pending change is not read one by one.
    assert not sent(gateway, "/risk/v1/kris/i3/threshold-changes")
    # A back-office risk officer neither approves booking requests nor submits them.
    assert "Booking requests to approve" not in home and "My booking requests" not in home


async def test_a_card_the_api_refuses_shows_why_and_the_page_still_works(tmp_path: Path) -> None:
    gateway = FakeGateway()
    gateway.operator("risk-officer", ["risk-officer"], "back", RISK_OFFICER)
    for path in ("/risk/v1/limits", "/risk/v1/risks", "/risk/v1/kris", "/tickets/v1/tickets"):
        gateway.on("GET", path, page())
    gateway.on(
        "GET",
        "/risk/v1/reports/breaches",
        {"title": "Service unavailable", "detail": "risk is restarting"},
        503,
    )
    client = await logged_in(browser(gateway.app(tmp_path)), "risk-officer")
    home = await client.get("/")
    assert home.status_code == 200
    assert "Service unavailable" in home.text and "risk is restarting" in home.text
    assert "Limit requests to approve" in home.text


async def test_oversight_gets_links_to_what_it_may_read(tmp_path: Path) -> None:
    gateway = FakeGateway()
    gateway.operator(
        "auditor",
        ["auditor"],
        "oversight",
        ["GET /ledger/v1/journal-entries", "GET /audit/v1/decisions", "GET /risk/v1/risks"],
    )
    client = await logged_in(browser(gateway.app(tmp_path)), "auditor")
    home = (await client.get("/")).text
    assert 'href="/audit"' in home and "decision records" in home
    assert 'href="/risk"' in home and 'href="/admin"' not in home
    assert not [c for c in gateway.calls if c.url.path not in ("/auth/login", "/auth/me")]


async def test_my_work_speaks_german(tmp_path: Path) -> None:
    gateway = FakeGateway()
    gateway.on("GET", "/ledger/v1/booking-requests", page(booking_request("r1", "trader")))
    client = await logged_in(browser(gateway.app(tmp_path)), "accountant")
    client.cookies.set("console_locale", "de")
    home = (await client.get("/")).text
    assert "Meine Arbeit" in home and "Buchungsanträge zur Freigabe" in home
    assert "1.234,56\xa0€" in home


def test_the_words_my_work_and_team_show_from_code_have_german() -> None:
    from console.api import team
    from console.api.home import CARDS
    from console.domain.my_work import request_state
    from console.texts import GERMAN

    states = [
        request_state({"status": s, "clearance": {"status": c}})
        for s in ("pending", "approved", "rejected", "expired")
        for c in ("not_required", "awaiting", "cleared", "refused")
    ]
    shown = {state.label for state in states} | {card.title for card in CARDS}
    shown |= {team.ACCOUNTING, team.RISK_MANAGEMENT} | {s.label for s in team.SOURCES}
    assert len({state.key for state in states}) == 7
    assert not sorted(text for text in shown if text not in GERMAN)
