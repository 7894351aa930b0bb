"""My work: what waits for the operator, across every service."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter
from starlette.responses import HTMLResponse

from console.api.live import live_fragment
from console.api.web import CurrentVisit, Visit

router = APIRouter()

APPROVE_BOOKING = "POST /ledger/v1/booking-requests/{request_id}/approval"


@live_fragment("approvals")
async def approvals(visit: Visit, _: Mapping[str, str]) -> str:
    """Booking requests this operator may approve: pending, and never the operator's own."""
    page = await visit.get("/ledger/v1/booking-requests", {"status": "pending", "limit": 50})
    mine = visit.operator.subject
    items = [item for item in page["items"] if item["submitted_by"] != mine]
    return visit.fragment("home/_approvals.html", requests=items)


@router.get("/", response_class=HTMLResponse)
async def my_work(visit: CurrentVisit) -> HTMLResponse:
    approvals_html = await approvals(visit, {}) if visit.operator.may(APPROVE_BOOKING) else None
    return visit.render("home/index.html", approvals_html=approvals_html)
