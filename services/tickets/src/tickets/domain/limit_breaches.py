"""Risk limit breaches as incidents: one incident per breach, in the ``risk-limits`` queue.

Each limit is an aggregate here (``LimitWatch``, a deterministic id from the limit id) that
records which breach opened which incident and which are still open, so that "back within
the limit" finds the incident to resolve, and measures that arrive before their breach (risk
writes them to the breach's stream, which may sit on another partition than the exposure's)
are held until the incident opens. The incident's id derives from the breach id: one
incident per breach, whatever is replayed.

Priority, through the queue's impact x urgency matrix (the default matrix maps these to
priorities 1, 2 and 3): how far the exposure is over the limit decides.

    utilisation >= 150 %  -> impact 1, urgency 1 (priority 1, critical)
    utilisation >= 120 %  -> impact 2, urgency 2 (priority 2, high)
    otherwise             -> impact 3, urgency 3 (priority 3, medium)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import NAMESPACE_URL, uuid5

from shared_kernel.domain import Aggregate, DomainEvent

from tickets.domain.events import (
    LimitBreachIncidentClosed,
    LimitBreachIncidentOpened,
    LimitBreachMeasuresHeld,
)
from tickets.domain.risk_events import LimitBackWithinThreshold, LimitBreached

RISK_LIMITS_QUEUE = "risk-limits"
RISK_LIMITS_ESCALATION_GROUP = "risk-office"
CRITICAL_UTILISATION_BP = 15_000
HIGH_UTILISATION_BP = 12_000
MAX_NOTE = 20_000

_INCIDENT_NAMESPACE = uuid5(NAMESPACE_URL, "urn:backoffice:tickets:limit-breach-incident")
_WATCH_NAMESPACE = uuid5(NAMESPACE_URL, "urn:backoffice:tickets:limit-watch")
_NOTE_NAMESPACE = uuid5(NAMESPACE_URL, "urn:backoffice:tickets:limit-breach-note")


def incident_id_for(breach_id: str) -> str:
    """The incident of a breach: the same id on every replay."""
    return str(uuid5(_INCIDENT_NAMESPACE, breach_id))


def watch_id_for(limit_id: str) -> str:
    return str(uuid5(_WATCH_NAMESPACE, limit_id))


def note_id_for(source_id: str) -> str:
    """A note's message id from the risk event it comes from."""
    return str(uuid5(_NOTE_NAMESPACE, source_id))


def breach_classification(utilisation_bp: int) -> tuple[int, int]:
    """(impact, urgency) of a breach's incident from its utilisation in basis points."""
    if utilisation_bp >= CRITICAL_UTILISATION_BP:
        return 1, 1
    if utilisation_bp >= HIGH_UTILISATION_BP:
        return 2, 2
    return 3, 3


def _amount(value: int, currency: str) -> str:
    return f"{value:,} {currency}"


def _percent(utilisation_bp: int) -> str:
    return f"{utilisation_bp / 100:.2f} %"


def _whom(breach: LimitBreached) -> str:
    parts = [
        f"counterparty {breach.counterparty}" if breach.counterparty else "",
        f"desk {breach.desk}" if breach.desk else "",
    ]
    return ", ".join(p for p in parts if p) or breach.dimension


@dataclass(frozen=True)
class IncidentText:
    title: str
    description: str


def incident_text(breach: LimitBreached) -> IncidentText:
    """Title and description naming who, the currency, the exposure against the limit."""
    whom = _whom(breach)
    title = f"Limit breach: {whom}, {breach.currency} {_percent(breach.utilisation_bp)} of limit"
    description = (
        f"Limit {breach.limit_id} ({breach.dimension}: {whom}) was breached at "
        f"{breach.at.isoformat()}: exposure {_amount(breach.exposure, breach.currency)} "
        f"against a limit of {_amount(breach.limit_amount, breach.currency)} "
        f"({_percent(breach.utilisation_bp)}; amounts in minor units).\n"
        f"Breach {breach.crossing_id}, exposure {breach.exposure_id}.\n"
        "Record the measures taken on the breach in risk; they appear here as notes."
    )
    return IncidentText(title[:300], description)


