"""The Admin pages against a fake gateway: operators and roles (segregation of duties
explained when refused), systems and API keys (a new key shown once)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from .fake_gateway import FakeGateway, browser, csrf_of, logged_in

pytestmark = pytest.mark.unit

ADMIN_ROUTES = [
    "GET /admin/v1/operators",
    "POST /admin/v1/operators",
    "GET /admin/v1/operators/{username}",
    "POST /admin/v1/operators/{username}/roles",
    "DELETE /admin/v1/operators/{username}/roles/{role}",
    "POST /admin/v1/operators/{username}/disable",
    "GET /admin/v1/systems",
    "POST /admin/v1/systems",
    "GET /admin/v1/systems/{system}/api-keys",
    "POST /admin/v1/systems/{system}/api-keys",
    "DELETE /admin/v1/systems/{system}/api-keys/{key_id}",
]
TRADER = {
    "username": "trader",
    "display_name": "Demo Trader",
    "roles": ["trader"],
    "office": "front",
    "enabled": True,
    "version": 3,
}
SEGREGATION = {
    "type": "about:blank",
    "title": "Business rule violated",
    "status": 422,
    "detail": "segregation of duties: an identity belongs to exactly one of front office, back "
    "office or oversight; these roles combine front-office roles (trader) and back-office roles "
    "(accountant)",
    "code": "SegregationOfDuties",
    "field": "roles",
}
WRITTEN = {"id": "trader", "version": 4, "position": 17}


@pytest.fixture
def gateway() -> FakeGateway:
    fake = FakeGateway()
    fake.operator("admin", ["admin"], "oversight", ADMIN_ROUTES)
    fake.on("GET", "/admin/v1/operators/trader", TRADER)
    return fake


def sent(gateway: FakeGateway, method: str, path: str) -> list[httpx.Request]:
    return [c for c in gateway.calls if c.method == method and c.url.path == path]


async def admin_on(
    gateway: FakeGateway, tmp_path: Path, page: str
) -> tuple[httpx.AsyncClient, str]:
    """The admin logged in, on ``page``; with the page's CSRF token."""
    client = await logged_in(browser(gateway.app(tmp_path)), "admin")
    answer = await client.get(page)
    assert answer.status_code == 200, answer.text
    return client, csrf_of(answer.text)


