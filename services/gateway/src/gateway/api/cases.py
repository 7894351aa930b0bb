"""``GET /cases/{correlation_id}``: one business case across every service, in order.

The gateway's own route (not forwarded): the timeline is the gateway's read model. It needs a
log-in (or an API key) like every route; who sees which case is decided by
``domain/cases.py``, and a case the caller may not see answers 404 like an unknown one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from gateway.api.deps import CallerIdentity, GatewayDep
from gateway.app.cases import MAX_PAGE

router = APIRouter(
    prefix="/cases",
    tags=["cases"],
    responses={
        401: {"description": "No valid access token or API key"},
        404: {"description": "No such case, or one the caller may not see"},
    },
)

CorrelationId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=200,
        # Ids are printable ASCII without blanks (a NUL byte could not even be looked up) and
        # without "%": in a path it begins an escape, so the id's own text would name another.
        pattern=r"^[!-$&-~]+$",
        description="The case: the request id (X-Request-Id) of the request that started it",
    ),
]


class CaseStarterView(BaseModel):
    subject: str = Field(description="Who made the case's first event")
    office: str


class CaseEventView(BaseModel):
    event_id: UUID
    time: datetime = Field(description="When the service recorded the event (UTC)")
    service: str
    type: str = Field(description="The event type without its version, e.g. risk.DealRefused")
    subject: str = Field(description="The stream (aggregate) the event belongs to")
    stream_type: str = Field(description="What kind of stream: journal_entry, ticket, limit, ...")
    actor: str
    office: str
    summary: str
    causation_id: str = Field(description="The request or event that caused this one")
    internal: bool = Field(
        description="A detail of the back office's work; only callers who see every case get it"
    )


class CaseView(BaseModel):
    correlation_id: str
    started_by: CaseStarterView
    started_at: datetime
    events: list[CaseEventView] = Field(
        description="In order of time; events of one service in the order it recorded them"
    )
    next_after: UUID | None = Field(
        description="Pass as ``after`` for the next page; null on the last page"
    )


@router.get("/{correlation_id}", response_model=CaseView)
async def get_case(
    correlation_id: CorrelationId,
    identity: CallerIdentity,
    gateway: GatewayDep,
    after: Annotated[
        UUID | None, Query(description="The last event id of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> CaseView:
    """Every event of every service in one business case, with who did it, from which office,
    and a summary. Back office and auditors see every case; the front office, administrators
    and systems only the cases they started, without the back office's internal events."""
    page = await gateway.cases.case(identity, correlation_id, after, limit)
    return CaseView(
        correlation_id=page.correlation_id,
        started_by=CaseStarterView(subject=page.started_by.subject, office=page.started_by.office),
        started_at=page.started_at,
        events=[
            CaseEventView(
                event_id=e.event_id,
                time=e.time,
                service=e.service,
                type=e.type,
                subject=e.subject,
                stream_type=e.stream_type,
                actor=e.actor,
                office=e.office,
                summary=e.summary,
                causation_id=e.causation_id,
                internal=e.internal,
            )
            for e in page.events
        ],
        next_after=page.next_after,
    )
