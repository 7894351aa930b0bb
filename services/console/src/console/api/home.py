"""My work: what waits for the operator, across every service.

The page is a set of cards, each a live list (``/live/<card>``) read with the operator's own
token. A card shows only when the policy lets the operator call the routes it reads and act on
what it lists; the back office sees what it has to decide or work, the front office follows
what it asked for. All cards are read at once (the page takes as long as its slowest card),
and a card the API refuses shows the refusal instead of failing the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from babel.dates import format_timedelta
from fastapi import APIRouter
from starlette.responses import HTMLResponse

from console.adapters.gateway import ApiRefusal
from console.api.live import Fragment, live_fragment
from console.api.web import CurrentVisit, Visit
from console.app import work
from console.domain.my_work import (
    SlaClock,
    booked_amounts,
    by_urgency,
    request_state,
    sla_clock,
)
from console.domain.navigation import sections_for

router = APIRouter()

READ_BOOKING_REQUESTS = "GET /ledger/v1/booking-requests"
APPROVE_BOOKING = "POST /ledger/v1/booking-requests/{request_id}/approval"
SUBMIT_BOOKING = "POST /ledger/v1/booking-requests"
READ_TICKETS = "GET /tickets/v1/tickets"
PRE_DEAL_CHECK = "POST /risk/v1/pre-deal-checks"


def _(text: str) -> str:
    """Marks a text for translation (the template translates it when it shows it)."""
    return text


def now() -> datetime:
    return datetime.now(UTC)


@live_fragment("approvals")
async def approvals(visit: Visit, _params: Mapping[str, str]) -> str:
    """Booking requests this operator may approve: pending, and never the operator's own."""
    mine = visit.operator.subject
    items = [r for r in await work.pending_booking_requests(visit) if r["submitted_by"] != mine]
    return visit.fragment("home/_approvals.html", requests=items, amounts=booked_amounts)


@live_fragment("limit-requests")
async def limit_requests(visit: Visit, _params: Mapping[str, str]) -> str:
    """Limit requests of other risk officers (four-eyes: never one's own)."""
    mine = visit.operator.subject
    items = [
        limit
        for limit in await work.pending_limit_requests(visit)
        if limit["pending_request"].get("requested_by") != mine
    ]
    return visit.fragment("home/_limit_requests.html", limits=items)


@live_fragment("acceptance-requests")
async def acceptance_requests(visit: Visit, _params: Mapping[str, str]) -> str:
    """Risk acceptances other risk officers asked for."""
    mine = visit.operator.subject
    items = [
        risk
        for risk in await work.requested_acceptances(visit)
        if risk["acceptance"].get("requested_by") != mine
    ]
    return visit.fragment("home/_acceptance_requests.html", risks=items)


@live_fragment("kri-changes")
async def kri_changes(visit: Visit, _params: Mapping[str, str]) -> str:
    """KRI threshold changes other risk officers asked for."""
    mine = visit.operator.subject
    items = [
        k for k in await work.pending_kri_changes(visit) if k["change"]["requested_by"] != mine
    ]
    return visit.fragment("home/_kri_changes.html", kris=items)


@live_fragment("assigned-tickets")
async def assigned_tickets(visit: Visit, _params: Mapping[str, str]) -> str:
    """The tickets assigned to this operator, the one due first first."""
    moment = now()
    tickets = await work.open_tickets(visit, assignee=visit.operator.subject)
    return _tickets(visit, tickets, moment)


@live_fragment("my-tickets")
async def my_tickets(visit: Visit, _params: Mapping[str, str]) -> str:
    """The front office's own tickets (the API shows it no others) that are still open."""
    moment = now()
    return _tickets(visit, await work.open_tickets(visit), moment)


def _tickets(visit: Visit, tickets: list[work.Item], moment: datetime) -> str:
    rows = [(t, sla_clock(t, moment)) for t in by_urgency(list(tickets), moment)]
    return visit.fragment(
        "home/_tickets.html", tickets=rows, countdown=lambda c: countdown(visit, c)
    )


