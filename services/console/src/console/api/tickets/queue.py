"""The ticket queue: filters, full-text search (the API's ``q``), SLA badges, live refresh."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from console.adapters.gateway import ApiRefusal
from console.api.live import live_fragment
from console.api.tickets.views import (
    PRIORITY_LABEL,
    STATUS_LABEL,
    members_of,
    queue_names,
    ticket_row,
)
from console.api.web import CurrentVisit, Visit
from console.domain.tickets import ASSIGN, LIST, OPEN, QUEUES, STATUSES

router = APIRouter()

PAGE_SIZE = 50
SLA_FILTERS = {"breached": "Breached", "at_risk": "At risk"}
# The page's query parameters (what the live list is asked with, too).
FILTERS = ("queue", "status", "priority", "assignee", "mine", "sla", "q", "cursor")


def api_params(visit: Visit, params: Mapping[str, str]) -> dict[str, str | int]:
    """The page's filters as the API's query: "mine" is the operator as assignee; values the
    API would refuse anyway are passed on, so that its refusal names them."""
    query: dict[str, str | int] = {"limit": PAGE_SIZE}
    for name in ("queue", "status", "priority", "assignee", "sla", "q", "cursor"):
        value = params.get(name, "").strip()
        if value:
            query[name] = value
    if params.get("mine") and visit.operator.may(ASSIGN):
        query["assignee"] = visit.operator.subject
    return query


async def queues_of(visit: Visit) -> list[dict[str, Any]]:
    if not visit.operator.may(QUEUES):
        return []
    answer = await visit.get("/tickets/v1/queues")
    return list(answer["items"])


@live_fragment("tickets")
async def ticket_list(visit: Visit, params: Mapping[str, str]) -> str:
    """The queue's rows with their SLA standing at this moment (the live list re-renders it,
    so badges turn from on time to at risk without a reload)."""
    visit.require(LIST)
    page, queues = await visit.gather(
        visit.get("/tickets/v1/tickets", api_params(visit, params)), queues_of(visit)
    )
    return list_fragment(visit, params, page, queues)


def list_fragment(
    visit: Visit, params: Mapping[str, str], page: Mapping[str, Any], queues: list[dict[str, Any]]
) -> str:
    now = datetime.now(UTC)
    return visit.fragment(
        "tickets/_list.html",
        tickets=[ticket_row(visit.formats, t, now) for t in page["items"]],
        next_cursor=page.get("next_cursor"),
        queue_names=queue_names(queues),
        priority_labels=PRIORITY_LABEL,
        status_labels=STATUS_LABEL,
        query={k: v for k, v in params.items() if k in FILTERS},
        may_take=visit.operator.may(ASSIGN),
    )


@router.get("/tickets", response_class=HTMLResponse)
async def queue_page(visit: CurrentVisit, request: Request) -> HTMLResponse:
    visit.require(LIST)
    params = {k: v for k, v in request.query_params.items() if k in FILTERS}
    error: ApiRefusal | None = None
    try:
        page, queues = await visit.gather(
            visit.get("/tickets/v1/tickets", api_params(visit, params)), queues_of(visit)
        )
        list_html = list_fragment(visit, params, page, queues)
    except ApiRefusal as refusal:
        if refusal.status in (401, 403):
            raise
        # A filter the API refuses (say a search of control characters): the form, the reason.
        error, list_html, queues = refusal, "", await queues_of(visit)
    return visit.render(
        "tickets/queue.html",
        status_code=error.status if error else 200,
        list_html=list_html,
        error=error,
        params=params,
        queues=queues,
        members=members_of(queues),
        statuses=STATUSES,
        status_labels=STATUS_LABEL,
        priority_labels=PRIORITY_LABEL,
        sla_filters=SLA_FILTERS,
        may_open=visit.operator.may(OPEN),
        may_work=visit.operator.may(ASSIGN),
    )
