"""Upcasting reaches every read model of the risk service: a risk, a KRI with a measurement and
an approved limit are written as ``.v1`` events, then one event class of each read model moves
to ``.v2`` (a new required field) and every read model is rebuilt from Kafka. Without the
upcasters the old events no longer read; with them every answer is the same as before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
import pytest
from risk.bootstrap import Risk
from risk.domain.kri_events import KriDefined
from risk.domain.limits_events import LimitChangeRequested
from risk.domain.register_events import RiskIdentified
from shared_kernel.codec import EventCodec, Upcaster
from shared_kernel.domain import DomainEvent
from shared_kernel.rebuild import rebuild
from shared_kernel.testing import Headers

from .risk_api import read, risk_body, write

pytestmark = pytest.mark.integration


@dataclass(frozen=True, kw_only=True)
class RiskIdentifiedV2(RiskIdentified):
    """v2: a risk names the process it belongs to (v1 risks: none recorded)."""

    version: ClassVar[int] = 2

    process: str


@dataclass(frozen=True, kw_only=True)
class KriDefinedV2(KriDefined):
    """v2: a KRI says how often it is measured (v1 KRIs: unknown)."""

    version: ClassVar[int] = 2

    frequency: str


@dataclass(frozen=True, kw_only=True)
class LimitChangeRequestedV2(LimitChangeRequested):
    """v2: a limit request names its ticket (v1 requests: none)."""

    version: ClassVar[int] = 2

    ticket: str


UPCASTERS: dict[type[DomainEvent], tuple[str, str]] = {
    RiskIdentifiedV2: ("process", ""),
    KriDefinedV2: ("frequency", "unknown"),
    LimitChangeRequestedV2: ("ticket", ""),
}


def adding(field: str, value: str) -> Upcaster:
    """The upcaster v1 -> v2: the new field, with the value v1 events stand for."""

    def upcast(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, field: value}

    return upcast


def move_to_v2(codec: EventCodec, *, upcasters: bool) -> None:
    for cls, (field, value) in UPCASTERS.items():
        codec.register(cls)
        if upcasters:
            codec.register_upcaster(cls.event_type, 1, adding(field, value))


async def rebuild_every_read_model(risk: Risk) -> None:
    for projection in risk.runtime.projections:
        await rebuild(
            projection,
            risk.runtime.read_models[projection.name],
            risk.settings.kafka_bootstrap_servers,
            risk.runtime.dead_letters(),
        )


async def test_v1_events_rebuild_every_read_model_to_the_same_answers_once_they_are_v2(
    risk_client: httpx.AsyncClient, as_role: Headers
) -> None:
    anna = as_role("risk-officer", subject="user:anna")
    bert = as_role("risk-officer", subject="user:bert")
    made = await write(risk_client, anna, "/v1/risks", risk_body(), expect=201)
    kri = {
        "kri_id": "failed-payments",
        "name": "Failed payments",
        "description": "Failed outgoing payments per hour",
        "unit": "count",
        "direction": "higher_is_worse",
        "amber": 5,
        "red": 10,
        "owner": "user:payments-lead",
    }
    await write(risk_client, anna, "/v1/kris", kri, expect=201)
    at = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    measured = await write(
        risk_client,
        anna,
        "/v1/kris/failed-payments/measurements",
        {"value": 7, "measured_at": at},
        expect=201,
    )
    limit = await write(
        risk_client,
        anna,
        "/v1/limits",
        {
            "dimension": "counterparty",
            "counterparty": "ACME",
            "currency": "EUR",
            "amount": 1_000_00,
            "reason": "new client",
        },
        expect=201,
    )
    approved = await risk_client.post(
        f"/v1/limits/{limit['id']}/approval", headers={**bert, "If-Match": str(limit["version"])}
    )
    assert approved.status_code == 200, approved.text
    last = max(made["position"], measured["position"], approved.json()["position"])

    lists = ["/v1/risks", "/v1/kris", "/v1/limits"]

    async def answers(paths: list[str]) -> dict[str, Any]:
        return {path: await read(risk_client, anna, path, last) for path in paths}

    every = [*lists, "/v1/kris/failed-payments/measurements", f"/v1/limits/{limit['id']}"]
    before = await answers(every)
    assert before["/v1/kris"]["items"] and before["/v1/limits"]["items"]
    risk: Risk = risk_client.risk  # type: ignore[attr-defined]
    codec = risk.runtime.codec
    assert all(getattr(p, "codec", None) is codec for p in risk.runtime.projections)

    # The classes are v2, the stored events v1, and no upcaster: the old events do not read.
    move_to_v2(codec, upcasters=False)
    await rebuild_every_read_model(risk)
    unreadable = await answers(lists)
    for path in lists:
        assert unreadable[path]["items"] == [], path

    move_to_v2(codec, upcasters=True)
    await rebuild_every_read_model(risk)
    assert await answers(every) == before
