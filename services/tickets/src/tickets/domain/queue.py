"""Queues: groups of agents that work tickets, with an SLA policy, a priority matrix, an
escalation group, and members who may be (un)available (round-robin skips those; see
``turns``)."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, uuid5

from shared_kernel.domain import Aggregate, DomainEvent
from shared_kernel.errors import Conflict, DomainError

from tickets.domain.events import (
    QueueCreated,
    QueueMemberAdded,
    QueueMemberAvailabilityChanged,
    QueueMemberRemoved,
)
from tickets.domain.priority import DEFAULT_MATRIX, PriorityMatrix
from tickets.domain.sla import SlaPolicy

_QUEUE_NAMESPACE = uuid5(NAMESPACE_URL, "urn:backoffice:tickets:queue")
DEFAULT_QUEUE_NAME = "it-support"


def queue_id_for(name: str) -> str:
    """Queue ids derive from the name, so a name is taken once, even by two concurrent
    creations (the second meets an existing stream)."""
    return str(uuid5(_QUEUE_NAMESPACE, name.strip().lower()))


def _check_name(value: str, field: str, maximum: int = 100) -> str:
    value = value.strip()
    if not value or len(value) > maximum:
        raise DomainError(
            f"{field} must be 1 to {maximum} characters", field=field, code="InvalidName"
        )
    return value


class Queue(Aggregate):
    stream_type = "queue"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.name = ""
        self.escalation_group = ""
        self.sla_policy_data: dict[str, Any] = {}
        self.matrix = DEFAULT_MATRIX
        self.auto_assign = True
        self.members: list[str] = []
        self.unavailable: set[str] = set()

    @property
    def exists(self) -> bool:
        return bool(self.name)

    @property
    def sla_policy(self) -> SlaPolicy:
        return SlaPolicy.from_dict(self.sla_policy_data)

    @classmethod
    def create(
        cls,
        name: str,
        *,
        escalation_group: str,
        sla_policy: SlaPolicy,
        matrix: PriorityMatrix = DEFAULT_MATRIX,
        auto_assign: bool = True,
    ) -> Queue:
        name = _check_name(name, "name")
        queue = cls(queue_id_for(name))
        queue._record(
            QueueCreated(
                queue_id=queue.id,
                name=name,
                escalation_group=_check_name(escalation_group, "escalation_group"),
                sla_policy=sla_policy.to_dict(),
                priority_matrix=matrix.to_rows(),
                auto_assign=auto_assign,
            )
        )
        return queue

    def add_member(self, member: str) -> None:
        member = _check_name(member, "member", 200)
        if member in self.members:
            raise Conflict(
                f"{member} is already a member of queue {self.name}",
                field="member",
                code="AlreadyMember",
            )
        self._record(QueueMemberAdded(queue_id=self.id, member=member))

    def remove_member(self, member: str) -> None:
        self._ensure_member(member)
        self._record(QueueMemberRemoved(queue_id=self.id, member=member))

    def set_availability(self, member: str, available: bool) -> None:
        self._ensure_member(member)
        if (member not in self.unavailable) == available:
            return
        self._record(
            QueueMemberAvailabilityChanged(queue_id=self.id, member=member, available=available)
        )

    def is_member(self, member: str) -> bool:
        return member in self.members

    def available_members(self) -> list[str]:
        return [m for m in self.members if m not in self.unavailable]

    def _ensure_member(self, member: str) -> None:
        if member not in self.members:
            raise DomainError(
                f"{member} is not a member of queue {self.name}",
                field="member",
                code="NotAMember",
            )

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case QueueCreated():
                self.name = event.name
                self.escalation_group = event.escalation_group
                self.sla_policy_data = event.sla_policy
                self.matrix = PriorityMatrix.from_rows(event.priority_matrix)
                self.auto_assign = event.auto_assign
            case QueueMemberAdded():
                self.members.append(event.member)
            case QueueMemberRemoved():
                self.members.remove(event.member)
                self.unavailable.discard(event.member)
            case QueueMemberAvailabilityChanged():
                if event.available:
                    self.unavailable.discard(event.member)
                else:
                    self.unavailable.add(event.member)
            case _:
                raise TypeError(f"Queue cannot apply {type(event).__name__}")