async def test_the_operators_list_for_an_admin_and_403_for_others(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("GET", "/admin/v1/operators", {"items": [TRADER], "next_cursor": "trader"})
    client, _ = await admin_on(gateway, tmp_path, "/admin")
    page = await client.get("/admin")
    assert 'href="/admin/operators/trader"' in page.text and "Demo Trader" in page.text
    assert 'href="/admin?cursor=trader"' in page.text

    other = await logged_in(browser(gateway.app(tmp_path)), "accountant")
    assert (await other.get("/admin")).status_code == 403
    assert (await other.get("/admin/systems")).status_code == 403


async def test_granting_a_role_sends_it_with_the_version_shown(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("POST", "/admin/v1/operators/trader/roles", WRITTEN)
    client, csrf = await admin_on(gateway, tmp_path, "/admin/operators/trader")

    answer = await client.post(
        "/admin/operators/trader/roles",
        data={"csrf_token": csrf, "role": "customer-service", "version": "3"},
        follow_redirects=False,
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/operators/trader"
    [call] = sent(gateway, "POST", "/admin/v1/operators/trader/roles")
    assert json.loads(call.content) == {"role": "customer-service"}
    assert call.headers["if-match"] == '"3"'


async def test_a_refused_grant_shows_the_problem_and_explains_segregation_of_duties(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("POST", "/admin/v1/operators/trader/roles", SEGREGATION, 422)
    client, csrf = await admin_on(gateway, tmp_path, "/admin/operators/trader")

    page = await client.post(
        "/admin/operators/trader/roles",
        data={"csrf_token": csrf, "role": "accountant", "version": "3"},
    )

    assert page.status_code == 422
    assert "Business rule violated" in page.text
    assert "these roles combine front-office roles (trader)" in page.text
    assert "Why: segregation of duties" in page.text
    assert "nobody holds front-office and back-office roles together" in page.text
    assert "admin and auditor are each held alone" in page.text
    assert '<option value="accountant" selected>' in page.text  # the choice is kept


async def test_another_refusal_is_shown_without_the_segregation_text(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    stale = {"title": "Concurrent modification", "detail": "operator trader is at version 4, not 3"}
    gateway.on("POST", "/admin/v1/operators/trader/roles", {**stale, "status": 409}, 409)
    client, csrf = await admin_on(gateway, tmp_path, "/admin/operators/trader")

    page = await client.post(
        "/admin/operators/trader/roles",
        data={"csrf_token": csrf, "role": "customer-service", "version": "3"},
    )

    assert page.status_code == 409
    assert "operator trader is at version 4, not 3" in page.text
    assert "segregation of duties" not in page.text.lower()


async def test_revoking_a_role_calls_the_api_with_delete(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on(
        "GET", "/admin/v1/operators/trader", {**TRADER, "roles": ["customer-service", "trader"]}
    )
    gateway.on("DELETE", "/admin/v1/operators/trader/roles/trader", WRITTEN)
    client, csrf = await admin_on(gateway, tmp_path, "/admin/operators/trader")
    page = await client.get("/admin/operators/trader")
    assert 'action="/admin/operators/trader/roles/trader/revoke"' in page.text

    answer = await client.post(
        "/admin/operators/trader/roles/trader/revoke",
        data={"csrf_token": csrf, "version": "3"},
        follow_redirects=False,
    )

    assert answer.status_code == 303
    [call] = sent(gateway, "DELETE", "/admin/v1/operators/trader/roles/trader")
    assert call.headers["if-match"] == '"3"' and call.content == b""


async def test_disabling_an_operator_and_a_forged_form_changes_nothing(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("POST", "/admin/v1/operators/trader/disable", WRITTEN)
    client, csrf = await admin_on(gateway, tmp_path, "/admin/operators/trader")

    forged = await client.post(
        "/admin/operators/trader/disable", data={"csrf_token": "x", "version": "3"}
    )
    assert forged.status_code == 400
    assert not sent(gateway, "POST", "/admin/v1/operators/trader/disable")

    done = await client.post(
        "/admin/operators/trader/disable",
        data={"csrf_token": csrf, "version": "3"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert len(sent(gateway, "POST", "/admin/v1/operators/trader/disable")) == 1


async def test_the_last_role_offers_no_revoke_button(gateway: FakeGateway, tmp_path: Path) -> None:
    client, _ = await admin_on(gateway, tmp_path, "/admin/operators/trader")

    page = await client.get("/admin/operators/trader")

    assert "/revoke" not in page.text and "The last role cannot be revoked" in page.text


async def test_an_admin_sees_no_actions_on_their_own_account(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("GET", "/admin/v1/operators/admin", {**TRADER, "username": "admin"})
    client, _ = await admin_on(gateway, tmp_path, "/admin/operators/admin")

    page = await client.get("/admin/operators/admin")

    assert "another administrator must change your own roles" in page.text
    assert "Grant role" not in page.text and "/disable" not in page.text


async def test_registering_an_operator_sends_the_body_once_per_form(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("POST", "/admin/v1/operators", {**WRITTEN, "id": "anna"}, 201)
    client, csrf = await admin_on(gateway, tmp_path, "/admin/operators/new")
    form = (await client.get("/admin/operators/new")).text
    key = form.split('name="idempotency_key" value="', 1)[1].split('"', 1)[0]

    answer = await client.post(
        "/admin/operators",
        data={
            "csrf_token": csrf,
            "idempotency_key": key,
            "username": "anna",
            "display_name": "Anna Berg",
            "password": "a long secret phrase",
            "roles": ["accountant", "controller"],
        },
        follow_redirects=False,
    )

    assert answer.status_code == 303 and answer.headers["location"] == "/admin/operators/anna"
    [call] = sent(gateway, "POST", "/admin/v1/operators")
    assert json.loads(call.content) == {
        "username": "anna",
        "display_name": "Anna Berg",
        "roles": ["accountant", "controller"],
        "password": "a long secret phrase",
    }
    assert call.headers["idempotency-key"] == key


async def test_a_refused_registration_keeps_the_form_but_not_the_password(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("POST", "/admin/v1/operators", SEGREGATION, 422)
    client, csrf = await admin_on(gateway, tmp_path, "/admin/operators/new")
    fields = {
        "csrf_token": csrf,
        "username": "anna",
        "display_name": "Anna Berg",
        "password": "a long secret phrase",
        "roles": ["trader", "accountant"],
    }

    page = await client.post("/admin/operators", data=fields)
    empty = await client.post("/admin/operators", data={"csrf_token": csrf, "username": "bo"})

    assert page.status_code == 422 and "Why: segregation of duties" in page.text
    assert 'value="Anna Berg"' in page.text and 'value="trader" checked' in page.text
    assert "a long secret phrase" not in page.text
    assert empty.status_code == 422
    assert "Display name, Password, Roles" in empty.text
    assert len(sent(gateway, "POST", "/admin/v1/operators")) == 1  # the empty form never went


async def test_a_new_api_key_is_shown_once_with_a_warning(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    keys = {
        "items": [
            {
                "key_id": "k-old",
                "issued_at": "2026-12-01T08:00:00Z",
                "revoked_at": None,
                "active": True,
            }
        ]
    }
    gateway.on("GET", "/admin/v1/systems/trading-system/api-keys", keys)
    issued = {
        "system": "trading-system",
        "key_id": "k-new",
        "api_key": "bo_k-new_s3cr3t-t3xt",
        "issued_at": "2026-12-03T08:00:00Z",
        "version": 2,
        "position": 9,
    }
    gateway.on("POST", "/admin/v1/systems/trading-system/api-keys", issued, 201)
    client, csrf = await admin_on(gateway, tmp_path, "/admin/systems/trading-system")
    page = (await client.get("/admin/systems/trading-system")).text
    key = page.split('name="idempotency_key" value="', 1)[1].split('"', 1)[0]

    shown = await client.post(
        "/admin/systems/trading-system/api-keys", data={"csrf_token": csrf, "idempotency_key": key}
    )

    assert shown.status_code == 200
    assert 'value="bo_k-new_s3cr3t-t3xt"' in shown.text
    assert "This is the only time the key is shown." in shown.text
    assert shown.headers["cache-control"] == "no-store"
    [call] = sent(gateway, "POST", "/admin/v1/systems/trading-system/api-keys")
    assert call.headers["idempotency-key"] == key
    assert "bo_k-new_s3cr3t-t3xt" not in (await client.get("/admin/systems/trading-system")).text


async def test_a_resubmitted_key_form_is_refused_readably(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("GET", "/admin/v1/systems/trading-system/api-keys", {"items": []})
    again = "this Idempotency-Key already issued an API key; its text was shown once only"
    gateway.on(
        "POST",
        "/admin/v1/systems/trading-system/api-keys",
        {"title": "Conflict", "detail": again, "status": 409},
        409,
    )
    client, csrf = await admin_on(gateway, tmp_path, "/admin/systems/trading-system")

    page = await client.post(
        "/admin/systems/trading-system/api-keys", data={"csrf_token": csrf, "idempotency_key": "k"}
    )

    assert page.status_code == 409 and again in page.text


async def test_revoking_an_api_key_calls_the_api_with_delete(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("GET", "/admin/v1/systems/trading-system/api-keys", {"items": []})
    gateway.on("DELETE", "/admin/v1/systems/trading-system/api-keys/k-old", WRITTEN)
    client, csrf = await admin_on(gateway, tmp_path, "/admin/systems/trading-system")

    answer = await client.post(
        "/admin/systems/trading-system/api-keys/k-old/revoke",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/systems/trading-system"
    assert len(sent(gateway, "DELETE", "/admin/v1/systems/trading-system/api-keys/k-old")) == 1


async def test_the_systems_list_and_registering_a_system(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    system = {
        "name": "trading-system",
        "display_name": "Demo trading system",
        "roles": ["trader"],
        "office": "front",
        "active_keys": 1,
        "version": 2,
    }
    gateway.on("GET", "/admin/v1/systems", {"items": [system], "next_cursor": None})
    gateway.on("POST", "/admin/v1/systems", {**WRITTEN, "id": "feed"}, 201)
    client, csrf = await admin_on(gateway, tmp_path, "/admin/systems")

    page = await client.get("/admin/systems")
    answer = await client.post(
        "/admin/systems",
        data={
            "csrf_token": csrf,
            "name": "feed",
            "display_name": "Price feed",
            "roles": ["monitoring"],
            "idempotency_key": "k1",
        },
        follow_redirects=False,
    )

    assert (
        'href="/admin/systems/trading-system"' in page.text and "Demo trading system" in page.text
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/systems/feed"
    [call] = sent(gateway, "POST", "/admin/v1/systems")
    assert json.loads(call.content) == {
        "name": "feed",
        "display_name": "Price feed",
        "roles": ["monitoring"],
    }


async def test_the_segregation_explanation_in_german(gateway: FakeGateway, tmp_path: Path) -> None:
    gateway.on("POST", "/admin/v1/operators/trader/roles", SEGREGATION, 422)
    client, csrf = await admin_on(gateway, tmp_path, "/admin/operators/trader")
    client.cookies.set("console_locale", "de")

    page = await client.post(
        "/admin/operators/trader/roles",
        data={"csrf_token": csrf, "role": "accountant", "version": "3"},
    )

    assert page.status_code == 422 and "Warum: Funktionstrennung" in page.text


async def test_a_forged_change_of_the_admins_own_roles_shows_the_apis_refusal(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("GET", "/admin/v1/operators/admin", {**TRADER, "username": "admin"})
    own = "admin may not change their own roles; another administrator must"
    gateway.on(
        "POST",
        "/admin/v1/operators/admin/roles",
        {"title": "Forbidden", "detail": own, "status": 403, "code": "SelfAdministration"},
        403,
    )
    client, csrf = await admin_on(gateway, tmp_path, "/admin/operators/admin")

    page = await client.post(
        "/admin/operators/admin/roles", data={"csrf_token": csrf, "role": "auditor"}
    )

    assert page.status_code == 403
    assert own in page.text and "SelfAdministration" in page.text
