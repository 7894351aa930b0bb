"""Accounting periods: calendar months, closed once and for all (Festschreibung).

A ``Period`` is an aggregate per month (stream ``period:2026-11``). Every command that books
into a month reads its period, refuses a closed one, and expects the period unchanged at
commit, so a close that commits first makes the booking fail: nothing slips into a month
after its close, not even by back-dating. There is no reopening.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from shared_kernel.domain import Aggregate, DomainEvent
from shared_kernel.errors import Conflict, DomainError

from ledger.domain.events import PeriodClosed

_PERIOD = re.compile(r"^(19|2\d)\d\d-(0[1-9]|1[0-2])$")
FIRST_YEAR, LAST_YEAR = 1900, 2999
"""The years the books can hold: a booking date outside them is a typo, not a date."""
STREAM_PREFIX = "period:"


def period_of(day: date) -> str:
    """The period (month) a booking date belongs to: ``2026-11-26`` -> ``"2026-11"``."""
    return f"{day.year:04d}-{day.month:02d}"


def parse_period(value: str, *, field: str = "period") -> str:
    """A period named ``YYYY-MM``; anything else is refused."""
    if not isinstance(value, str) or not _PERIOD.fullmatch(value):
        raise DomainError(
            f"The period {value!r} is not valid; name a month as YYYY-MM from "
            f"{FIRST_YEAR}-01 to {LAST_YEAR}-12, e.g. 2026-11.",
            field=field,
            code="InvalidPeriod",
        )
    return value


def period_bounds(period: str) -> tuple[date, date]:
    """First day of the period and first day of the next one."""
    year, month = int(period[:4]), int(period[5:])
    start = date(year, month, 1)
    end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return start, end


def period_stream_id(period: str) -> str:
    return f"{STREAM_PREFIX}{period}"


class PeriodIsClosed(DomainError):
    """A booking into a closed period was refused (HTTP 422)."""

    title = "Period closed"


class Period(Aggregate):
    """One month of the books. A new (empty) stream is an open period."""

    stream_type = "period"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.period = aggregate_id.removeprefix(STREAM_PREFIX)
        self.closed_by: str | None = None

    @classmethod
    def of(cls, period: str) -> Period:
        return cls(period_stream_id(parse_period(period)))

    @property
    def is_closed(self) -> bool:
        return self.closed_by is not None

    def close(self, closed_by: str, pending_requests: Sequence[str] = ()) -> None:
        """Close the month; a second close is refused (there is no reopening either), and so is
        a close while booking requests dated in it are pending (``pending_requests``): they
        must be approved, rejected or expire first."""
        if self.is_closed:
            raise Conflict(
                f"Period {self.period} was already closed by {self.closed_by}; a closed period "
                "is never reopened.",
                field="period",
                code="PeriodAlreadyClosed",
            )
        if pending_requests:
            raise Conflict(
                f"Period {self.period} has {len(pending_requests)} pending booking request(s) "
                f"dated in it: {', '.join(pending_requests)}. Approve or reject them (or let "
                "them expire) before closing the period.",
                field="period",
                code="PendingBookingRequests",
            )
        self._record(PeriodClosed(period=self.period, closed_by=closed_by))

    def ensure_open(self, *, field: str = "booking_date", what: str = "booked") -> None:
        """Refuse a booking into this period when it is closed."""
        if self.is_closed:
            raise PeriodIsClosed(
                f"Period {self.period} is closed (by {self.closed_by}); nothing may be {what} "
                "into it. Book the correction into an open period instead.",
                field=field,
                code="PeriodClosed",
            )

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case PeriodClosed():
                self.closed_by = event.closed_by
            case _:
                raise TypeError(f"Period cannot apply {type(event).__name__}")
