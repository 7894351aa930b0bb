"""The gateway over HTTP, in-process: bearer tokens, policy, proxying and upstream failures.

The services behind the gateway are faked with ``httpx.MockTransport``; the app runs through
``httpx.ASGITransport`` without its lifespan, so neither PostgreSQL nor Kafka is needed (log-in,
which reads the event store, is covered by the integration tests).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from gateway.adapters.passwords import Passwords
from gateway.app.callers import Callers
from gateway.bootstrap import Gateway
from gateway.main import create_app
from gateway.settings import GatewaySettings
from shared_kernel.identity import (
    Caller,
    IdentitySigner,
    IdentityVerifier,
    ensure_keypair,
    key_id_of,
)

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


@dataclass
class FakeLedger:
    """Answers like a service would and remembers what reached it."""

    received: list[httpx.Request] = field(default_factory=list)
    answer: Handler | None = None

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        if self.answer is not None:
            return await self.answer(request)
        return httpx.Response(200, json={"items": []}, headers={"ETag": '"7"'})


class TrustingCallers(Callers):
    """Takes a verified token's word for the operator's roles (no database here); checks
    against the current state are covered by the integration tests."""

    def __init__(self) -> None:
        pass

    async def confirm(self, identity: Caller) -> Caller:
        return identity


@dataclass
class Harness:
    client: httpx.AsyncClient
    gateway: Gateway
    ledger: FakeLedger
    public_pem: bytes

    def token(self, *roles: str, office: str = "back", subject: str = "ada") -> str:
        identity = Caller(subject, frozenset(roles), office, request_id="login-request")
        return self.gateway.issue_access_token(identity)

    def bearer(self, *roles: str, office: str = "back") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(*roles, office=office)}"}

    def forwarded_identity(self, request: httpx.Request) -> Caller:
        verifier = IdentityVerifier({key_id_of(self.public_pem): self.public_pem}, "ledger")
        return verifier.verify(request.headers.get("X-Backoffice-Identity"))


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    private, public = ensure_keypair(tmp_path / "keys")
    settings = GatewaySettings(
        environment="test",
        identity_private_key_file=private,
        identity_public_key_file=public,
        services={"ledger": "http://ledger.test"},
        upstream_timeout_seconds=0.3,
        max_body_bytes=100,
    )
    ledger = FakeLedger()
    fast = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    app = create_app(
        settings,
        upstream_transport=httpx.MockTransport(ledger.handle),
        passwords=fast,
        callers=TrustingCallers(),
    )
    gateway: Gateway = app.state.gateway
    async with gateway.upstream_client() as http:
        gateway.connect(http)
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as client:
            yield Harness(client, gateway, ledger, public.read_bytes())
    await gateway.runtime.engine.dispose()


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["status"] == status and body["code"] == code
    assert response.headers["X-Request-Id"]
    return body


async def test_without_a_token_the_caller_is_asked_to_log_in(harness: Harness) -> None:
    response = await harness.client.get("/ledger/v1/accounts")

    assert_problem(response, 401, "Unauthenticated")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="backoffice"'
    assert harness.ledger.received == []


async def test_forged_expired_and_misdirected_tokens_are_refused(harness: Harness) -> None:
    key = harness.gateway.settings.identity_private_key_file.read_bytes()
    kid = key_id_of(harness.public_pem)
    identity = Caller("ada", frozenset({"accountant"}), "back", "r")
    expired = IdentitySigner(key, kid, ttl_seconds=-5).sign(identity, audience="gateway")
    for_ledger = IdentitySigner(key, kid).sign(identity, audience="ledger")
    tampered = harness.token("accountant")[:-4] + "AAAA"

    for token, detail in [(expired, "expired"), (for_ledger, "not valid"), (tampered, "not valid")]:
        response = await harness.client.get(
            "/ledger/v1/accounts", headers={"Authorization": f"Bearer {token}"}
        )
        body = assert_problem(response, 401, "Unauthenticated")
        assert detail in str(body["detail"])
        assert response.headers["WWW-Authenticate"].endswith('error="invalid_token"')
    assert harness.ledger.received == []


async def test_me_tells_the_caller_who_the_token_says_they_are(harness: Harness) -> None:
    response = await harness.client.get("/auth/me", headers=harness.bearer("accountant", "auditor"))

    assert response.status_code == 200
    body = response.json()
    permissions = body.pop("permissions")
    assert body == {
        "subject": "ada",
        "roles": ["accountant", "auditor"],
        "office": "back",
        "kind": "user",
    }
    assert {"POST /ledger/v1/journal-entries", "GET /audit/v1/decisions"} <= set(permissions)


async def test_an_allowed_request_reaches_the_service_with_a_signed_identity(
    harness: Harness,
) -> None:
    response = await harness.client.get(
        "/ledger/v1/accounts/42/lines?cursor=a%2Fb&limit=5", headers=harness.bearer("auditor")
    )

    assert response.status_code == 200
    assert response.json() == {"items": []}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["etag"] == '"7"'
    [sent] = harness.ledger.received
    assert sent.method == "GET"
    assert str(sent.url) == "http://ledger.test/v1/accounts/42/lines?cursor=a%2Fb&limit=5"
    identity = harness.forwarded_identity(sent)
    assert (identity.subject, identity.roles, identity.office) == (
        "ada",
        frozenset({"auditor"}),
        "back",
    )
    assert identity.request_id == response.headers["X-Request-Id"] == sent.headers["X-Request-Id"]


async def test_only_the_listed_client_headers_pass_and_backoffice_headers_are_dropped(
    harness: Harness,
) -> None:
    forged = harness.gateway.forwarded_identities.sign(
        Caller("mallory", frozenset({"controller"}), "back", "r"), audience="ledger"
    )
    headers = {
        **harness.bearer("accountant"),
        "X-Backoffice-Identity": forged,
        "X-Backoffice-Actor": "system:ledger",
        "Idempotency-Key": "key-1",
        "If-Match": '"3"',
        "Accept": "application/json",
        "Cookie": "session=1",
        "X-Request-Id": "client-chosen-id-01",
    }

    response = await harness.client.post(
        "/ledger/v1/accounts", json={"code": "1000"}, headers=headers
    )

    assert response.status_code == 200
    [sent] = harness.ledger.received
    assert harness.forwarded_identity(sent).subject == "ada"
    assert sent.headers["Idempotency-Key"] == "key-1"
    assert sent.headers["If-Match"] == '"3"'
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.content) == {"code": "1000"}
    for dropped in ("Authorization", "Cookie", "X-Backoffice-Actor"):
        assert dropped not in sent.headers
    assert sent.headers["X-Request-Id"] == response.headers["X-Request-Id"]
    assert response.headers["X-Client-Request-Id"] == "client-chosen-id-01"


async def test_a_header_value_beyond_ascii_is_passed_on_as_it_came_not_a_500(
    harness: Harness,
) -> None:
    """HTTP allows Latin-1 octets in a header value; the service judges the value."""
    odd = '"no limit for \xd5[~"'.encode("latin-1")
    response = await harness.client.post(
        "/ledger/v1/accounts",
        json={"code": "1000"},
        headers=[
            *((k.encode(), v.encode()) for k, v in harness.bearer("accountant").items()),
            (b"If-Match", odd),
        ],
    )

    assert response.status_code == 200, response.text
    [sent] = harness.ledger.received
    assert sent.headers.raw[[k.lower() for k, _ in sent.headers.raw].index(b"if-match")][1] == odd


async def test_a_client_request_id_is_never_the_request_id_so_two_requests_never_share_one(
    harness: Harness,
) -> None:
    headers = {**harness.bearer("auditor"), "X-Request-Id": "same-id-twice"}

    answers = [await harness.client.get("/ledger/v1/accounts", headers=headers) for _ in "ab"]

    ids = [answer.headers["X-Request-Id"] for answer in answers]
    sent = harness.ledger.received
    assert len(set(ids)) == 2 and "same-id-twice" not in ids
    assert [harness.forwarded_identity(s).request_id for s in sent] == ids
    assert [s.headers["X-Request-Id"] for s in sent] == ids
    assert [a.headers["X-Client-Request-Id"] for a in answers] == ["same-id-twice"] * 2


async def test_an_unacceptable_client_request_id_is_dropped(harness: Harness) -> None:
    response = await harness.client.get(
        "/ledger/v1/accounts", headers={**harness.bearer("auditor"), "X-Request-Id": "bad id!"}
    )

    [sent] = harness.ledger.received
    assert response.headers["X-Request-Id"] != "bad id!"
    assert "X-Client-Request-Id" not in response.headers
    assert sent.headers["X-Request-Id"] == response.headers["X-Request-Id"]


async def test_a_trader_may_not_post_journal_entries(harness: Harness) -> None:
    response = await harness.client.post(
        "/ledger/v1/journal-entries", json={}, headers=harness.bearer("trader", office="front")
    )

    body = assert_problem(response, 403, "RoleMissing")
    assert "accountant, controller" in str(body["detail"])
    assert harness.ledger.received == []


async def test_a_route_without_a_policy_entry_is_denied(harness: Harness) -> None:
    # A path no route matches (a known path with another method is 405: test_gateway_openapi).
    response = await harness.client.get(
        "/ledger/v1/secrets/42", headers=harness.bearer("accountant", "controller", "admin")
    )

    assert_problem(response, 403, "NoPolicyRule")
    assert harness.ledger.received == []


async def test_an_unknown_service_is_not_found(harness: Harness) -> None:
    response = await harness.client.get("/payroll/v1/accounts", headers=harness.bearer("admin"))

    assert_problem(response, 404, "UnknownService")


async def test_dot_segments_are_refused_rather_than_resolved(harness: Harness) -> None:
    response = await harness.client.get(
        "/ledger/v1/accounts/%2E%2E", headers=harness.bearer("accountant")
    )

    assert_problem(response, 400, "InvalidPath")
    assert harness.ledger.received == []


async def test_a_body_over_the_limit_is_refused_with_or_without_a_length(
    harness: Harness,
) -> None:
    async def chunked() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"x" * 30

    declared = await harness.client.post(
        "/ledger/v1/accounts", content=b"x" * 101, headers=harness.bearer("accountant")
    )
    streamed = await harness.client.post(
        "/ledger/v1/accounts", content=chunked(), headers=harness.bearer("accountant")
    )

    assert_problem(declared, 413, "BodyTooLarge")
    assert_problem(streamed, 413, "BodyTooLarge")
    assert harness.ledger.received == []


async def test_a_refused_caller_is_told_so_before_the_body_is_considered(harness: Harness) -> None:
    response = await harness.client.post(
        "/ledger/v1/journal-entries", content=b"x" * 500, headers=harness.bearer("trader")
    )

    assert_problem(response, 403, "RoleMissing")


async def test_the_service_answer_is_passed_back_as_it_is(harness: Harness) -> None:
    async def conflict(_: httpx.Request) -> httpx.Response:
        return httpx.Response(
            409,
            content=b'{"status":409,"code":"VersionMismatch"}',
            headers={"Content-Type": "application/problem+json", "Set-Cookie": "x=1"},
        )

    harness.ledger.answer = conflict
    response = await harness.client.post(
        "/ledger/v1/accounts", json={}, headers=harness.bearer("controller")
    )

    assert response.status_code == 409
    assert response.content == b'{"status":409,"code":"VersionMismatch"}'
    assert response.headers["content-type"] == "application/problem+json"
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        (httpx.ConnectError("refused"), 503, "ServiceUnavailable"),
        (httpx.ReadTimeout("slow"), 504, "ServiceTimeout"),
        (httpx.RemoteProtocolError("garbage"), 502, "ServiceFailed"),
    ],
)
async def test_upstream_failures_become_problems(
    harness: Harness, failure: Exception, status: int, code: str
) -> None:
    async def fail(_: httpx.Request) -> httpx.Response:
        raise failure

    harness.ledger.answer = fail
    response = await harness.client.get("/ledger/v1/accounts", headers=harness.bearer("auditor"))

    assert_problem(response, status, code)


async def test_a_service_that_never_answers_gets_a_timeout_not_a_hang(harness: Harness) -> None:
    async def hang(_: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200)

    harness.ledger.answer = hang
    async with asyncio.timeout(5):
        response = await harness.client.get(
            "/ledger/v1/accounts", headers=harness.bearer("auditor")
        )

    body = assert_problem(response, 504, "ServiceTimeout")
    assert "Idempotency-Key" in str(body["detail"])


async def test_login_validates_its_body_before_touching_the_store(harness: Harness) -> None:
    response = await harness.client.post("/auth/login", json={"username": "ada"})

    body = assert_problem(response, 422, "InvalidRequest")
    assert body["field"] == "password"


async def test_a_created_records_location_is_passed_on_as_the_gateway_serves_it(
    harness: Harness,
) -> None:
    async def created(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json={"id": "e1"}, headers={"Location": "/v1/accounts/e1"})

    harness.ledger.answer = created
    response = await harness.client.post(
        "/ledger/v1/accounts", json={}, headers=harness.bearer("accountant")
    )

    assert response.status_code == 201
    assert response.headers["location"] == "/ledger/v1/accounts/e1"
