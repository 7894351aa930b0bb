"""The gateway as its server serves it (``gateway.server``), over raw sockets: slow clients are
cut off, over-long URLs answered 414, and the client address is the peer's unless a trusted
proxy names another. The app runs without its lifespan (no database or Kafka is needed for
what is tested here); audit records are read off the in-process queue."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import Request
from gateway.adapters.audit import AuditRecord
from gateway.bootstrap import Gateway
from gateway.main import create_app
from gateway.server import server_config
from gateway.settings import GatewaySettings
from shared_kernel.identity import ensure_keypair

pytestmark = pytest.mark.integration

TIMEOUT = 1.0  # both read timeouts, in seconds


class Served:
    def __init__(self, gateway: Gateway, port: int, headers_seen: list[dict[str, str]]) -> None:
        self.gateway = gateway
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.headers_seen = headers_seen  # by the app's /test/headers route, per request

    def audited(self) -> list[AuditRecord]:
        queue = self.gateway.audit.queue
        return [queue.get_nowait() for _ in range(queue.qsize())]

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)


async def serve(tmp_path: Path, **overrides: Any) -> AsyncIterator[Served]:
    private, public = ensure_keypair(tmp_path / "keys")
    settings = GatewaySettings(
        environment="test",
        identity_private_key_file=private,
        identity_public_key_file=public,
        services={"ledger": "http://ledger.test"},
        header_read_timeout_seconds=TIMEOUT,
        body_read_timeout_seconds=TIMEOUT,
        **overrides,
    )
    app = create_app(
        settings, upstream_transport=httpx.MockTransport(lambda _: httpx.Response(200))
    )
    headers_seen: list[dict[str, str]] = []

    @app.get("/test/headers", include_in_schema=False)
    async def headers(request: Request) -> dict[str, str]:
        headers_seen.append(dict(request.headers))
        return {}

    config = server_config(settings, app, host="127.0.0.1", port=0, log_level="warning")
    config.lifespan = "off"  # what is tested here needs neither database nor Kafka
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Served(app.state.gateway, port, headers_seen)
    finally:
        server.should_exit = True
        await task
        await app.state.gateway.runtime.engine.dispose()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    async for running in serve(tmp_path):
        yield running


async def read_until_closed(reader: asyncio.StreamReader, within: float) -> bytes:
    """Everything the server sends until it closes the connection; fails after ``within`` s.

    Read as it arrives: a client still trickling when the server closes may get a reset, which
    ends the reading but keeps what came before it."""
    received = b""
    async with asyncio.timeout(within):
        while True:
            try:
                chunk = await reader.read(65536)
            except ConnectionResetError:
                return received
            if not chunk:
                return received
            received += chunk


async def trickle(writer: asyncio.StreamWriter, data: bytes, every: float = 0.25) -> None:
    """Send ``data`` a byte at a time; stops quietly once the server has closed."""
    for byte in data:
        try:
            writer.write(bytes([byte]))
            await writer.drain()
        except ConnectionError:
            return
        await asyncio.sleep(every)


async def test_a_trickled_request_head_is_answered_408_and_cut_off(served: Served) -> None:
    reader, writer = await served.connect()
    writer.write(b"GET /health HTTP/1.1\r\n")
    sender = asyncio.create_task(trickle(writer, b"Host: gw\r\nX-Slow: " + b"x" * 100))
    started = time.monotonic()

    answer = await read_until_closed(reader, within=5 * TIMEOUT)

    elapsed = time.monotonic() - started
    sender.cancel()
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b'"code": "HeadReadTimeout"' in answer
    assert TIMEOUT * 0.8 < elapsed < TIMEOUT * 3


async def test_an_idle_connection_is_closed_silently(served: Served) -> None:
    reader, _ = await served.connect()

    assert await read_until_closed(reader, within=5 * TIMEOUT) == b""


async def test_a_trickled_body_is_answered_408_and_cut_off(served: Served) -> None:
    reader, writer = await served.connect()
    writer.write(
        b"POST /auth/login HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
        b"Content-Length: 200\r\n\r\n"
    )
    sender = asyncio.create_task(trickle(writer, b"{" + b" " * 199))
    started = time.monotonic()

    answer = await read_until_closed(reader, within=5 * TIMEOUT)

    elapsed = time.monotonic() - started
    sender.cancel()
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b'"code":"BodyReadTimeout"' in answer
    assert TIMEOUT * 0.8 < elapsed < TIMEOUT * 3
    [record] = served.audited()
    assert (record.status, record.reason) == (408, "BodyReadTimeout")


async def test_a_trickled_body_the_app_never_reads_is_cut_off_too(served: Served) -> None:
    reader, writer = await served.connect()
    writer.write(b"POST /ledger/v1/accounts HTTP/1.1\r\nHost: gw\r\nContent-Length: 200\r\n\r\n")
    sender = asyncio.create_task(trickle(writer, b"x" * 200))

    answer = await read_until_closed(reader, within=5 * TIMEOUT)

    sender.cancel()
    assert answer.startswith(b"HTTP/1.1 401 "), answer  # answered at once, closed later


async def test_normal_requests_on_one_connection_are_served(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url) as client:
        health = await client.get("/health")
        await asyncio.sleep(TIMEOUT * 1.5)  # idle between requests, shorter than keep-alive
        login = await client.post("/auth/login", json={"username": "ada"})

    assert health.status_code == 200
    assert login.status_code == 422  # the body arrived and was read: no password in it


@pytest.mark.parametrize("length", [20_000, 70_000, 1_000_000])
async def test_an_over_long_url_is_answered_414(served: Served, length: int) -> None:
    reader, writer = await served.connect()
    writer.write(b"GET /ledger/v1/accounts?q=" + b"a" * length + b" HTTP/1.1\r\nHost: gw\r\n\r\n")

    answer = await read_until_closed(reader, within=5)

    assert answer.startswith(b"HTTP/1.1 414 "), answer[:300]
    assert b"application/problem+json" in answer
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["code"] == "UriTooLong"


async def test_header_fields_over_the_limit_are_answered_431(served: Served) -> None:
    reader, writer = await served.connect()
    fields = b"".join(b"X-Filler-%d: %s\r\n" % (n, b"v" * 1000) for n in range(20))
    writer.write(b"GET /health HTTP/1.1\r\nHost: gw\r\n" + fields + b"\r\n")

    answer = await read_until_closed(reader, within=5)

    assert answer.startswith(b"HTTP/1.1 431 "), answer[:300]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["code"] == "HeadersTooLarge"


async def test_pipelined_requests_are_answered_in_order_and_the_connection_kept(
    served: Served,
) -> None:
    reader, writer = await served.connect()
    writer.write(b"GET /health HTTP/1.1\r\nHost: gw\r\n\r\n" * 3)
    answers = b""
    async with asyncio.timeout(5):
        while answers.count(b"HTTP/1.1 200 ") < 3:
            answers += await reader.read(65536)
    # Still open, and under the head deadline again: a later request is served too.
    writer.write(b"GET /health HTTP/1.1\r\nHost: gw\r\n\r\n")
    async with asyncio.timeout(5):
        assert (await reader.read(65536)).startswith(b"HTTP/1.1 200 ")
    assert await read_until_closed(reader, within=5 * TIMEOUT) == b""  # idle: closed silently


async def test_header_values_reach_the_app_without_surrounding_whitespace(served: Served) -> None:
    reader, writer = await served.connect()
    writer.write(b"GET /test/headers HTTP/1.1\r\nHost: gw\r\nIf-Match: X\t\r\n")
    writer.write(b"X-Probe:  a b \t\r\n\r\n")
    async with asyncio.timeout(5):
        answer = await reader.read(65536)

    assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
    seen = served.headers_seen[0]
    assert (seen["if-match"], seen["x-probe"]) == ("X", "a b")


async def test_x_forwarded_for_from_an_untrusted_peer_is_not_believed(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url) as client:
        spoofed = await client.get("/auth/me", headers={"X-Forwarded-For": "203.0.113.9"})
        long = await client.get("/auth/me", headers={"X-Forwarded-For": "A" * 5000})

    records = served.audited()
    assert spoofed.status_code == long.status_code == 401
    assert [(r.client, r.forwarded_client) for r in records] == [("127.0.0.1", None)] * 2


async def test_a_trusted_proxy_names_the_client_beside_its_own_address(tmp_path: Path) -> None:
    async for served in serve(tmp_path, trusted_proxies="127.0.0.1,10.0.0.0/8"):
        async with httpx.AsyncClient(base_url=served.url) as client:
            for forwarded in ("198.51.100.1, 203.0.113.9, 10.1.2.3", "A" * 5000):
                await client.get("/auth/me", headers={"X-Forwarded-For": forwarded})

        records = served.audited()
        assert [(r.client, r.forwarded_client) for r in records] == [
            ("127.0.0.1", "203.0.113.9"),  # the first address from the right not a proxy
            ("127.0.0.1", None),  # not an address: nobody named
        ]
