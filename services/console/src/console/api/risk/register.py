"""The heat map, the risk register and a risk's detail with its acceptance decisions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from starlette.responses import HTMLResponse, Response

from console.adapters.gateway import ApiRefusal
from console.api.risk.common import (
    CATEGORIES,
    HEAT_MAP,
    LEVELS,
    LIST_RISKS,
    READ_RISK,
    RISK_HISTORY,
    RISK_ID,
    after_write,
    shown,
    version_header,
    written_at,
)
from console.api.web import CurrentVisit, Visit, redirect
from console.domain.heatmap import RATINGS, CellFilter, HeatMapUnreadable, heat_grid
from console.domain.risk_history import assessments_of, event_words

router = APIRouter(prefix="/risk")

RiskId = Annotated[str, Path(pattern=RISK_ID)]
# The register's own filters, passed on to the API as they are (it refuses bad values).
REGISTER_FILTERS = ("category", "owner", "level", "inherent_level", "status", "overdue", "cursor")
# A heat-map cell is filtered here, from pages this large (the API narrows by the cell's level).
CELL_PAGE = 200


@router.get("", response_class=HTMLResponse)
async def heat_map(visit: CurrentVisit, category: str = "") -> HTMLResponse:
    visit.require(HEAT_MAP)
    report = await visit.get("/risk/v1/reports/heat-map", {"category": category or None})
    try:
        grids = [heat_grid(report, rating) for rating in RATINGS]
    except HeatMapUnreadable as failure:
        raise ApiRefusal(502, visit.formats._("Unreadable answer"), str(failure)) from failure
    return visit.render("risk/heatmap.html", grids=grids, category=category, categories=CATEGORIES)


@router.get("/register", response_class=HTMLResponse)
async def register(visit: CurrentVisit) -> HTMLResponse:
    visit.require(LIST_RISKS)
    params = dict(visit.request.query_params)
    try:
        cell = CellFilter.of(params)
    except HeatMapUnreadable as failure:
        raise ApiRefusal(
            422, visit.formats._("Refused"), str(failure), code="InvalidFilter"
        ) from failure
    query: dict[str, Any] = {key: params.get(key) for key in REGISTER_FILTERS}
    query["limit"] = CELL_PAGE if cell else 50
    if cell:
        query.update(cell.api_params())
    page = await visit.get("/risk/v1/risks", query)
    risks = [risk for risk in page["items"] if cell is None or cell.holds(risk)]
    return visit.render(
        "risk/register.html",
        risks=risks,
        cell=cell,
        params=params,
        next_cursor=page.get("next_cursor"),
        categories=CATEGORIES,
        levels=LEVELS,
    )


@router.get("/risks/{risk_id}", response_class=HTMLResponse)
async def risk_detail(risk_id: RiskId, visit: CurrentVisit) -> HTMLResponse:
    visit.require(READ_RISK)
    return await risk_page(visit, risk_id)


async def risk_page(
    visit: Visit,
    risk_id: str,
    error: ApiRefusal | None = None,
    typed: dict[str, str] | None = None,
) -> HTMLResponse:
    """The risk with its history; re-rendered with a refusal when a decision was refused."""
    calls = [visit.get(f"/risk/v1/risks/{risk_id}", after_write(visit))]
    if visit.operator.may(RISK_HISTORY):
        calls.append(visit.get(f"/risk/v1/risks/{risk_id}/history"))
    found = await visit.gather(*calls)
    risk = found[0]
    events = found[1]["events"] if len(found) > 1 else []
    return visit.render(
        "risk/risk.html",
        status_code=error.status if error else 200,
        risk=risk,
        events=list(reversed(events)),
        assessments=assessments_of(events),
        event_words=event_words,
        error=error,
        typed=typed or {},
    )


@router.post("/risks/{risk_id}/acceptances/{acceptance_id}/{decision}", response_model=None)
async def decide_acceptance(
    risk_id: RiskId,
    acceptance_id: Annotated[str, Path(pattern=RISK_ID)],
    decision: Annotated[str, Path(pattern="^(approval|rejection)$")],
    visit: CurrentVisit,
) -> Response:
    """Approve or reject a requested acceptance. The button is hidden from its requester,
    but the risk service decides (four-eyes); its refusal is shown on the risk's page."""
    route = f"POST /risk/v1/risks/{{risk_id}}/acceptances/{{acceptance_id}}/{decision}"
    visit.require(route)
    fields = await visit.form()
    text = fields.get("text", "").strip()
    body = {"note": text} if decision == "approval" else {"reason": text}
    try:
        answer = await visit.post(
            f"/risk/v1/risks/{risk_id}/acceptances/{acceptance_id}/{decision}",
            body,
            version_header(fields),
        )
    except ApiRefusal as refusal:
        return await risk_page(visit, risk_id, shown(refusal), {"acceptance_text": text})
    return redirect(f"/risk/risks/{risk_id}{written_at(answer)}", visit)
