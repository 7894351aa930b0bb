"""The actions on a ticket, each a small form posted here: the handler sends it to the API with
the operator's token and, on success, redirects back to the ticket read at the write's position
(so the page shows what was just done). A refusal re-renders the ticket with the reason and the
typed text kept, with the refusal's status (4xx); a required field left empty is asked for
again (422) before anything is sent.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import HTMLResponse, Response

from console.adapters.gateway import ApiRefusal
from console.api.tickets.detail import TicketId, ticket_page
from console.api.web import CurrentVisit, Visit, redirect
from console.domain.tickets import (
    ASSIGN,
    CLASSIFY,
    LINK,
    MERGE,
    NOTE,
    RATE,
    READ,
    REPLY,
    TRANSITION,
)

router = APIRouter()


class Unfit(Exception):
    """A form the console cannot send as it is (a required field is empty)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
    body = {"kind": kind, "target_id": ticket_id_of(target)}
    return await act(visit, ticket_id, LINK, "links", body, fields, form="link")


def ticket_id_of(typed: str) -> str:
    """A ticket's id, or the id in a pasted console address of it (``/tickets/<id>?...``)."""
    return typed.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]


@router.post("/tickets/{ticket_id}/merge")
async def merge(ticket_id: TicketId, visit: CurrentVisit) -> Response:
    """This ticket duplicates another: the API closes it and points it to the survivor."""
    fields = await visit.form()
    try:
        survivor = required(visit, fields, "survivor_id", "Surviving ticket")
        reason = required(visit, fields, "reason", "Reason")
    except Unfit as unfit:
        return await _unfit(visit, ticket_id, fields, "merge", unfit.message)
    body = {"survivor_id": ticket_id_of(survivor), "reason": reason}
    return await act(visit, ticket_id, MERGE, "merge", body, fields, form="merge", if_match=True)


@router.post("/tickets/{ticket_id}/rating")
async def rating(ticket_id: TicketId, visit: CurrentVisit) -> Response:
    fields = await visit.form()
    value = fields.get("rating", "").strip()
    if value not in {"1", "2", "3", "4", "5"}:
        message = visit.formats._("Please choose a rating from 1 to 5.")
        return await _unfit(visit, ticket_id, fields, "rate", message)
    body = {"rating": int(value), "comment": fields.get("comment", "").strip()}
    return await act(visit, ticket_id, RATE, "rating", body, fields, form="rate")
