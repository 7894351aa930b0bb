"""Replicas of a service start side by side: what each does at start-up must not break the
others' (``LEDGER_REPLICAS=2 make run`` starts both at once)."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from kernel_harness import totals_read_model
from kernel_totals_projection import stream_totals
from shared_kernel.db import create_engine
from shared_kernel.readmodel import READ_MODEL_SCHEMA

pytestmark = pytest.mark.integration


async def test_replicas_ensuring_a_read_model_at_once_create_one_generation_and_keep_it(
    kernel_database: str,
) -> None:
    # One engine each, as separate processes have: their DDL really runs side by side.
    engines = [create_engine(kernel_database) for _ in range(4)]
    try:
        stores = [totals_read_model(engine) for engine in engines]
        generations = await asyncio.gather(*(store.ensure_live() for store in stores))
        assert generations == [1, 1, 1, 1]
        # What the first replica's runner applies is kept when another replica starts later.
        async with engines[0].begin() as conn:
            translated = await conn.execution_options(
                schema_translate_map={READ_MODEL_SCHEMA: stores[0].schema(1)}
            )
            await translated.execute(
                sa.insert(stream_totals).values(stream_id="s-1", events=1, total=5, max_version=1)
            )
        assert await asyncio.gather(*(store.ensure_live() for store in stores[1:])) == [1, 1, 1]
        async with engines[1].connect() as conn:
            translated = await conn.execution_options(
                schema_translate_map={READ_MODEL_SCHEMA: stores[1].schema(1)}
            )
            totals = (await translated.execute(sa.select(stream_totals.c.total))).scalars()
            assert list(totals) == [5]
    finally:
        for engine in engines:
            await engine.dispose()
