"""Deal clearance: "no deal without a limit" (MaRisk), decided once per booking request.

A booking request whose metadata names a counterparty or a desk is a *deal*. Per currency of
its exposure amounts (``exposure_amounts``), it counts under every key ``keys_for`` gives:
the counterparty, the desk, the counterparty on the desk. The rule, in this order:

1. a currency in which no key has an active limit: refused, ``NoActiveLimit``;
2. an active limit whose exposure (posted plus reserved) plus the deal's amount would exceed
   its amount: refused, ``LimitExceeded``, naming the limit with the largest shortfall;
3. otherwise cleared: the deal reserves its amounts on all its keys until it is posted,
   rejected or expires.

A refused deal reserves nothing (so it never crosses a threshold) and waits: when a limit on
one of its keys is created or raised, it is re-checked, oldest first, and cleared if it now
fits. ``DealClearance`` is the stream of one request's decisions; its id is derived from the
request id, so every replay finds the same stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import NAMESPACE_URL, uuid5

from shared_kernel.domain import Aggregate, DomainEvent

from risk.domain.deal_events import DealCheck, DealCleared, DealPosted, DealRefused, DealReleased
from risk.domain.exposure import ExposureKey, ExposureState, keys_for

NO_ACTIVE_LIMIT = "NoActiveLimit"
LIMIT_EXCEEDED = "LimitExceeded"

_IDS = uuid5(NAMESPACE_URL, "urn:backoffice:risk:deal-clearance")


def clearance_id(request_id: str) -> str:
    """The clearance stream of a booking request (a name-based UUID of its id)."""
    return str(uuid5(_IDS, request_id))


class DealStatus(StrEnum):
    CLEARED = "cleared"
    REFUSED = "refused"
    RELEASED = "released"
    POSTED = "posted"


@dataclass(frozen=True)
class DealTerms:
    """What a deal is: its request, whom it is with, and its exposure amount per currency."""

    request_id: str
    counterparty: str | None
    desk: str | None
    amounts: Mapping[str, int]

    def keys(self) -> list[ExposureKey]:
        """Every exposure key the deal counts under, currency by currency."""
        return [
            key
            for currency in sorted(self.amounts)
            for key in keys_for(self.counterparty, self.desk, currency)
        ]


@dataclass(frozen=True)
class Refusal:
    """Why a deal does not fit (the fields of ``DealRefused``)."""

    code: str
    reason: str
    currency: str
    amount: int
    limit_id: str | None = None
    limit_amount: int | None = None
    headroom_before: int | None = None
    shortfall: int | None = None


def assess(
    terms: DealTerms, states: Mapping[ExposureKey, ExposureState]
) -> tuple[DealCheck, ...] | Refusal:
    """The checks of a deal that fits, or the refusal of one that does not. ``states`` holds
    the exposure and limits in force of each of the deal's keys (a key missing: none)."""
    checks: list[DealCheck] = []
    for currency in sorted(terms.amounts):
        amount = terms.amounts[currency]
        keyed = [states.get(key) for key in keys_for(terms.counterparty, terms.desk, currency)]
        found = [state for state in keyed if state is not None and state.limits]
        if not found:
            return Refusal(
                NO_ACTIVE_LIMIT,
                f"no deal without a limit: no active limit for {_deal_text(terms)} in {currency}",
                currency,
                amount,
            )
        for state in found:
            for limit in state.limits:
                headroom = limit.amount - state.exposure
                checks.append(
                    DealCheck(
                        limit_id=limit.limit_id,
                        dimension=state.key.dimension,
                        currency=currency,
                        limit_amount=limit.amount,
                        exposure_before=state.exposure,
                        amount=amount,
                        headroom_before=headroom,
                        headroom_after=headroom - amount,
                    )
                )
    over = [check for check in checks if check.headroom_after < 0]
    if not over:
        return tuple(checks)
    worst = min(over, key=lambda check: check.headroom_after)  # the largest shortfall
    shortfall = -worst.headroom_after
    scope = _scope_text(worst, terms)
    return Refusal(
        LIMIT_EXCEEDED,
        f"limit {worst.limit_id} ({scope}) of {worst.limit_amount} {worst.currency} has "
        f"{worst.headroom_before} headroom (exposure {worst.exposure_before}); the deal of "
        f"{worst.amount} exceeds it by {shortfall}",
        worst.currency,
        worst.amount,
        worst.limit_id,
        worst.limit_amount,
        worst.headroom_before,
        shortfall,
    )