@live_fragment("open-breaches")
async def open_breaches(visit: Visit, _params: Mapping[str, str]) -> str:
    """Limit breaches nobody has recorded measures about yet."""
    items = await work.breaches_without_measures(visit, now())
    return visit.fragment("home/_breaches.html", breaches=items)


@live_fragment("my-requests")
async def my_requests(visit: Visit, _params: Mapping[str, str]) -> str:
    """The submitter's booking requests with the state each is in."""
    pending, decided, more = await work.my_booking_requests(visit, visit.operator.subject)
    return visit.fragment(
        "home/_my_requests.html",
        pending=[(r, request_state(r)) for r in pending],
        decided=[(r, request_state(r)) for r in decided[:10]],
        more=more or len(decided) > 10,
        amounts=booked_amounts,
    )


@dataclass(frozen=True)
class Card:
    """One card of My work: its live list, who sees it, and the routes it needs."""

    name: str
    title: str
    office: str
    routes: tuple[str, ...]
    render: Fragment


CARDS = (
    Card(
        "approvals",
        _("Booking requests to approve"),
        "back",
        (READ_BOOKING_REQUESTS, APPROVE_BOOKING),
        approvals,
    ),
    Card(
        "limit-requests",
        _("Limit requests to approve"),
        "back",
        ("GET /risk/v1/limits", "POST /risk/v1/limits/{limit_id}/approval"),
        limit_requests,
    ),
    Card(
        "acceptance-requests",
        _("Risk acceptances to approve"),
        "back",
        (
            "GET /risk/v1/risks",
            "GET /risk/v1/risks/{risk_id}",
            "POST /risk/v1/risks/{risk_id}/acceptances/{acceptance_id}/approval",
        ),
        acceptance_requests,
    ),
    Card(
        "kri-changes",
        _("KRI threshold changes to approve"),
        "back",
        (
            "GET /risk/v1/kris",
            "GET /risk/v1/kris/{kri_id}/threshold-changes",
            "POST /risk/v1/kris/{kri_id}/threshold-changes/{change_id}/approval",
        ),
        kri_changes,
    ),
    Card("assigned-tickets", _("My tickets"), "back", (READ_TICKETS,), assigned_tickets),
    Card(
        "open-breaches",
        _("Breaches without measures"),
        "back",
        ("GET /risk/v1/reports/breaches", "POST /risk/v1/limit-breaches/{breach_id}/measures"),
        open_breaches,
    ),
    Card(
        "my-requests",
        _("My booking requests"),
        "front",
        (READ_BOOKING_REQUESTS, SUBMIT_BOOKING),
        my_requests,
    ),
    Card("my-tickets", _("My tickets"), "front", (READ_TICKETS,), my_tickets),
)


def cards_for(visit: Visit) -> list[Card]:
    operator = visit.operator
    return [c for c in CARDS if c.office == operator.office and operator.may(*c.routes)]


async def _card_html(card: Card, visit: Visit) -> str:
    """The card's list, or what the API said when it refused (a lapsed session still ends
    the visit: the log-in page)."""
    try:
        return await card.render(visit, {})
    except ApiRefusal as refusal:
        if refusal.status == 401:
            raise
        return visit.fragment("home/_refused.html", error=refusal)


def countdown(visit: Visit, clock: SlaClock) -> str:
    """ "due in 3 hours" or "overdue by 20 minutes", in the reader's language."""
    if clock.seconds_left is None:
        return ""
    span = format_timedelta(
        timedelta(seconds=abs(clock.seconds_left)), locale=visit.formats.babel_locale
    )
    if clock.seconds_left > 0:
        return visit.formats._("due in {time}").format(time=span)
    return visit.formats._("overdue by {time}").format(time=span)


@router.get("/", response_class=HTMLResponse)
async def my_work(visit: CurrentVisit) -> HTMLResponse:
    operator = visit.operator
    cards = cards_for(visit)
    lists = await visit.gather(*(_card_html(card, visit) for card in cards))
    oversight = operator.office not in ("front", "back")
    return visit.render(
        "home/index.html",
        cards=list(zip(cards, lists, strict=True)),
        pre_deal_check=operator.front_office and operator.may(PRE_DEAL_CHECK),
        overview=[s for s in sections_for(operator) if s.key != "home"] if oversight else [],
    )
