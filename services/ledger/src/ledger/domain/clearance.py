"""Deal clearance ("no deal without a limit", MaRisk): a booking request that names a
counterparty or a desk is a deal, and may be approved only once risk has cleared it.

Risk answers each deal with ``DealCleared`` or ``DealRefused`` (``risk_events``); the ledger
records the answer on the request (``BookingRequest.record_clearance`` / ``record_refusal``).
A refusal can be followed by a clearance (risk re-checks refused deals when a limit is raised
or created); a clearance is final.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from shared_kernel.errors import DomainError

from ledger.domain.money import Currency


class ClearanceStatus(StrEnum):
    NOT_REQUIRED = "not_required"
    """Not a deal (no counterparty, no desk): an expense, say."""
    AWAITING = "awaiting"
    """A deal whose risk answer has not arrived yet."""
    CLEARED = "cleared"
    REFUSED = "refused"


def counterparty_and_desk(metadata: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The counterparty and desk a request's metadata names (blank means none): the same rule
    as the risk service's, which decides what it checks against its limits."""
    counterparty = (metadata.get("counterparty") or "").strip() or None
    desk = (metadata.get("desk") or "").strip() or None
    return counterparty, desk


def is_deal(metadata: Mapping[str, str]) -> bool:
    """Whether a booking request with this metadata is a deal that needs risk clearance."""
    counterparty, desk = counterparty_and_desk(metadata)
    return counterparty is not None or desk is not None


def clearance_on_submission(metadata: Mapping[str, str]) -> ClearanceStatus:
    """A deal awaits risk's answer from its submission; anything else needs none."""
    return ClearanceStatus.AWAITING if is_deal(metadata) else ClearanceStatus.NOT_REQUIRED


@dataclass(frozen=True)
class Refusal:
    """Why risk refused a deal: ``code`` is ``NoActiveLimit`` or ``LimitExceeded``; ``reason``
    a sentence naming the limit and the shortfall (minor units of ``currency``)."""

    code: str
    reason: str
    limit_id: str | None
    currency: str
    shortfall: int | None

    def describe(self) -> str:
        """The refusal for a person: risk's reason, then the limit and the shortfall."""
        facts = []
        if self.limit_id:
            facts.append(f"limit {self.limit_id}")
        if self.shortfall is not None:
            facts.append(f"shortfall {self._amount(self.shortfall)} {self.currency}")
        return f"{self.reason} ({', '.join(facts)})" if facts else self.reason

    def _amount(self, minor_units: int) -> str:
        try:
            return Currency.of(self.currency).format(minor_units)
        except DomainError:  # a currency the ledger does not book: shown in minor units
            return f"{minor_units} (minor units)"
