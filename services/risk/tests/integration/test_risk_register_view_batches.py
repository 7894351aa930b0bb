"""The register view applies a batch exactly as it applies the same events one by one,
also for batches larger than one INSERT may carry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa
from risk.bootstrap import risk_codec
from risk.domain.register import Control, RegisteredRisk, RegisterRules, RiskDetails
from risk.domain.scoring import Effectiveness, Reduces
from risk.projections.register_view import RegisterView, risk_controls, risks
from shared_kernel.envelope import Actor, EventEnvelope, versioned_type
from shared_kernel.readmodel import READ_MODEL_SCHEMA

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
RULES = RegisterRules()


def envelopes(count: int) -> list[EventEnvelope]:
    """``count`` identified risks; a control and a review on some, in the middle of the run."""
    codec = risk_codec()
    made: list[EventEnvelope] = []

    def emit(risk: RegisteredRisk) -> None:
        for event in risk.pending_events():
            risk.version += 1
            made.append(
                EventEnvelope(
                    id=uuid4(),
                    source="/risk",
                    type=versioned_type(event.event_type, event.version),
                    subject=risk.id,
                    time=T0,
                    data=codec.encode(event),
                    stream_type="risk",
                    stream_version=risk.version,
                    position=len(made) + 1,
                    correlation_id="c",
                    causation_id="c",
                    actor=Actor("user:anna", "back"),
                )
            )
        risk._pending.clear()

    loaded: list[RegisteredRisk] = []
    for n in range(count):
        details = RiskDetails(f"Risk {n}", "", "market", f"user:{n % 7}")
        risk = RegisteredRisk.identify(
            f"r{n:05d}", details, 1 + n % 5, 1 + n // 5 % 5, RULES, by="u", at=T0
        )
        emit(risk)
        loaded.append(risk)
        if n % 97 == 3:
            control = Control(f"control-{n}", "Hedge", "", Effectiveness.STRONG, Reduces.IMPACT)
            loaded[n // 2].add_control(control, "", RULES, by="u", at=T0)
            emit(loaded[n // 2])
            loaded[n // 3].record_review("ok", RULES, by="u", at=T0 + timedelta(days=n))
            emit(loaded[n // 3])
    return made


async def contents(conn: Any) -> tuple[list[Any], list[Any]]:
    rows = (await conn.execute(sa.select(risks).order_by(risks.c.risk_id))).all()
    controls = (
        await conn.execute(
            sa.select(risk_controls).order_by(risk_controls.c.risk_id, risk_controls.c.control_id)
        )
    ).all()
    return [tuple(r) for r in rows], [tuple(c) for c in controls]


async def test_a_batch_gives_the_same_rows_as_one_event_at_a_time(
    risk_client: httpx.AsyncClient,
) -> None:
    service = risk_client.risk  # type: ignore[attr-defined]
    view = RegisterView()
    store = service.runtime.read_models["register_view_v1"]
    events = envelopes(1_300)
    await store.create_generation(8)
    await store.create_generation(9)

    async with service.runtime.engine.begin() as raw:
        batch = await raw.execution_options(
            schema_translate_map={READ_MODEL_SCHEMA: store.schema(8)}
        )
        await view.apply_batch(batch, events)
        single = await raw.execution_options(
            schema_translate_map={READ_MODEL_SCHEMA: store.schema(9)}
        )
        for event in events:
            await view.apply(single, event)
        by_batch = await contents(batch)
        one_by_one = await contents(single)
    await store.drop_generations_except({await store.ensure_live()})

    assert len(by_batch[0]) == 1_300
    assert len(by_batch[1]) == 14
    assert by_batch == one_by_one
