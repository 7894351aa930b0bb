"""My work's rules, pure: what state a requester sees of a booking request, and how much time a
ticket has left before its service level is missed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Tone = Literal["info", "warn", "ok", "bad", "muted"]
SlaState = Literal["on_time", "at_risk", "breached", "stopped"]

# A ticket in one of these states waits for nobody.
FINISHED_TICKETS = frozenset({"resolved", "closed", "cancelled"})


@dataclass(frozen=True)
class RequestState:
    """A booking request as its submitter follows it: one state, how alarming it is, and the
    reason when risk refused it or the back office rejected it."""

    key: str
    label: str  # English; the template translates it
    tone: Tone
    reason: str | None = None

    @property
    def decided(self) -> bool:
        return self.key in {"approved", "rejected", "expired"}


def request_state(request: Mapping[str, Any]) -> RequestState:
    """The submitter's view of a request: a pending deal waits for risk's clearance first,
    then for a second person of the back office; a refused deal cannot be approved."""
    status = str(request.get("status", ""))
    clearance = request.get("clearance") or {}
    if status == "approved":
        return RequestState("approved", "Approved", "ok")
    if status == "rejected":
        return RequestState("rejected", "Rejected", "bad", request.get("reason"))
    if status == "expired":
        return RequestState("expired", "Expired", "muted")
    cleared = clearance.get("status")
    if cleared == "awaiting":
        return RequestState("awaiting_clearance", "Awaiting risk clearance", "info")
    if cleared == "refused":
        reason = clearance.get("reason") or clearance.get("code")
        return RequestState("refused", "Refused by risk", "bad", reason)
    if cleared == "cleared":
        return RequestState("cleared", "Cleared, awaiting approval", "warn")
    return RequestState("awaiting_approval", "Awaiting approval", "warn")


@dataclass(frozen=True)
class SlaClock:
    """The ticket's next deadline: which clock runs, when it is due, and how it stands."""

    state: SlaState
    clock: Literal["first_response", "resolution"] | None = None
    due: datetime | None = None
    seconds_left: int | None = None  # negative once the deadline has passed

    @property
    def tone(self) -> Tone:
        return SLA_TONES[self.state]


SLA_TONES: dict[SlaState, Tone] = {
    "on_time": "ok",
    "at_risk": "warn",
    "breached": "bad",
    "stopped": "muted",
}


def sla_clock(ticket: Mapping[str, Any], now: datetime) -> SlaClock:
    """Until the first response the first-response clock runs, then the resolution clock.
    The tickets service's own flags win (it knows the business calendar); the timestamps
    tell the rest."""
    if ticket.get("status") in FINISHED_TICKETS:
        return SlaClock("stopped")
    responded = ticket.get("first_response_at") is not None
    clock: Literal["first_response", "resolution"] = "resolution" if responded else "first_response"
    due = _moment(ticket.get(f"{clock}_due_at"))
    warning = _moment(ticket.get(f"{clock}_warning_at"))
    if due is None:
        return SlaClock("on_time", clock)
    left = int((due - now).total_seconds())
    if ticket.get(f"{clock}_breached") or left <= 0:
        state: SlaState = "breached"
    elif ticket.get(f"{clock}_warned") or (warning is not None and now >= warning):
        state = "at_risk"
    else:
        state = "on_time"
    return SlaClock(state, clock, due, left)


def by_urgency(tickets: list[Mapping[str, Any]], now: datetime) -> list[Mapping[str, Any]]:
    """The tickets whose deadline comes first first; those without one last, oldest first."""

    def key(ticket: Mapping[str, Any]) -> tuple[int, float, str]:
        clock = sla_clock(ticket, now)
        if clock.seconds_left is None:
            return (1, 0.0, str(ticket.get("opened_at", "")))
        return (0, float(clock.seconds_left), str(ticket.get("opened_at", "")))

    return sorted(tickets, key=key)


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def booked_amounts(request: Mapping[str, Any]) -> list[tuple[int, str]]:
    """What a request books, per currency: the sum of its debit lines (minor units)."""
    totals: dict[str, int] = {}
    for line in request.get("lines") or []:
        if line.get("side") == "debit":
            currency = str(line.get("currency", ""))
            totals[currency] = totals.get(currency, 0) + int(line.get("amount", 0))
    return [(amount, currency) for currency, amount in sorted(totals.items())]
