"""Key risk indicators with their status and a small chart of their recent history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import HTMLResponse

from console.api.risk.common import KRI_MEASUREMENTS, LIST_KRIS
from console.api.web import CurrentVisit
from console.domain.kri_chart import kri_chart

router = APIRouter(prefix="/risk")

# KRIs per page, and measurements per chart. One page is one API call: the list carries
# each KRI's recent history (``history=``), so the page costs one gateway round trip
# however many KRIs it shows.
KRI_PAGE = 25
HISTORY = 30
STATUSES = ("green", "amber", "red", "unmeasured")
STATUS_BADGES = {"green": "ok", "amber": "warn", "red": "bad"}


@router.get("/kris", response_class=HTMLResponse)
async def kris(visit: CurrentVisit, status: str = "", cursor: str = "") -> HTMLResponse:
    visit.require(LIST_KRIS)
    # The history is the measurements route's answer: asked for only when that is allowed.
    charted = visit.operator.may(KRI_MEASUREMENTS)
    page = await visit.get(
        "/risk/v1/kris",
        {
            "status": status or None,
            "cursor": cursor or None,
            "limit": KRI_PAGE,
            "history": HISTORY if charted else None,
        },
    )
    items: list[dict[str, Any]] = page["items"]
    # The history comes newest first, as kri_chart takes it.
    charts: list[Any] = [
        kri_chart(kri.get("history", []), float(kri["amber"]), float(kri["red"]))
        if charted
        else None
        for kri in items
    ]
    return visit.render(
        "risk/kris.html",
        kris=list(zip(items, charts, strict=True)),
        status=status,
        statuses=STATUSES,
        badges=STATUS_BADGES,
        next_cursor=page.get("next_cursor"),
    )
