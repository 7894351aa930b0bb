"""The ticket aggregate: an incident, service request or problem in a queue.

It checks the lifecycle, derives the priority from impact x urgency, folds its SLA clocks
from its own events (see ``sla_state``) and raises each SLA warning and breach once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from shared_kernel.domain import Aggregate, DomainEvent
from shared_kernel.errors import Conflict, DomainError

from tickets.domain.events import (
    AlertRecorded,
    SlaBreached,
    SlaWarningRaised,
    TicketAssigned,
    TicketClassified,
    TicketDuplicateAbsorbed,
    TicketEscalated,
    TicketLinked,
    TicketMerged,
    TicketNoteAdded,
    TicketOpened,
    TicketPriorityChanged,
    TicketRated,
    TicketReplied,
    TicketStatusChanged,
)
from tickets.domain.lifecycle import ACTIVE, FINAL, Status, ensure_transition
from tickets.domain.priority import PriorityMatrix, check_level, raised
from tickets.domain.queue import Queue
from tickets.domain.sla_state import Alarm, TicketSla, fold_sla


class TicketType(StrEnum):
    INCIDENT = "incident"
    SERVICE_REQUEST = "service_request"
    PROBLEM = "problem"


LINK_INVERSES = {
    "parent_of": "child_of",
    "child_of": "parent_of",
    "caused_by": "causes",
    "causes": "caused_by",
    "duplicate_of": "duplicated_by",
    "duplicated_by": "duplicate_of",
}
LINK_KINDS = frozenset({"parent_of", "child_of", "caused_by", "duplicate_of"})
MAX_TEXT = 20_000
RATINGS = range(1, 6)
MAX_RATING_COMMENT = 2_000


def _text(value: str, field: str, maximum: int, *, required: bool = True) -> str:
    value = value.strip()
    if (required and not value) or len(value) > maximum:
        raise DomainError(
            f"{field} must be {'1' if required else '0'} to {maximum} characters",
            field=field,
            code="InvalidText",
        )
    return value


class Ticket(Aggregate):
    stream_type = "ticket"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.ticket_type = TicketType.INCIDENT
        self.queue_id = ""
        self.requester = ""
        self.title = ""
        self.impact = 4
        self.urgency = 4
        self.priority = 4
        self.status = Status.NEW
        self.assignee: str | None = None
        self.resolved_at: datetime | None = None
        self.sla: TicketSla | None = None
        self.links: set[tuple[str, str]] = set()
        self.merged_into: str | None = None
        self.escalated_to: str | None = None
        self.origin: dict[str, str] | None = None
        self.resolved_by: str | None = None  # the assignee when it was last resolved
        self.rating: int | None = None
        self.message_ids: set[str] = set()

    @property
    def exists(self) -> bool:
        return self.sla is not None

    @classmethod
    def open(
        cls,
        ticket_id: str,
        *,
        ticket_type: str,
        queue: Queue,
        impact: int,
        urgency: int,
        title: str,
        description: str,
        category: str,
        configuration_item: str | None,
        requester: str,
        requester_kind: str,
        at: datetime,
        origin: dict[str, str] | None = None,
    ) -> Ticket:
        try:
            kind = TicketType(ticket_type)
        except ValueError:
            raise DomainError(
                f"ticket_type must be one of {', '.join(t.value for t in TicketType)}",
                field="ticket_type",
                code="InvalidTicketType",
            ) from None
        ticket = cls(ticket_id)
        ticket._record(
            TicketOpened(
                ticket_id=ticket_id,
                ticket_type=kind.value,
                priority=queue.matrix.priority(impact, urgency),
                queue_id=queue.id,
                impact=impact,
                urgency=urgency,
                title=_text(title, "title", 300),
                description=_text(description, "description", MAX_TEXT, required=False),
                category=_text(category, "category", 100, required=False),
                configuration_item=(
                    _text(configuration_item, "configuration_item", 200)
                    if configuration_item
                    else None
                ),
                requester=requester,
                requester_kind=requester_kind,
                opened_at=at,
                sla_policy=queue.sla_policy_data,
                origin=origin,
            )
        )
        return ticket

    # ------------------------------------------------------------ classification

    def classify(
        self,
        matrix: PriorityMatrix,
        *,
        impact: int | None,
        urgency: int | None,
        reason: str,
        at: datetime,
    ) -> None:
        """Change impact and/or urgency; the priority is recomputed through the matrix."""
        self._ensure_not_final("reclassified")
        impact = check_level(impact if impact is not None else self.impact, "impact")
        urgency = check_level(urgency if urgency is not None else self.urgency, "urgency")
        if (impact, urgency) == (self.impact, self.urgency):
            return
        self._record(
            TicketClassified(
                ticket_id=self.id, impact=impact, urgency=urgency, reason=reason, at=at
            )
        )
        self._change_priority(matrix.priority(impact, urgency), reason, at)

    def _change_priority(self, priority: int, reason: str, at: datetime) -> None:
        if priority != self.priority:
            self._record(
                TicketPriorityChanged(
                    ticket_id=self.id,
                    priority=priority,
                    previous_priority=self.priority,
                    reason=reason,
                    at=at,
                )
            )

    # ------------------------------------------------------------ lifecycle

    def transition(
        self, target: Status, *, reason: str, at: datetime, reopen_window: timedelta
    ) -> None:
        ensure_transition(self.status, target)
        if self.status is Status.RESOLVED and target is Status.OPEN:
            assert self.resolved_at is not None
            if at - self.resolved_at > reopen_window:
                raise Conflict(
                    f"ticket {self.id} was resolved at {self.resolved_at.isoformat()}; it may be "
                    f"reopened within {reopen_window} only. Open a new ticket instead.",
                    field="to",
                    code="ReopenWindowExpired",
                )
        self._set_status(target, reason, at)

    def _set_status(self, target: Status, reason: str, at: datetime) -> None:
        self._record(
            TicketStatusChanged(
                ticket_id=self.id,
                status=target.value,
                previous_status=self.status.value,
                reason=reason,
                at=at,
            )
        )

    def _ensure_not_final(self, what: str) -> None:
        if self.status in FINAL:
            raise Conflict(
                f"ticket {self.id} is {self.status.value}; it can no longer be {what}",
                code="TicketFinal",
            )

    # ------------------------------------------------------------ satisfaction

    def rate(
        self, rating: int, comment: str, *, rated_by: str, at: datetime, reopen_window: timedelta
    ) -> None:
        """The requester's rating of a resolved ticket, once, until the reopen window closes
        (the window in which the requester could still say "not solved" instead). A ticket
        reopened and resolved again keeps its first rating."""
        if isinstance(rating, bool) or not isinstance(rating, int) or rating not in RATINGS:
            raise DomainError(
                f"rating must be an integer from 1 to 5, not {rating!r}",
                field="rating",
                code="InvalidRating",
            )
        comment = _text(comment, "comment", MAX_RATING_COMMENT, required=False)
        if self.rating is not None:
            raise Conflict(
                f"ticket {self.id} was rated already ({self.rating}); a rating is given once",
                field="rating",
                code="AlreadyRated",
            )
        if self.status is not Status.RESOLVED:
            raise Conflict(
                f"ticket {self.id} is {self.status.value}; only a resolved ticket can be rated",
                field="rating",
                code="TicketNotResolved",
            )
        assert self.resolved_at is not None
        if at - self.resolved_at > reopen_window:
            raise Conflict(
                f"ticket {self.id} was resolved at {self.resolved_at.isoformat()}; it may be "
                f"rated within {reopen_window} only",
                field="rating",
                code="RatingWindowClosed",
            )
        self._record(
            TicketRated(
                ticket_id=self.id,
                rating=rating,
                comment=comment,
                rated_by=rated_by,
                queue_id=self.queue_id or None,
                agent=self.resolved_by,
                at=at,
            )
        )

    # ------------------------------------------------------------ assignment

    def assign(self, assignee: str, *, how: str, at: datetime) -> None:
        self._ensure_not_final("assigned")
        if assignee == self.assignee:
            return
        self._record(
            TicketAssigned(
                ticket_id=self.id,
                assignee=assignee,
                previous_assignee=self.assignee,
                how=how,
                at=at,
            )
        )

    # ------------------------------------------------------------ conversation

    def reply(
        self, message_id: str, *, author: str, body: str, by_agent: bool, at: datetime
    ) -> None:
        """A public reply. A reply by the requester to a pending ticket reopens the work."""
        self._ensure_not_final("replied to")
        self._record(
            TicketReplied(
                ticket_id=self.id,
                message_id=message_id,
                author=author,
                body=_text(body, "body", MAX_TEXT),
                by_agent=by_agent,
                at=at,
            )
        )
        if not by_agent and self.status is Status.PENDING:
            self._set_status(Status.OPEN, "the requester replied", at)

    def add_note(self, message_id: str, *, author: str, body: str, at: datetime) -> None:
        self._record(
            TicketNoteAdded(
                ticket_id=self.id,
                message_id=message_id,
                author=author,
                body=_text(body, "body", MAX_TEXT),
                at=at,
            )
        )

    # ------------------------------------------------------------ links and merges

    def link(self, kind: str, target: Ticket, *, at: datetime) -> None:
        """Link this ticket to ``target``; the inverse link is recorded on ``target``."""
        if kind not in LINK_KINDS:
            raise DomainError(
                f"kind must be one of {', '.join(sorted(LINK_KINDS))}",
                field="kind",
                code="InvalidLinkKind",
            )
        if target.id == self.id:
            raise DomainError("a ticket cannot be linked to itself", field="target_id")
        if kind == "caused_by" and target.ticket_type is not TicketType.PROBLEM:
            raise DomainError(
                f"caused_by must name a problem; ticket {target.id} is a "
                f"{target.ticket_type.value}",
                field="target_id",
                code="NotAProblem",
            )
        if (kind, target.id) in self.links:
            return
        self._record(TicketLinked(ticket_id=self.id, kind=kind, target_id=target.id, at=at))
        target._record(
            TicketLinked(ticket_id=target.id, kind=LINK_INVERSES[kind], target_id=self.id, at=at)
        )

    def linked(self, kind: str) -> list[str]:
        return sorted(target for k, target in self.links if k == kind)

    def merge_into(self, survivor: Ticket, *, reason: str, at: datetime) -> None:
        """This ticket duplicates ``survivor``: link, point to it and close."""
        if survivor.id == self.id:
            raise DomainError("a ticket cannot be merged into itself", field="survivor_id")
        self._ensure_not_final("merged")
        if survivor.status in FINAL:
            raise Conflict(
                f"ticket {survivor.id} is {survivor.status.value}; merge into an active ticket",
                field="survivor_id",
                code="SurvivorFinal",
            )
        self.link("duplicate_of", survivor, at=at)
        self._record(TicketMerged(ticket_id=self.id, survivor_id=survivor.id, reason=reason, at=at))
        self._set_status(Status.CLOSED, f"merged into {survivor.id}: {reason}", at)
        survivor._record(
            TicketDuplicateAbsorbed(ticket_id=survivor.id, duplicate_id=self.id, at=at)
        )

    # ------------------------------------------------------------ monitoring

    def record_alert(
        self,
        *,
        host: str,
        check: str,
        state: str,
        summary: str,
        severity: str | None,
        occurred_at: datetime,
        at: datetime,
    ) -> None:
        self._record(
            AlertRecorded(
                ticket_id=self.id,
                host=host,
                check=check,
                state=state,
                summary=summary,
                severity=severity,
                occurred_at=occurred_at,
                at=at,
            )
        )

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    # ------------------------------------------------------------ SLA

    def raise_due_alarms(self, now: datetime) -> list[Alarm]:
        """Record the SLA warnings and breaches due at ``now`` that have not fired yet (each
        clock warns and breaches once); returns the breaches recorded."""
        if self.sla is None or not self.is_active:
            return []
        breaches: list[Alarm] = []
        for alarm in self.sla.alarms_due(now):
            target = int(alarm.target.total_seconds())
            if alarm.kind == "warning":
                self._record(
                    SlaWarningRaised(
                        ticket_id=self.id,
                        clock=alarm.clock,
                        priority=self.priority,
                        target_seconds=target,
                        warning_at=alarm.at,
                        at=now,
                    )
                )
            else:
                self._record(
                    SlaBreached(
                        ticket_id=self.id,
                        clock=alarm.clock,
                        priority=self.priority,
                        target_seconds=target,
                        due_at=alarm.at,
                        at=now,
                    )
                )
                breaches.append(alarm)
        return breaches

    def escalate(self, to: str, *, reason: str, at: datetime) -> None:
        """Escalate to a group and raise the priority by one step."""
        self._record(TicketEscalated(ticket_id=self.id, escalated_to=to, reason=reason, at=at))
        self._change_priority(raised(self.priority), reason, at)

    # ------------------------------------------------------------ folding

    def _apply(self, event: DomainEvent) -> None:
        self.sla = fold_sla(self.sla, event)
        match event:
            case TicketOpened():
                self.ticket_type = TicketType(event.ticket_type)
                self.queue_id = event.queue_id
                self.requester = event.requester
                self.title = event.title
                self.impact, self.urgency = event.impact, event.urgency
                self.priority = event.priority
                self.status = Status(event.status)
                self.origin = event.origin
            case TicketClassified():
                self.impact, self.urgency = event.impact, event.urgency
            case TicketPriorityChanged():
                self.priority = event.priority
            case TicketStatusChanged():
                self.status = Status(event.status)
                if self.status is Status.RESOLVED:
                    self.resolved_at = event.at
                    self.resolved_by = self.assignee
            case TicketAssigned():
                self.assignee = event.assignee
            case TicketLinked():
                self.links.add((event.kind, event.target_id))
            case TicketMerged():
                self.merged_into = event.survivor_id
            case TicketEscalated():
                self.escalated_to = event.escalated_to
            case TicketRated():
                self.rating = event.rating
            case TicketReplied() | TicketNoteAdded():
                self.message_ids.add(event.message_id)
            case TicketDuplicateAbsorbed() | AlertRecorded() | SlaWarningRaised() | SlaBreached():
                pass
            case _:
                raise TypeError(f"Ticket cannot apply {type(event).__name__}")
