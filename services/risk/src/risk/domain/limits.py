"""Limits: how much exposure the company takes on per counterparty, desk, or both, per
currency. A limit changes only by a request that a second person of the back office with the
``risk-officer`` role approves (four-eyes, on the server); every approved version is kept.
A limit is active while its latest version is approved and ``now`` lies in its validity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from shared_kernel.domain import Aggregate, DomainEvent
from shared_kernel.errors import Conflict, DomainError
from shared_kernel.four_eyes import ensure_four_eyes
from shared_kernel.identity import Caller
from shared_kernel.roles import Role

from risk.domain.exposure import ExposureKey
from risk.domain.limits_events import (
    LimitBreachMeasuresRecorded,
    LimitChangeApproved,
    LimitChangeRejected,
    LimitChangeRequested,
)
from risk.domain.thresholds import DEFAULT_WARNING_BP, FULL_BP

APPROVER_ROLES = frozenset({Role.RISK_OFFICER})
MAX_AMOUNT = 10**17  # minor units; far beyond any limit, well inside BIGINT
MAX_TEXT = 2000
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class Dimension(StrEnum):
    COUNTERPARTY = "counterparty"
    DESK = "desk"
    COUNTERPARTY_DESK = "counterparty_desk"


@dataclass(frozen=True)
class LimitScope:
    """What a limit measures: a counterparty, a desk, or a counterparty on a desk, in one
    currency. Fixed for the life of a limit (a different scope is a different limit)."""

    dimension: Dimension
    counterparty: str | None
    desk: str | None
    currency: str

    def checked(self) -> LimitScope:
        needs_counterparty = self.dimension is not Dimension.DESK
        needs_desk = self.dimension is not Dimension.COUNTERPARTY
        counterparty = _key_value(self.counterparty, "counterparty", needs_counterparty)
        desk = _key_value(self.desk, "desk", needs_desk)
        if not _CURRENCY.fullmatch(self.currency):
            raise DomainError(
                "currency must be an ISO 4217 code such as EUR", field="currency", code="Currency"
            )
        return replace(self, counterparty=counterparty, desk=desk)

    @property
    def exposure_key(self) -> ExposureKey:
        return ExposureKey(self.dimension.value, self.counterparty, self.desk, self.currency)


@dataclass(frozen=True)
class LimitTerms:
    """The changeable part of a limit: amount (minor units), warning threshold (basis points
    of the amount), validity from (inclusive) to (exclusive, open-ended when None)."""

    amount: int
    valid_from: datetime
    valid_to: datetime | None = None
    warning_threshold_bp: int = DEFAULT_WARNING_BP

    def checked(self) -> LimitTerms:
        if not 0 < self.amount <= MAX_AMOUNT:
            raise DomainError(
                f"amount must be a positive number of minor units up to {MAX_AMOUNT}",
                field="amount",
                code="LimitAmountInvalid",
            )
        if not 0 < self.warning_threshold_bp <= FULL_BP:
            raise DomainError(
                "warning_threshold must be above 0 and at most 1 (100 %)",
                field="warning_threshold",
                code="WarningThresholdInvalid",
            )
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise DomainError(
                "valid_to must be after valid_from", field="valid_to", code="ValidityInvalid"
            )
        return self

    def valid_at(self, at: datetime) -> bool:
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)


@dataclass(frozen=True)
class LimitVersion:
    version: int
    terms: LimitTerms
    requested_by: str
    approved_by: str
    approved_at: datetime


@dataclass(frozen=True)
class PendingChange:
    request_id: str
    change: str
    terms: LimitTerms
    reason: str
    requested_by: str
    requested_at: datetime


class Limit(Aggregate):
    stream_type = "limit"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.scope: LimitScope | None = None
        self.versions: list[LimitVersion] = []
        self.pending: PendingChange | None = None

    @classmethod
    def request_creation(
        cls,
        limit_id: str,
        request_id: str,
        scope: LimitScope,
        terms: LimitTerms,
        *,
        reason: str,
        requested_by: str,
        at: datetime,
    ) -> Limit:
        """A new limit, not active until a second person approves it."""
        limit = cls(limit_id)
        limit._request(
            request_id, "create", scope.checked(), terms.checked(), reason, requested_by, at
        )
        return limit

    def request_change(
        self, request_id: str, terms: LimitTerms, *, reason: str, requested_by: str, at: datetime
    ) -> None:
        """Ask for new terms; one request at a time."""
        if self.pending is not None:
            raise Conflict(
                f"limit {self.id} already has a pending request {self.pending.request_id} by "
                f"{self.pending.requested_by}; approve or reject it first",
                code="LimitChangePending",
            )
        assert self.scope is not None
        self._request(request_id, "change", self.scope, terms.checked(), reason, requested_by, at)

    def approve(self, approver: Caller, at: datetime) -> LimitVersion:
        """Approve the pending request (four-eyes: never the requester; a back-office
        risk officer): its terms become the next version."""
        pending = self._pending_or_refuse("approved")
        ensure_four_eyes(
            pending.requested_by, approver, what="limit change", approver_roles=APPROVER_ROLES
        )
        assert self.scope is not None
        terms = pending.terms
        self._record(
            LimitChangeApproved(
                limit_id=self.id,
                request_id=pending.request_id,
                limit_version=len(self.versions) + 1,
                dimension=self.scope.dimension.value,
                counterparty=self.scope.counterparty,
                desk=self.scope.desk,
                currency=self.scope.currency,
                amount=terms.amount,
                warning_threshold_bp=terms.warning_threshold_bp,
                valid_from=terms.valid_from,
                valid_to=terms.valid_to,
                requested_by=pending.requested_by,
                approved_by=approver.subject,
                at=at,
            )
        )
        return self.versions[-1]

    def reject(self, rejecter: Caller, reason: str, at: datetime) -> None:
        """Reject (or, by the requester, withdraw) the pending request, with a reason."""
        pending = self._pending_or_refuse("rejected")
        if rejecter.subject != pending.requested_by:
            ensure_four_eyes(
                pending.requested_by, rejecter, what="limit change", approver_roles=APPROVER_ROLES
            )
        self._record(
            LimitChangeRejected(
                self.id, pending.request_id, _text(reason, "reason", True), rejecter.subject, at
            )
        )

    @property
    def current(self) -> LimitVersion | None:
        return self.versions[-1] if self.versions else None

    def is_active(self, at: datetime) -> bool:
        current = self.current
        return current is not None and current.terms.valid_at(at)

    def _request(
        self,
        request_id: str,
        change: str,
        scope: LimitScope,
        terms: LimitTerms,
        reason: str,
        requested_by: str,
        at: datetime,
    ) -> None:
        self._record(
            LimitChangeRequested(
                limit_id=self.id,
                request_id=request_id,
                change=change,
                dimension=scope.dimension.value,
                counterparty=scope.counterparty,
                desk=scope.desk,
                currency=scope.currency,
                amount=terms.amount,
                warning_threshold_bp=terms.warning_threshold_bp,
                valid_from=terms.valid_from,
                valid_to=terms.valid_to,
                reason=_text(reason, "reason", False),
                requested_by=requested_by,
                at=at,
            )
        )

    def _pending_or_refuse(self, verb: str) -> PendingChange:
        if self.pending is None:
            raise Conflict(
                f"limit {self.id} has no pending change request to be {verb}",
                code="NoPendingLimitChange",
            )
        return self.pending

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case LimitChangeRequested():
                if self.scope is None:
                    self.scope = LimitScope(
                        Dimension(event.dimension), event.counterparty, event.desk, event.currency
                    )
                self.pending = PendingChange(
                    event.request_id,
                    event.change,
                    _terms_of(event),
                    event.reason,
                    event.requested_by,
                    event.at,
                )
            case LimitChangeApproved():
                self.versions.append(
                    LimitVersion(
                        event.limit_version,
                        _terms_of(event),
                        event.requested_by,
                        event.approved_by,
                        event.at,
                    )
                )
                self.pending = None
            case LimitChangeRejected():
                self.pending = None
            case _:
                raise TypeError(f"Limit cannot apply {type(event).__name__}")


class LimitBreachFile(Aggregate):
    """The measures taken about one breach (stream id: the breach's crossing id)."""

    stream_type = "limit_breach"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.measures: list[str] = []

    def record_measures(self, limit_id: str, measures: str, *, by: str, at: datetime) -> None:
        text = _text(measures, "measures", True)
        self._record(LimitBreachMeasuresRecorded(self.id, limit_id, text, by, at))

    def _apply(self, event: DomainEvent) -> None:
        if not isinstance(event, LimitBreachMeasuresRecorded):
            raise TypeError(f"LimitBreachFile cannot apply {type(event).__name__}")
        self.measures.append(event.measures)


def _terms_of(event: LimitChangeRequested | LimitChangeApproved) -> LimitTerms:
    return LimitTerms(event.amount, event.valid_from, event.valid_to, event.warning_threshold_bp)


def _key_value(value: str | None, field: str, required: bool) -> str | None:
    value = value.strip() if value is not None else None
    if not required:
        if value:
            raise DomainError(
                f"{field} does not belong to a limit of this dimension",
                field=field,
                code="LimitScopeInvalid",
            )
        return None
    if not value or len(value) > 200:
        raise DomainError(
            f"{field} is required for a limit of this dimension (1 to 200 characters)",
            field=field,
            code="LimitScopeInvalid",
        )
    return value


def _text(value: str, field: str, required: bool) -> str:
    value = value.strip()
    if required and not value:
        raise DomainError(f"{field} is required", field=field, code=f"{field.capitalize()}Required")
    if len(value) > MAX_TEXT:
        raise DomainError(f"{field} is longer than {MAX_TEXT} characters", field=field)
    return value
