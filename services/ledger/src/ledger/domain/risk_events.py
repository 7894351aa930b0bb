"""The risk service's events as the ledger reads them: its side of the published language.

The ledger deploys alone and shares no code with risk but the kernel, so it keeps its own
classes of the risk events it reads, with only the fields it uses. The clearance inbox decodes
and validates every risk event of these types with them; a malformed one goes to the dead
letters, never onto a booking request. Risk's other event types are not read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared_kernel.domain import DomainEvent


@dataclass(frozen=True)
class DealCleared(DomainEvent):
    """Risk found headroom for the deal of ``request_id`` under every limit it counts against
    (at its submission, or by a re-check after a limit change for a deal refused before)."""

    event_type = "risk.DealCleared"

    request_id: str
    at: datetime


@dataclass(frozen=True)
class DealRefused(DomainEvent):
    """Risk refused the deal of ``request_id``: no active limit, or not enough headroom."""

    event_type = "risk.DealRefused"

    request_id: str
    code: str
    reason: str
    currency: str
    at: datetime
    limit_id: str | None = None
    shortfall: int | None = None


RISK_EVENTS: tuple[type[DomainEvent], ...] = (DealCleared, DealRefused)
