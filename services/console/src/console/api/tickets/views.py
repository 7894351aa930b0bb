"""What the tickets pages show of the API's answers: rows with their SLA standing, durations
in the reader's words, and labels for the API's codes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from babel.dates import format_timedelta

from console.api.i18n import NOTHING, Formats
from console.domain.sla import Standing, TicketSla, instant, ticket_sla

BADGE_KIND = {
    Standing.BREACHED: "bad",
    Standing.AT_RISK: "warn",
    Standing.ON_TIME: "ok",
    Standing.PAUSED: "muted",
    Standing.MET: "info",
}
STANDING_LABEL = {
    Standing.BREACHED: "Breached",
    Standing.AT_RISK: "At risk",
    Standing.ON_TIME: "On time",
    Standing.PAUSED: "Paused",
    Standing.MET: "Met",
}
PRIORITY_LABEL = {1: "Critical", 2: "High", 3: "Medium", 4: "Low"}
LEVEL_LABEL = {1: "Very high", 2: "High", 3: "Medium", 4: "Low"}
CLOCK_LABEL = {"first_response": "First response", "resolution": "Resolution"}
STATUS_LABEL = {
    "new": "New",
    "open": "Open",
    "pending": "Pending",
    "resolved": "Resolved",
    "closed": "Closed",
    "cancelled": "Cancelled",
}
# The button that moves a ticket to a status.
TRANSITION_LABEL = {
    "new": "Back to new",
    "open": "Set open",
    "pending": "Set pending",
    "resolved": "Resolve",
    "closed": "Close",
    "cancelled": "Cancel ticket",
}
TYPE_LABEL = {"incident": "Incident", "service_request": "Service request", "problem": "Problem"}
LINK_LABEL = {
    "parent_of": "Parent of",
    "child_of": "Child of",
    "caused_by": "Caused by",
    "duplicate_of": "Duplicate of",
}
EVENT_LABEL = {
    "tickets.TicketOpened": "Opened",
    "tickets.TicketClassified": "Reclassified",
    "tickets.TicketPriorityChanged": "Priority changed",
    "tickets.TicketStatusChanged": "Status changed",
    "tickets.TicketAssigned": "Assigned",
    "tickets.TicketReplied": "Replied",
    "tickets.TicketNoteAdded": "Internal note",
    "tickets.TicketLinked": "Linked",
    "tickets.TicketMerged": "Merged",
    "tickets.TicketDuplicateAbsorbed": "Duplicate merged in",
    "tickets.AlertRecorded": "Monitoring alert",
    "tickets.SlaWarningRaised": "SLA warning",
    "tickets.SlaBreached": "SLA breached",
    "tickets.TicketEscalated": "Escalated",
    "tickets.TicketRated": "Rated",
}


def duration(formats: Formats, delta: timedelta) -> str:
    """A span in the reader's words, short ("2 hrs", "2 Std.")."""
    return format_timedelta(
        abs(delta), granularity="minute", threshold=1.5, format="short", locale=formats.babel_locale
    )


def time_left(formats: Formats, left: timedelta | None) -> str:
    """ "2 hrs left" or "35 mins overdue" (nothing when the clock does not run)."""
    if left is None:
        return NOTHING
    if left < timedelta(0):
        return formats._("{time} overdue").format(time=duration(formats, left))
    return formats._("{time} left").format(time=duration(formats, left))


def ticket_row(formats: Formats, ticket: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """One ticket of a list with its SLA standing and age, ready for the template."""
    sla = ticket_sla(ticket, now)
    opened = instant(ticket.get("opened_at"))
    return {
        **ticket,
        "sla": sla,
        "standing": sla.standing.value,
        "badge_kind": BADGE_KIND[sla.standing],
        "badge_text": formats._(STANDING_LABEL[sla.standing]),
        "left": time_left(formats, sla.left(now)),
        "age": duration(formats, now - opened) if opened else NOTHING,
    }


def clock_rows(formats: Formats, sla: TicketSla, now: datetime) -> list[dict[str, Any]]:
    """The SLA countdown of a ticket: per clock its deadline, time left and how much of the
    span is used (for a ``<meter>``)."""
    rows = []
    for clock in sla.clocks:
        standing = clock.standing(now, sla.standing is Standing.PAUSED)
        used = None
        if clock.due_at is not None:
            span = (clock.due_at - clock.started_at).total_seconds()
            spent = (now - clock.started_at).total_seconds()
            used = 100 if span <= 0 else max(0, min(100, round(100 * spent / span)))
        rows.append(
            {
                "name": clock.name,
                "label": formats._(CLOCK_LABEL[clock.name]),
                "due_at": clock.due_at,
                "left": time_left(formats, clock.left(now)),
                "used": used,
                "badge_kind": BADGE_KIND[standing],
                "badge_text": formats._(STANDING_LABEL[standing]),
            }
        )
    return rows


def queue_names(queues: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    return {str(q["queue_id"]): str(q["name"]) for q in queues}


def members_of(queues: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every member of the queues, once, sorted (the assignee filter's choices)."""
    return sorted({str(m["member"]) for q in queues for m in q.get("members", [])})


def case_of(history: list[Mapping[str, Any]]) -> str | None:
    """The ticket's case: the correlation id of its first event (what opened it)."""
    return str(history[0]["correlation_id"]) if history else None
