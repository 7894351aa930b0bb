"""``GET /audit/v1/decisions``: search the gateway's decisions (the audit trail), newest first.

The gateway's own route (not forwarded): the audit read model is the gateway's
(``projections/audit_decisions.py``). Open to auditors and administrators only
(``domain/own_routes.py``), a system holding one of those roles included; anyone else gets 403.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from shared_kernel.web import refuse_control_characters

from gateway.api.deps import AuditorIdentity, GatewayDep
from gateway.app.decisions import RecordedDecision
from gateway.domain.decision_search import (
    DEFAULT_PAGE,
    HIGHEST_STATUS,
    LOWEST_STATUS,
    MAX_PAGE,
    MAX_PATH,
    MAX_TEXT,
    DecisionSearch,
)

router = APIRouter(
    prefix="/audit/v1",
    tags=["audit"],
    # A NUL or other control character in a filter is a 422 naming it, never a database error.
    dependencies=[Depends(refuse_control_characters)],
    responses={
        401: {"description": "No valid access token or API key"},
        403: {"description": "The caller holds neither the auditor nor the admin role"},
    },
)


class DecisionView(BaseModel):
    id: UUID = Field(description="The audit record's id")
    time: datetime = Field(description="When the gateway answered (UTC)")
    subject: str = Field(description="Who called: a username, a system, or 'anonymous'")
    subject_kind: str = Field(description="user, system or anonymous")
    office: str
    roles: list[str]
    method: str
    route: str = Field(description="The route template, e.g. /ledger/v1/accounts/{account_id}")
    path: str = Field(description="The path as sent")
    target: str | None = Field(description="What a command of the gateway acted on, if any")
    status: int = Field(description="The HTTP status of the answer")
    outcome: Literal["allow", "deny"]
    reason: str = Field(description="Why: the policy's or the problem's code, e.g. RoleMissing")
    client: str = Field(description="The address of the connection's peer")
    forwarded_client: str | None = Field(description="The client a trusted proxy named")
    request_id: str = Field(description="The gateway's request id (X-Request-Id)")
    client_request_id: str | None = Field(description="The request id the client sent")


class DecisionList(BaseModel):
    items: list[DecisionView] = Field(description="Newest first")
    next_cursor: str | None = Field(
        description="Pass as ``cursor`` (with the same filters) for the next page; null on the "
        "last page"
    )


@router.get(
    "/decisions",
    response_model=DecisionList,
    responses={422: {"description": "A filter, the limit or the cursor is not usable"}},
)
async def search_decisions(
    _: AuditorIdentity,
    gateway: GatewayDep,
    subject: Annotated[
        str | None, Query(max_length=MAX_TEXT, description="Exactly this caller")
    ] = None,
    outcome: Annotated[Literal["allow", "deny"] | None, Query()] = None,
    status: Annotated[
        int | None,
        Query(ge=LOWEST_STATUS, le=HIGHEST_STATUS, description="The HTTP status answered"),
    ] = None,
    path_prefix: Annotated[
        str | None,
        Query(max_length=MAX_PATH, description="Paths starting with this, e.g. /ledger/"),
    ] = None,
    request_id: Annotated[
        str | None,
        Query(max_length=MAX_TEXT, description="The gateway's or the client's request id"),
    ] = None,
    since: Annotated[
        datetime | None, Query(description="From this time on (inclusive), with a UTC offset")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="Before this time (exclusive), with a UTC offset")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[
        str | None, Query(max_length=MAX_TEXT, description="next_cursor of the previous page")
    ] = None,
) -> DecisionList:
    """The gateway's decisions about requests (one per request, allowed or denied), newest
    first, filtered. Records appear about a second after the request was answered."""
    search = DecisionSearch.of(
        subject=subject,
        outcome=outcome,
        status=status,
        path_prefix=path_prefix,
        request_id=request_id,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )
    page = await gateway.decisions.search(search)
    return DecisionList(items=[_view(d) for d in page.items], next_cursor=page.next_cursor)


def _view(decision: RecordedDecision) -> DecisionView:
    return DecisionView(
        id=decision.record_id,
        time=decision.time,
        subject=decision.subject,
        subject_kind=decision.subject_kind,
        office=decision.office,
        roles=list(decision.roles),
        method=decision.method,
        route=decision.route,
        path=decision.path,
        target=decision.target,
        status=decision.status,
        outcome=decision.outcome,
        reason=decision.reason,
        client=decision.client,
        forwarded_client=decision.forwarded_client,
        request_id=decision.request_id,
        client_request_id=decision.client_request_id,
    )
