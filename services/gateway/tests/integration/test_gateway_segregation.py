"""Segregation of duties against a real database: concurrent grants, identities stored by code
before the complete rule (refused at log-in and on every request until an admin revokes a role,
and named in the log at start-up), and systems that may submit but never decide."""

from __future__ import annotations

import asyncio
import logging

import pytest
from gateway.app.callers import READER
from gateway.domain.events import OperatorRegistered, SystemRegistered
from gateway.domain.operator import Operator, operator_stream_id
from gateway.domain.roles import office_of
from shared_kernel.domain import DomainEvent
from shared_kernel.errors import ConcurrencyConflict
from shared_kernel.eventstore import NewEvent, StreamAppend
from shared_kernel.identity import Caller
from shared_kernel.unit_of_work import sql_connection

from .conftest import RunningGateway, StartGateway

pytestmark = pytest.mark.integration


async def register(
    running: RunningGateway, admin: dict[str, str], username: str, *roles: str
) -> None:
    response = await running.client.post(
        "/admin/v1/operators",
        json={
            "username": username,
            "display_name": username.title(),
            "roles": list(roles),
            "password": f"password-of-{username}",
        },
        headers=admin,
    )
    assert response.status_code == 201, response.text


async def roles_of(running: RunningGateway, admin: dict[str, str], username: str) -> set[str]:
    shown = await running.client.get(f"/admin/v1/operators/{username}", headers=admin)
    return set(shown.json()["roles"])


async def test_two_grants_loaded_from_one_version_cannot_both_commit(
    running: RunningGateway,
) -> None:
    """The unit of work appends with the version it loaded: the second grant is a conflict,
    so it never commits roles it did not see (it is decided again on the new state)."""
    await register(running, await running.admin(), "tina", "customer-service")
    make_uow = running.gateway.runtime.unit_of_work

    async with make_uow(READER) as first, make_uow(READER) as second:
        by_first = await first.get(Operator, operator_stream_id("tina"))
        by_second = await second.get(Operator, operator_stream_id("tina"))
        by_first.grant_role("trader", by="root")
        by_second.grant_role("trader", by="root")
        await first.commit()
        with pytest.raises(ConcurrencyConflict):
            await second.commit()


async def test_concurrent_grants_never_both_succeed_nor_lose_a_role(
    running: RunningGateway,
) -> None:
    admin = await running.admin()

    async def grant(username: str, role: str) -> int:
        response = await running.client.post(
            f"/admin/v1/operators/{username}/roles", json={"role": role}, headers=admin
        )
        assert response.status_code in (200, 409, 422), response.text
        return response.status_code

    for round_ in range(4):
        mixed, same = f"mixed-{round_}", f"same-{round_}"
        await register(running, admin, mixed, "customer-service")
        await register(running, admin, same, "controller")

        trader, accountant, first, second = await asyncio.gather(
            grant(mixed, "trader"),
            grant(mixed, "accountant"),
            grant(same, "accountant"),
            grant(same, "risk-officer"),
        )

        assert accountant != 200 and trader in (200, 409)
        mixed_roles = await roles_of(running, admin, mixed)
        assert mixed_roles == {"customer-service"} | ({"trader"} if trader == 200 else set())
        office_of(mixed_roles)  # never breaks the rule
        granted = {
            role for role, s in (("accountant", first), ("risk-officer", second)) if s == 200
        }
        assert await roles_of(running, admin, same) == {"controller"} | granted  # no lost update


async def store_as_old_code(running: RunningGateway, event: DomainEvent, stream_id: str) -> None:
    """Append an event the way code before the complete rule did (it raised no objection to
    an oversight role beside an operational one), with the operator's password if any."""
    gateway = running.gateway
    async with gateway.runtime.unit_of_work(READER) as uow:
        new = NewEvent(event.event_type, event.version, uow.codec.encode(event))
        stream_type = stream_id.split(":")[0]
        await uow.store.append(
            uow.transaction,
            [StreamAppend(stream_id, stream_type, 0, [new])],
            uow.context.metadata(),
        )
        if isinstance(event, OperatorRegistered):
            password_hash = await gateway.passwords.hash(f"password-of-{event.username}")
            await gateway.credentials.add(sql_connection(uow), event.username, password_hash)
        await uow.commit()


