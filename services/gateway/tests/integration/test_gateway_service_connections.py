"""The gateway's own connections to the services (``adapters/service_connections.py``), over
real sockets against a scripted service: framing, keep-alive and its expiry, a connection the
service closed, timeouts, the connection limit, and failures named as httpx names them."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import quote

import httpx
import pytest
from gateway.adapters.service_connections import ServiceConnections
from gateway.adapters.upstream import UpstreamClient, upstream_http_client

pytestmark = pytest.mark.integration

Answer = Callable[[bytes, bytes, asyncio.StreamWriter], Awaitable[bool]]


class Service:
    """Reads each request (head and Content-Length body) and lets ``answer`` write the
    answer; ``answer`` returns False to close the connection. Records what arrived."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[tuple[bytes, bytes]] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.lower().split(b"\r\n"):
                    if line.startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                self.requests.append((head, body))
                if not await self.answer(head, body, writer):
                    break
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


Serve = Callable[[Answer], Awaitable[tuple[Service, str]]]


async def ok(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> bool:
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nContent-Length: 2\r\n\r\nok")
    return True


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[asyncio.Server] = []

    async def start(answer: Answer) -> tuple[Service, str]:
        service = Service(answer)
        server = await asyncio.start_server(service.handle, "127.0.0.1", 0)
        servers.append(server)
        return service, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    yield start
    for server in servers:
        server.close()


def client(
    *, expiry: float = 2.0, max_connections: int = 100, timeout: float = 5.0
) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=max_connections, keepalive_expiry=expiry)
    return httpx.AsyncClient(transport=ServiceConnections(limits), timeout=timeout, trust_env=False)


async def test_requests_in_turn_share_one_kept_alive_connection(serve: Serve) -> None:
    service, url = await serve(ok)
    async with client() as http:
        answers = [await http.get(f"{url}/v1/a?x={n}") for n in range(5)]

    assert [(a.status_code, a.content) for a in answers] == [(200, b"ok")] * 5
    assert service.connections == 1
    assert service.requests[2][0].startswith(b"GET /v1/a?x=2 HTTP/1.1\r\n")


async def test_the_request_body_and_latin_1_headers_arrive_as_sent(serve: Serve) -> None:
    service, url = await serve(ok)
    async with client() as http:
        await http.post(f"{url}/v1/b", content=b'{"a": 1}', headers=[(b"x-note", b"\xd6l")])

    head, body = service.requests[0]
    assert body == b'{"a": 1}'
    assert b"\r\nx-note: \xd6l\r\n" in head


