"""Monitoring alert de-duplication: one open incident per host and check.

Each (host, check) pair is an aggregate of its own, keyed by a deterministic id, which
records which incident is open for it. Two alerts for the same pair at the same moment
append to the same stream, so only one of them can open an incident (the other meets a
changed version and is retried, then finds the incident open and adds itself to it).
"""

from __future__ import annotations

from enum import StrEnum
from uuid import NAMESPACE_URL, uuid5

from shared_kernel.domain import Aggregate, DomainEvent
from shared_kernel.errors import DomainError

from tickets.domain.events import AlertIncidentOpened, AlertIncidentRecovered

_SOURCE_NAMESPACE = uuid5(NAMESPACE_URL, "urn:backoffice:tickets:alert-source")


class AlertState(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


ALERT_STATE_ALIASES = {
    "firing": AlertState.FIRING,
    "problem": AlertState.FIRING,
    "resolved": AlertState.RESOLVED,
    "recovery": AlertState.RESOLVED,
}

# Monitoring severity -> (impact, urgency) of the incident it opens.
SEVERITY_CLASSIFICATION = {
    "critical": (1, 1),
    "major": (2, 2),
    "warning": (3, 2),
    "minor": (3, 3),
    "info": (4, 4),
}
DEFAULT_SEVERITY = "major"


def parse_alert_state(value: str) -> AlertState:
    try:
        return ALERT_STATE_ALIASES[value.strip().lower()]
    except KeyError:
        raise DomainError(
            f"state must be one of {', '.join(ALERT_STATE_ALIASES)}, not {value!r}",
            field="state",
            code="InvalidAlertState",
        ) from None


def source_id_for(host: str, check: str) -> str:
    return str(uuid5(_SOURCE_NAMESPACE, f"{host.strip().lower()}\x00{check.strip().lower()}"))


class AlertSource(Aggregate):
    stream_type = "alert-source"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.open_ticket_id: str | None = None

    @classmethod
    def for_check(cls, host: str, check: str) -> AlertSource:
        return cls(source_id_for(host, check))

    def incident_opened(self, host: str, check: str, ticket_id: str) -> None:
        self._record(
            AlertIncidentOpened(source_id=self.id, host=host, check=check, ticket_id=ticket_id)
        )

    def recovered(self) -> None:
        if self.open_ticket_id is not None:
            self._record(AlertIncidentRecovered(source_id=self.id, ticket_id=self.open_ticket_id))

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case AlertIncidentOpened():
                self.open_ticket_id = event.ticket_id
            case AlertIncidentRecovered():
                self.open_ticket_id = None
            case _:
                raise TypeError(f"AlertSource cannot apply {type(event).__name__}")