async def test_an_operator_stored_breaking_the_rule_is_refused_until_an_admin_revokes_a_role(
    running: RunningGateway,
) -> None:
    legacy = OperatorRegistered("max", "Max", ("admin", "auditor", "trader"), "front")
    await store_as_old_code(running, legacy, operator_stream_id("max"))
    admin = await running.admin()
    running.gateway.callers.forget()

    login = await running.client.post(
        "/auth/login", json={"username": "max", "password": "password-of-max"}
    )
    wrong_password = await running.client.post(
        "/auth/login", json={"username": "max", "password": "not-the-password"}
    )
    assert login.status_code == 403 and login.json()["code"] == "SegregationOfDuties"
    assert login.headers["content-type"] == "application/problem+json"
    assert all(role in login.json()["detail"] for role in ("admin", "auditor", "trader"))
    assert wrong_password.status_code == 401  # only the right password learns why

    # A token issued before the rule was complete is refused on every request.
    token = running.gateway.issue_access_token(
        Caller("max", frozenset({"trader"}), "front", "old-login")
    )
    per_request = await running.client.get(
        "/ledger/v1/booking-requests", headers={"Authorization": f"Bearer {token}"}
    )
    assert per_request.status_code == 403 and per_request.json()["code"] == "SegregationOfDuties"
    assert running.ledger.received == []

    granted = await running.client.post(
        "/admin/v1/operators/max/roles", json={"role": "customer-service"}, headers=admin
    )
    first = await running.client.delete("/admin/v1/operators/max/roles/admin", headers=admin)
    still = await running.client.post(
        "/auth/login", json={"username": "max", "password": "password-of-max"}
    )
    second = await running.client.delete("/admin/v1/operators/max/roles/auditor", headers=admin)
    repaired = await running.log_in("max", "password-of-max")
    me = await running.client.get("/auth/me", headers=repaired)

    assert granted.status_code == 422 and granted.json()["code"] == "SegregationOfDuties"
    assert first.status_code == second.status_code == 200
    assert still.status_code == 403
    assert me.json()["roles"] == ["trader"] and me.json()["office"] == "front"
    served = await running.client.get("/ledger/v1/booking-requests", headers=repaired)
    assert served.status_code == 200


async def test_start_up_names_the_stored_identities_that_break_the_rule(
    running: RunningGateway, start_gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    await register(running, await running.admin(), "fine", "accountant")
    await store_as_old_code(
        running,
        OperatorRegistered("ida", "Ida", ("auditor", "controller"), "back"),
        operator_stream_id("ida"),
    )
    await store_as_old_code(
        running, SystemRegistered("robot", "Robot", ("admin", "auditor"), "none"), "system:robot"
    )

    with caplog.at_level(logging.WARNING, logger="gateway.main"):
        await start_gateway()

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "operator ida (auditor, controller)" in warnings[0]
    assert "system robot (admin, auditor)" in warnings[0]
    assert "fine" not in warnings[0] and "root" not in warnings[0]


async def test_a_system_stored_breaking_the_rule_is_refused(running: RunningGateway) -> None:
    await store_as_old_code(
        running,
        SystemRegistered("reporter", "Reporter", ("auditor", "trader"), "front"),
        "system:reporter",
    )
    admin = await running.admin()
    issued = await running.client.post("/admin/v1/systems/reporter/api-keys", headers=admin)
    assert issued.status_code == 201, issued.text

    refused = await running.client.get(
        "/ledger/v1/booking-requests", headers={"X-API-Key": issued.json()["api_key"]}
    )
    registered = await running.client.post(
        "/admin/v1/systems",
        json={"name": "reporter-2", "display_name": "R2", "roles": ["auditor", "trader"]},
        headers=admin,
    )

    assert refused.status_code == 403 and refused.json()["code"] == "SegregationOfDuties"
    assert "system reporter" in refused.json()["detail"]
    assert registered.status_code == 422 and registered.json()["code"] == "SegregationOfDuties"
    assert running.ledger.received == []


async def test_a_system_may_submit_but_never_approve(running: RunningGateway) -> None:
    admin = await running.admin()
    created = await running.client.post(
        "/admin/v1/systems",
        json={"name": "booker", "display_name": "Booker", "roles": ["accountant"]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    key = (await running.client.post("/admin/v1/systems/booker/api-keys", headers=admin)).json()
    robot = {"X-API-Key": key["api_key"]}

    submitted = await running.client.post("/ledger/v1/booking-requests", json={}, headers=robot)
    approved = await running.client.post(
        "/ledger/v1/booking-requests/42/approval", json={}, headers=robot
    )

    assert submitted.status_code == 200
    assert approved.status_code == 403 and approved.json()["code"] == "PersonRequired"
    assert [r.url.path for r in running.ledger.received] == ["/v1/booking-requests"]
