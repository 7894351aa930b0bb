"""KRIs over HTTP against real PostgreSQL and Kafka: a measurement changes the status once,
out-of-order values are kept but change nothing, roles and bad input are refused, and a
rebuilt read model equals the live one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa
from risk.bootstrap import Risk
from shared_kernel.rebuild import rebuild
from shared_kernel.schema import events
from shared_kernel.testing import Headers

pytestmark = pytest.mark.integration


def kri_body(kri_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "kri_id": kri_id,
        "name": "Failed payments",
        "description": "Failed outgoing payments per hour",
        "unit": "count",
        "direction": "higher_is_worse",
        "amber": 5,
        "red": 10,
        "owner": "user:payments-lead",
        **overrides,
    }


async def define(client: httpx.AsyncClient, officer: dict[str, str], kri_id: str) -> int:
    response = await client.post("/v1/kris", json=kri_body(kri_id), headers=officer)
    assert response.status_code == 201, response.text
    assert response.json()["id"] == kri_id
    return int(response.json()["position"])


async def measure(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    kri_id: str,
    value: float,
    at: datetime,
    *,
    key: str | None = None,
) -> httpx.Response:
    return await client.post(
        f"/v1/kris/{kri_id}/measurements",
        json={"value": value, "measured_at": at.isoformat()},
        headers={**headers, **({"Idempotency-Key": key} if key else {})},
    )


async def read(
    client: httpx.AsyncClient, headers: dict[str, str], path: str, position: int, **params: Any
) -> Any:
    response = await client.get(
        path, params={"min_position": position, "wait_ms": 10000, **params}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.headers.get("X-Consistent") == "true", path
    return response.json()


async def stored_types(risk: Risk, stream_id: str) -> list[str]:
    async with risk.runtime.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(events.c.event_type)
            .where(events.c.stream_id == stream_id)
            .order_by(events.c.stream_version)
        )
        return [str(t) for (t,) in rows]


async def test_a_measurement_changes_the_status_once_and_late_values_change_nothing(
    risk_client: httpx.AsyncClient, as_role: Headers
) -> None:
    officer, monitor = as_role("risk-officer"), as_role("monitoring", subject="system:prom")
    kri_id = f"failed-payments-{uuid4().hex[:8]}"
    await define(risk_client, officer, kri_id)
    start = datetime.now(UTC) - timedelta(hours=1)

    positions = []
    for minutes, value in [(0, 2), (10, 6), (20, 7), (30, 9.5)]:
        response = await measure(
            risk_client, monitor, kri_id, value, start + timedelta(minutes=minutes)
        )
        assert response.status_code == 201, response.text
        positions.append(response.json()["position"])
    late = await measure(risk_client, monitor, kri_id, 50, start - timedelta(minutes=5))
    assert late.status_code == 201, late.text

    kri = await read(risk_client, officer, f"/v1/kris/{kri_id}", late.json()["position"])
    assert (kri["status"], kri["value"], kri["measurement_count"]) == ("amber", 9.5, 5)
    assert datetime.fromisoformat(kri["measured_at"]) == start + timedelta(minutes=30)

    history = await read(
        risk_client, officer, f"/v1/kris/{kri_id}/measurements", late.json()["position"]
    )
    assert [(m["value"], m["status"], m["current"]) for m in history["items"]] == [
        (9.5, "amber", True),
        (7.0, "amber", True),
        (6.0, "amber", True),
        (2.0, "green", True),
        (50.0, "red", False),
    ]
    assert {m["recorded_by"] for m in history["items"]} == {"system:prom"}
    pages, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await read(
            risk_client,
            officer,
            f"/v1/kris/{kri_id}/measurements",
            late.json()["position"],
            **params,
        )
        pages.append([m["value"] for m in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [[9.5, 7.0], [6.0, 2.0], [50.0]]
    window = await read(
        risk_client,
        officer,
        f"/v1/kris/{kri_id}/measurements",
        late.json()["position"],
        **{
            "from": (start + timedelta(minutes=10)).isoformat(),
            "to": (start + timedelta(minutes=30)).isoformat(),
        },
    )
    assert [m["value"] for m in window["items"]] == [7.0, 6.0]
    bad_cursor = await risk_client.get(
        f"/v1/kris/{kri_id}/measurements", params={"cursor": "not-ours"}, headers=officer
    )
    assert (bad_cursor.status_code, bad_cursor.json()["field"]) == (422, "cursor")

    types = await stored_types(risk_client.risk, f"kri:{kri_id}")  # type: ignore[attr-defined]
    assert types.count("risk.KriStatusChanged") == 2
    assert types.count("risk.KriMeasurementRecorded") == 5

    report = await read(
        risk_client, officer, "/v1/reports/kri-status", late.json()["position"], limit=500
    )
    mine = [c for c in report["changes"] if c["kri_id"] == kri_id]
    assert [(c["from_status"], c["to_status"], c["value"]) for c in mine] == [
        ("green", "amber", 6.0),
        (None, "green", 2.0),
    ]
    assert any(k["kri_id"] == kri_id and k["status"] == "amber" for k in report["kris"])
    assert report["counts"]["amber"] >= 1


async def test_threshold_changes_need_a_second_risk_officer_and_judge_the_value_again(
    risk_client: httpx.AsyncClient, as_role: Headers
) -> None:
    anna = as_role("risk-officer", subject="user:anna")
    bert = as_role("risk-officer", subject="user:bert")
    monitor = as_role("monitoring")
    kri_id = f"lcr-{uuid4().hex[:8]}"
    await define(risk_client, anna, kri_id)
    measured = await measure(risk_client, monitor, kri_id, 7, datetime.now(UTC))
    version = measured.json()["version"]
    tighter = {"amber": 2, "red": 6, "reason": "tighter after the audit"}

    stale = await risk_client.post(
        f"/v1/kris/{kri_id}/threshold-changes",
        json=tighter,
        headers={**anna, "If-Match": str(version - 1)},
    )
    assert (stale.status_code, stale.json()["field"]) == (412, "If-Match")
    requested = await risk_client.post(
        f"/v1/kris/{kri_id}/threshold-changes",
        json=tighter,
        headers={**anna, "If-Match": str(version)},
    )
    assert requested.status_code == 201, requested.text
    change = f"/v1/kris/{kri_id}/threshold-changes/{requested.json()['change_id']}"

    own = await risk_client.post(f"{change}/approval", json={}, headers=anna)
    assert (own.status_code, own.json()["code"]) == (403, "FourEyesViolation")
    pending = await read(risk_client, anna, f"/v1/kris/{kri_id}", requested.json()["position"])
    assert (pending["amber"], pending["status"]) == (5.0, "amber")
    assert pending["pending_change_id"] == requested.json()["change_id"]

    approved = await risk_client.post(f"{change}/approval", json={"note": "ok"}, headers=bert)
    assert approved.status_code == 200, approved.text
    kri = await read(risk_client, anna, f"/v1/kris/{kri_id}", approved.json()["position"])
    assert (kri["amber"], kri["red"], kri["status"], kri["pending_change_id"]) == (
        2.0,
        6.0,
        "red",
        None,
    )
    assert kri["version"] == approved.json()["version"]
    history = await read(
        risk_client, anna, f"/v1/kris/{kri_id}/threshold-changes", approved.json()["position"]
    )
    assert [(c["state"], c["requested_by"], c["decided_by"]) for c in history] == [
        ("approved", "user:anna", "user:bert")
    ]
    again = await risk_client.post(f"{change}/approval", json={}, headers=bert)
    assert again.status_code == 404

    details = {
        "name": "Liquidity coverage",
        "unit": "%",
        "owner": "user:treasury-head",
        "reason": "handover to treasury",
    }
    stale_details = await risk_client.put(
        f"/v1/kris/{kri_id}/details",
        json=details,
        headers={**anna, "If-Match": str(approved.json()["version"] - 1)},
    )
    assert stale_details.status_code == 412
    changed = await risk_client.put(
        f"/v1/kris/{kri_id}/details",
        json=details,
        headers={**anna, "If-Match": str(approved.json()["version"])},
    )
    assert changed.status_code == 200, changed.text
    kri = await read(risk_client, anna, f"/v1/kris/{kri_id}", changed.json()["position"])
    assert (kri["name"], kri["unit"], kri["owner"], kri["status"]) == (
        "Liquidity coverage",
        "%",
        "user:treasury-head",
        "red",
    )


async def test_roles_and_bad_input_are_refused_with_the_field_named(
    risk_client: httpx.AsyncClient, as_role: Headers
) -> None:
    officer, monitor = as_role("risk-officer"), as_role("monitoring")
    kri_id = f"kri-{uuid4().hex[:8]}"
    now = datetime.now(UTC)

    assert (
        await risk_client.post("/v1/kris", json=kri_body(kri_id), headers=monitor)
    ).status_code == 403
    front = as_role("risk-officer", office="front")
    assert (
        await risk_client.post("/v1/kris", json=kri_body(kri_id), headers=front)
    ).status_code == 403

    refused = await risk_client.post(
        "/v1/kris", json=kri_body(kri_id, amber=10, red=5), headers=officer
    )
    assert refused.status_code == 422
    assert (refused.json()["field"], refused.json()["code"]) == ("amber", "ThresholdsOutOfOrder")
    unknown_field = await risk_client.post(
        "/v1/kris", json=kri_body(kri_id, colour="blue"), headers=officer
    )
    assert unknown_field.status_code == 422 and unknown_field.json()["field"] == "colour"

    await define(risk_client, officer, kri_id)
    again = await risk_client.post("/v1/kris", json=kri_body(kri_id), headers=officer)
    assert again.status_code == 409 and again.json()["code"] == "KriAlreadyDefined"

    trader = as_role("trader", office="front")
    assert (await measure(risk_client, trader, kri_id, 1, now)).status_code == 403
    missing = await measure(risk_client, monitor, "no-such-kri", 1, now)
    assert missing.status_code == 404
    future = await measure(risk_client, monitor, kri_id, 1, now + timedelta(days=1))
    assert (future.status_code, future.json()["field"]) == (422, "measured_at")
    naive = await risk_client.post(
        f"/v1/kris/{kri_id}/measurements",
        json={"value": 1, "measured_at": "2026-11-26T10:00:00"},
        headers=monitor,
    )
    assert (naive.status_code, naive.json()["field"]) == (422, "measured_at")
    for not_a_number in ["many", "3", True, None]:
        text = await risk_client.post(
            f"/v1/kris/{kri_id}/measurements", json={"value": not_a_number}, headers=monitor
        )
        assert (text.status_code, text.json()["field"]) == (422, "value"), not_a_number
    assert (await risk_client.get(f"/v1/kris/{kri_id}", headers=trader)).status_code == 403


async def test_a_retried_measurement_with_the_same_idempotency_key_is_recorded_once(
    risk_client: httpx.AsyncClient, as_role: Headers
) -> None:
    officer, monitor = as_role("risk-officer"), as_role("monitoring")
    kri_id = f"kri-{uuid4().hex[:8]}"
    await define(risk_client, officer, kri_id)
    at = datetime.now(UTC)
    key = f"m-{uuid4().hex}"

    first = await measure(risk_client, monitor, kri_id, 11, at, key=key)
    second = await measure(risk_client, monitor, kri_id, 11, at, key=key)
    different = await measure(risk_client, monitor, kri_id, 12, at, key=key)

    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert different.status_code == 422
    history = await read(
        risk_client, officer, f"/v1/kris/{kri_id}/measurements", first.json()["position"]
    )
    assert [m["measurement_id"] for m in history["items"]] == [first.json()["measurement_id"]]


async def test_the_rebuilt_kri_view_equals_the_live_one(
    risk_client: httpx.AsyncClient, as_role: Headers
) -> None:
    officer, monitor = as_role("risk-officer"), as_role("monitoring")
    second = as_role("risk-officer", subject="user:second-officer")
    risk: Risk = risk_client.risk  # type: ignore[attr-defined]
    start = datetime.now(UTC) - timedelta(hours=2)
    last = 0
    for n in range(3):
        kri_id = f"kri-{n}-{uuid4().hex[:6]}"
        await define(risk_client, officer, kri_id)
        for minutes, value in [(0, 1), (5, 8), (3, 20), (9, 12), (12, 0)]:
            response = await measure(
                risk_client, monitor, kri_id, value + n, start + timedelta(minutes=minutes)
            )
            last = response.json()["position"]
        # One approved, one rejected, one pending threshold change.
        change = await risk_client.post(
            f"/v1/kris/{kri_id}/threshold-changes",
            json={"amber": 3, "red": 9, "reason": f"case {n}"},
            headers=officer,
        )
        assert change.status_code == 201, change.text
        last = change.json()["position"]
        if n == 0:
            renamed = await risk_client.put(
                f"/v1/kris/{kri_id}/details",
                json={"name": "Renamed", "unit": "%", "owner": "user:o", "reason": "r"},
                headers=officer,
            )
            assert renamed.status_code == 200, renamed.text
        decision = ["approval", "rejection", None][n]
        if decision is not None:
            decided = await risk_client.post(
                f"/v1/kris/{kri_id}/threshold-changes/{change.json()['change_id']}/{decision}",
                json={"reason": "no"} if decision == "rejection" else {},
                headers=second,
            )
            assert decided.status_code == 200, decided.text
            last = decided.json()["position"]

    async with risk.runtime.engine.connect() as conn:
        # Everything stored so far (the stream-fed KRI the service defined at start too).
        last = max(last, await risk.runtime.store.head(conn))

    async def snapshot() -> Any:
        page = await read(risk_client, officer, "/v1/kris", last, limit=500)
        history = [
            (
                await read(risk_client, officer, f"/v1/kris/{k['kri_id']}/measurements", last),
                await read(risk_client, officer, f"/v1/kris/{k['kri_id']}/threshold-changes", last),
            )
            for k in page["items"]
        ]
        report = await read(risk_client, officer, "/v1/reports/kri-status", last, limit=500)
        return page, history, report

    live = await snapshot()
    view = next(p for p in risk.runtime.projections if p.name.startswith("kri_view"))
    report = await rebuild(
        view,
        risk.runtime.read_models[view.name],
        risk.settings.kafka_bootstrap_servers,
        risk.runtime.dead_letters(),
    )
    assert report.generation >= 2
    rebuilt = await snapshot()

    assert rebuilt == live
    assert len(live[0]["items"]) == 6  # and the three stream-fed ones
    assert sorted(c[0]["state"] for _, c in live[1] if c) == ["approved", "pending", "rejected"]


async def test_concurrent_measurements_record_each_status_change_exactly_once(
    risk_client: httpx.AsyncClient, as_role: Headers
) -> None:
    officer = as_role("risk-officer")
    kri_id = f"kri-{uuid4().hex[:8]}"
    await define(risk_client, officer, kri_id)
    start = datetime.now(UTC) - timedelta(hours=1)
    values = [1, 12, 6, 0, 11, 7, 2, 15, 5, 3] * 2

    responses = await asyncio.gather(
        *(
            measure(
                risk_client,
                as_role("monitoring", subject=f"system:m{i}"),
                kri_id,
                value,
                start + timedelta(minutes=i),
            )
            for i, value in enumerate(values)
        )
    )
    assert [r.status_code for r in responses] == [201] * len(values)

    async with risk_client.risk.runtime.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = await conn.execute(
            sa.select(events.c.event_type, events.c.data)
            .where(events.c.stream_id == f"kri:{kri_id}")
            .order_by(events.c.stream_version)
        )
        stored = [(str(t), dict(d)) for t, d in rows]
    # In commit order: every current measurement whose status differs from the status so far
    # is followed by exactly one change to it; nothing else changes the status.
    expected, status = [], None
    for event_type, data in stored:
        if event_type == "risk.KriMeasurementRecorded" and data["current"]:
            if data["status"] != status:
                expected.append((status, data["status"], data["measurement_id"]))
            status = data["status"]
    changes = [
        (d["from_status"], d["to_status"], d["measurement_id"])
        for t, d in stored
        if t == "risk.KriStatusChanged"
    ]
    assert changes == expected
    assert len([t for t, _ in stored if t == "risk.KriMeasurementRecorded"]) == len(values)
    latest = max(
        (d for t, d in stored if t == "risk.KriMeasurementRecorded" and d["current"]),
        key=lambda d: d["measured_at"],
    )
    assert latest["value"] == values[-1]
    kri = await read(risk_client, officer, f"/v1/kris/{kri_id}", responses[-1].json()["position"])
    assert kri["status"] == status


async def test_the_kri_list_carries_each_kris_latest_measurements_when_asked(
    risk_client: httpx.AsyncClient, as_role: Headers
) -> None:
    officer, monitor = as_role("risk-officer"), as_role("monitoring")
    tag = uuid4().hex[:8]
    busy, quiet, never = f"busy-{tag}", f"quiet-{tag}", f"never-{tag}"
    start = datetime.now(UTC) - timedelta(hours=1)
    last = 0
    for kri_id in (busy, quiet, never):
        last = await define(risk_client, officer, kri_id)
    # Out of order, and two at the same instant: the order must still match the history route.
    for kri_id, minutes in [(busy, [0, 20, 5, 30, 30, 10]), (quiet, [3])]:
        for n, minute in enumerate(minutes):
            measured = await measure(
                risk_client, monitor, kri_id, n + 1, start + timedelta(minutes=minute)
            )
            assert measured.status_code == 201, measured.text
            last = measured.json()["position"]

    listed = await read(risk_client, officer, "/v1/kris", last, limit=500, history=4)
    mine = {k["kri_id"]: k for k in listed["items"] if k["kri_id"].endswith(tag)}
    assert set(mine) == {busy, quiet, never}
    for kri_id, kri in mine.items():
        route = await read(risk_client, officer, f"/v1/kris/{kri_id}/measurements", last, limit=4)
        assert kri["history"] == route["items"], kri_id
    assert [m["value"] for m in mine[busy]["history"]] == [5.0, 4.0, 2.0, 6.0]
    assert [len(mine[k]["history"]) for k in (quiet, never)] == [1, 0]

    plain = await read(risk_client, officer, "/v1/kris", last, limit=500)
    assert all("history" not in k for k in plain["items"])
    assert (
        "history" not in (await read(risk_client, officer, "/v1/kris", last, history=0))["items"][0]
    )
    for bad in (101, -1, "many"):
        refused = await risk_client.get("/v1/kris", params={"history": bad}, headers=officer)
        # Query parameters are named as the shared error handler names them.
        assert (refused.status_code, refused.json()["field"]) == (422, "query.history"), bad
