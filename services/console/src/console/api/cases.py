"""Cases: one business case (a correlation id) across every service, as a timeline.

The gateway keeps the timeline (``GET /cases/{correlation_id}``) and decides who sees which
case: the back office and auditors every case, the front office only the cases it started and
without the back office's internal events. An unknown case and one the operator may not see
answer the same 404, which this page says in words.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from starlette.responses import HTMLResponse, Response

from console.adapters.gateway import ApiRefusal
from console.api.web import CurrentVisit, redirect
from console.domain.cases import event_name, record_link

router = APIRouter()

READ_CASE = "GET /cases/{correlation_id}"
PAGE_SIZE = 100
MAX_CORRELATION_ID = 200  # as the gateway's route allows


@router.get("/cases", response_class=HTMLResponse)
async def open_case(
    visit: CurrentVisit,
    correlation_id: Annotated[str, Query(max_length=MAX_CORRELATION_ID)] = "",
) -> Response:
    """The form to open a case; submitted (a GET, it changes nothing), the case itself."""
    visit.require(READ_CASE)
    wanted = correlation_id.strip()
    if wanted:
        return redirect(f"/cases/{quote(wanted, safe='')}", visit)
    return visit.render("cases/open.html", correlation_id="")


@router.get("/cases/{correlation_id:path}", response_class=HTMLResponse)
async def case_timeline(
    correlation_id: str,
    visit: CurrentVisit,
    after: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    visit.require(READ_CASE)
    try:
        case = await visit.get(
            f"/cases/{quote(correlation_id, safe='')}", {"after": after, "limit": PAGE_SIZE}
        )
    except ApiRefusal as refusal:
        if refusal.status not in (404, 422):
            raise
        # Unknown, hidden, or not a correlation id at all: said next to the form to try another.
        return visit.render(
            "cases/open.html",
            status_code=refusal.status,
            correlation_id=correlation_id,
            missing=refusal.status == 404,
            error=refusal,
        )
    events = [
        {
            **event,
            "name": event_name(event["type"]),
            "record": record_link(visit.operator, event.get("stream_type", ""), event["subject"]),
        }
        for event in case["events"]
    ]
    return visit.render(
        "cases/timeline.html", case=case, events=events, after=after, page_size=PAGE_SIZE
    )
