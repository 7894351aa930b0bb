"""A ticket: its facts, SLA countdown, conversation (public replies and internal notes, visibly
apart), history, links and case, with the actions the operator may take on it now.

Each action is a small form that posts here; the handler sends it to the API with the
operator's token and, on success, redirects back to the ticket read at the write's position
(so the page shows what was just done). A refusal re-renders the ticket with the reason and the
typed text kept, with the refusal's status.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.responses import HTMLResponse, Response

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
from console.api.web import CurrentVisit, Visit, redirect
from console.domain.tickets import (
    ASSIGN,
    CLASSIFY,
    CONVERSATION,
    HISTORY,
    LEVELS,
    LINK,
    LINK_KINDS,
    NOTE,
    RATE,
    READ,
    REPLY,
    TRANSITION,
    actions_for,
)

router = APIRouter()

# The tickets API's id pattern: a bad id is a 422 here, never a path that reaches elsewhere.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$"
TicketId = Annotated[str, Path(pattern=ID_PATTERN)]


class Unfit(Exception):
    """A form the console cannot send as it is (a required field is empty)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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


async def act(
    visit: Visit,
    ticket_id: str,
    route: str,
    api_path: str,
    body: dict[str, Any],
    fields: dict[str, str],
    *,
    form: str,
    if_match: bool = False,
) -> Response:
    """Send one action to the API; back to the ticket, or the ticket with the refusal."""
    visit.require(READ, route)
    headers = {}
    version = fields.get("version", "")
    if if_match and version.isdigit():
        # The decision was taken on this version: a change meanwhile is refused (412), not
        # silently overridden.
        headers["If-Match"] = version
    try:
        written = await visit.post(f"/tickets/v1/tickets/{ticket_id}/{api_path}", body, headers)
    except ApiRefusal as refusal:
        if refusal.status == 401:
            raise
        return await _refused(visit, ticket_id, refusal, fields, form)
    return redirect(f"/tickets/{ticket_id}?min_position={int(written['position'])}", visit)


async def _refused(
    visit: Visit, ticket_id: str, refusal: ApiRefusal, fields: dict[str, str], form: str
) -> HTMLResponse:
    error = {
        "title": refusal.title,
        "detail": refusal.detail,
        "code": refusal.code,
        "errors": refusal.errors,
        "form": form,
    }
    status = refusal.status if 400 <= refusal.status < 500 else 502
    return await ticket_page(
        visit, ticket_id, error=error, typed={**fields, "form": form}, status_code=status
    )


async def _unfit(
    visit: Visit, ticket_id: str, fields: dict[str, str], form: str, message: str
) -> HTMLResponse:
    error = {"title": visit.formats._("Not sent"), "detail": message, "form": form}
    return await ticket_page(
        visit, ticket_id, error=error, typed={**fields, "form": form}, status_code=422
    )


def required(visit: Visit, fields: dict[str, str], name: str, what: str) -> str:
    value = fields.get(name, "").strip()
    if not value:
        raise Unfit(visit.formats._("Please fill in: {what}.").format(what=visit.formats._(what)))
    return value


@router.post("/tickets/{ticket_id}/reply")
async def reply(ticket_id: TicketId, visit: CurrentVisit) -> Response:
    fields = await visit.form()
    try:
        body = required(visit, fields, "body", "Reply")
    except Unfit as unfit:
        return await _unfit(visit, ticket_id, fields, "reply", unfit.message)
    return await act(visit, ticket_id, REPLY, "replies", {"body": body}, fields, form="reply")


@router.post("/tickets/{ticket_id}/note")
async def note(ticket_id: TicketId, visit: CurrentVisit) -> Response:
    fields = await visit.form()
    try:
        body = required(visit, fields, "body", "Internal note")
    except Unfit as unfit:
        return await _unfit(visit, ticket_id, fields, "note", unfit.message)
    return await act(visit, ticket_id, NOTE, "notes", {"body": body}, fields, form="note")


@router.post("/tickets/{ticket_id}/assignment")
async def assignment(ticket_id: TicketId, visit: CurrentVisit) -> Response:
    """Take it (no assignee) or assign it to a member of its queue."""
    fields = await visit.form()
    assignee = fields.get("assignee", "").strip()
    body = {"assignee": assignee} if assignee else {}
    return await act(
        visit, ticket_id, ASSIGN, "assignment", body, fields, form="assign", if_match=True
    )


@router.post("/tickets/{ticket_id}/transition")
async def transition(ticket_id: TicketId, visit: CurrentVisit) -> Response:
    fields = await visit.form()
    try:
        to = required(visit, fields, "to", "New status")
        reason = required(visit, fields, "reason", "Reason")
    except Unfit as unfit:
        return await _unfit(visit, ticket_id, fields, "transition", unfit.message)
    body: dict[str, Any] = {"to": to, "reason": reason}
    if fields.get("resolve_linked_incidents"):
        body["resolve_linked_incidents"] = True
    return await act(
        visit, ticket_id, TRANSITION, "transitions", body, fields, form="transition", if_match=True
    )


@router.post("/tickets/{ticket_id}/classification")
async def classification(ticket_id: TicketId, visit: CurrentVisit) -> Response:
    fields = await visit.form()
    try:
        reason = required(visit, fields, "reason", "Reason")
        levels = {name: _level(visit, fields, name) for name in ("impact", "urgency")}
    except Unfit as unfit:
        return await _unfit(visit, ticket_id, fields, "classify", unfit.message)
    body: dict[str, Any] = {"reason": reason, **{k: v for k, v in levels.items() if v}}
    return await act(
        visit, ticket_id, CLASSIFY, "classification", body, fields, form="classify", if_match=True
    )


def _level(visit: Visit, fields: dict[str, str], name: str) -> int | None:
    value = fields.get(name, "").strip()
    if not value:
        return None
    if value not in {"1", "2", "3", "4"}:
        raise Unfit(visit.formats._("Impact and urgency are 1 (highest) to 4 (lowest)."))
    return int(value)


@router.post("/tickets/{ticket_id}/link")
async def link(ticket_id: TicketId, visit: CurrentVisit) -> Response:
    fields = await visit.form()
    try:
        kind = required(visit, fields, "kind", "Kind of link")
        target = required(visit, fields, "target_id", "Other ticket")
    except Unfit as unfit:
        return await _unfit(visit, ticket_id, fields, "link", unfit.message)
    # A pasted console address of the other ticket works as well as its id.
    target = target.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    body = {"kind": kind, "target_id": target}
    return await act(visit, ticket_id, LINK, "links", body, fields, form="link")


@router.post("/tickets/{ticket_id}/rating")
async def rating(ticket_id: TicketId, visit: CurrentVisit) -> Response:
    fields = await visit.form()
    value = fields.get("rating", "").strip()
    if value not in {"1", "2", "3", "4", "5"}:
        message = visit.formats._("Please choose a rating from 1 to 5.")
        return await _unfit(visit, ticket_id, fields, "rate", message)
    body = {"rating": int(value), "comment": fields.get("comment", "").strip()}
    return await act(visit, ticket_id, RATE, "rating", body, fields, form="rate")
