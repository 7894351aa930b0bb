"""Risk acceptances over HTTP: four-eyes on the server, and expiry exactly once, also when
the sweeper restarts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from risk.app.register import DecideAcceptance
from risk.bootstrap import RiskSettings
from shared_kernel.errors import Conflict
from shared_kernel.unit_of_work import CommandContext

from .conftest import running_risk
from .risk_api import Headers, read, risk_body, write

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def accept_treated_risk(client: Any, officer: dict[str, str]) -> str:
    made = await write(client, officer, "/v1/risks", risk_body(likelihood=2, impact=2), expect=201)
    await write(
        client,
        officer,
        f"/v1/risks/{made['id']}/treatment",
        {"treatment": "accept", "reason": "cheaper to bear"},
        method="PUT",
    )
    return str(made["id"])


async def test_the_requester_cannot_approve_a_second_risk_officer_can(
    risk_settings: RiskSettings, as_role: Headers
) -> None:
    async with running_risk(risk_settings, clock=Clock(T0)) as client:
        anna = as_role("risk-officer", subject="user:anna")
        risk_id = await accept_treated_risk(client, anna)
        asked = await write(
            client,
            anna,
            f"/v1/risks/{risk_id}/acceptances",
            {"reason": "legacy system retires in June", "until": "2026-06-30"},
            expect=201,
        )
        approval = f"/v1/risks/{risk_id}/acceptances/{asked['child_id']}/approval"
        # The register's list carries the requested acceptance (no read per risk to learn it).
        listed = await read(client, anna, "/v1/risks", asked["position"], limit=200)
        [item] = [r for r in listed["items"] if r["risk_id"] == risk_id]
        assert item["acceptance_status"] == "requested"
        assert item["acceptance"]["acceptance_id"] == asked["child_id"]
        assert item["acceptance"]["status"] == "requested"
        assert item["acceptance"]["requested_by"] == "user:anna"
        assert item["acceptance"]["reason"] == "legacy system retires in June"
        assert item["acceptance"]["until"] == "2026-06-30"
        assert item["acceptance"]["decided_by"] is None

        own = await client.post(approval, json={}, headers=anna)
        controller = await client.post(
            approval, json={}, headers=as_role("controller", subject="user:carl")
        )
        front = await client.post(
            approval, json={}, headers=as_role("risk-officer", office="front", subject="user:tom")
        )
        stale = await client.post(
            approval,
            json={},
            headers={**as_role("risk-officer", subject="user:bert"), "If-Match": "1"},
        )

        assert own.status_code == 403
        assert own.json()["code"] == "FourEyesViolation"
        assert "user:anna" in own.json()["detail"]
        assert controller.status_code == 403
        assert front.status_code == 403
        assert stale.status_code == 412  # a failed If-Match (RFC 9110)
        approved = await write(
            client,
            as_role("risk-officer", subject="user:bert"),
            approval,
            {"note": "agreed"},
            version=asked["version"],
        )
        risk = await read(client, anna, f"/v1/risks/{risk_id}", approved["position"])
        assert risk["acceptance"]["status"] == "approved"
        assert risk["acceptance"]["requested_by"] == "user:anna"
        assert risk["acceptance"]["decided_by"] == "user:bert"
        history = (await client.get(f"/v1/risks/{risk_id}/history", headers=anna)).json()
        assert [e["event_type"] for e in history["events"]][-2:] == [
            "risk.RiskAcceptanceRequested",
            "risk.RiskAcceptanceApproved",
        ]
        twice = await client.post(
            approval, json={}, headers=as_role("risk-officer", subject="user:cleo")
        )
        assert twice.status_code == 409


async def test_an_acceptance_expires_exactly_once_across_a_sweeper_restart(
    risk_settings: RiskSettings, as_role: Headers
) -> None:
    clock = Clock(T0)
    anna = as_role("risk-officer", subject="user:anna")
    bert = as_role("risk-officer", subject="user:bert")
    fast = {"acceptance_sweep_interval_seconds": 0.05}

    async with running_risk(risk_settings, clock=clock, **fast) as client:
        risk_id = await accept_treated_risk(client, anna)
        asked = await write(
            client,
            anna,
            f"/v1/risks/{risk_id}/acceptances",
            {"reason": "until the migration", "until": "2026-03-31"},
            expect=201,
        )
        acceptance_id = asked["child_id"]
        approved = await write(
            client, bert, f"/v1/risks/{risk_id}/acceptances/{acceptance_id}/approval", {}
        )
        await read(client, anna, f"/v1/risks/{risk_id}", approved["position"])
        clock.now = datetime(2026, 3, 31, 23, 59, tzinfo=UTC)  # still its last day
        assert await client.risk.acceptance_sweeper.sweep_once() == 0  # type: ignore[attr-defined]
        assert await expiries(client, anna, risk_id) == 0

        clock.now = datetime(2026, 4, 1, 0, 0, tzinfo=UTC)
        await eventually(lambda: expiries(client, anna, risk_id), 1)
        swept_before = client.risk.acceptance_sweeper.expired  # type: ignore[attr-defined]

    # A new process with its own sweeper (the read model may lag behind the write model).
    async with running_risk(risk_settings, clock=clock, **fast) as client:
        sweeper = client.risk.acceptance_sweeper  # type: ignore[attr-defined]
        assert await sweeper.sweep_once() == 0
        await asyncio.sleep(0.3)
        # Even a direct command, as a stale sweeper would send it, is refused.
        with pytest.raises(Conflict):
            register = client.risk.register  # type: ignore[attr-defined]
            await client.risk.bus.execute(  # type: ignore[attr-defined]
                CommandContext.system("test"),
                register.expire_acceptance,
                DecideAcceptance(risk_id, acceptance_id=acceptance_id),
            )
        history = (await client.get(f"/v1/risks/{risk_id}/history", headers=anna)).json()
        head = history["events"][-1]["position"]
        risk = await read(client, anna, f"/v1/risks/{risk_id}", head)

        assert swept_before == 1
        assert sweeper.expired == 0
        assert await expiries(client, anna, risk_id) == 1
        assert risk["acceptance"]["status"] == "expired"
        assert risk["review_due"] == "2026-03-31"  # due by its last day: overdue at once
        assert risk["review_overdue"] is True  # as of the (injected) clock: 2026-04-01
        overdue = await read(
            client, anna, "/v1/reports/overdue", head, as_of="2026-04-01T09:00:00Z"
        )
        assert risk_id in [r["risk_id"] for r in overdue["reviews"]]
        # The expired risk can be accepted again by a new request.
        again = await write(
            client,
            anna,
            f"/v1/risks/{risk_id}/acceptances",
            {"reason": "migration late", "until": "2026-05-31"},
            expect=201,
        )
        assert again["child_id"] != acceptance_id


async def expiries(client: Any, headers: dict[str, str], risk_id: str) -> int:
    history = (await client.get(f"/v1/risks/{risk_id}/history", headers=headers)).json()
    return sum(e["event_type"] == "risk.RiskAcceptanceExpired" for e in history["events"])


async def eventually(check: Any, expected: int, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (value := await check()) != expected:
        assert asyncio.get_running_loop().time() < deadline, f"still {value}, not {expected}"
        await asyncio.sleep(0.05)


async def test_two_approvers_at_once_approve_once(
    risk_settings: RiskSettings, as_role: Headers
) -> None:
    async with running_risk(risk_settings, clock=Clock(T0)) as client:
        anna = as_role("risk-officer", subject="user:anna")
        risk_id = await accept_treated_risk(client, anna)
        asked = await write(
            client,
            anna,
            f"/v1/risks/{risk_id}/acceptances",
            {"reason": "small and shrinking", "until": "2026-09-30"},
            expect=201,
        )
        approval = f"/v1/risks/{risk_id}/acceptances/{asked['child_id']}/approval"

        answers = await asyncio.gather(
            *(
                client.post(
                    approval, json={}, headers=as_role("risk-officer", subject=f"user:{name}")
                )
                for name in ("bert", "cleo", "dora")
            )
        )

        assert sorted(a.status_code for a in answers) == [200, 409, 409]
        assert {a.json()["code"] for a in answers if a.status_code == 409} == {
            "AcceptanceNotPending"
        }
        history = (await client.get(f"/v1/risks/{risk_id}/history", headers=anna)).json()
        approvals = [
            e for e in history["events"] if e["event_type"] == "risk.RiskAcceptanceApproved"
        ]
        assert len(approvals) == 1
