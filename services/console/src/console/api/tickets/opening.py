"""Opening a ticket (front office and IT support): the form, and the POST that sends it with
an Idempotency-Key made when the form was shown, so that a double click opens one ticket."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from starlette.responses import HTMLResponse, Response

from console.adapters.gateway import ApiRefusal
from console.api.tickets.queue import queues_of
from console.api.tickets.views import LEVEL_LABEL, TYPE_LABEL
from console.api.web import CurrentVisit, Visit, redirect
from console.domain.tickets import LEVELS, OPEN, TICKET_TYPES

router = APIRouter()

OPTIONAL_TEXTS = ("description", "category", "configuration_item")


async def form_page(
    visit: Visit,
    typed: dict[str, str] | None = None,
    error: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    typed = typed or {}
    return visit.render(
        "tickets/new.html",
        status_code=status_code,
        typed=typed,
        error=error,
        queues=await queues_of(visit),
        ticket_types=TICKET_TYPES,
        type_labels=TYPE_LABEL,
        levels=LEVELS,
        level_labels=LEVEL_LABEL,
        # One key per form shown: a double click, or a resend after the console refused an
        # incomplete form (nothing was sent), opens one ticket.
        idempotency_key=typed.get("idempotency_key") or str(uuid.uuid4()),
    )


@router.get("/tickets/new", response_class=HTMLResponse)
async def new_ticket(visit: CurrentVisit) -> HTMLResponse:
    visit.require(OPEN)
    return await form_page(visit)


def ticket_body(fields: dict[str, str]) -> dict[str, Any] | str:
    """The API's body from the form, or what is missing (the API checks the rest)."""
    title = fields.get("title", "").strip()
    if not title:
        return "Please give the ticket a title."
    levels = {}
    for name in ("impact", "urgency"):
        value = fields.get(name, "")
        if value not in {"1", "2", "3", "4"}:
            return "Impact and urgency are 1 (highest) to 4 (lowest)."
        levels[name] = int(value)
    body: dict[str, Any] = {
        "ticket_type": fields.get("ticket_type", ""),
        "title": title,
        **levels,
    }
    if fields.get("queue_id"):
        body["queue_id"] = fields["queue_id"]
    for name in OPTIONAL_TEXTS:
        value = fields.get(name, "").strip()
        if value:
            body[name] = value
    return body


@router.post("/tickets/new")
async def open_ticket(visit: CurrentVisit) -> Response:
    visit.require(OPEN)
    fields = await visit.form()
    body = ticket_body(fields)
    if isinstance(body, str):
        unfit = {"title": visit.formats._("Not sent"), "detail": visit.formats._(body)}
        return await form_page(visit, fields, unfit, 422)
    # A refused form gets a fresh key once corrected: the API would refuse the same key with a
    # different body.
    key = fields.get("idempotency_key") or str(uuid.uuid4())
    try:
        written = await visit.post("/tickets/v1/tickets", body, {"Idempotency-Key": key})
    except ApiRefusal as refusal:
        if refusal.status == 401:
            raise
        error: dict[str, Any] = {
            "title": refusal.title,
            "detail": refusal.detail,
            "code": refusal.code,
            "errors": refusal.errors,
        }
        status = refusal.status if 400 <= refusal.status < 500 else 502
        return await form_page(visit, {**fields, "idempotency_key": ""}, error, status)
    return redirect(f"/tickets/{written['id']}?min_position={int(written['position'])}", visit)
