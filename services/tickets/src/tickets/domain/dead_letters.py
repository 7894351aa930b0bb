"""The office watches itself: dead-letter notices of every service as monitoring alerts.

The notices are the kernel's own events (``shared_kernel.dead_letter_notices``), read with
the kernel's classes: every service is built on the kernel, so there is no second copy.
A consumer that dead-letters an event is a failing check: host = the service, check = the
consumer, so the alert de-duplication (``alerts``) keeps one open incident per consumer, and
its recovery resolves it.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared_kernel.dead_letter_notices import DeadLettered, DeadLettersRecovered
from shared_kernel.domain import DomainEvent

from tickets.domain.alerts import AlertState

# How bad a consumer that drops events is: its read model or decisions are incomplete.
DEAD_LETTER_SEVERITY = "major"
DEAD_LETTER_CATEGORY = "dead-letters"


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
