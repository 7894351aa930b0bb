"""The risk service's events as the tickets service reads them: its side of the published
language, with only the fields the breach incidents use. A risk event of these types without
them is malformed: dead-lettered by the inbox, never handled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared_kernel.domain import DomainEvent


def _require_text(**fields: str) -> None:
    for name, value in fields.items():
        if not value:
            raise ValueError(f"a risk event with an empty {name!r}")


@dataclass(frozen=True)
class LimitBreached(DomainEvent):
    """The exposure went above the limit; ``crossing_id`` is the breach's id."""

    event_type = "risk.LimitBreached"

    crossing_id: str
    limit_id: str
    exposure_id: str
    dimension: str
    counterparty: str | None
    desk: str | None
    currency: str
    exposure: int
    limit_amount: int
    utilisation_bp: int
    at: datetime

    def __post_init__(self) -> None:
        _require_text(
            crossing_id=self.crossing_id, limit_id=self.limit_id, exposure_id=self.exposure_id
        )


@dataclass(frozen=True)
class LimitBackWithinThreshold(DomainEvent):
    """The utilisation fell back below ``threshold`` ("limit" or "warning")."""

    event_type = "risk.LimitBackWithinThreshold"

    crossing_id: str
    limit_id: str
    exposure_id: str
    currency: str
    exposure: int
    limit_amount: int
    at: datetime
    threshold: str = "limit"

    def __post_init__(self) -> None:
        _require_text(limit_id=self.limit_id, exposure_id=self.exposure_id)


@dataclass(frozen=True)
class LimitBreachMeasuresRecorded(DomainEvent):
    """A back-office user recorded what was done about a breach."""

    event_type = "risk.LimitBreachMeasuresRecorded"

    breach_id: str
    limit_id: str
    measures: str
    recorded_by: str
    at: datetime

    def __post_init__(self) -> None:
        _require_text(breach_id=self.breach_id, limit_id=self.limit_id, measures=self.measures)


RISK_EVENTS: tuple[type[DomainEvent], ...] = (
    LimitBreached,
    LimitBackWithinThreshold,
    LimitBreachMeasuresRecorded,
)
