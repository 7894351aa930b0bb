"""Limit breaches in a period, with the measures recorded about each, and the form that
records measures (risk officers and controllers of the back office)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Path
from starlette.responses import HTMLResponse, Response

from console.adapters.gateway import ApiRefusal
from console.api.risk.common import (
    BREACHES,
    RECORD_MEASURES,
    UUID,
    after_write,
    bad_input,
    shown,
    written_at,
)
from console.api.web import CurrentVisit, Visit, merge_query, redirect
from console.domain.limits import scope_of

router = APIRouter(prefix="/risk")

BreachId = Annotated[str, Path(pattern=UUID)]
# Without a period the page shows the last 30 days.
DEFAULT_DAYS = 30


def period_of(visit: Visit, params: Mapping[str, str]) -> tuple[date, date]:
    """The first and last day shown (both inclusive), from ``from`` and ``to`` (YYYY-MM-DD)."""
    today = datetime.now(UTC).date()
    try:
        first = date.fromisoformat(params["from"]) if params.get("from") else None
        last = date.fromisoformat(params["to"]) if params.get("to") else None
    except ValueError as failure:
        raise bad_input(visit, visit.formats._("A day must be written YYYY-MM-DD.")) from failure
    last = last or today
    first = first or last - timedelta(days=DEFAULT_DAYS)
    if last < first:
        raise bad_input(visit, visit.formats._("The last day is before the first day."), "to")
    return first, last


def _midnight(day: date) -> str:
    return datetime.combine(day, time(), tzinfo=UTC).isoformat()


@router.get("/breaches", response_class=HTMLResponse)
async def breaches(visit: CurrentVisit) -> HTMLResponse:
    visit.require(BREACHES)
    return await breaches_page(visit, dict(visit.request.query_params))


async def breaches_page(
    visit: Visit,
    params: Mapping[str, str],
    error: ApiRefusal | None = None,
    typed: Mapping[str, str] | None = None,
) -> HTMLResponse:
    first, last = period_of(visit, params)
    page = await visit.get(
        "/risk/v1/reports/breaches",
        {
            "from": _midnight(first),
            "to": _midnight(last + timedelta(days=1)),
            "cursor": params.get("cursor"),
            "limit": 50,
            **after_write(visit),
        },
    )
    # Newest first: the breach that needs measures now is on top.
    items = sorted(page["items"], key=lambda b: str(b.get("at", "")), reverse=True)
    return visit.render(
        "risk/breaches.html",
        status_code=error.status if error else 200,
        breaches=items,
        first=first.isoformat(),
        last=last.isoformat(),
        next_cursor=page.get("next_cursor"),
        scope_of=scope_of,
        error=error,
        typed=typed or {},
    )


@router.post("/breaches/{breach_id}/measures", response_model=None)
async def record_measures(breach_id: BreachId, visit: CurrentVisit) -> Response:
    visit.require(RECORD_MEASURES)
    fields = await visit.form()
    back = {"from": fields.get("from", ""), "to": fields.get("to", "")}
    measures = fields.get("measures", "").strip()
    try:
        if not measures:
            raise bad_input(visit, visit.formats._("Describe the measures taken."), "measures")
        answer = await visit.post(
            f"/risk/v1/limit-breaches/{breach_id}/measures", {"measures": measures}
        )
    except ApiRefusal as refusal:
        typed = {"breach_id": breach_id, "measures": measures}
        return await breaches_page(visit, back, shown(refusal), typed)
    fresh = written_at(answer).removeprefix("?")
    query = merge_query(back, after=fresh.removeprefix("after=") or None)
    return redirect(f"/risk/breaches?{query}#breach-{breach_id}", visit)