class DealClearance(Aggregate):
    """The clearance decisions of one deal (stream id: ``clearance_id(request_id)``)."""

    stream_type = "deal_clearance"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.terms: DealTerms | None = None
        self.status: DealStatus | None = None
        self.submitted_at: datetime | None = None
        self.refusal: DealRefused | None = None

    @classmethod
    def decide(
        cls,
        terms: DealTerms,
        states: Mapping[ExposureKey, ExposureState],
        *,
        submitted_at: datetime,
    ) -> DealClearance:
        """Clear or refuse a newly submitted deal (``submitted_at``: the decision's "now")."""
        clearance = cls(clearance_id(terms.request_id))
        clearance._decide(terms, states, submitted_at, recheck=False)
        return clearance

    @property
    def waiting(self) -> bool:
        """Refused and still pending: waits for a limit to be created or raised."""
        return self.status is DealStatus.REFUSED

    @property
    def reserved(self) -> bool:
        return self.status is DealStatus.CLEARED

    def recheck(self, states: Mapping[ExposureKey, ExposureState], at: datetime) -> bool:
        """Check a waiting deal again (a limit was created or raised): True when it is now
        cleared. A refusal that did not change records nothing."""
        if not self.waiting:
            return False
        return self._decide(self._terms(), states, at, recheck=True)

    def release(self, outcome: str, at: datetime) -> None:
        """The request was rejected or expired (``outcome``)."""
        if self.status in (DealStatus.CLEARED, DealStatus.REFUSED):
            self._record(DealReleased(self._terms().request_id, outcome, self.reserved, at))

    def post(self, entry_id: str, at: datetime) -> None:
        """The request's entry was posted."""
        if self.status in (DealStatus.CLEARED, DealStatus.REFUSED):
            self._record(DealPosted(self._terms().request_id, entry_id, self.reserved, at))

    def _decide(
        self,
        terms: DealTerms,
        states: Mapping[ExposureKey, ExposureState],
        at: datetime,
        *,
        recheck: bool,
    ) -> bool:
        outcome = assess(terms, states)
        amounts = dict(terms.amounts)
        if isinstance(outcome, Refusal):
            refused = DealRefused(
                request_id=terms.request_id,
                counterparty=terms.counterparty,
                desk=terms.desk,
                code=outcome.code,
                reason=outcome.reason,
                limit_id=outcome.limit_id,
                currency=outcome.currency,
                limit_amount=outcome.limit_amount,
                headroom_before=outcome.headroom_before,
                amount=outcome.amount,
                shortfall=outcome.shortfall,
                at=at,
                amounts=amounts,
                recheck=recheck,
            )
            if not _same_refusal(self.refusal, refused):
                self._record(refused)
            return False
        self._record(
            DealCleared(
                request_id=terms.request_id,
                counterparty=terms.counterparty,
                desk=terms.desk,
                checks=outcome,
                recheck=recheck,
                at=at,
                amounts=amounts,
            )
        )
        return True

    def _terms(self) -> DealTerms:
        assert self.terms is not None, "a clearance starts with its decision"
        return self.terms

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case DealCleared() | DealRefused():
                if self.terms is None:
                    self.terms = DealTerms(
                        event.request_id, event.counterparty, event.desk, dict(event.amounts)
                    )
                    self.submitted_at = event.at
                if isinstance(event, DealCleared):
                    self.status, self.refusal = DealStatus.CLEARED, None
                else:
                    self.status, self.refusal = DealStatus.REFUSED, event
            case DealReleased():
                self.status = DealStatus.RELEASED
            case DealPosted():
                self.status = DealStatus.POSTED
            case _:
                raise TypeError(f"DealClearance cannot apply {type(event).__name__}")


def _same_refusal(before: DealRefused | None, after: DealRefused) -> bool:
    """Would ``after`` tell the ledger nothing new?"""
    if before is None:
        return False
    fields = ("code", "limit_id", "currency", "limit_amount", "headroom_before", "shortfall")
    return all(getattr(before, name) == getattr(after, name) for name in fields)


def _scope_text(check: DealCheck, terms: DealTerms) -> str:
    if check.dimension == "counterparty":
        return f"counterparty {terms.counterparty}"
    if check.dimension == "desk":
        return f"desk {terms.desk}"
    return f"counterparty {terms.counterparty} on desk {terms.desk}"


def _deal_text(terms: DealTerms) -> str:
    parts = [f"counterparty {terms.counterparty}" if terms.counterparty else ""]
    parts.append(f"desk {terms.desk}" if terms.desk else "")
    return " / ".join(part for part in parts if part)
