"""Traces at the gateway, in-process (services faked, no lifespan): a client's ``traceparent``
never reaches a service and never becomes the parent of our spans (it is only linked to); with
traces on, the service receives the context of the gateway's call; with traces off, none."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
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
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from shared_kernel import tracing
from shared_kernel.identity import Caller, ensure_keypair

pytestmark = pytest.mark.unit

CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_TRACEPARENT = f"00-{CLIENT_TRACE}-00f067aa0ba902b7-01"


@dataclass
class FakeLedger:
    received: list[httpx.Request] = field(default_factory=list)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        return httpx.Response(200, json={"items": []})


class TrustingCallers(Callers):
    def __init__(self) -> None:
        pass

    async def confirm(self, identity: Caller) -> Caller:
        return identity


@dataclass
class Office:
    client: httpx.AsyncClient
    gateway: Gateway
    ledger: FakeLedger

    def bearer(self, role: str) -> dict[str, str]:
        token = self.gateway.issue_access_token(Caller("ada", frozenset({role}), "back", "r"))
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    with tracing.record_spans(exporter):
        yield exporter


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return ensure_keypair(tmp_path / "keys")


@asynccontextmanager
async def office(keys: tuple[Path, Path]) -> AsyncIterator[Office]:
    settings = GatewaySettings(
        environment="test",
        identity_private_key_file=keys[0],
        identity_public_key_file=keys[1],
        services={"ledger": "http://ledger.test"},
    )
    ledger = FakeLedger()
    app = create_app(
        settings,
        upstream_transport=httpx.MockTransport(ledger.handle),
        passwords=Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)),
        callers=TrustingCallers(),
    )
    gateway: Gateway = app.state.gateway
    async with gateway.upstream_client() as http:
        gateway.connect(http)
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as client:
            yield Office(client, gateway, ledger)
    await gateway.runtime.engine.dispose()


async def read_accounts(keys: tuple[Path, Path]) -> tuple[httpx.Response, httpx.Request]:
    async with office(keys) as running:
        headers = {**running.bearer("auditor"), "traceparent": CLIENT_TRACEPARENT}
        answer = await running.client.get("/ledger/v1/accounts", headers=headers)
        [sent] = running.ledger.received
        return answer, sent


async def test_with_traces_off_no_trace_context_reaches_the_service(
    keys: tuple[Path, Path],
) -> None:
    assert tracing.tracer_for("gateway") is None
    answer, sent = await read_accounts(keys)
    assert answer.status_code == 200
    assert "traceparent" not in sent.headers and "tracestate" not in sent.headers


async def test_the_service_continues_the_gateways_call_never_the_clients_trace(
    keys: tuple[Path, Path], spans: InMemorySpanExporter
) -> None:
    answer, sent = await read_accounts(keys)
    assert answer.status_code == 200
    [call] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CLIENT]
    [request] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert sent.headers["traceparent"] == tracing.format_traceparent(call.context)
    assert call.parent is not None and call.parent.span_id == request.context.span_id
    assert request.name == "GET /{service}/v1/{path:path}"
    # A new trace, linked to the client's: the client cannot join or steer our traces.
    assert request.parent is None and f"{request.context.trace_id:032x}" != CLIENT_TRACE
    assert [f"{link.context.trace_id:032x}" for link in request.links] == [CLIENT_TRACE]
    assert request.resource.attributes["service.name"] == "gateway"
