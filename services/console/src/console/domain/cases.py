"""A case's events as the console shows them: in words, linked to the record they are about.

A case event names its stream (``stream_type`` and ``subject``, the aggregate's id); some kinds
of record have a page of their own in the console. A link is offered only when the operator may
read that record through the API, so that a trader's case does not link to a journal entry the
trader would only be refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from console.domain.operator import Operator


@dataclass(frozen=True)
class RecordPage:
    """The console page of one kind of record, and the API route that page reads."""

    label: str
    href: str  # with {id}
    reads: str  # "METHOD /path" as in the operator's permissions


RECORD_PAGES: dict[str, RecordPage] = {
    "journal_entry": RecordPage(
        "Journal entry", "/ledger/journal/{id}", "GET /ledger/v1/journal-entries/{entry_id}"
    ),
    "booking_request": RecordPage(
        "Booking request",
        "/ledger/booking-requests/{id}",
        "GET /ledger/v1/booking-requests/{request_id}",
    ),
    "ticket": RecordPage("Ticket", "/tickets/{id}", "GET /tickets/v1/tickets/{ticket_id}"),
    "risk": RecordPage("Risk", "/risk/risks/{id}", "GET /risk/v1/risks/{risk_id}"),
    "limit": RecordPage("Limit", "/risk/limits/{id}", "GET /risk/v1/limits/{limit_id}"),
}


@dataclass(frozen=True)
class RecordLink:
    label: str
    href: str


def record_link(operator: Operator, stream_type: str, subject: str) -> RecordLink | None:
    """The link to the record an event is about, or None when the console has no page for
    that kind of record or the operator may not read it."""
    page = RECORD_PAGES.get(stream_type)
    if page is None or not subject or not operator.may(page.reads):
        return None
    return RecordLink(page.label, page.href.format(id=quote(subject, safe="")))


def event_name(event_type: str) -> str:
    """``ledger.BookingRequestSubmitted`` -> "Booking request submitted" (the type without
    its service, in words; the exact type stays on the page for those who search for it)."""
    name = event_type.rsplit(".", 1)[-1]
    words = re.findall(r"[A-Z]+(?=[A-Z][a-z]|$)|[A-Z]?[a-z0-9]+|[A-Z]+", name)
    if not words:
        return event_type
    text = " ".join(word if word.isupper() and len(word) > 1 else word.lower() for word in words)
    return text[:1].upper() + text[1:]
