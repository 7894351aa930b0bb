"""The pre-deal check: would a deal fit the limits it counts under? The front office asks it
before dealing; the answer changes nothing (a check, not a reservation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter
from starlette.responses import HTMLResponse

from console.adapters.gateway import ApiRefusal
from console.api.risk.common import PRE_DEAL_CHECK, bad_input, shown
from console.api.web import CurrentVisit, Visit
from console.domain.limits import shortfalls
from console.domain.money import AmountNotUnderstood

router = APIRouter(prefix="/risk")

CURRENCIES = ("EUR", "USD", "GBP", "CHF", "JPY")


@router.get("/pre-deal-check", response_class=HTMLResponse)
async def pre_deal_form(visit: CurrentVisit) -> HTMLResponse:
    visit.require(PRE_DEAL_CHECK)
    return visit.render(
        "risk/pre_deal.html", typed={"currency": "EUR"}, answer=None, currencies=CURRENCIES
    )


@router.post("/pre-deal-check", response_class=HTMLResponse)
async def pre_deal_check(visit: CurrentVisit) -> HTMLResponse:
    visit.require(PRE_DEAL_CHECK)
    fields = await visit.form()
    answer = None
    error = None
    short: dict[str, int] = {}
    try:
        body = check_body(visit, fields)
        answer = await visit.post("/risk/v1/pre-deal-checks", body)
        short = shortfalls(answer.get("limits", []), body["amount"])
    except ApiRefusal as refusal:
        error = shown(refusal)
    return visit.render(
        "risk/pre_deal.html",
        status_code=error.status if error else 200,
        typed=fields,
        answer=answer,
        shortfalls=short,
        error=error,
        currencies=CURRENCIES,
    )


def check_body(visit: Visit, fields: Mapping[str, str]) -> dict[str, Any]:
    currency = fields.get("currency", "").strip().upper()
    counterparty = fields.get("counterparty", "").strip()
    desk = fields.get("desk", "").strip()
    if not counterparty and not desk:
        raise bad_input(
            visit, visit.formats._("Name a counterparty, a desk, or both."), "counterparty"
        )
    try:
        amount = visit.formats.parse_amount(fields.get("amount", ""), currency)
    except AmountNotUnderstood as failure:
        raise bad_input(visit, str(failure), "amount") from failure
    body: dict[str, Any] = {"currency": currency, "amount": amount}
    if counterparty:
        body["counterparty"] = counterparty
    if desk:
        body["desk"] = desk
    return body
