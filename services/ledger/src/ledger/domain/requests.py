"""Booking requests: two-phase entries. Submitted (by the front office, typically), they
reserve their amounts; a second person of the back office approves (the entry is posted) or
rejects them; undecided, they expire. Each ends exactly once: its stream allows one decision.

A request that names a counterparty or a desk is a deal (``clearance``): it may be approved
only once risk has cleared it; until then, or when risk refused it, it can still be rejected
or expire.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum

from shared_kernel.domain import Aggregate, DomainEvent
from shared_kernel.errors import Conflict, PermissionDenied
from shared_kernel.four_eyes import ensure_four_eyes, ensure_person
from shared_kernel.identity import Caller
from shared_kernel.roles import Office, Role

from ledger.domain.accounts import Account
from ledger.domain.clearance import ClearanceStatus, Refusal, clearance_on_submission
from ledger.domain.events import (
    BookingRequestApproved,
    BookingRequestCleared,
    BookingRequestExpired,
    BookingRequestRefused,
    BookingRequestRejected,
    BookingRequestSubmitted,
    PostedLine,
)
from ledger.domain.journal import EntryDetails, required_text
from ledger.domain.lines import LineInput, check_lines

APPROVER_ROLES = frozenset({Role.ACCOUNTANT, Role.CONTROLLER})
"""Who may approve or reject a booking request: back-office bookkeepers."""


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


class BookingRequest(Aggregate):
    """A pending journal entry awaiting a back-office decision."""

    stream_type = "booking_request"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status = RequestStatus.PENDING
        self.details: EntryDetails | None = None
        self.lines: tuple[PostedLine, ...] = ()
        self.submitted_by = ""
        self.expires_at: datetime | None = None
        self.entry_id: str | None = None
        self.decided_by: str | None = None
        self.clearance = ClearanceStatus.NOT_REQUIRED
        self.refusal: Refusal | None = None

    @classmethod
    def submit(
        cls,
        request_id: str,
        details: EntryDetails,
        lines: Sequence[LineInput],
        accounts: Mapping[str, Account],
        *,
        submitted_by: str,
        expires_at: datetime,
    ) -> BookingRequest:
        """A new pending request; ``details`` are checked (``EntryDetails.checked``) and the
        lines must make a valid entry now (``check_lines``)."""
        posted = check_lines(lines, accounts)
        assert details.voucher_date is not None, "details must be checked first"
        request = cls(request_id)
        request._record(
            BookingRequestSubmitted(
                request_id=request_id,
                voucher_number=details.voucher_number,
                voucher_date=details.voucher_date,
                booking_date=details.booking_date,
                period=details.period,
                text=details.text,
                lines=posted,
                submitted_by=submitted_by,
                expires_at=expires_at,
                source_document=details.source_document,
                metadata=dict(details.metadata),
            )
        )
        return request

    @property
    def exists(self) -> bool:
        return self.details is not None

    def is_due(self, now: datetime) -> bool:
        """Whether a pending request has outlived its time."""
        return (
            self.status is RequestStatus.PENDING
            and self.expires_at is not None
            and now >= self.expires_at
        )

    def line_inputs(self) -> tuple[LineInput, ...]:
        return tuple(LineInput(ln.account_id, ln.side, ln.amount, ln.currency) for ln in self.lines)

    def approve(self, approver: Caller, entry_id: str, now: datetime) -> None:
        """Approve: four-eyes (never the submitter; a back-office bookkeeper), only a pending
        request that has not expired, and a deal only once risk has cleared it."""
        ensure_four_eyes(
            self.submitted_by, approver, what="booking request", approver_roles=APPROVER_ROLES
        )
        self._ensure_pending("approved", now)
        self._ensure_cleared()
        self._record(BookingRequestApproved(self.id, entry_id, approver.subject))

    def record_clearance(self, at: datetime) -> bool:
        """Risk cleared the deal; True when that changed the request. Only a pending deal
        records it (a decided request no longer needs an answer); a clearance is final, so a
        repeated one changes nothing, and it replaces a refusal (a re-check after a limit
        was raised)."""
        if not self._awaits_answer() or self.clearance is ClearanceStatus.CLEARED:
            return False
        self._record(BookingRequestCleared(self.id, at))
        return True

    def record_refusal(self, refusal: Refusal, at: datetime) -> bool:
        """Risk refused the deal; True when that changed the request. Ignored once cleared
        (a clearance is final, whatever order the answers arrive in), for a decided request,
        and when it repeats the refusal on record."""
        if not self._awaits_answer() or self.clearance is ClearanceStatus.CLEARED:
            return False
        if self.refusal == refusal:
            return False
        self._record(
            BookingRequestRefused(
                request_id=self.id,
                code=refusal.code,
                reason=refusal.reason,
                limit_id=refusal.limit_id,
                currency=refusal.currency,
                shortfall=refusal.shortfall,
                at=at,
            )
        )
        return True

    def _awaits_answer(self) -> bool:
        return (
            self.exists
            and self.status is RequestStatus.PENDING
            and self.clearance is not ClearanceStatus.NOT_REQUIRED
        )

    def _ensure_cleared(self) -> None:
        if self.clearance is ClearanceStatus.AWAITING:
            raise Conflict(
                f"Booking request {self.id} is a deal awaiting risk clearance; it can be "
                "approved once risk has cleared it against the counterparty's and desk's limits.",
                code="AwaitingRiskClearance",
            )
        if self.clearance is ClearanceStatus.REFUSED:
            assert self.refusal is not None
            raise Conflict(
                f"Booking request {self.id} is a deal that risk refused: "
                f"{self.refusal.describe()}. It can be approved only if risk clears it after "
                "the limit is raised; otherwise reject it.",
                code="DealRefused",
            )

    def reject(self, rejecter: Caller, reason: str, now: datetime) -> None:
        """Reject a pending request: back-office work for a person, with a reason."""
        ensure_person(rejecter, "rejecting a booking request")
        if rejecter.office is not Office.BACK or not rejecter.has_any(APPROVER_ROLES):
            raise PermissionDenied(
                "rejecting a booking request is back-office work for "
                f"{' or '.join(sorted(APPROVER_ROLES))}",
                code="BackOfficeRequired",
            )
        self._ensure_pending("rejected", now)
        reason = required_text(
            reason, field="reason", code="ReasonRequired", detail="A rejection needs a reason."
        )
        self._record(BookingRequestRejected(self.id, rejecter.subject, reason))

    def expire(self, now: datetime) -> None:
        """Expire a pending request whose time is up (the sweeper's work)."""
        if self.status is not RequestStatus.PENDING:
            self._refuse_decided("expired")
        if not self.is_due(now):
            raise Conflict(
                f"Booking request {self.id} is pending until {self.expires_at}; it has not "
                "expired yet.",
                code="BookingRequestNotDue",
            )
        self._record(BookingRequestExpired(self.id, now))

    def _ensure_pending(self, verb: str, now: datetime) -> None:
        if self.status is not RequestStatus.PENDING:
            self._refuse_decided(verb)
        if self.is_due(now):
            raise Conflict(
                f"Booking request {self.id} expired at {self.expires_at} and can no longer be "
                f"{verb}; submit a new request.",
                code="BookingRequestExpired",
            )

    def _refuse_decided(self, verb: str) -> None:
        by = f" by {self.decided_by}" if self.decided_by else ""
        entry = f" and posted as entry {self.entry_id}" if self.entry_id else ""
        raise Conflict(
            f"Booking request {self.id} cannot be {verb}: it was already "
            f"{self.status.value}{by}{entry}.",
            code=f"BookingRequest{self.status.value.capitalize()}",
        )

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case BookingRequestSubmitted():
                self.details = EntryDetails(
                    voucher_number=event.voucher_number,
                    booking_date=event.booking_date,
                    text=event.text,
                    voucher_date=event.voucher_date,
                    source_document=event.source_document,
                    metadata=dict(event.metadata),
                )
                self.lines = tuple(event.lines)
                self.submitted_by = event.submitted_by
                self.expires_at = event.expires_at
                self.clearance = clearance_on_submission(event.metadata)
            case BookingRequestCleared():
                self.clearance = ClearanceStatus.CLEARED
                self.refusal = None
            case BookingRequestRefused():
                self.clearance = ClearanceStatus.REFUSED
                self.refusal = Refusal(
                    event.code, event.reason, event.limit_id, event.currency, event.shortfall
                )
            case BookingRequestApproved():
                self.status = RequestStatus.APPROVED
                self.entry_id = event.entry_id
                self.decided_by = event.approved_by
            case BookingRequestRejected():
                self.status = RequestStatus.REJECTED
                self.decided_by = event.rejected_by
            case BookingRequestExpired():
                self.status = RequestStatus.EXPIRED
            case _:
                raise TypeError(f"BookingRequest cannot apply {type(event).__name__}")
