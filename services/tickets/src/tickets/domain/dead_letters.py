"""The office watches itself: dead-letter notices of every service as monitoring alerts.

The tickets service's own classes of the notices it reads (the published language the kernel
writes, ``shared_kernel.dead_letter_notices``; only the fields used here). A consumer that
dead-letters an event is a failing check: host = the service, check = the consumer, so the
alert de-duplication (``alerts``) keeps one open incident per consumer, and its recovery
resolves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from shared_kernel.domain import DomainEvent

from tickets.domain.alerts import AlertState

# How bad a consumer that drops events is: its read model or decisions are incomplete.
DEAD_LETTER_SEVERITY = "major"
DEAD_LETTER_CATEGORY = "dead-letters"


@dataclass(frozen=True)
class DeadLettered(DomainEvent):
    event_type: ClassVar[str] = "backoffice.DeadLettered"

    service: str
    consumer: str
    error: str
    source_topic: str
    source_partition: int
    source_offset: int
    dead_letter_topic: str
    source_event_id: str | None = None
    source_event_type: str | None = None


@dataclass(frozen=True)
class DeadLettersRecovered(DomainEvent):
    event_type: ClassVar[str] = "backoffice.DeadLettersRecovered"

    service: str
    consumer: str
    how: str
    detail: str


DEAD_LETTER_NOTICES: tuple[type[DomainEvent], ...] = (DeadLettered, DeadLettersRecovered)


@dataclass(frozen=True)
class DeadLetterAlert:
    """What a notice means as a monitoring alert."""

    host: str
    check: str
    state: AlertState
    summary: str


def alert_of(notice: DeadLettered | DeadLettersRecovered) -> DeadLetterAlert:
    """The alert a notice raises (a dead letter) or clears (a recovery)."""
    if isinstance(notice, DeadLettersRecovered):
        return DeadLetterAlert(
            notice.service,
            notice.consumer,
            AlertState.RESOLVED,
            f"{notice.consumer} of {notice.service} recovered ({notice.how}): {notice.detail}",
        )
    event = (
        f"event {notice.source_event_type} {notice.source_event_id}"
        if notice.source_event_id
        else "an undecodable record"
    )
    summary = (
        f"{notice.consumer} of {notice.service} dead-lettered {event} from "
        f"{notice.source_topic} partition {notice.source_partition} offset "
        f"{notice.source_offset} (kept in {notice.dead_letter_topic}): {notice.error}"
    )
    return DeadLetterAlert(notice.service, notice.consumer, AlertState.FIRING, summary)
