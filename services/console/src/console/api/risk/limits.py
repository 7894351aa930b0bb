"""Limits: the utilisation list (live), a limit with its versions, its pending change request
(approve or reject: four-eyes) and the form that requests a change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Path
from starlette.responses import HTMLResponse, Response

from console.adapters.gateway import ApiRefusal
from console.api.live import live_fragment
from console.api.risk.common import (
    APPROVE_LIMIT,
    LIMIT_UTILISATION,
    LIMIT_VERSIONS,
    LIST_LIMITS,
    READ_LIMIT,
    REJECT_LIMIT,
    REQUEST_LIMIT,
    REQUEST_LIMIT_CHANGE,
    UUID,
    after_write,
    shown,
    version_header,
    written_at,
)
from console.api.risk.limit_forms import DIMENSIONS, change_body, new_limit_body
from console.api.web import CurrentVisit, Visit, merge_query, redirect
from console.domain.limits import scope_of, utilisation_bar

router = APIRouter(prefix="/risk")

LimitId = Annotated[str, Path(pattern=UUID)]
UTILISATION_FILTERS = ("counterparty", "desk", "currency", "cursor")
# Limits awaiting a decision are read from the limit list, at most this many.
AWAITING_PAGE = 200


@live_fragment("limits")
async def limits_list(visit: Visit, params: Mapping[str, str]) -> str:
    """The limits with an approved version, each with its utilisation bar."""
    query: dict[str, Any] = {key: params.get(key) for key in UTILISATION_FILTERS}
    page = await visit.get("/risk/v1/reports/limit-utilisation", {**query, "limit": 50})
    limits = [(limit, utilisation_bar(limit)) for limit in page["items"]]
    return visit.fragment(
        "risk/_limits.html",
        limits=limits,
        scope_of=scope_of,
        next_cursor=page.get("next_cursor"),
        params=params,
    )


@router.get("/limits", response_class=HTMLResponse)
async def limits(visit: CurrentVisit) -> HTMLResponse:
    visit.require(LIMIT_UTILISATION)
    params = {k: v for k, v in visit.request.query_params.items() if k in UTILISATION_FILTERS}
    return await limits_page(visit, params)


async def limits_page(
    visit: Visit,
    params: Mapping[str, str],
    error: ApiRefusal | None = None,
    typed: Mapping[str, str] | None = None,
) -> HTMLResponse:
    calls = [limits_list(visit, params)]
    if visit.operator.may(LIST_LIMITS):
        calls.append(visit.get("/risk/v1/limits", {"limit": AWAITING_PAGE}))
    found = await visit.gather(*calls)
    listed = found[1]["items"] if len(found) > 1 else []
    awaiting = [item for item in listed if item.get("pending_request")]
    live_query = merge_query({k: v for k, v in params.items() if k != "cursor"})
    return visit.render(
        "risk/limits.html",
        status_code=error.status if error else 200,
        error=error,
        typed=typed or {"currency": "EUR", "dimension": "counterparty"},
        dimensions=DIMENSIONS,
        limits_html=found[0],
        awaiting=awaiting,
        scope_of=scope_of,
        params=params,
        live_query=live_query,
    )


@router.post("/limits", response_model=None)
async def request_limit(visit: CurrentVisit) -> Response:
    """A new limit: inactive until a second risk officer approves it."""
    visit.require(LIMIT_UTILISATION, REQUEST_LIMIT)
    fields = await visit.form()
    try:
        answer = await visit.post("/risk/v1/limits", new_limit_body(visit, fields))
    except ApiRefusal as refusal:
        return await limits_page(visit, {}, shown(refusal), fields)
    return redirect(f"/risk/limits/{answer['id']}{written_at(answer)}", visit)


@router.get("/limits/{limit_id}", response_class=HTMLResponse)
async def limit_detail(limit_id: LimitId, visit: CurrentVisit) -> HTMLResponse:
    visit.require(READ_LIMIT)
    return await limit_page(visit, limit_id)


async def limit_page(
    visit: Visit,
    limit_id: str,
    error: ApiRefusal | None = None,
    typed: Mapping[str, str] | None = None,
) -> HTMLResponse:
    fresh = after_write(visit)
    calls = [visit.get(f"/risk/v1/limits/{limit_id}", fresh)]
    if visit.operator.may(LIMIT_VERSIONS):
        calls.append(visit.get(f"/risk/v1/limits/{limit_id}/versions", fresh))
    found = await visit.gather(*calls)
    limit = found[0]
    versions = found[1]["versions"] if len(found) > 1 else []
    return visit.render(
        "risk/limit.html",
        status_code=error.status if error else 200,
        limit=limit,
        bar=utilisation_bar(limit),
        scope=scope_of(limit),
        versions=list(reversed(versions)),
        pending=limit.get("pending_request"),
        error=error,
        typed=typed or {},
    )


# Before the decision route below: its "{decision}" would take this path too.
@router.post("/limits/{limit_id}/change-requests", response_model=None)
async def request_change(limit_id: LimitId, visit: CurrentVisit) -> Response:
    """New terms for the limit; they apply once a second risk officer approves."""
    visit.require(REQUEST_LIMIT_CHANGE)
    fields = await visit.form()
    try:
        body = change_body(visit, fields)
    except ApiRefusal as refusal:
        return await limit_page(visit, limit_id, refusal, fields)
    try:
        answer = await visit.post(
            f"/risk/v1/limits/{limit_id}/change-requests", body, version_header(fields)
        )
    except ApiRefusal as refusal:
        return await limit_page(visit, limit_id, shown(refusal), fields)
    return redirect(f"/risk/limits/{limit_id}{written_at(answer)}", visit)


@router.post("/limits/{limit_id}/{decision}", response_model=None)
async def decide_limit(
    limit_id: LimitId,
    decision: Annotated[str, Path(pattern="^(approval|rejection)$")],
    visit: CurrentVisit,
) -> Response:
    """Approve or reject the pending request. Hidden from its requester for approval; the
    risk service refuses a requester's approval anyway (four-eyes), shown on the page."""
    visit.require(APPROVE_LIMIT if decision == "approval" else REJECT_LIMIT)
    fields = await visit.form()
    reason = fields.get("reason", "").strip()
    try:
        answer = await visit.post(
            f"/risk/v1/limits/{limit_id}/{decision}", {"reason": reason}, version_header(fields)
        )
    except ApiRefusal as refusal:
        return await limit_page(visit, limit_id, shown(refusal), {"decision_reason": reason})
    return redirect(f"/risk/limits/{limit_id}{written_at(answer)}", visit)
