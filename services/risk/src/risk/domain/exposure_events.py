"""Events of exposures (one stream per exposure key and currency) and of the ledger items
counted into them (one stream per ledger entry or booking request).

The exposure stream also records the limits attached to it and every threshold crossing of
those limits: the crossing is decided once, under the stream's version, and never again.
Each crossing names its cause: the ledger entry, reversal or booking request whose change
moved the exposure, or the limit change whose new terms moved the utilisation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from shared_kernel.domain import DomainEvent


@dataclass(frozen=True)
class ExposureChanged(DomainEvent):
    """Posted and pending exposure moved by these deltas to these totals (minor units).

    ``cause``/``cause_id`` name what moved it. When the change sums the moves of several
    ledger items of one inbox batch (none of them but the last crossing a threshold),
    ``cause_ids`` lists each item's id in order and ``cause``/``cause_id`` name the last one;
    a change of one item leaves it empty."""

    event_type = "risk.ExposureChanged"

    exposure_id: str
    dimension: str
    counterparty: str | None
    desk: str | None
    currency: str
    posted_delta: int
    pending_delta: int
    posted: int
    pending: int
    cause: str
    cause_id: str
    at: datetime
    cause_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class LimitAttached(DomainEvent):
    """A limit version now measures this exposure (recorded when the version is approved)."""

    event_type = "risk.LimitAttached"

    exposure_id: str
    dimension: str
    counterparty: str | None
    desk: str | None
    currency: str
    limit_id: str
    limit_version: int
    amount: int
    warning_threshold_bp: int
    valid_from: datetime
    valid_to: datetime | None
    at: datetime


@dataclass(frozen=True)
class ThresholdCrossed(DomainEvent):
    """Fields shared by the three crossing events (not stored itself)."""

    event_type = "risk.ThresholdCrossed"

    crossing_id: str
    limit_id: str
    limit_version: int
    exposure_id: str
    dimension: str
    counterparty: str | None
    desk: str | None
    currency: str
    exposure: int
    limit_amount: int
    warning_threshold_bp: int
    utilisation_bp: int
    state: str
    cause: str
    cause_id: str
    at: datetime


@dataclass(frozen=True)
class LimitWarningReached(ThresholdCrossed):
    """The exposure went above the limit's warning threshold; ``crossing_id`` is the
    warning's id."""

    event_type = "risk.LimitWarningReached"


@dataclass(frozen=True)
class LimitBreached(ThresholdCrossed):
    """The exposure went above the limit amount; ``crossing_id`` is the breach's id."""

    event_type = "risk.LimitBreached"


@dataclass(frozen=True)
class LimitBackWithinThreshold(ThresholdCrossed):
    """The utilisation fell back below ``threshold`` (``"limit"`` or ``"warning"``)."""

    event_type = "risk.LimitBackWithinThreshold"

    threshold: str = "limit"


@dataclass(frozen=True)
class DealWaitingForLimit(DomainEvent):
    """A refused deal (``request_id``, submitted at ``since``) counts under this key: it is
    re-checked when a limit on this key is created or raised."""

    event_type = "risk.DealWaitingForLimit"

    exposure_id: str
    dimension: str
    counterparty: str | None
    desk: str | None
    currency: str
    request_id: str
    since: datetime
    at: datetime


@dataclass(frozen=True)
class DealStoppedWaiting(DomainEvent):
    """The deal no longer waits here: cleared by a re-check, rejected, expired or posted."""

    event_type = "risk.DealStoppedWaiting"

    exposure_id: str
    request_id: str
    at: datetime


@dataclass(frozen=True)
class LedgerItemCounted(DomainEvent):
    """A ledger entry or booking request counts into exposures: ``kind`` is ``entry`` or
    ``booking_request``; ``status`` ``posted`` or ``pending``. ``amounts`` per currency.

    ``status`` ``settled`` marks an item whose end was seen before its beginning (events of
    different ledger streams arrive in any order between partitions): when the beginning
    arrives, it counts nothing."""

    event_type = "risk.LedgerItemCounted"

    item_id: str
    ledger_id: str
    kind: str
    status: str
    counterparty: str | None
    desk: str | None
    amounts: Mapping[str, int] = field(default_factory=dict)
    at: datetime | None = None


@dataclass(frozen=True)
class LedgerItemSettled(DomainEvent):
    """A counted item ended: ``outcome`` ``posted`` (a pending request was approved),
    ``released`` (rejected or expired) or ``reversed`` (a posted entry was reversed)."""

    event_type = "risk.LedgerItemSettled"

    item_id: str
    outcome: str
    cause_id: str
    at: datetime


EXPOSURE_EVENTS: tuple[type[DomainEvent], ...] = (
    ExposureChanged,
    LimitAttached,
    LimitWarningReached,
    LimitBreached,
    LimitBackWithinThreshold,
    DealWaitingForLimit,
    DealStoppedWaiting,
    LedgerItemCounted,
    LedgerItemSettled,
)
