"""Risk acceptance: the formal, time-limited decision to live with a risk.

One person of the back office requests it (with a reason and an end date), a *second* one
with the ``risk-officer`` role approves it (four-eyes, checked here with the kernel's
``ensure_four_eyes``), or someone rejects it. An acceptance covers the risk up to and
including its ``until`` day (UTC) and expires at the start of the following day, pending or
approved; the risk's review is then overdue at once (it was due by the acceptance's last day).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from shared_kernel.errors import Conflict, DomainError
from shared_kernel.four_eyes import ensure_four_eyes
from shared_kernel.identity import Caller
from shared_kernel.roles import Role

APPROVER_ROLES = frozenset({Role.RISK_OFFICER})


class AcceptanceStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


def expiry_instant(until: date) -> datetime:
    """When an acceptance running ``until`` a day ends: midnight UTC after that day."""
    if until == date.max:
        return datetime.max.replace(tzinfo=UTC)
    return datetime.combine(until + timedelta(days=1), time(0), tzinfo=UTC)


@dataclass(frozen=True)
class Acceptance:
    acceptance_id: str
    reason: str
    until: date
    requested_by: str
    requested_at: datetime
    status: AcceptanceStatus = AcceptanceStatus.REQUESTED
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str = ""

    @property
    def is_open(self) -> bool:
        """Pending or in force: a new request must wait until this one is decided or over."""
        return self.status in (AcceptanceStatus.REQUESTED, AcceptanceStatus.APPROVED)

    @property
    def expires_at(self) -> datetime:
        return expiry_instant(self.until)

    def is_due_to_expire(self, now: datetime) -> bool:
        return self.is_open and now >= self.expires_at

    def check_approval(self, approver: Caller, now: datetime) -> None:
        """Refuse an approval that four-eyes or the state does not allow."""
        self._check_pending("approved")
        ensure_four_eyes(
            self.requested_by, approver, what="risk acceptance", approver_roles=APPROVER_ROLES
        )
        if self.is_due_to_expire(now):
            raise Conflict(
                f"acceptance {self.acceptance_id} ran until {self.until.isoformat()}, which "
                "is over; request a new one",
                code="AcceptanceOver",
            )

    def check_rejection(self) -> None:
        self._check_pending("rejected")

    def decided(
        self, status: AcceptanceStatus, by: str, at: datetime, note: str = ""
    ) -> Acceptance:
        return replace(self, status=status, decided_by=by, decided_at=at, note=note)

    def _check_pending(self, verb: str) -> None:
        if self.status is not AcceptanceStatus.REQUESTED:
            raise Conflict(
                f"acceptance {self.acceptance_id} is {self.status.value}; only a requested "
                f"acceptance can be {verb}",
                code="AcceptanceNotPending",
            )


def check_request(reason: str, until: date, now: datetime, *, max_days: int) -> None:
    if not reason.strip():
        raise DomainError("an acceptance needs a reason", field="reason", code="ReasonRequired")
    today = now.astimezone(UTC).date()
    if until < today:
        raise DomainError(
            f"an acceptance must run until today or later, not {until.isoformat()}",
            field="until",
            code="UntilInThePast",
        )
    if (until - today).days > max_days:
        raise DomainError(
            f"an acceptance may run at most {max_days} days, until "
            f"{(today + timedelta(days=max_days)).isoformat()}",
            field="until",
            code="AcceptanceTooLong",
        )
