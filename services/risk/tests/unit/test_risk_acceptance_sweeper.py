"""The acceptance-expiry sweeper with fakes of its ports: it expires what the read model
names, through commands, and shrugs off candidates the write model no longer agrees with."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from risk.app.acceptance_expiry import SWEEPER, AcceptanceExpirySweeper
from risk.app.register import DecideAcceptance, RegisterCommands
from risk.app.register_queries import RegisterQueries
from risk.domain.register import RegisterRules
from shared_kernel.commands import CommandBus, Handler
from shared_kernel.errors import Conflict
from shared_kernel.unit_of_work import CommandContext, CommandResult

pytestmark = pytest.mark.unit

NOW = datetime(2026, 4, 1, 0, 5, tzinfo=UTC)


class FakeQueries(RegisterQueries):
    def __init__(self, due: list[tuple[str, str]]) -> None:
        self.due = due
        self.asked_at: list[datetime] = []

    async def acceptances_due_to_expire(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        self.asked_at.append(now)
        return self.due[:limit]


class FakeBus(CommandBus):
    """Records what it was asked to expire; refuses those already expired."""

    def __init__(self, already_expired: set[str]) -> None:
        super().__init__(make_uow=_no_uow)
        self.already_expired = already_expired
        self.expired: list[tuple[str, str, CommandContext]] = []

    async def execute(self, context: CommandContext, handler: Handler[Any], command: Any) -> Any:
        assert isinstance(command, DecideAcceptance)
        if command.acceptance_id in self.already_expired:
            raise Conflict("expired already", code="AcceptanceNotDue")
        self.already_expired.add(command.acceptance_id)
        self.expired.append((command.risk_id, command.acceptance_id, context))
        return CommandResult(command.risk_id, 5, 42)


def _no_uow(_: CommandContext) -> Any:
    raise AssertionError("the fake runs no unit of work")


async def test_due_acceptances_are_expired_by_the_system_actor() -> None:
    bus = FakeBus(set())
    queries = FakeQueries([("r1", "acceptance-3"), ("r2", "acceptance-7")])
    sweeper = AcceptanceExpirySweeper(
        bus, RegisterCommands(RegisterRules()), queries, lambda: NOW, interval_seconds=1
    )

    assert await sweeper.sweep_once() == 2

    assert [(r, a) for r, a, _ in bus.expired] == [
        ("r1", "acceptance-3"),
        ("r2", "acceptance-7"),
    ]
    assert {c.caller for _, _, c in bus.expired} == {SWEEPER}
    assert queries.asked_at == [NOW]


async def test_a_lagging_read_model_expires_nothing_twice() -> None:
    bus = FakeBus({"acceptance-3"})
    queries = FakeQueries([("r1", "acceptance-3"), ("r2", "acceptance-7")])
    sweeper = AcceptanceExpirySweeper(
        bus, RegisterCommands(RegisterRules()), queries, lambda: NOW, interval_seconds=1
    )

    first = await sweeper.sweep_once()
    second = await sweeper.sweep_once()

    assert (first, second) == (1, 0)
    assert [a for _, a, _ in bus.expired] == ["acceptance-7"]
    assert sweeper.expired == 1
