"""The team's workload, pure: every task that waits, whoever holds it (a person, a team, or
nobody yet), oldest first, and who is overloaded.

A task waits on a person (a ticket's assignee, a risk's owner), on a team (a booking request
any second person of the back office may approve, a breach any risk officer may answer), or
on nobody (a ticket nobody took yet, held by its queue): all three kinds are rows of the
same table, so that no task falls between the silos.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

HolderKind = Literal["person", "team", "unassigned"]
# The columns of the per-person table, in order (a kind whose service refused is left out).
KINDS = ("approvals", "tickets", "breaches", "overdue")
# A person with more open tasks than this is overloaded (a team is many people: never).
OVERLOADED_ABOVE = 8


@dataclass(frozen=True)
class WorkItem:
    """One task that waits: since when, on whom, what it is and where to work it."""

    kind: str  # one of KINDS
    holder: str
    holder_kind: HolderKind
    since: datetime
    title: str
    href: str
    what: str  # the kind of task in words ("Booking request", "Ticket", ...)


@dataclass(frozen=True)
class Load:
    """What one holder has waiting: counts per kind, the total, the oldest task."""

    holder: str
    holder_kind: HolderKind
    counts: dict[str, int]
    total: int
    oldest: datetime
    overloaded: bool


def is_overloaded(holder_kind: HolderKind, total: int, threshold: int = OVERLOADED_ABOVE) -> bool:
    """A person with more than ``threshold`` open tasks is overloaded; a team or a queue's
    unassigned tickets are not a person (their size says that work must be taken, not that
    someone has too much)."""
    return holder_kind == "person" and total > threshold


def oldest_first(items: Iterable[WorkItem]) -> list[WorkItem]:
    """Every task, the one waiting longest first (ties: by holder, then title, stable)."""
    return sorted(items, key=lambda item: (item.since, item.holder, item.title))


def loads(items: Iterable[WorkItem], threshold: int = OVERLOADED_ABOVE) -> list[Load]:
    """Per holder: the counts per kind; the most loaded first, then the one waiting longest."""
    grouped: dict[tuple[str, HolderKind], list[WorkItem]] = {}
    for item in items:
        grouped.setdefault((item.holder, item.holder_kind), []).append(item)
    result = []
    for (holder, kind), tasks in grouped.items():
        counts = {k: sum(1 for task in tasks if task.kind == k) for k in KINDS}
        total = len(tasks)
        result.append(
            Load(
                holder=holder,
                holder_kind=kind,
                counts=counts,
                total=total,
                oldest=min(task.since for task in tasks),
                overloaded=is_overloaded(kind, total, threshold),
            )
        )
    return sorted(result, key=lambda load: (-load.total, load.oldest, load.holder))
