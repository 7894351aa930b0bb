"""Identify a risk: a risk officer enters it with its inherent likelihood and impact; the
risk service rates it with its matrix and sets the first review date."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter
from starlette.responses import HTMLResponse, Response

from console.adapters.gateway import ApiRefusal
from console.api.risk.common import CATEGORIES, IDENTIFY_RISK, bad_input, shown, written_at
from console.api.web import CurrentVisit, Visit, redirect
from console.domain.heatmap import SCALE

router = APIRouter(prefix="/risk")


@router.get("/register/new", response_class=HTMLResponse)
async def identify_form(visit: CurrentVisit) -> HTMLResponse:
    visit.require(IDENTIFY_RISK)
    return form_page(visit, {"category": "operational", "likelihood": "3", "impact": "3"})


def form_page(
    visit: Visit, typed: Mapping[str, str], error: ApiRefusal | None = None
) -> HTMLResponse:
    return visit.render(
        "risk/identify.html",
        status_code=error.status if error else 200,
        typed=typed,
        error=error,
        categories=CATEGORIES,
        scale=SCALE,
    )


@router.post("/register/new", response_model=None)
async def identify(visit: CurrentVisit) -> Response:
    visit.require(IDENTIFY_RISK)
    fields = await visit.form()
    try:
        answer = await visit.post("/risk/v1/risks", risk_body(visit, fields))
    except ApiRefusal as refusal:
        return form_page(visit, fields, shown(refusal))
    return redirect(f"/risk/risks/{answer['id']}{written_at(answer)}", visit)


def risk_body(visit: Visit, fields: Mapping[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {
        key: fields.get(key, "").strip() for key in ("title", "description", "category", "owner")
    }
    for key in ("likelihood", "impact"):
        text = fields.get(key, "")
        if not text.isdigit() or int(text) not in SCALE:
            raise bad_input(visit, visit.formats._("Choose a rating from 1 to 5."), key)
        body[key] = int(text)
    return body
