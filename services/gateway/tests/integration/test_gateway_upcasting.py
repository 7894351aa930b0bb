"""Upcasting reaches the gateway's audit read model (issue 15): requests are recorded as
``gateway.AccessDecided.v1``, then the read model's class moves to ``.v2`` (a new field,
``channel``; every v1 decision came over HTTP) and the read model is rebuilt from the audit
topic. Without the upcaster the old records do not read; with it every row is as before."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from gateway.domain.access_decisions import AccessDecided
from gateway.projections.audit_decisions import AuditDecisions
from shared_kernel.rebuild import rebuild

from .conftest import RunningGateway
from .test_gateway_audit_decisions import register, rows, until_caught_up, until_found

pytestmark = pytest.mark.integration


@dataclass(frozen=True, kw_only=True)
class AccessDecidedV2(AccessDecided):
    """v2: a decision says which channel the request came by."""

    version: ClassVar[int] = 2

    channel: str


def over_http(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "channel": "http"}


async def rebuilt_rows(running: RunningGateway) -> tuple[int, dict[Any, tuple[Any, ...]]]:
    """Rebuild the audit read model from its topic: (records it could not read, its rows)."""
    runtime = running.gateway.runtime
    [projection] = [p for p in runtime.projections if p.name == AuditDecisions.name]
    report = await rebuild(
        projection,
        runtime.read_models[projection.name],
        runtime.settings.kafka_bootstrap_servers,
        runtime.dead_letters(),
    )
    return report.poisoned, await rows(running)


async def test_v1_decisions_rebuild_to_the_same_rows_once_the_class_is_v2(
    running: RunningGateway,
) -> None:
    ida = await register(running, "ida", "auditor")
    tom = await register(running, "tom", "trader")
    await running.client.post("/ledger/v1/journal-entries", json={}, headers=tom)
    await until_found(running, ida, 2, subject="tom")
    topic = running.gateway.audit.topic
    await running.gateway.audit.queue.join()
    await until_caught_up(running, topic)
    before = await rows(running)
    assert len(before) >= 4  # ida's and tom's log-ins, tom's post, ida's search
    [projection] = [p for p in running.gateway.runtime.projections if isinstance(p, AuditDecisions)]

    # The class is v2, the records v1, and no upcaster: the old records do not read.
    projection.codec.register(AccessDecidedV2)
    poisoned, unreadable = await rebuilt_rows(running)
    assert poisoned >= len(before) and not set(unreadable) & set(before)

    projection.codec.register_upcaster(AccessDecided.event_type, 1, over_http)
    poisoned, after = await rebuilt_rows(running)
    assert poisoned == 0
    assert {k: v for k, v in after.items() if k in before} == before
