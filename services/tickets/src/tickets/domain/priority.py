"""Priority from impact x urgency (ITIL): a 4 x 4 matrix, configurable per queue.

Impact, urgency and priority are ints 1..4 with 1 the highest (priority 1 = critical,
4 = low). The default table is the common ITIL one: the sum of impact and urgency decides,
so a high impact with a low urgency weighs like a medium impact with a medium urgency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shared_kernel.errors import DomainError

LEVELS = (1, 2, 3, 4)
CRITICAL, LOW = 1, 4
PRIORITY_NAMES = {1: "critical", 2: "high", 3: "medium", 4: "low"}


def check_level(value: object, field: str) -> int:
    """An impact, urgency or priority: an int 1..4 (1 = highest)."""
    if isinstance(value, bool) or not isinstance(value, int) or value not in LEVELS:
        raise DomainError(
            f"{field} must be an integer from 1 (highest) to 4 (lowest), not {value!r}",
            field=field,
            code="InvalidLevel",
        )
    return value


@dataclass(frozen=True)
class PriorityMatrix:
    """``rows[impact - 1][urgency - 1]`` is the priority."""

    rows: tuple[tuple[int, ...], ...]

    def __post_init__(self) -> None:
        if len(self.rows) != len(LEVELS) or any(len(r) != len(LEVELS) for r in self.rows):
            raise DomainError(
                "the priority matrix needs 4 rows (impact 1..4) of 4 priorities (urgency 1..4)",
                field="priority_matrix",
                code="InvalidPriorityMatrix",
            )
        for row in self.rows:
            for value in row:
                check_level(value, "priority_matrix")

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[int]]) -> PriorityMatrix:
        return cls(tuple(tuple(row) for row in rows))

    def to_rows(self) -> list[list[int]]:
        return [list(row) for row in self.rows]

    def priority(self, impact: int, urgency: int) -> int:
        check_level(impact, "impact")
        check_level(urgency, "urgency")
        return self.rows[impact - 1][urgency - 1]


DEFAULT_MATRIX = PriorityMatrix(
    (
        (1, 1, 2, 3),
        (1, 2, 3, 3),
        (2, 3, 3, 4),
        (3, 3, 4, 4),
    )
)


def raised(priority: int) -> int:
    """One step more urgent (an SLA breach escalates); critical stays critical."""
    return max(CRITICAL, check_level(priority, "priority") - 1)
