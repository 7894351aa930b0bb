"""A broken connection to a service never fails a different request: over real sockets, a
service's 500 does not leave a half-closed keep-alive connection behind, and a request sent on
a connection the service dropped is sent once more when replaying it is safe."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from gateway.adapters.upstream import UpstreamClient, UpstreamFailed, upstream_http_client
from shared_kernel.web import install_problem_handlers

pytestmark = pytest.mark.integration


@pytest.fixture(params=["gateway", "httpx"])
def http(request: pytest.FixtureRequest) -> httpx.AsyncClient:
    """The gateway's client (its own connections, ``service_connections``), and httpx's
    default one beside it: both keep the promises below."""
    if request.param == "gateway":
        return upstream_http_client(None, 5)
    return httpx.AsyncClient()


def failing_service() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/v1/boom")
    async def boom() -> None:
        raise RuntimeError("a bug in the service")

    @app.get("/v1/ok")
    async def ok() -> dict[str, bool]:
        return {"ok": True}

    return app


@pytest.fixture
async def service_url() -> AsyncIterator[str]:
    """The service in a thread of its own, so that its closing a connection races with the
    gateway's next request as it does between two processes."""
    config = uvicorn.Config(failing_service(), host="127.0.0.1", port=0, log_level="critical")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:  # noqa: ASYNC110 - uvicorn has no event for it
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.to_thread(thread.join, 10)


async def test_the_request_after_a_service_500_is_answered(
    service_url: str, http: httpx.AsyncClient
) -> None:
    async with http:
        upstream = UpstreamClient(http, {"svc": service_url}, 5)
        for _ in range(20):
            failed = await upstream.send("svc", "GET", ["v1", "boom"], "", {}, b"")
            after = await upstream.send("svc", "GET", ["v1", "ok"], "", {}, b"")

            assert (failed.status, after.status) == (500, 200)


class DroppingService:
    """Answers the first request on its first connection, then drops that connection when the
    next request arrives on it (as a service closing an idle connection just then would);
    later connections are answered. Counts the requests that arrived."""

    def __init__(self) -> None:
        self.arrived: list[bytes] = []
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        first_connection = self.connections == 1
        answered = 0
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.lower().split(b"\r\n")
                        if line.startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                self.arrived.append(head.split(b"\r\n")[0])
                if first_connection and answered == 1:
                    return  # dropped without an answer
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
                answered += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def dropping() -> AsyncIterator[tuple[DroppingService, str]]:
    service = DroppingService()
    server = await asyncio.start_server(service.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield service, f"http://127.0.0.1:{port}"


@pytest.mark.parametrize(
    ("method", "headers"),
    [("GET", {}), ("DELETE", {}), ("POST", {"idempotency-key": "k-1"})],
)
async def test_a_safe_request_on_a_dropped_connection_is_sent_again(
    dropping: tuple[DroppingService, str],
    method: str,
    headers: dict[str, str],
    http: httpx.AsyncClient,
) -> None:
    service, url = dropping
    async with http:
        upstream = UpstreamClient(http, {"svc": url}, 5)
        first = await upstream.send("svc", "GET", ["v1", "a"], "", {}, b"")
        second = await upstream.send("svc", method, ["v1", "b"], "", headers, b"{}")

    assert (first.status, second.status) == (200, 200)
    assert len(service.arrived) == 3 and service.connections == 2


async def test_an_unsafe_request_on_a_dropped_connection_is_not_sent_twice(
    dropping: tuple[DroppingService, str], http: httpx.AsyncClient
) -> None:
    service, url = dropping
    async with http:
        upstream = UpstreamClient(http, {"svc": url}, 5)
        await upstream.send("svc", "GET", ["v1", "a"], "", {}, b"")
        with pytest.raises(UpstreamFailed):
            await upstream.send("svc", "POST", ["v1", "b"], "", {}, b"{}")

    assert service.arrived == [b"GET /v1/a HTTP/1.1", b"POST /v1/b HTTP/1.1"]
