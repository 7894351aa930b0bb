"""The gateway's access decisions over HTTP, in-process: API keys, the admin-only API, rate
limits, the audit record of every decision, and request ids in log lines.

The services behind the gateway are faked with ``httpx.MockTransport``, callers are confirmed
against dictionaries (``InMemoryCallers``), and the audit queue is read directly instead of
Kafka (the integration tests consume the real topic).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from gateway.adapters.api_keys import StoredKey, new_api_key
from gateway.adapters.audit import AuditLog, AuditRecord
from gateway.adapters.rate_limit import RateLimiter, Taken
from gateway.adapters.shared_buckets import RateLimitStoreUnavailable
from gateway.bootstrap import Gateway
from gateway.domain.api_keys import System
from gateway.domain.events import EVENTS, ApiKeyIssued, OperatorRegistered, SystemRegistered
from gateway.domain.operator import Operator
from gateway.main import create_app
from gateway.settings import GatewaySettings
from shared_kernel.codec import EventCodec
from shared_kernel.domain import Aggregate, DomainEvent
from shared_kernel.identity import Caller, IdentityVerifier, ensure_keypair, key_id_of
from shared_kernel.supervisor import Supervisor

from .conftest import InMemoryCallers

pytestmark = pytest.mark.unit
A = TypeVar("A", bound=Aggregate)


@dataclass
class Harness:
    client: httpx.AsyncClient
    gateway: Gateway
    callers: InMemoryCallers
    received: list[httpx.Request]
    public_pem: bytes
    answer: Callable[[httpx.Request], httpx.Response] | None = None

    def bearer(self, username: str) -> dict[str, str]:
        # The token's roles do not matter: the gateway acts on the operator's current roles.
        identity = Caller(username, frozenset({"admin"}), "none", request_id="login")
        return {"Authorization": f"Bearer {self.gateway.issue_access_token(identity)}"}

    def audited(self) -> list[AuditRecord]:
        """The audit records queued so far, taken off the queue."""
        queue = self.gateway.audit.queue
        return [queue.get_nowait() for _ in range(queue.qsize())]

    def forwarded_identity(self, request: httpx.Request) -> Caller:
        verifier = IdentityVerifier({key_id_of(self.public_pem): self.public_pem}, "ledger")
        return verifier.verify(request.headers.get("X-Backoffice-Identity"))


HarnessFactory = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def make_harness(tmp_path: Path, callers: InMemoryCallers) -> AsyncIterator[HarnessFactory]:
    opened: list[tuple[Gateway, httpx.AsyncClient, httpx.AsyncClient]] = []
    callers.add_operator("ada", "accountant")
    callers.add_operator("tom", "trader")
    callers.add_operator("root", "admin")

    async def make(**overrides: Any) -> Harness:
        private, public = ensure_keypair(tmp_path / "keys")
        settings = GatewaySettings(
            environment="test",
            identity_private_key_file=private,
            identity_public_key_file=public,
            services={"ledger": "http://ledger.test"},
            max_body_bytes=100,
            **overrides,
        )
        received: list[httpx.Request] = []
        made: list[Harness] = []

        async def ledger(request: httpx.Request) -> httpx.Response:
            received.append(request)
            answer = made[0].answer if made else None
            if answer is not None:
                return answer(request)
            return httpx.Response(200, json={"items": []})

        app = create_app(settings, upstream_transport=httpx.MockTransport(ledger), callers=callers)
        gateway: Gateway = app.state.gateway
        http = gateway.upstream_client()
        gateway.connect(http)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gw.test")
        opened.append((gateway, http, client))
        made.append(Harness(client, gateway, callers, received, public.read_bytes()))
        return made[0]

    yield make
    for gateway, http, client in opened:
        await client.aclose()
        await http.aclose()
        await gateway.runtime.engine.dispose()


@pytest.fixture
async def harness(make_harness: HarnessFactory) -> Harness:
    return await make_harness()


def one_record_each(
    records: list[AuditRecord], responses: list[httpx.Response]
) -> list[AuditRecord]:
    """The records in the order of the responses, asserting exactly one per request."""
    ids = [response.headers["X-Request-Id"] for response in responses]
    assert sorted(r.request_id for r in records) == sorted(ids)
    by_request = {r.request_id: r for r in records}
    return [by_request[request_id] for request_id in ids]


async def test_each_refused_request_leaves_exactly_one_audit_record(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(rate_limit_per_second=0.001, rate_limit_burst=2)
    client, tom = harness.client, harness.bearer("tom")

    responses = [
        await client.get("/ledger/v1/accounts"),
        await client.post("/ledger/v1/journal-entries", json={}, headers=tom),
        await client.get("/payroll/v1/accounts", headers=harness.bearer("ada")),
        await client.post("/ledger/v1/accounts", content=b"x" * 101, headers=harness.bearer("ada")),
        await client.get(
            "/ledger/v1/accounts", headers={"X-API-Key": "bo_0123456789abcdef_" + "a" * 43}
        ),
        await client.get("/ledger/v1/accounts", headers=tom),
        await client.get("/ledger/v1/accounts", headers=tom),  # tom's third: over the limit
        await client.get("/nowhere"),
    ]

    assert [r.status_code for r in responses] == [401, 403, 404, 413, 401, 403, 429, 404]
    records = one_record_each(harness.audited(), responses)
    assert [(r.decision, r.status, r.reason) for r in records] == [
        ("deny", 401, "NoCredentials"),
        ("deny", 403, "RoleMissing"),
        ("deny", 404, "UnknownService"),
        ("deny", 413, "BodyTooLarge"),
        ("deny", 401, "ApiKeyUnknown"),
        ("deny", 403, "RoleMissing"),
        ("deny", 429, "RateLimited"),
        ("deny", 404, "HTTP404"),
    ]
    refused_trader = records[1]
    assert (refused_trader.subject, refused_trader.kind, refused_trader.office) == (
        "tom",
        "user",
        "front",
    )
    assert refused_trader.roles == ("trader",)
    assert (refused_trader.method, refused_trader.route) == ("POST", "/ledger/v1/journal-entries")
    assert records[0].subject == "anonymous" and records[0].client
    assert harness.received == []


async def test_an_allowed_request_leaves_one_record_even_when_the_service_refuses(
    harness: Harness,
) -> None:
    harness.answer = lambda _: httpx.Response(
        409, json={"code": "VersionMismatch"}, headers={"Content-Type": "application/problem+json"}
    )

    response = await harness.client.get("/ledger/v1/accounts/42", headers=harness.bearer("ada"))

    assert response.status_code == 409
    [record] = one_record_each(harness.audited(), [response])
    assert (record.decision, record.reason, record.status) == ("allow", "PolicyAllowed", 409)
    assert record.route == "/ledger/v1/accounts/{account_id}"
    assert record.path == "/ledger/v1/accounts/42"
    assert (record.subject, record.office, record.roles) == ("ada", "back", ("accountant",))


async def test_an_api_key_is_accepted_in_either_header_as_a_system_identity(
    harness: Harness,
) -> None:
    harness.callers.add_system("monitoring", "it-support", "monitoring")
    _, key = harness.callers.add_system("reporting", "auditor")

    via_header = await harness.client.get("/ledger/v1/accounts", headers={"X-API-Key": key.text})
    via_authorization = await harness.client.get(
        "/ledger/v1/accounts", headers={"Authorization": f"ApiKey {key.text}"}
    )

    assert via_header.status_code == via_authorization.status_code == 200
    identity = harness.forwarded_identity(harness.received[0])
    assert (identity.subject, identity.kind, identity.roles) == (
        "reporting",
        "system",
        frozenset({"auditor"}),
    )
    assert identity.request_id == via_header.headers["X-Request-Id"]
    assert [r.kind for r in harness.audited()] == ["system", "system"]


async def test_a_bad_api_key_gets_401_with_an_api_key_challenge(harness: Harness) -> None:
    _, key = harness.callers.add_system("reporting", "auditor")

    wrong = await harness.client.get(
        "/ledger/v1/accounts", headers={"X-API-Key": key.text[:-1] + "!"}
    )
    both = await harness.client.get(
        "/ledger/v1/accounts", headers={"X-API-Key": key.text, **harness.bearer("ada")}
    )

    assert wrong.status_code == both.status_code == 401
    assert wrong.headers["WWW-Authenticate"].startswith('ApiKey realm="backoffice"')
    assert "one credential" in both.json()["detail"]
    assert harness.received == []


async def test_a_disabled_operator_token_is_refused(harness: Harness) -> None:
    disabled = harness.callers.add_operator("eve", "accountant")
    disabled.disable(by="root")
    disabled.mark_saved()

    response = await harness.client.get("/auth/me", headers=harness.bearer("eve"))

    assert response.status_code == 401
    assert response.json()["detail"] == "this operator has been disabled"
    [record] = harness.audited()
    assert (record.subject, record.reason) == ("eve", "OperatorDisabled")


async def test_a_known_token_of_an_operator_disabled_since_is_refused_at_once(
    harness: Harness,
) -> None:
    ada = harness.bearer("ada")
    assert (await harness.client.get("/auth/me", headers=ada)).status_code == 200
    operator = harness.callers.streams["operator:ada"]
    operator.disable(by="root")
    operator.mark_saved()
    harness.callers.forget()  # what an administrative change in this process does

    refused = await harness.client.get("/auth/me", headers=ada)

    assert refused.status_code == 401
    assert refused.json()["detail"] == "this operator has been disabled"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/admin/v1/operators"),
        ("POST", "/admin/v1/operators/tom/roles"),
        ("DELETE", "/admin/v1/systems/reporting/api-keys/0123456789abcdef"),
        ("POST", "/admin/v1/systems"),
    ],
)
async def test_the_admin_api_is_for_admins_only(harness: Harness, method: str, path: str) -> None:
    anonymous = await harness.client.request(method, path, json={"role": "auditor"})
    accountant = await harness.client.request(
        method, path, json={"role": "auditor"}, headers=harness.bearer("ada")
    )

    assert anonymous.status_code == 401
    assert accountant.status_code == 403 and accountant.json()["code"] == "AdminRequired"
    assert [r.reason for r in harness.audited()] == ["NoCredentials", "AdminRequired"]


async def test_a_request_flood_gets_429_with_retry_after_per_identity(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(rate_limit_per_second=0.5, rate_limit_burst=3)
    ada = harness.bearer("ada")

    answers = [await harness.client.get("/ledger/v1/accounts", headers=ada) for _ in range(5)]
    other = await harness.client.get("/ledger/v1/accounts", headers=harness.bearer("root"))

    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert answers[3].headers["Retry-After"] == "2"
    assert answers[3].json()["code"] == "RateLimited"
    assert other.status_code == 403  # root may not read accounts, but is not throttled by ada
    assert len(harness.received) == 3


async def test_when_the_audit_queue_is_full_requests_are_refused(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(audit_queue_capacity=2)

    answers = [await harness.client.get("/ledger/v1/accounts") for _ in range(3)]

    assert [a.status_code for a in answers] == [401, 401, 503]
    assert answers[2].json()["code"] == "AuditUnavailable"
    assert harness.gateway.audit.dropped == 1


async def test_log_lines_of_a_request_carry_its_request_ids(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway")

    response = await harness.client.get(
        "/ledger/v1/accounts",
        headers={"X-API-Key": "bo_0123456789abcdef_" + "a" * 43, "X-Request-Id": "trace-0042"},
    )
    logging.getLogger("gateway.test").info("outside any request")

    [inside] = [r for r in caplog.records if "refused an API key" in r.getMessage()]
    [outside] = [r for r in caplog.records if r.getMessage() == "outside any request"]
    assert response.headers["X-Client-Request-Id"] == "trace-0042"
    assert inside.request_id == response.headers["X-Request-Id"] != "trace-0042"  # type: ignore[attr-defined]
    assert inside.client_request_id == "trace-0042"  # type: ignore[attr-defined]
    assert (outside.request_id, outside.client_request_id) == ("-", None)  # type: ignore[attr-defined]


@dataclass
class FakeProducer:
    sent: list[tuple[str, bytes, bytes]] = field(default_factory=list)

    async def send(
        self, topic: str, value: bytes, key: bytes, headers: Any
    ) -> asyncio.Future[None]:
        self.sent.append((topic, key, value))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def test_the_audit_log_publishes_cloudevents_keyed_by_who_and_flushes_on_stop(
    harness: Harness,
) -> None:
    await harness.client.get("/ledger/v1/accounts", headers=harness.bearer("ada"))
    log = AuditLog("t.gateway.audit")
    for record in harness.audited():
        log.record(record)
    producer = FakeProducer()

    log.start(producer, Supervisor("gateway"))
    await log.stop()

    [(topic, key, value)] = producer.sent
    event = httpx.Response(200, content=value).json()
    assert (topic, key) == ("t.gateway.audit", b"ada")
    assert event["type"] == "gateway.AccessDecided.v1" and event["source"] == "/gateway"
    assert event["data"]["decision"] == "allow" and event["data"]["subject"] == "ada"
    assert event["correlationid"] == event["data"]["request_id"]
    assert log.published == 1


async def test_the_audit_log_sends_the_records_of_its_gather_time_together(
    harness: Harness,
) -> None:
    for _ in range(2):
        await harness.client.get("/ledger/v1/accounts", headers=harness.bearer("ada"))
    first, second = harness.audited()
    batches: list[int] = []

    class Counting(AuditLog):
        async def _publish(self, producer: Any, batch: list[AuditRecord]) -> None:
            batches.append(len(batch))
            await super()._publish(producer, batch)

    log = Counting("t.gateway.audit", gather_seconds=0.05)
    log.record(first)
    log.start(FakeProducer(), Supervisor("gateway"))
    await asyncio.sleep(0.01)
    log.record(second)  # within the first record's gather time
    await log.stop()

    assert batches == [2] and log.published == 2


async def test_a_system_is_refused_on_an_approval_route_even_with_the_right_role(
    harness: Harness,
) -> None:
    _, key = harness.callers.add_system("booking-robot", "accountant")
    robot = {"X-API-Key": key.text}

    submitted = await harness.client.post("/ledger/v1/booking-requests", json={}, headers=robot)
    approved = await harness.client.post(
        "/ledger/v1/booking-requests/7/approval", json={}, headers=robot
    )
    rejected = await harness.client.post(
        "/ledger/v1/booking-requests/7/rejection", json={}, headers=robot
    )
    by_a_person = await harness.client.post(
        "/ledger/v1/booking-requests/7/approval", json={}, headers=harness.bearer("ada")
    )

    assert submitted.status_code == by_a_person.status_code == 200
    for refused in (approved, rejected):
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "PersonRequired"
    assert [r.url.path for r in harness.received] == [
        "/v1/booking-requests",
        "/v1/booking-requests/7/approval",
    ]
    records = harness.audited()
    assert [(r.kind, r.decision, r.reason) for r in records[1:3]] == [
        ("system", "deny", "PersonRequired"),
        ("system", "deny", "PersonRequired"),
    ]


def stored_by_old_code(events: list[DomainEvent], cls: type[A], stream_id: str) -> A:
    """An aggregate rebuilt from events as code before the complete rule wrote them."""
    codec = EventCodec(EVENTS)
    return cls.load(stream_id, [codec.decode(e.event_type, 1, codec.encode(e)) for e in events])


async def test_stored_identities_breaking_segregation_are_refused_on_every_request(
    harness: Harness,
) -> None:
    tom = stored_by_old_code(
        [OperatorRegistered("tom", "Tom", ("auditor", "trader"), "front")], Operator, "operator:tom"
    )
    harness.callers.streams[tom.id] = tom
    key = new_api_key()
    robot = stored_by_old_code(
        [
            SystemRegistered("robot", "Robot", ("auditor", "trader"), "front"),
            ApiKeyIssued("robot", key.key_id, datetime.now(UTC)),
        ],
        System,
        "system:robot",
    )
    harness.callers.streams[robot.id] = robot
    harness.callers.keys[key.key_id] = StoredKey("robot", key.key_hash)

    as_tom = await harness.client.get("/ledger/v1/journal-entries", headers=harness.bearer("tom"))
    me = await harness.client.get("/auth/me", headers=harness.bearer("tom"))
    as_robot = await harness.client.get(
        "/ledger/v1/journal-entries", headers={"X-API-Key": key.text}
    )

    for refused, name in (
        (as_tom, "operator tom"),
        (me, "operator tom"),
        (as_robot, "system robot"),
    ):
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "SegregationOfDuties"
        assert name in refused.json()["detail"] and "auditor" in refused.json()["detail"]
    assert harness.received == []
    assert {(r.subject, r.reason) for r in harness.audited()} == {
        ("tom", "SegregationOfDuties"),
        ("robot", "SegregationOfDuties"),
    }


class BucketsAway(RateLimiter):
    """Shared buckets whose database cannot be reached."""

    async def take(self, key: str, wanted: int = 1) -> Taken:
        raise RateLimitStoreUnavailable("connection refused")


async def test_rate_limits_whose_database_is_away_answer_503_not_500(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness()
    harness.gateway.limits.per_identity = BucketsAway(1, 1)

    answer = await harness.client.get("/ledger/v1/accounts", headers=harness.bearer("ada"))

    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert (answer.json()["code"], answer.headers["Retry-After"]) == ("ServiceUnavailable", "1")
    assert "connection refused" not in answer.text  # the cause is logged, not told
    assert [r.reason for r in harness.audited()] == ["ServiceUnavailable"]
    assert harness.received == []
