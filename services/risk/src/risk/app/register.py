"""Command handlers of the risk register: load the risk, call the domain, save."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from shared_kernel.commands import Clock, check_version, utc_now
from shared_kernel.eventstore import new_event_id
from shared_kernel.unit_of_work import CommandResult, UnitOfWork, approver_of

from risk.domain.register import (
    Action,
    Control,
    RegisteredRisk,
    RegisterRules,
    RiskDetails,
    Treatment,
    child_id,
)
from risk.domain.scoring import Effectiveness, Reduces


@dataclass(frozen=True)
class IdentifyRisk:
    details: RiskDetails
    likelihood: int
    impact: int


@dataclass(frozen=True)
class RiskChange:
    """A change to one existing risk; ``expected_version`` comes from ``If-Match``."""

    risk_id: str
    expected_version: int | None = None


@dataclass(frozen=True)
class ChangeRiskDetails(RiskChange):
    details: RiskDetails | None = None
    reason: str = ""


@dataclass(frozen=True)
class ReassessRisk(RiskChange):
    likelihood: int = 0
    impact: int = 0
    reason: str = ""


@dataclass(frozen=True)
class AddControl(RiskChange):
    name: str = ""
    description: str = ""
    effectiveness: Effectiveness = Effectiveness.NONE
    reduces: Reduces = Reduces.LIKELIHOOD
    reason: str = ""


@dataclass(frozen=True)
class ChangeControl(AddControl):
    control_id: str = ""


@dataclass(frozen=True)
class RemoveControl(RiskChange):
    control_id: str = ""
    reason: str = ""


@dataclass(frozen=True)
class SetTreatment(RiskChange):
    treatment: Treatment = Treatment.MITIGATE
    reason: str = ""


@dataclass(frozen=True)
class PlanAction(RiskChange):
    title: str = ""
    owner: str = ""
    due_date: date = date.min
    reason: str = ""


@dataclass(frozen=True)
class ChangeAction(PlanAction):
    action_id: str = ""


@dataclass(frozen=True)
class CompleteAction(RiskChange):
    action_id: str = ""
    note: str = ""


@dataclass(frozen=True)
class RecordReview(RiskChange):
    note: str = ""


@dataclass(frozen=True)
class CloseRisk(RiskChange):
    reason: str = ""


@dataclass(frozen=True)
class RequestAcceptance(RiskChange):
    reason: str = ""
    until: date = date.min


@dataclass(frozen=True)
class DecideAcceptance(RiskChange):
    acceptance_id: str = ""
    note: str = ""


@dataclass
class RegisterCommands:
    """The risk register's handlers, with the register's rules and the clock."""

    rules: RegisterRules
    clock: Clock = utc_now

    async def identify_risk(self, command: IdentifyRisk, uow: UnitOfWork) -> CommandResult:
        async with uow:
            risk = RegisteredRisk.identify(
                str(new_event_id()),
                command.details,
                command.likelihood,
                command.impact,
                self.rules,
                by=uow.context.actor.subject,
                at=self.clock(),
            )
            uow.add(risk)
            return await uow.commit(risk)

    async def change_details(self, command: ChangeRiskDetails, uow: UnitOfWork) -> CommandResult:
        assert command.details is not None
        details = command.details
        return await self._change(
            command,
            uow,
            lambda r, by: r.change_details(details, command.reason, by=by, at=self._now),
        )

    async def reassess(self, command: ReassessRisk, uow: UnitOfWork) -> CommandResult:
        return await self._change(
            command,
            uow,
            lambda r, by: r.reassess(
                command.likelihood, command.impact, command.reason, self.rules, by=by, at=self._now
            ),
        )

    async def add_control(self, command: AddControl, uow: UnitOfWork) -> CommandResult:
        def add(risk: RegisteredRisk, by: str) -> None:
            control = Control(
                child_id("control", risk.version + 1),
                command.name,
                command.description,
                command.effectiveness,
                command.reduces,
            )
            risk.add_control(control, command.reason, self.rules, by=by, at=self._now)

        return await self._change(command, uow, add)

    async def change_control(self, command: ChangeControl, uow: UnitOfWork) -> CommandResult:
        control = Control(
            command.control_id,
            command.name,
            command.description,
            command.effectiveness,
            command.reduces,
        )
        return await self._change(
            command,
            uow,
            lambda r, by: r.change_control(
                control, command.reason, self.rules, by=by, at=self._now
            ),
        )

    async def remove_control(self, command: RemoveControl, uow: UnitOfWork) -> CommandResult:
        return await self._change(
            command,
            uow,
            lambda r, by: r.remove_control(
                command.control_id, command.reason, self.rules, by=by, at=self._now
            ),
        )

    async def set_treatment(self, command: SetTreatment, uow: UnitOfWork) -> CommandResult:
        return await self._change(
            command,
            uow,
            lambda r, by: r.set_treatment(command.treatment, command.reason, by=by, at=self._now),
        )

    async def plan_action(self, command: PlanAction, uow: UnitOfWork) -> CommandResult:
        def plan(risk: RegisteredRisk, by: str) -> None:
            action_id = child_id("action", risk.version + 1)
            action = Action(action_id, command.title, command.owner, command.due_date)
            risk.plan_action(action, command.reason, by=by, at=self._now)

        return await self._change(command, uow, plan)

    async def change_action(self, command: ChangeAction, uow: UnitOfWork) -> CommandResult:
        action = Action(command.action_id, command.title, command.owner, command.due_date)
        return await self._change(
            command,
            uow,
            lambda r, by: r.change_action(action, command.reason, by=by, at=self._now),
        )

    async def complete_action(self, command: CompleteAction, uow: UnitOfWork) -> CommandResult:
        return await self._change(
            command,
            uow,
            lambda r, by: r.complete_action(command.action_id, command.note, by=by, at=self._now),
        )

    async def record_review(self, command: RecordReview, uow: UnitOfWork) -> CommandResult:
        return await self._change(
            command,
            uow,
            lambda r, by: r.record_review(command.note, self.rules, by=by, at=self._now),
        )

    async def close_risk(self, command: CloseRisk, uow: UnitOfWork) -> CommandResult:
        return await self._change(
            command, uow, lambda r, by: r.close(command.reason, by=by, at=self._now)
        )

    async def request_acceptance(
        self, command: RequestAcceptance, uow: UnitOfWork
    ) -> CommandResult:
        def request(risk: RegisteredRisk, by: str) -> None:
            acceptance_id = child_id("acceptance", risk.version + 1)
            risk.request_acceptance(
                acceptance_id, command.reason, command.until, self.rules, by=by, at=self._now
            )

        return await self._change(command, uow, request)

    async def approve_acceptance(self, command: DecideAcceptance, uow: UnitOfWork) -> CommandResult:
        approver = approver_of(uow.context)
        return await self._change(
            command,
            uow,
            lambda r, _: r.approve_acceptance(
                command.acceptance_id, approver, command.note, at=self._now
            ),
        )

    async def reject_acceptance(self, command: DecideAcceptance, uow: UnitOfWork) -> CommandResult:
        return await self._change(
            command,
            uow,
            lambda r, by: r.reject_acceptance(
                command.acceptance_id, command.note, by=by, at=self._now
            ),
        )

    async def expire_acceptance(self, command: DecideAcceptance, uow: UnitOfWork) -> CommandResult:
        return await self._change(
            command,
            uow,
            lambda r, by: r.expire_acceptance(command.acceptance_id, by=by, at=self._now),
        )

    @property
    def _now(self) -> datetime:
        return self.clock()

    async def _change(
        self,
        command: RiskChange,
        uow: UnitOfWork,
        decide: Callable[[RegisteredRisk, str], None],
    ) -> CommandResult:
        async with uow:
            risk = await uow.get(RegisteredRisk, command.risk_id)
            check_version(risk.version, command.expected_version, f"risk {risk.id}")
            decide(risk, uow.context.actor.subject)
            return await uow.commit(risk)
