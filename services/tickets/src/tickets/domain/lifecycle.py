"""The ticket lifecycle: statuses and the transitions allowed between them.

``new`` -> worked (``open``), waiting for the requester (``pending``, the SLA clocks pause),
``resolved`` (may be reopened within a window), ``closed`` or ``cancelled`` (both final).
A forbidden transition is a conflict with the current state (409) that names the allowed ones.
"""

from __future__ import annotations

from enum import StrEnum

from shared_kernel.errors import Conflict, DomainError


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.OPEN, Status.PENDING, Status.RESOLVED, Status.CANCELLED}),
    Status.OPEN: frozenset({Status.PENDING, Status.RESOLVED, Status.CANCELLED}),
    Status.PENDING: frozenset({Status.OPEN, Status.RESOLVED, Status.CANCELLED}),
    Status.RESOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
    Status.CANCELLED: frozenset(),
}
ACTIVE = frozenset({Status.NEW, Status.OPEN, Status.PENDING})
FINAL = frozenset({Status.CLOSED, Status.CANCELLED})


class TransitionNotAllowed(Conflict):
    """The ticket's status does not allow this transition (HTTP 409)."""

    title = "Transition not allowed"


def parse_status(value: str, field: str = "to") -> Status:
    try:
        return Status(value)
    except ValueError:
        raise DomainError(
            f"{value!r} is not a ticket status; one of {', '.join(s.value for s in Status)}",
            field=field,
            code="InvalidStatus",
        ) from None


def allowed_from(status: Status) -> list[str]:
    return sorted(s.value for s in TRANSITIONS[status])


def ensure_transition(current: Status, target: Status) -> None:
    if target not in TRANSITIONS[current]:
        allowed = allowed_from(current)
        raise TransitionNotAllowed(
            f"a {current.value} ticket cannot become {target.value}; allowed: "
            + (", ".join(allowed) if allowed else "none (the ticket is final)"),
            field="to",
            code="TransitionNotAllowed",
        )
