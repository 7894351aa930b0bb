"""Command handlers of limits: request a new limit or a change, approve (which attaches the
new version to its exposure, evaluates it at once and, when it creates or raises the limit,
re-checks the refused deals waiting on it) or reject, and record the measures taken about a
breach (continuing the breach's case)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from shared_kernel.commands import Clock, check_version, utc_now
from shared_kernel.domain import Cause, caused_by
from shared_kernel.errors import NotFound
from shared_kernel.eventstore import new_event_id
from shared_kernel.unit_of_work import CommandResult, UnitOfWork, approver_of

from risk.app.deal_recheck import recheck_waiting_deals
from risk.domain.exposure import Exposure
from risk.domain.limits import Limit, LimitBreachFile, LimitScope, LimitTerms, LimitVersion


@dataclass(frozen=True)
class RequestLimit:
    scope: LimitScope
    terms: LimitTerms
    reason: str = ""


@dataclass(frozen=True)
class RequestLimitChange:
    limit_id: str
    terms: LimitTerms
    reason: str = ""
    expected_version: int | None = None


@dataclass(frozen=True)
class DecideLimitChange:
    limit_id: str
    reason: str = ""
    expected_version: int | None = None


@dataclass(frozen=True)
class RecordBreachMeasures:
    breach_id: str
    measures: str
    expected_version: int | None = None


@dataclass(frozen=True)
class BreachRef:
    """A recorded breach: the limit it belongs to and its business case (the correlation id
    of its ``LimitBreached`` event; None for one recorded before cases were kept)."""

    limit_id: str
    case: str | None = None


BreachLimit = Callable[[str], Awaitable[BreachRef | None]]
"""The breach (by its id), or None when there is no such breach."""


@dataclass
class LimitCommands:
    """The limits' handlers, with the clock and where a breach's limit is looked up."""

    breach_limit: BreachLimit
    clock: Clock = utc_now

    async def request_limit(self, command: RequestLimit, uow: UnitOfWork) -> CommandResult:
        async with uow:
            limit = Limit.request_creation(
                str(new_event_id()),
                str(new_event_id()),
                command.scope,
                command.terms,
                reason=command.reason,
                requested_by=uow.context.actor.subject,
                at=self.clock(),
            )
            uow.add(limit)
            return await uow.commit(limit)

    async def request_change(self, command: RequestLimitChange, uow: UnitOfWork) -> CommandResult:
        async with uow:
            limit = await self._limit(uow, command.limit_id, command.expected_version)
            limit.request_change(
                str(new_event_id()),
                command.terms,
                reason=command.reason,
                requested_by=uow.context.actor.subject,
                at=self.clock(),
            )
            return await uow.commit(limit)

    async def approve(self, command: DecideLimitChange, uow: UnitOfWork) -> CommandResult:
        """Approve and attach the new version to its exposure in the same transaction, so the
        exposure evaluates the new terms at once (a lower amount may itself breach). A
        version that creates, raises or reactivates the limit re-checks the refused deals
        waiting on its key (``recheck_waiting_deals``)."""
        async with uow:
            limit = await self._limit(uow, command.limit_id, command.expected_version)
            now = self.clock()
            previous = limit.current
            version = limit.approve(approver_of(uow.context), now)
            assert limit.scope is not None
            key = limit.scope.exposure_key
            exposure = await uow.find(Exposure, key.id)
            if exposure is None:
                exposure = Exposure.of(key)
                uow.add(exposure)
            terms = version.terms
            exposure.attach(
                limit.id,
                version.version,
                terms.amount,
                terms.warning_threshold_bp,
                terms.valid_from,
                terms.valid_to,
                at=now,
            )
            if _opens_headroom(previous, version, now):
                await recheck_waiting_deals(uow, exposure, now)
            return await uow.commit(limit)

    async def reject(self, command: DecideLimitChange, uow: UnitOfWork) -> CommandResult:
        async with uow:
            limit = await self._limit(uow, command.limit_id, command.expected_version)
            limit.reject(approver_of(uow.context), command.reason, self.clock())
            return await uow.commit(limit)

    async def record_measures(
        self, command: RecordBreachMeasures, uow: UnitOfWork
    ) -> CommandResult:
        breach = await self.breach_limit(command.breach_id)
        if breach is None:
            raise NotFound(f"limit breach {command.breach_id} does not exist")
        # The measures continue the breach's case, caused by this request.
        cause = Cause(breach.case, uow.context.correlation_id) if breach.case else None
        async with uow:
            file = await uow.find(LimitBreachFile, command.breach_id)
            if file is None:
                file = LimitBreachFile(command.breach_id)
                uow.add(file)
            check_version(file.version, command.expected_version, f"breach {command.breach_id}")
            with caused_by(cause):
                file.record_measures(
                    breach.limit_id, command.measures, by=uow.context.actor.subject, at=self.clock()
                )
            return await uow.commit(file)

    async def _limit(self, uow: UnitOfWork, limit_id: str, expected: int | None) -> Limit:
        limit = await uow.get(Limit, limit_id)
        check_version(limit.version, expected, f"limit {limit_id}")
        return limit


def _opens_headroom(previous: LimitVersion | None, version: LimitVersion, at: datetime) -> bool:
    """Does the approved version create the limit, raise it, or make it active again?"""
    if previous is None or not previous.terms.valid_at(at):
        return True
    return version.terms.amount > previous.terms.amount
