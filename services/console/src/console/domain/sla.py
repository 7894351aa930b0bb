"""How a ticket stands against its service levels, for a badge: on time, at risk or breached.

The tickets API gives each running SLA clock (first response, resolution) its warning and due
instants, and flags once the service's scheduler has raised a warning or a breach. Those flags
lag the clock by a sweep, and the service's warning ratio is the queue's choice; the console
adds its own, stricter reading so that an operator sees trouble coming: a clock is **at risk**
when less than a quarter of its target span is left or less than an hour, whichever comes
first, but never from its first half: a one-hour target is not "at risk" the moment it starts.
Pure: "now" is always an argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

# At risk when less than this share of the target span is left ...
AT_RISK_SHARE = 0.25
# ... or less than this much time, ...
AT_RISK_TIME = timedelta(hours=1)
# ... yet never while more than this share is left (short targets would be at risk at once).
AT_RISK_CAP = 0.5
CLOCKS = ("first_response", "resolution")


class Standing(StrEnum):
    """Worst first, so that a ticket's standing is the minimum over its clocks."""

    BREACHED = "breached"
    AT_RISK = "at_risk"
    ON_TIME = "on_time"
    PAUSED = "paused"  # waiting for the requester: the clocks do not run
    MET = "met"  # no clock runs any more, and none breached

    @property
    def rank(self) -> int:
        return list(Standing).index(self)


@dataclass(frozen=True)
class Clock:
    """One SLA clock of a ticket as the API reports it."""

    name: str
    started_at: datetime
    warning_at: datetime | None
    due_at: datetime | None  # None: paused or stopped
    warned: bool
    breached: bool

    def standing(self, now: datetime, paused: bool) -> Standing:
        if self.breached or (self.due_at is not None and now >= self.due_at):
            return Standing.BREACHED
        if self.due_at is None:
            return Standing.PAUSED if paused else Standing.MET
        if self.warned or (self.warning_at is not None and now >= self.warning_at):
            return Standing.AT_RISK
        return Standing.AT_RISK if at_risk(self.started_at, self.due_at, now) else Standing.ON_TIME

    def left(self, now: datetime) -> timedelta | None:
        """Time left until the deadline (negative: overdue); None when the clock does not run."""
        return None if self.due_at is None else self.due_at - now


def at_risk(started_at: datetime, due_at: datetime, now: datetime) -> bool:
    """Less than 25 % of the span from start to deadline left, or less than an hour; but an
    hour counts only up to half the span."""
    span = due_at - started_at
    threshold = min(max(span * AT_RISK_SHARE, AT_RISK_TIME), span * AT_RISK_CAP)
    return due_at - now < threshold


@dataclass(frozen=True)
class TicketSla:
    """A ticket's clocks and what they add up to at ``now``."""

    standing: Standing
    clocks: tuple[Clock, ...]
    next_due: Clock | None  # the running clock whose deadline comes first

    def left(self, now: datetime) -> timedelta | None:
        return self.next_due.left(now) if self.next_due else None


def ticket_sla(ticket: Mapping[str, Any], now: datetime) -> TicketSla:
    """The standing of a ticket (the API's ``TicketView``): the worst of its clocks."""
    opened = instant(ticket.get("opened_at")) or now
    clocks = tuple(
        Clock(
            name=name,
            started_at=opened,
            warning_at=instant(ticket.get(f"{name}_warning_at")),
            due_at=instant(ticket.get(f"{name}_due_at")),
            warned=bool(ticket.get(f"{name}_warned")),
            breached=bool(ticket.get(f"{name}_breached")),
        )
        for name in CLOCKS
    )
    paused = ticket.get("status") == "pending"
    standing = min((clock.standing(now, paused) for clock in clocks), key=lambda s: s.rank)
    running = [clock for clock in clocks if clock.due_at is not None]
    next_due = min(running, key=lambda clock: clock.due_at or now) if running else None
    return TicketSla(standing, clocks, next_due)


def instant(value: Any) -> datetime | None:
    """An API timestamp (RFC 3339) as an aware datetime; None when absent or unreadable."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