async def test_chunked_head_and_empty_answers_are_framed_and_the_connection_kept(
    serve: Serve,
) -> None:
    async def answer(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> bool:
        if head.startswith(b"HEAD"):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
        elif head.startswith(b"DELETE"):
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        else:
            writer.write(
                b"HTTP/1.1 100 Continue\r\n\r\n"
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
            )
        return True

    service, url = await serve(answer)
    async with client() as http:
        chunked = await http.get(f"{url}/v1/c")
        head = await http.head(f"{url}/v1/c")
        empty = await http.delete(f"{url}/v1/c")
        again = await http.get(f"{url}/v1/c")

    assert (chunked.status_code, chunked.content) == (200, b"abcde")
    assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", "10")
    assert (empty.status_code, empty.content) == (204, b"")
    assert again.content == b"abcde"
    assert service.connections == 1


async def test_an_answer_with_connection_close_is_not_reused(serve: Serve) -> None:
    async def closing(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
        return False

    service, url = await serve(closing)
    async with client() as http:
        answers = [(await http.get(f"{url}/v1/d")).content for _ in range(3)]

    assert answers == [b"ok"] * 3
    assert service.connections == 3


async def test_an_answer_read_until_the_service_closes(serve: Serve) -> None:
    async def unframed(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\n\r\nall of it")
        return False

    _, url = await serve(unframed)
    async with client() as http:
        answer = await http.get(f"{url}/v1/e")

    assert answer.content == b"all of it"


async def test_a_connection_idle_for_the_keepalive_expiry_is_closed_not_used(serve: Serve) -> None:
    service, url = await serve(ok)
    async with client(expiry=0.05) as http:
        await http.get(f"{url}/v1/f")
        await asyncio.sleep(0.1)
        await http.get(f"{url}/v1/f")
        await http.get(f"{url}/v1/f")  # right after: the second one's connection

    assert service.connections == 2


async def test_a_connection_the_service_closed_while_idle_is_not_used(serve: Serve) -> None:
    async def once(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        return False  # closed after the answer, without saying so

    service, url = await serve(once)
    async with client() as http:
        await http.get(f"{url}/v1/g")
        await asyncio.sleep(0.05)  # the close arrives
        second = await http.get(f"{url}/v1/g")

    assert second.status_code == 200
    assert service.connections == 2


async def test_no_answer_in_time_is_a_read_timeout(serve: Serve) -> None:
    async def silent(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(1)
        return False

    _, url = await serve(silent)
    async with client(timeout=0.1) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(f"{url}/v1/h")


async def test_a_connection_dropped_without_an_answer_fails_the_send(serve: Serve) -> None:
    async def drop(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> bool:
        return False

    _, url = await serve(drop)
    async with client() as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.send(http.build_request("GET", f"{url}/v1/i"), stream=True)


async def test_a_break_after_the_head_fails_the_body_not_the_send(serve: Serve) -> None:
    async def half(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        await writer.drain()
        return False

    service, url = await serve(half)
    async with client() as http:
        response = await http.send(http.build_request("GET", f"{url}/v1/j"), stream=True)
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            await response.aread()
        await response.aclose()

    assert service.connections == 1


async def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nobody listens once it is closed
    async with client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/v1/k")


async def test_beyond_the_connection_limit_a_request_waits_for_a_free_one(serve: Serve) -> None:
    release = asyncio.Event()

    async def slow(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> bool:
        await release.wait()
        return await ok(head, body, writer)

    service, url = await serve(slow)
    async with client(max_connections=1) as http:
        first = asyncio.create_task(http.get(f"{url}/v1/l"))
        second = asyncio.create_task(http.get(f"{url}/v1/l"))
        await asyncio.sleep(0.05)
        assert len(service.requests) == 1  # the second waits for the only connection
        release.set()
        answers = await asyncio.gather(first, second)

    assert [a.status_code for a in answers] == [200, 200]
    assert service.connections == 1


async def test_no_free_connection_within_the_pool_timeout_is_a_pool_timeout(serve: Serve) -> None:
    release = asyncio.Event()

    async def slow(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> bool:
        await release.wait()
        return await ok(head, body, writer)

    _, url = await serve(slow)
    async with client(max_connections=1) as http:
        first = asyncio.create_task(http.get(f"{url}/v1/m"))
        await asyncio.sleep(0.05)
        with pytest.raises(httpx.PoolTimeout):
            await http.get(f"{url}/v1/m", timeout=httpx.Timeout(5, pool=0.05))
        release.set()
        assert (await first).status_code == 200
        assert (await http.get(f"{url}/v1/m")).status_code == 200  # the slot is free again


async def test_at_the_limit_an_idle_connection_to_another_service_makes_room(
    serve: Serve,
) -> None:
    ledger, ledger_url = await serve(ok)
    tickets, tickets_url = await serve(ok)
    async with client(max_connections=1) as http:
        await http.get(f"{ledger_url}/v1/n")
        answer = await http.get(f"{tickets_url}/v1/n", timeout=httpx.Timeout(5, pool=0.05))
        await http.get(f"{ledger_url}/v1/n")

    assert answer.status_code == 200
    assert (ledger.connections, tickets.connections) == (2, 1)


@pytest.mark.parametrize(
    ("method", "segments", "query", "body", "prefix"),
    [
        ("GET", ("v1", "accounts", "A 1/ü"), "", b"", ""),
        ("GET", ("v1", "accounts"), "limit=5&after=%2Fx&q=a%zz[]:@", b"", ""),
        ("GET", ("v1", "accounts"), "q=a b&c=<x>", b"", ""),  # httpx's way: it re-encodes
        ("POST", ("v1", "journal-entries"), "", b'{"a": 1}', ""),
        ("POST", ("v1", "journal-entries"), "", b"", ""),
        ("PUT", ("v1", "limits", "L-1"), "", b"", "/pre/fix"),
        ("PATCH", ("v1", "limits", "L-1"), "x=1", b"{}", "/pre"),
        ("DELETE", ("v1", "limits", "L-1"), "", b"", ""),
        ("HEAD", ("v1", "accounts"), "", b"", ""),
    ],
)
async def test_a_forwarded_request_arrives_as_httpx_would_have_sent_it(
    serve: Serve, method: str, segments: tuple[str, ...], query: str, body: bytes, prefix: str
) -> None:
    """The proxy's lean path (``ServiceConnections.begin``, no httpx request object) sends the
    same bytes as httpx's request built from the same URL, headers and body."""
    service, url = await serve(ok)
    headers = {"content-type": "application/json", "idempotency-key": "k-1", "x-note": "Öl"}
    async with upstream_http_client(None, 5) as http:
        upstream = UpstreamClient(http, {"svc": f"{url}{prefix}"}, 5)
        answer = await upstream.send("svc", method, segments, query, headers, body)
        assert answer.status == 200
        transport = ServiceConnections(httpx.Limits())
        path = "/".join(quote(s, safe="-._~!$&'()*+,;=:@") for s in segments)
        raw = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers.items()]
        target = f"{url}{prefix}/{path}" + (f"?{query}" if query else "")
        request = httpx.Request(method, target, headers=raw, content=body or None)
        response = await transport.handle_async_request(request)
        await response.aread()
        await transport.aclose()

    lean, reference = service.requests
    assert lean == reference
