"""Team: the work waiting per person and per team across every service, oldest first, and who
is overloaded (the back office leads' view).

Every source is read at once. A source the API refuses for this operator (403) is left out,
with its column, rather than failing the page: a lead sees all the work they may see.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from babel.dates import format_timedelta
from fastapi import APIRouter
from starlette.responses import HTMLResponse

from console.adapters.gateway import ApiRefusal
from console.api.web import CurrentVisit, Visit
from console.app import work
from console.domain.navigation import may_open, section
from console.domain.workload import KINDS, OVERLOADED_ABOVE, WorkItem, loads, oldest_first

router = APIRouter()

# Teams: a request any second person of the team may decide waits on the team.
ACCOUNTING = "Accounting"
RISK_MANAGEMENT = "Risk management"
# The table shows at most this many tasks (the counts above count them all).
SHOWN_AT_MOST = 200

Reader = Callable[[Visit, datetime], Awaitable[list[WorkItem]]]


def _(text: str) -> str:
    """Marks a text for translation (the template translates it when it shows it)."""
    return text


async def booking_requests(visit: Visit, _now: datetime) -> list[WorkItem]:
    return [
        WorkItem(
            "approvals",
            ACCOUNTING,
            "team",
            _moment(r["submitted_at"]),
            f"{r['voucher_number']} · {r['text']}",
            f"/ledger/booking-requests/{r['request_id']}",
            _("Booking request"),
        )
        for r in await work.pending_booking_requests(visit, limit=500)
    ]


async def limit_requests(visit: Visit, _now: datetime) -> list[WorkItem]:
    return [
        WorkItem(
            "approvals",
            RISK_MANAGEMENT,
            "team",
            _moment(limit["pending_request"].get("requested_at")),
            " · ".join(
                str(part)
                for part in (limit["counterparty"] or limit["desk"], limit["currency"])
                if part
            ),
            f"/risk/limits/{limit['id']}",
            _("Limit request"),
        )
        for limit in await work.pending_limit_requests(visit)
    ]


async def acceptances(visit: Visit, _now: datetime) -> list[WorkItem]:
    return [
        WorkItem(
            "approvals",
            RISK_MANAGEMENT,
            "team",
            _moment(risk["acceptance"].get("requested_at")),
            str(risk["title"]),
            f"/risk/risks/{risk['risk_id']}",
            _("Risk acceptance"),
        )
        for risk in await work.requested_acceptances(visit)
    ]


async def tickets(visit: Visit, _now: datetime) -> list[WorkItem]:
    open_tickets, names = await visit.gather(
        work.open_tickets(visit, limit=500), _queue_names(visit)
    )
    items = []
    for t in open_tickets:
        queue = names.get(t["queue_id"], t["queue_id"])
        items.append(
            WorkItem(
                "tickets",
                t["assignee"] or queue,
                "person" if t["assignee"] else "unassigned",
                _moment(t["opened_at"]),
                f"P{t['priority']} · {t['title']} · {queue}",
                f"/tickets/{t['ticket_id']}",
                _("Ticket"),
            )
        )
    return items


async def _queue_names(visit: Visit) -> dict[str, str]:
    """The queues' names; without them (not allowed, not answering) their ids say it too."""
    if not visit.operator.may("GET /tickets/v1/queues"):
        return {}
    try:
        return await work.queue_names(visit)
    except ApiRefusal as refusal:
        if refusal.status == 401:
            raise
        return {}


async def breaches(visit: Visit, now: datetime) -> list[WorkItem]:
    return [
        WorkItem(
            "breaches",
            RISK_MANAGEMENT,
            "team",
            _moment(b["at"]),
            " · ".join(str(p) for p in (b["counterparty"] or b["desk"], b["currency"]) if p),
            "/risk/breaches",
            _("Breach without measures"),
        )
        for b in await work.breaches_without_measures(visit, now)
    ]