def origin_of(breach: LimitBreached) -> dict[str, str]:
    """What the incident is linked to, shown on the ticket."""
    return {
        "service": "risk",
        "kind": "limit_breach",
        "id": breach.crossing_id,
        "limit_id": breach.limit_id,
        "exposure_id": breach.exposure_id,
    }


def back_within_note(event: LimitBackWithinThreshold) -> str:
    return (
        f"back within limit: exposure {_amount(event.exposure, event.currency)} of "
        f"{_amount(event.limit_amount, event.currency)}"
    )


def measures_note(breach_id: str, measures: str) -> str:
    return f"Measures recorded on breach {breach_id}:\n{measures}"[:MAX_NOTE]


@dataclass(frozen=True)
class HeldMeasures:
    measures: str
    recorded_by: str
    source_id: str
    at: datetime


class LimitWatch(Aggregate):
    """One risk limit's breach incidents: which breach opened which incident, which are open,
    and the measures held for breaches not seen yet."""

    stream_type = "limit-breach-watch"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.limit_id = ""
        self.incidents: dict[str, str] = {}  # breach id -> incident (ticket) id, ever opened
        self.open: dict[str, str] = {}  # breach id -> exposure id, not back within yet
        self.held: dict[str, list[HeldMeasures]] = {}

    @classmethod
    def of(cls, limit_id: str) -> LimitWatch:
        watch = cls(watch_id_for(limit_id))
        watch.limit_id = limit_id
        return watch

    def has_incident(self, breach_id: str) -> bool:
        return breach_id in self.incidents

    def incident_opened(self, breach: LimitBreached, ticket_id: str) -> list[HeldMeasures]:
        """Record the breach's incident; answers the measures held for it (to add as notes)."""
        held = self.held.get(breach.crossing_id, [])
        self._record(
            LimitBreachIncidentOpened(
                limit_id=self.limit_id,
                breach_id=breach.crossing_id,
                exposure_id=breach.exposure_id,
                ticket_id=ticket_id,
            )
        )
        return held

    def hold_measures(self, breach_id: str, held: HeldMeasures) -> None:
        if any(h.source_id == held.source_id for h in self.held.get(breach_id, [])):
            return
        self._record(
            LimitBreachMeasuresHeld(
                limit_id=self.limit_id,
                breach_id=breach_id,
                measures=held.measures,
                recorded_by=held.recorded_by,
                source_id=held.source_id,
                at=held.at,
            )
        )

    def open_breaches(self, exposure_id: str) -> list[tuple[str, str]]:
        """(breach id, incident id) of the open breaches of this limit on ``exposure_id``."""
        return [
            (breach_id, self.incidents[breach_id])
            for breach_id, exposure in self.open.items()
            if exposure == exposure_id
        ]

    def incident_closed(self, breach_id: str) -> None:
        if breach_id in self.open:
            self._record(
                LimitBreachIncidentClosed(
                    limit_id=self.limit_id,
                    breach_id=breach_id,
                    ticket_id=self.incidents[breach_id],
                )
            )

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case LimitBreachIncidentOpened():
                self.limit_id = event.limit_id
                self.incidents[event.breach_id] = event.ticket_id
                self.open[event.breach_id] = event.exposure_id
                self.held.pop(event.breach_id, None)
            case LimitBreachMeasuresHeld():
                self.limit_id = event.limit_id
                self.held.setdefault(event.breach_id, []).append(
                    HeldMeasures(event.measures, event.recorded_by, event.source_id, event.at)
                )
            case LimitBreachIncidentClosed():
                self.open.pop(event.breach_id, None)
            case _:
                raise TypeError(f"LimitWatch cannot apply {type(event).__name__}")
