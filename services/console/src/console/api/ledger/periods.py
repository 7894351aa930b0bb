"""Accounting periods and their closing (Festschreibung, with a confirmation), and the
verification of the journal's hash chain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.responses import Response

from console.adapters.gateway import ApiRefusal
from console.api.ledger.common import (
    CLOSE_PERIOD,
    PERIOD_PATTERN,
    PERIODS,
    VERIFICATION,
    form_key,
    page,
    read_position,
    this_period,
)
from console.api.web import CurrentVisit, Visit, redirect

router = APIRouter(prefix="/ledger")

PeriodName = Annotated[str, Path(pattern=PERIOD_PATTERN)]


@router.get("/periods")
async def periods(
    visit: CurrentVisit, closed: str | None = None, min_position: str | None = None
) -> Response:
    visit.require(PERIODS)
    return await _periods_page(visit, closed=closed, min_position=read_position(min_position))


async def _periods_page(
    visit: Visit,
    *,
    closed: str | None = None,
    min_position: int | None = None,
    error: ApiRefusal | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    answer = await visit.get("/ledger/v1/periods", {"min_position": min_position})
    items = sorted(answer["items"], key=lambda p: str(p["period"]), reverse=True)
    return page(
        visit,
        "ledger/periods.html",
        status_code,
        periods=items,
        current=this_period(visit),
        may_close=visit.operator.may(CLOSE_PERIOD),
        closed=closed if closed in {p["period"] for p in items} else None,
        error=error,
        message=message,
        idempotency_key=form_key(),
    )


@router.post("/periods/{period}/closing")
async def close_period(visit: CurrentVisit, period: PeriodName) -> Response:
    """Close a month for good; the required "I confirm" box guards it without JavaScript."""
    visit.require(CLOSE_PERIOD)
    fields = await visit.form()
    if fields.get("confirm") != "yes":
        message = visit.formats._("Tick “I confirm” to close the period; it cannot be reopened.")
        return await _periods_page(visit, message=message, status_code=422)
    try:
        written = await visit.post(
            f"/ledger/v1/periods/{period}/closing",
            {},
            {"Idempotency-Key": fields.get("idempotency_key") or form_key()},
        )
    except ApiRefusal as refusal:
        return await _periods_page(visit, error=refusal, status_code=refusal.status)
    return redirect(f"/ledger/periods?closed={period}&min_position={written['position']}", visit)


@router.get("/verification")
async def verification(visit: CurrentVisit) -> Response:
    """Recomputes the journal's hash chain (the API does) and shows whether it is intact."""
    visit.require(VERIFICATION)
    result = await visit.get("/ledger/v1/verification")
    return page(visit, "ledger/verification.html", result=result)