async def overdue(visit: Visit, _now: datetime) -> list[WorkItem]:
    report = await work.overdue_reviews(visit)
    reviews = [
        WorkItem(
            "overdue",
            r["owner"],
            "person",
            _day(r["review_due"]),
            str(r["title"]),
            f"/risk/risks/{r['risk_id']}",
            _("Overdue risk review"),
        )
        for r in report["reviews"]
    ]
    actions = [
        WorkItem(
            "overdue",
            a["owner"],
            "person",
            _day(a["due_date"]),
            f"{a['risk_title']} · {a['title']}",
            f"/risk/risks/{a['risk_id']}",
            _("Overdue risk action"),
        )
        for a in report["actions"]
    ]
    return reviews + actions


@dataclass(frozen=True)
class Source:
    """One thing Team reads: its name (for a notice when it cannot), the column it counts
    in, the routes it needs, and the reader."""

    label: str
    kind: str
    routes: tuple[str, ...]
    read: Reader


SOURCES = (
    Source(
        _("Booking requests"), "approvals", ("GET /ledger/v1/booking-requests",), booking_requests
    ),
    Source(_("Limit requests"), "approvals", ("GET /risk/v1/limits",), limit_requests),
    Source(
        _("Risk acceptances"),
        "approvals",
        ("GET /risk/v1/risks", "GET /risk/v1/risks/{risk_id}"),
        acceptances,
    ),
    Source(_("Tickets"), "tickets", ("GET /tickets/v1/tickets",), tickets),
    Source(_("Breaches"), "breaches", ("GET /risk/v1/reports/breaches",), breaches),
    Source(_("Overdue risk reviews"), "overdue", ("GET /risk/v1/reports/overdue",), overdue),
)


async def _read(
    visit: Visit, source: Source, now: datetime
) -> tuple[list[WorkItem] | None, ApiRefusal | None]:
    """The source's tasks, or (None, the refusal) when the API refused it (a lapsed session
    still ends the visit)."""
    try:
        return await source.read(visit, now), None
    except ApiRefusal as refusal:
        if refusal.status == 401:
            raise
        return None, refusal


@router.get("/team", response_class=HTMLResponse)
async def team(visit: CurrentVisit) -> HTMLResponse:
    if not may_open(visit.operator, section("team")):
        raise ApiRefusal(
            403,
            visit.formats._("Not allowed"),
            visit.formats._("Your roles do not allow this page."),
            code="Forbidden",
        )
    now = datetime.now(UTC)
    sources = [s for s in SOURCES if visit.operator.may(*s.routes)]
    answers = await visit.gather(*(_read(visit, source, now) for source in sources))
    items: list[WorkItem] = []
    kinds: set[str] = set()
    unreadable: list[tuple[str, ApiRefusal]] = []
    for source, (found, refusal) in zip(sources, answers, strict=True):
        if found is None:
            # Forbidden: the column is left out. Anything else: said on the page too.
            if refusal is not None and refusal.status != 403:
                unreadable.append((source.label, refusal))
            continue
        items.extend(found)
        kinds.add(source.kind)
    ordered = oldest_first(items)
    return visit.render(
        "team/index.html",
        kinds=[k for k in KINDS if k in kinds],
        loads=loads(items),
        tasks=ordered[:SHOWN_AT_MOST],
        hidden=max(0, len(ordered) - SHOWN_AT_MOST),
        threshold=OVERLOADED_ABOVE,
        unreadable=unreadable,
        age=lambda since: _age(visit, now, since),
    )


def _age(visit: Visit, now: datetime, since: datetime) -> str:
    return format_timedelta(
        max(now - since, timedelta(0)), threshold=1.5, locale=visit.formats.babel_locale
    )


def _moment(value: Any) -> datetime:
    """An API timestamp; a missing one sorts first (waiting since who knows when)."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(value: Any) -> datetime:
    """A due day is the last day to do it: overdue since the next day's start (UTC)."""
    try:
        due = date.fromisoformat(str(value)[:10])
        return datetime.combine(due + timedelta(days=1), time(), tzinfo=UTC)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
