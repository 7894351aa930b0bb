"""Key risk indicators with their status and a small chart of their recent history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import HTMLResponse

from console.api.risk.common import KRI_MEASUREMENTS, LIST_KRIS
from console.api.web import CurrentVisit
from console.domain.kri_chart import kri_chart

router = APIRouter(prefix="/risk")

# KRIs per page, and measurements per chart: one page is one list call plus one history
# call per KRI, all at once.
KRI_PAGE = 25
HISTORY = 30
STATUSES = ("green", "amber", "red", "unmeasured")
STATUS_BADGES = {"green": "ok", "amber": "warn", "red": "bad"}


@router.get("/kris", response_class=HTMLResponse)
async def kris(visit: CurrentVisit, status: str = "", cursor: str = "") -> HTMLResponse:
    visit.require(LIST_KRIS)
    page = await visit.get(
        "/risk/v1/kris", {"status": status or None, "cursor": cursor or None, "limit": KRI_PAGE}
    )
    items: list[dict[str, Any]] = page["items"]
    charts: list[Any] = [None] * len(items)
    if visit.operator.may(KRI_MEASUREMENTS) and items:
        histories = await visit.gather(
            *(
                visit.get(f"/risk/v1/kris/{kri['kri_id']}/measurements", {"limit": HISTORY})
                for kri in items
            )
        )
        charts = [
            kri_chart(history["items"], float(kri["amber"]), float(kri["red"]))
            for kri, history in zip(items, histories, strict=True)
        ]
    return visit.render(
        "risk/kris.html",
        kris=list(zip(items, charts, strict=True)),
        status=status,
        statuses=STATUSES,
        badges=STATUS_BADGES,
        next_cursor=page.get("next_cursor"),
    )
