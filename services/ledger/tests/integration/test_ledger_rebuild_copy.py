"""A rebuild fills its new generation with COPY and builds the secondary indexes after the
fill (``shared_kernel.bulk_rows``, ``ReadModelStore.create_generation(deferred_indexes=True)``),
while the live projection writes row by row with its upserts: both must end in the same read
model, row for row, with the same indexes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from ledger.bootstrap import Ledger
from ledger.projections.ledger_view import LedgerView
from shared_kernel.readmodel import ReadModelStore
from shared_kernel.rebuild import rebuild
from shared_kernel.testing import Headers

from .ledger_api import entry, read
from .test_ledger_reports import keep_the_books

pytestmark = pytest.mark.integration


async def table_rows(read_model: ReadModelStore, generation: int) -> dict[str, list[Any]]:
    """Every row of every table of a generation, in primary-key order."""
    schema = read_model.schema(generation)
    rows: dict[str, list[Any]] = {}
    async with read_model.engine.connect() as conn:
        for table in read_model.metadata.sorted_tables:
            order = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
            found = await conn.execute(
                sa.text(f'SELECT * FROM "{schema}"."{table.name}" ORDER BY {order}')
            )
            rows[table.name] = [tuple(row) for row in found]
    return rows


async def index_definitions(read_model: ReadModelStore, generation: int) -> set[str]:
    schema = read_model.schema(generation)
    async with read_model.engine.connect() as conn:
        found = await conn.execute(
            sa.text("SELECT indexdef FROM pg_indexes WHERE schemaname = :schema"),
            {"schema": schema},
        )
        return {str(d).replace(f'"{schema}".', "").replace(f"{schema}.", "") for (d,) in found}


async def test_a_rebuild_by_copy_ends_in_the_read_model_the_live_projection_wrote(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    ids, positions = await keep_the_books(ledger_client, as_role)
    accountant = as_role("accountant")
    batch = await ledger_client.post(
        "/v1/journal-entry-batches",
        json={
            "entries": [
                entry(ids["receivables"], ids["revenue"], 10 + n, voucher=f"BATCH-{n}")
                | {"metadata": {"n": str(n)}}
                for n in range(300)
            ]
        },
        headers=accountant,
    )
    assert batch.status_code == 201, batch.text
    last = max([*positions, batch.json()["position"]])
    await read(ledger_client, accountant, "/v1/accounts", last)  # the live model has it all
    ledger: Ledger = ledger_client.ledger  # type: ignore[attr-defined]
    view = next(p for p in ledger.runtime.projections if isinstance(p, LedgerView))
    read_model = ledger.runtime.read_models[view.name]
    live = await read_model.active_generation_required()
    written_live = await table_rows(read_model, live)
    assert len(written_live["entry_lines"]) >= 600 and written_live["account_balances"]

    report = await rebuild(
        view,
        read_model,
        ledger.runtime.settings.kafka_bootstrap_servers,
        ledger.runtime.dead_letters(),
        max_records=64,  # many batches, several partitions written at once
    )

    assert report.poisoned == 0
    assert await read_model.active_generation_required() == report.generation
    assert await table_rows(read_model, report.generation) == written_live
    assert await index_definitions(read_model, report.generation) == await index_definitions(
        read_model, live
    )
