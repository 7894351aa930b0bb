"""The Tickets section: the queue, opening a ticket, and a ticket with its conversation."""

from __future__ import annotations

from fastapi import APIRouter

from console.api.tickets import actions, detail, opening, queue

router = APIRouter()
# /tickets/new before /tickets/{ticket_id}: the first route that matches answers.
for part in (queue.router, opening.router, detail.router, actions.router):
    router.include_router(part)
