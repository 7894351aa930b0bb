"""The kernel's contract on PostgreSQL (``PostgresEventStore``, ``PostgresUnitOfWork``), each
test in a fresh database: every command in a transaction of its own, and with group commit
(``GroupCommit``: the commands that can share a transaction do)."""

from __future__ import annotations

import pytest
from kernel_contract import CODEC, KernelContract
from shared_kernel import schema
from shared_kernel.commands import MakeUnitOfWork
from shared_kernel.eventstore import PostgresEventStore
from shared_kernel.group_commit import GroupCommit
from shared_kernel.unit_of_work import CommandContext, PostgresUnitOfWork, UnitOfWork
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.integration


class TestPostgresBackend(KernelContract):
    @pytest.fixture(params=["alone", "group commit"])
    async def make_uow(self, engine: AsyncEngine, request: pytest.FixtureRequest) -> MakeUnitOfWork:
        async with engine.begin() as conn:
            await conn.run_sync(schema.inbox_metadata.create_all)
        store = PostgresEventStore("/contract")
        group = GroupCommit(engine, store) if request.param == "group commit" else None

        def make(context: CommandContext) -> UnitOfWork:
            return PostgresUnitOfWork(engine, store, CODEC, context, group=group)

        return make
