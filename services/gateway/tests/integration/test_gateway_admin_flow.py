"""The administration API against a real database and Kafka: operators and their roles under
segregation of duties, disabling, systems and the rotation of their API keys."""

from __future__ import annotations

import asyncio
import time

import pytest

from .conftest import RunningGateway, StartGateway

pytestmark = pytest.mark.integration


def operator(username: str, *roles: str) -> dict[str, object]:
    return {
        "username": username,
        "display_name": username.title(),
        "roles": list(roles),
        "password": f"password-of-{username}",
    }


async def register(running: RunningGateway, username: str, *roles: str) -> dict[str, str]:
    """Registers an operator and logs them in."""
    response = await running.client.post(
        "/admin/v1/operators", json=operator(username, *roles), headers=await running.admin()
    )
    assert response.status_code == 201, response.text
    return await running.log_in(username, f"password-of-{username}")


async def test_a_back_office_role_for_a_front_office_operator_is_refused(
    running: RunningGateway,
) -> None:
    admin = await running.admin()
    created = await running.client.post(
        "/admin/v1/operators",
        json=operator("tina", "trader"),
        headers={**admin, "Idempotency-Key": "tina-1"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["id"] == "tina" and created.headers["Location"].endswith("/tina")

    refused = await running.client.post(
        "/admin/v1/operators/tina/roles", json={"role": "accountant"}, headers=admin
    )
    granted = await running.client.post(
        "/admin/v1/operators/tina/roles", json={"role": "customer-service"}, headers=admin
    )
    shown = await running.client.get("/admin/v1/operators/tina", headers=admin)

    assert refused.status_code == 422
    assert refused.json()["code"] == "SegregationOfDuties"
    assert "segregation of duties" in refused.json()["detail"]
    assert granted.status_code == 200 and granted.json()["version"] == 2
    assert shown.json()["roles"] == ["customer-service", "trader"]
    assert shown.json()["office"] == "front" and shown.headers["ETag"] == '"2"'


async def test_registration_is_idempotent_per_key_and_refuses_duplicates(
    running: RunningGateway,
) -> None:
    admin = await running.admin()
    headers = {**admin, "Idempotency-Key": "reg-ida"}

    first = await running.client.post(
        "/admin/v1/operators", json=operator("ida", "auditor"), headers=headers
    )
    again = await running.client.post(
        "/admin/v1/operators", json=operator("ida", "auditor"), headers=headers
    )
    other_body = await running.client.post(
        "/admin/v1/operators", json=operator("ida", "controller"), headers=headers
    )
    without_key = await running.client.post(
        "/admin/v1/operators", json=operator("ida", "auditor"), headers=admin
    )
    system_of_that_name = await running.client.post(
        "/admin/v1/systems",
        json={"name": "ida", "display_name": "Ida", "roles": ["auditor"]},
        headers=admin,
    )

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert other_body.status_code == 422
    assert without_key.status_code == system_of_that_name.status_code == 409


async def test_a_stale_version_is_refused(running: RunningGateway) -> None:
    await register(running, "vic", "accountant")
    admin = await running.admin()

    stale = await running.client.post(
        "/admin/v1/operators/vic/roles",
        json={"role": "controller"},
        headers={**admin, "If-Match": '"0"'},
    )
    current = await running.client.post(
        "/admin/v1/operators/vic/roles",
        json={"role": "controller"},
        headers={**admin, "If-Match": '"1"'},
    )

    assert stale.status_code == 409 and current.status_code == 200


async def test_a_disabled_operator_cannot_log_in_and_their_token_stops_at_once(
    running: RunningGateway,
) -> None:
    dora = await register(running, "dora", "accountant")
    assert (await running.client.get("/ledger/v1/accounts", headers=dora)).status_code == 200

    disabled = await running.client.post(
        "/admin/v1/operators/dora/disable", headers=await running.admin()
    )
    with_token = await running.client.get("/ledger/v1/accounts", headers=dora)
    log_in = await running.client.post(
        "/auth/login", json={"username": "dora", "password": "password-of-dora"}
    )
    listed = await running.client.get("/admin/v1/operators", headers=await running.admin())

    assert disabled.status_code == 200
    assert with_token.status_code == 401 and "disabled" in with_token.json()["detail"]
    assert log_in.status_code == 401 and log_in.json()["code"] == "InvalidCredentials"
    assert {o["username"]: o["enabled"] for o in listed.json()["items"]} == {
        "dora": False,
        "root": True,
    }
    assert len(running.ledger.received) == 1


async def test_a_revoked_role_is_gone_on_the_next_request(running: RunningGateway) -> None:
    rita = await register(running, "rita", "accountant", "risk-officer")
    assert (
        await running.client.post("/ledger/v1/accounts", json={}, headers=rita)
    ).status_code == 200

    revoked = await running.client.delete(
        "/admin/v1/operators/rita/roles/accountant", headers=await running.admin()
    )
    post = await running.client.post("/ledger/v1/accounts", json={}, headers=rita)
    read = await running.client.get("/ledger/v1/accounts", headers=rita)

    assert revoked.status_code == 200
    assert post.status_code == 403 and post.json()["code"] == "RoleMissing"
    assert read.status_code == 200


async def test_an_admin_cannot_change_their_own_access(running: RunningGateway) -> None:
    admin = await running.admin()

    response = await running.client.post("/admin/v1/operators/root/disable", headers=admin)

    assert response.status_code == 403 and response.json()["code"] == "SelfAdministration"


async def test_the_admin_api_refuses_non_admins(running: RunningGateway) -> None:
    accountant = await register(running, "ada", "accountant")

    for method, path in [
        ("GET", "/admin/v1/operators"),
        ("POST", "/admin/v1/operators/ada/disable"),
        ("GET", "/admin/v1/systems"),
    ]:
        response = await running.client.request(method, path, headers=accountant)
        assert response.status_code == 403, (method, path)


async def issue(running: RunningGateway, system: str) -> dict[str, str]:
    response = await running.client.post(
        f"/admin/v1/systems/{system}/api-keys", headers=await running.admin()
    )
    assert response.status_code == 201, response.text
    assert response.headers["Cache-Control"] == "no-store"
    return dict(response.json())


async def test_api_keys_rotate_without_downtime_and_a_revoked_key_is_refused(
    running: RunningGateway,
) -> None:
    admin = await running.admin()
    registered = await running.client.post(
        "/admin/v1/systems",
        json={"name": "reporting", "display_name": "Reporting", "roles": ["auditor"]},
        headers=admin,
    )
    assert registered.status_code == 201, registered.text
    old, new = await issue(running, "reporting"), await issue(running, "reporting")

    async def status_with(key: str, header: str = "X-API-Key") -> int:
        value = key if header == "X-API-Key" else f"ApiKey {key}"
        return (
            await running.client.get("/ledger/v1/accounts", headers={header: value})
        ).status_code

    assert await status_with(old["api_key"]) == 200
    assert await status_with(new["api_key"], "Authorization") == 200
    listed = await running.client.get("/admin/v1/systems/reporting/api-keys", headers=admin)
    revoked = await running.client.delete(
        f"/admin/v1/systems/reporting/api-keys/{old['key_id']}", headers=admin
    )
    assert await status_with(old["api_key"]) == 401
    assert await status_with(new["api_key"]) == 200

    assert revoked.status_code == 200
    assert [k["key_id"] for k in listed.json()["items"]] == [old["key_id"], new["key_id"]]
    assert all(k["active"] and k["revoked_at"] is None for k in listed.json()["items"])
    for secret in (old["api_key"], new["api_key"]):
        assert secret.split("_", 2)[2] not in listed.text
    after = await running.client.get("/admin/v1/systems/reporting/api-keys", headers=admin)
    assert [k["active"] for k in after.json()["items"]] == [False, True]
    assert len(running.ledger.received) == 3


async def test_an_issued_key_is_shown_once_even_to_a_retry(running: RunningGateway) -> None:
    admin = await running.admin()
    await running.client.post(
        "/admin/v1/systems",
        json={"name": "crm", "display_name": "CRM", "roles": ["customer-service"]},
        headers=admin,
    )
    headers = {**admin, "Idempotency-Key": "crm-key-1"}

    first = await running.client.post("/admin/v1/systems/crm/api-keys", headers=headers)
    retry = await running.client.post("/admin/v1/systems/crm/api-keys", headers=headers)
    admin_system = await running.client.post(
        "/admin/v1/systems",
        json={"name": "robot", "display_name": "Robot", "roles": ["admin"]},
        headers=admin,
    )

    assert first.status_code == 201
    assert retry.status_code == 409 and retry.json()["code"] == "ApiKeyAlreadyIssued"
    assert first.json()["api_key"] not in retry.text
    assert admin_system.status_code == 422


async def test_a_key_revoked_in_one_gateway_process_is_refused_by_another_within_a_second(
    running: RunningGateway, start_gateway: StartGateway
) -> None:
    other = await start_gateway()
    admin = await running.admin()
    await running.client.post(
        "/admin/v1/systems",
        json={
            "name": "monitoring",
            "display_name": "Monitoring",
            "roles": ["it-support", "risk-officer"],
        },
        headers=admin,
    )
    key = await issue(running, "monitoring")
    by_key = {"X-API-Key": key["api_key"]}
    assert (await other.client.get("/ledger/v1/accounts", headers=by_key)).status_code == 200

    revoked = await running.client.delete(
        f"/admin/v1/systems/monitoring/api-keys/{key['key_id']}", headers=admin
    )
    started, status = time.monotonic(), 200
    for _ in range(100):  # the other process's view, polled every 50 ms for up to 5 s
        status = (await other.client.get("/ledger/v1/accounts", headers=by_key)).status_code
        if status != 200:
            break
        await asyncio.sleep(0.05)
    elapsed = time.monotonic() - started

    assert revoked.status_code == 200
    assert status == 401 and elapsed < 1.5


async def test_systems_are_listed_by_name_a_page_at_a_time(running: RunningGateway) -> None:
    admin = await running.admin()
    for name in ("payroll", "crm", "monitor"):
        registered = await running.client.post(
            "/admin/v1/systems",
            json={"name": name, "display_name": name.title(), "roles": ["auditor"]},
            headers=admin,
        )
        assert registered.status_code == 201, registered.text

    first = await running.client.get("/admin/v1/systems?limit=2", headers=admin)
    cursor = first.json()["next_cursor"]
    rest = await running.client.get(f"/admin/v1/systems?limit=2&cursor={cursor}", headers=admin)

    assert [s["name"] for s in first.json()["items"]] == ["crm", "monitor"]
    assert cursor == "monitor"
    assert [s["name"] for s in rest.json()["items"]] == ["payroll"]
    assert rest.json()["next_cursor"] is None
    assert rest.json()["items"][0]["display_name"] == "Payroll"
