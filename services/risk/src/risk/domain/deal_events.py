"""Events of deal clearance (one ``DealClearance`` stream per booking request that names a
counterparty or a desk): the decision (``DealCleared`` or ``DealRefused``, again after a
re-check), then the end of the request (``DealReleased`` when the ledger rejected it or it
expired, ``DealPosted`` when its entry was posted).

``DealCleared`` and ``DealRefused`` are the published language the ledger reads from
``risk.events``: their contract fields keep their names and meaning. ``amounts`` (the deal's
exposure amount per currency) is this service's own addition, for re-checks; readers ignore it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from shared_kernel.domain import DomainEvent


@dataclass(frozen=True)
class DealCheck:
    """One active limit a deal was checked against (minor units): its exposure before the
    deal and the headroom before and after it."""

    limit_id: str
    dimension: str
    currency: str
    limit_amount: int
    exposure_before: int
    amount: int
    headroom_before: int
    headroom_after: int


@dataclass(frozen=True)
class DealCleared(DomainEvent):
    """The deal fits every active limit it counts under: its amounts are reserved.
    ``recheck``: cleared by a re-check after a limit was created or raised."""

    event_type = "risk.DealCleared"

    request_id: str
    counterparty: str | None
    desk: str | None
    checks: tuple[DealCheck, ...]
    recheck: bool
    at: datetime
    amounts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DealRefused(DomainEvent):
    """The deal does not fit: ``code`` ``NoActiveLimit`` (no active limit on any of its keys
    in ``currency``) or ``LimitExceeded`` (``limit_id`` has ``headroom_before`` and the deal
    needs ``amount``, ``shortfall`` more than there is). Nothing is reserved; the deal waits
    for a limit to be created or raised."""

    event_type = "risk.DealRefused"

    request_id: str
    counterparty: str | None
    desk: str | None
    code: str
    reason: str
    limit_id: str | None
    currency: str
    limit_amount: int | None
    headroom_before: int | None
    amount: int
    shortfall: int | None
    at: datetime
    amounts: Mapping[str, int] = field(default_factory=dict)
    recheck: bool = False


@dataclass(frozen=True)
class DealReleased(DomainEvent):
    """The ledger rejected the request or it expired (``outcome``): a cleared deal's
    reservation is released (``reserved``), a refused deal stops waiting."""

    event_type = "risk.DealReleased"

    request_id: str
    outcome: str
    reserved: bool
    at: datetime


@dataclass(frozen=True)
class DealPosted(DomainEvent):
    """The request's entry was posted: a cleared deal's reservation became posted exposure
    (``reserved``); a deal never cleared just counts as posted."""

    event_type = "risk.DealPosted"

    request_id: str
    entry_id: str
    reserved: bool
    at: datetime


DEAL_EVENTS: tuple[type[DomainEvent], ...] = (DealCleared, DealRefused, DealReleased, DealPosted)
