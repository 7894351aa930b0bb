"""A ticket: its facts, SLA countdown, conversation (public replies and internal notes, visibly
apart, refreshed live), history, links and case, with the forms of the actions the operator may
take on it now (they post to ``actions``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.responses import HTMLResponse

from console.adapters.gateway import ApiRefusal
from console.api.live import live_fragment
from console.api.tickets.queue import queues_of
from console.api.tickets.views import (
    EVENT_LABEL,
    LEVEL_LABEL,
    LINK_LABEL,
    PRIORITY_LABEL,
    STATUS_LABEL,
    TRANSITION_LABEL,
    TYPE_LABEL,
    case_of,
    clock_rows,
    ticket_row,
)
from console.api.web import CurrentVisit, Visit
from console.domain.tickets import (
    CONVERSATION,
    HISTORY,
    LEVELS,
    LINK_KINDS,
    READ,
    actions_for,
)

router = APIRouter()

# The tickets API's id pattern: a bad id is a 422 here, never a path that reaches elsewhere.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$"
TicketId = Annotated[str, Path(pattern=ID_PATTERN)]


async def ticket_page(
    visit: Visit,
    ticket_id: str,
    *,
    min_position: int | None = None,
    error: dict[str, Any] | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The ticket as the API shows it to this operator, read at ``min_position`` if given."""
    visit.require(READ)
    operator = visit.operator
    consistent = {"min_position": min_position} if min_position is not None else None
    path = f"/tickets/v1/tickets/{ticket_id}"
    # One round of calls in parallel: the page's time is its slowest call.
    ticket, conversation, history, queues = await visit.gather(
        visit.get(path, consistent),
        _maybe(operator.may(CONVERSATION), visit.get(f"{path}/conversation", consistent)),
        _maybe(operator.may(HISTORY), visit.get(f"{path}/history")),
        queues_of(visit),
    )
    queue = next((q for q in queues if q["queue_id"] == ticket["queue_id"]), None)
    messages = conversation["items"] if conversation else []
    events = history["items"] if history else []
    now = datetime.now(UTC)
    row = ticket_row(visit.formats, ticket, now)
    actions = actions_for(operator, ticket)
    return visit.render(
        "tickets/detail.html",
        status_code=status_code,
        ticket=row,
        clocks=clock_rows(visit.formats, row["sla"], now),
        conversation_html=conversation_fragment(visit, messages),
        events=events,
        case_id=case_of(events),
        queue=queue,
        members=[m["member"] for m in (queue or {}).get("members", [])],
        actions=actions,
        error=error,
        typed=typed or {},
        levels=LEVELS,
        link_kinds=LINK_KINDS,
        labels={
            "status": STATUS_LABEL,
            "priority": PRIORITY_LABEL,
            "level": LEVEL_LABEL,
            "transition": TRANSITION_LABEL,
            "type": TYPE_LABEL,
            "link": LINK_LABEL,
            "event": EVENT_LABEL,
        },
    )


def conversation_fragment(visit: Visit, messages: list[dict[str, Any]]) -> str:
    """Replies and notes, oldest first; a note is marked so that no one mistakes it for a
    reply the requester read."""
    if visit.operator.front_office:
        # The API leaves internal notes out for the front office; never show one regardless.
        messages = [m for m in messages if not m.get("internal")]
    return visit.fragment("tickets/_conversation.html", messages=messages)


@live_fragment("ticket-conversation")
async def live_conversation(visit: Visit, params: Mapping[str, str]) -> str:
    """The conversation of ``ticket_id``, live: the requester sees a reply arrive."""
    ticket_id = params.get("ticket_id", "")
    if not re.fullmatch(ID_PATTERN, ticket_id):
        raise ApiRefusal(
            422,
            visit.formats._("Refused"),
            f"{ticket_id!r} is not a ticket id",
            code="InvalidInput",
        )
    visit.require(CONVERSATION)
    answer = await visit.get(f"/tickets/v1/tickets/{ticket_id}/conversation")
    return conversation_fragment(visit, list(answer["items"]))


async def _maybe(allowed: bool, call: Any) -> Any:
    if not allowed:
        call.close()  # never awaited: close the coroutine instead of leaking a warning
        return None
    return await call


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
async def ticket(
    ticket_id: TicketId,
    visit: CurrentVisit,
    min_position: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
) -> HTMLResponse:
    return await ticket_page(visit, ticket_id, min_position=min_position)
