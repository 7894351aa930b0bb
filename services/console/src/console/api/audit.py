"""Audit: the search of the gateway's decision records (who called what, allowed or denied).

For auditors and administrators (``GET /audit/v1/decisions``). The filters are a GET form, so a
search is a link an auditor can keep; a filter the API does not accept comes back as its 422,
shown next to the form with the filters as typed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import HTMLResponse

from console.adapters.gateway import ApiRefusal
from console.api.web import CurrentVisit
from console.domain.audit import api_filters, typed_filters

router = APIRouter()

SEARCH = "GET /audit/v1/decisions"
READ_CASE = "GET /cases/{correlation_id}"
PAGE_SIZE = 50


@router.get("/audit", response_class=HTMLResponse)
async def audit_search(
    visit: CurrentVisit,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    visit.require(SEARCH)
    typed = typed_filters(visit.request.query_params)
    query = {**api_filters(typed, visit.console.timezone), "limit": PAGE_SIZE, "cursor": cursor}
    try:
        page = await visit.get("/audit/v1/decisions", query)
    except ApiRefusal as refusal:
        if not 400 <= refusal.status < 500 or refusal.status in (401, 403):
            raise
        return visit.render(
            "audit/search.html",
            status_code=refusal.status,
            filters=typed,
            error=refusal,
            decisions=[],
            next_cursor=None,
            cursor=cursor,
            cases=False,
        )
    return visit.render(
        "audit/search.html",
        filters=typed,
        error=None,
        decisions=page["items"],
        next_cursor=page.get("next_cursor"),
        cursor=cursor,
        cases=visit.operator.may(READ_CASE),
    )
