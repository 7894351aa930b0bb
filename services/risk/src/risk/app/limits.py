"""Command handlers of limits: request a new limit or a change, approve (which attaches the
new version to its exposure and evaluates it at once) or reject, and record the measures
taken about a breach."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from shared_kernel.commands import Clock, check_version, utc_now
from shared_kernel.errors import NotFound
from shared_kernel.eventstore import new_event_id
from shared_kernel.unit_of_work import CommandResult, UnitOfWork, approver_of

from risk.domain.exposure import Exposure
from risk.domain.limits import Limit, LimitBreachFile, LimitScope, LimitTerms


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


BreachLimit = Callable[[str], Awaitable[str | None]]
"""The limit a breach (by its id) belongs to, or None when there is no such breach."""


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
        exposure evaluates the new terms at once (a lower amount may itself breach)."""
        async with uow:
            limit = await self._limit(uow, command.limit_id, command.expected_version)
            now = self.clock()
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
            return await uow.commit(limit)

    async def reject(self, command: DecideLimitChange, uow: UnitOfWork) -> CommandResult:
        async with uow:
            limit = await self._limit(uow, command.limit_id, command.expected_version)
            limit.reject(approver_of(uow.context), command.reason, self.clock())
            return await uow.commit(limit)

    async def record_measures(
        self, command: RecordBreachMeasures, uow: UnitOfWork
    ) -> CommandResult:
        limit_id = await self.breach_limit(command.breach_id)
        if limit_id is None:
            raise NotFound(f"limit breach {command.breach_id} does not exist")
        async with uow:
            file = await uow.find(LimitBreachFile, command.breach_id)
            if file is None:
                file = LimitBreachFile(command.breach_id)
                uow.add(file)
            check_version(file.version, command.expected_version, f"breach {command.breach_id}")
            file.record_measures(
                limit_id, command.measures, by=uow.context.actor.subject, at=self.clock()
            )
            return await uow.commit(file)

    async def _limit(self, uow: UnitOfWork, limit_id: str, expected: int | None) -> Limit:
        limit = await uow.get(Limit, limit_id)
        check_version(limit.version, expected, f"limit {limit_id}")
        return limit
