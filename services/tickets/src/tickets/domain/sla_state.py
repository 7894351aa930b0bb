"""A ticket's SLA state as a pure fold over its events: two clocks (first response,
resolution), the policy and priority that set their targets, and which alarms have fired.

The ticket aggregate and the read-model projection fold the same events with the same
function (:func:`fold_sla`), so the deadlines a rebuild computes are the ones the aggregate
decides on. Nothing here reads a clock: "now" is always an argument.

Clock rules: both clocks start when the ticket opens and pause while it is pending. The
first-response clock stops at the first public reply by an agent (or when the ticket is
resolved, closed or cancelled without one). The resolution clock pauses while the ticket is
resolved (a reopen resumes it) and stops when it is closed or cancelled.
A warning and a breach fire at most once per clock and ticket.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from shared_kernel.domain import DomainEvent

from tickets.domain.events import (
    SlaBreached,
    SlaWarningRaised,
    TicketOpened,
    TicketPriorityChanged,
    TicketReplied,
    TicketStatusChanged,
)
from tickets.domain.sla import SlaClock, SlaPolicy

ClockName = Literal["first_response", "resolution"]
CLOCKS: tuple[ClockName, ...] = ("first_response", "resolution")
AlarmKind = Literal["warning", "breach"]


@dataclass(frozen=True)
class Alarm:
    clock: ClockName
    kind: AlarmKind
    at: datetime  # the instant the alarm became due
    target: timedelta


@dataclass(frozen=True)
class Deadlines:
    first_response_warning_at: datetime | None
    first_response_due_at: datetime | None
    resolution_warning_at: datetime | None
    resolution_due_at: datetime | None


@dataclass(frozen=True)
class TicketSla:
    policy: SlaPolicy
    priority: int
    first_response: SlaClock
    resolution: SlaClock
    warned: frozenset[str] = frozenset()
    breached: frozenset[str] = frozenset()

    @classmethod
    def started(cls, policy: SlaPolicy, priority: int, at: datetime) -> TicketSla:
        return cls(policy, priority, SlaClock(started_at=at), SlaClock(started_at=at))

    def clock(self, name: ClockName) -> SlaClock:
        return self.first_response if name == "first_response" else self.resolution

    def target(self, name: ClockName) -> timedelta:
        target = self.policy.target(self.priority)
        return target.first_response if name == "first_response" else target.resolution

    def warning_at(self, name: ClockName) -> datetime | None:
        return self.clock(name).due_at(
            self.policy.calendar, self.target(name), self.policy.warning_ratio
        )

    def due_at(self, name: ClockName) -> datetime | None:
        return self.clock(name).due_at(self.policy.calendar, self.target(name))

    def deadlines(self) -> Deadlines:
        """Deadlines of running clocks only (a stopped or paused clock has none)."""

        def running(name: ClockName, value: datetime | None) -> datetime | None:
            return None if self.clock(name).stopped_at is not None else value

        return Deadlines(
            first_response_warning_at=running("first_response", self.warning_at("first_response")),
            first_response_due_at=running("first_response", self.due_at("first_response")),
            resolution_warning_at=running("resolution", self.warning_at("resolution")),
            resolution_due_at=running("resolution", self.due_at("resolution")),
        )

    def alarms_due(self, now: datetime) -> list[Alarm]:
        """The warnings and breaches that are due at ``now`` and have not fired yet, warnings
        first (a breach found late still gets its warning before it)."""
        found: list[Alarm] = []
        for name in CLOCKS:
            if self.clock(name).stopped_at is not None:
                continue
            warning, due = self.warning_at(name), self.due_at(name)
            if name not in self.warned and warning is not None and warning <= now:
                found.append(Alarm(name, "warning", warning, self.target(name)))
            if name not in self.breached and due is not None and due <= now:
                found.append(Alarm(name, "breach", due, self.target(name)))
        return found

    def business_time_to_resolve(self, at: datetime) -> timedelta:
        return self.resolution.elapsed(self.policy.calendar, at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy.to_dict(),
            "priority": self.priority,
            "first_response": clock_to_dict(self.first_response),
            "resolution": clock_to_dict(self.resolution),
            "warned": sorted(self.warned),
            "breached": sorted(self.breached),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TicketSla:
        return cls(
            policy=SlaPolicy.from_dict(data["policy"]),
            priority=int(data["priority"]),
            first_response=clock_from_dict(data["first_response"]),
            resolution=clock_from_dict(data["resolution"]),
            warned=frozenset(data["warned"]),
            breached=frozenset(data["breached"]),
        )


def clock_to_dict(clock: SlaClock) -> dict[str, Any]:
    return {
        "started_at": clock.started_at.isoformat(),
        "pauses": [[p.isoformat(), r.isoformat() if r else None] for p, r in clock.pauses],
        "stopped_at": clock.stopped_at.isoformat() if clock.stopped_at else None,
    }


def clock_from_dict(data: dict[str, Any]) -> SlaClock:
    return SlaClock(
        started_at=datetime.fromisoformat(data["started_at"]),
        pauses=tuple(
            (datetime.fromisoformat(p), datetime.fromisoformat(r) if r else None)
            for p, r in data["pauses"]
        ),
        stopped_at=datetime.fromisoformat(data["stopped_at"]) if data["stopped_at"] else None,
    )


def fold_sla(state: TicketSla | None, event: DomainEvent) -> TicketSla | None:
    """The SLA state after ``event`` (unchanged for events that do not touch it)."""
    if isinstance(event, TicketOpened):
        return TicketSla.started(
            SlaPolicy.from_dict(event.sla_policy), event.priority, event.opened_at
        )
    if state is None:
        return None
    match event:
        case TicketPriorityChanged():
            return replace(state, priority=event.priority)
        case TicketReplied(by_agent=True):
            return replace(state, first_response=state.first_response.stop(event.at))
        case TicketStatusChanged():
            return _on_status(state, event)
        case SlaWarningRaised():
            return replace(state, warned=state.warned | {event.clock})
        case SlaBreached():
            return replace(state, breached=state.breached | {event.clock})
    return state


def _on_status(state: TicketSla, event: TicketStatusChanged) -> TicketSla:
    first, resolution, at = state.first_response, state.resolution, event.at
    match event.status:
        case "pending":
            first, resolution = first.pause(at), resolution.pause(at)
        case "open":
            first, resolution = first.resume(at), resolution.resume(at)
        case "resolved":
            first, resolution = first.stop(at), resolution.pause(at)
        case "closed" | "cancelled":
            first, resolution = first.stop(at), resolution.stop(at)
    return replace(state, first_response=first, resolution=resolution)
