"""The kernel's contract on PostgreSQL (``PostgresEventStore``, ``PostgresUnitOfWork``), each
test in a fresh database."""

from __future__ import annotations

import pytest
from kernel_contract import CODEC, KernelContract
from shared_kernel import schema
from shared_kernel.commands import MakeUnitOfWork
from shared_kernel.eventstore import PostgresEventStore
from shared_kernel.unit_of_work import CommandContext, PostgresUnitOfWork, UnitOfWork
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.integration


class TestPostgresBackend(KernelContract):
    @pytest.fixture
    async def make_uow(self, engine: AsyncEngine) -> MakeUnitOfWork:
        async with engine.begin() as conn:
            await conn.run_sync(schema.inbox_metadata.create_all)
        store = PostgresEventStore("/contract")

        def make(context: CommandContext) -> UnitOfWork:
            return PostgresUnitOfWork(engine, store, CODEC, context)

        return make
