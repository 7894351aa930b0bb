"""Kept-alive HTTP/1.1 connections to the services: the gateway's own transport under httpx.

Why not httpx's default transport (httpcore over anyio): per proxied request it cost about a
third of the gateway's CPU. Its pool checks every pooled connection twice per request
(``has_expired``: a readability poll of each socket through anyio's typed attributes), and
each read and write crosses several layers. Here each connection is an ``asyncio.Protocol``:
the event loop tells it at once when the service closes it (no polling), and h11 parses the
answers (the same parser httpcore uses, so the HTTP semantics are h11's: framing by
Content-Length or chunks, HEAD, 1xx, 204, 304, ``Connection: close``).

Two ways in: ``handle_async_request``, httpx's transport contract, and ``begin``, the same
exchange without httpx's request and response objects (``UpstreamClient`` forwards a proxied
request so: building them and parsing the URL cost about a quarter of a forwarded call's own
CPU). Failures are httpx's exceptions either way
(``ConnectError``/``ConnectTimeout`` when nothing was sent; ``RemoteProtocolError``,
``ReadError``, ``WriteError`` when the connection broke; ``ReadTimeout``, ``WriteTimeout``,
``PoolTimeout``), and the timeouts of each request are honoured. A failure once the head of
the answer has arrived is raised while its body is read, not by ``send``, so that the caller
can tell "broke before the answer" (safe to replay when idempotent) from "broke during it".

Connections are reused most recently used first; one idle for ``keepalive_expiry`` seconds
is closed (before the service's own keep-alive timeout closes it). At most
``max_connections`` are open; a request beyond waits for one, at most its pool timeout.
``https://`` services go through httpx's default transport.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any, cast

import h11
import httpx

Origin = tuple[bytes, bytes, int]
Timeouts = dict[str, float | None]
RawHeaders = list[tuple[bytes, bytes]]
# Beyond this many bytes waiting in the kernel's send buffer, a write waits for it to drain.
WRITE_HIGH_WATER = 64 * 1024
READ_CHUNK = 64 * 1024


class ServiceConnections(httpx.AsyncBaseTransport):
    """A pool of HTTP/1.1 connections to plain-HTTP services; ``https`` is delegated."""

    def __init__(self, limits: httpx.Limits) -> None:
        self._max_connections = limits.max_connections or 100
        self._keepalive_expiry = (
            limits.keepalive_expiry if limits.keepalive_expiry is not None else 5.0
        )
        self._idle: dict[Origin, collections.deque[_Connection]] = {}
        self._open = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._tls: httpx.AsyncHTTPTransport | None = None
        self._tls_limits = limits
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "http":
            if self._tls is None:
                self._tls = httpx.AsyncHTTPTransport(limits=self._tls_limits, trust_env=False)
            return await self._tls.handle_async_request(request)
        timeouts: Timeouts = request.extensions.get("timeout", {})
        origin: Origin = (b"http", url.raw_host, url.port or 80)
        stream = cast(AsyncIterable[bytes], request.stream)
        begun = await self.begin(
            origin, request.method, url.raw_path, request.headers.raw, stream, timeouts
        )
        return httpx.Response(
            status_code=begun.status_code,
            headers=begun.raw_headers,
            stream=begun.body,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": begun.reason},
        )

    async def begin(
        self,
        origin: Origin,
        method: str,
        target: bytes,
        headers: RawHeaders,
        body: bytes | AsyncIterable[bytes],
        timeouts: Timeouts,
    ) -> Begun:
        """Send a request (``headers`` complete: ``Host`` and the body's framing included) on
        a connection to ``origin``; the answer once its head has arrived."""
        connection = await self._connection(origin, timeouts)
        try:
            head = await connection.send(method, target, headers, body, timeouts)
        except BaseException:
            self._discard(connection)
            raise
        return Begun(head, _Body(self, origin, connection, timeouts.get("read")))

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            while idle:
                self._discard(idle.pop())
        if self._tls is not None:
            await self._tls.aclose()

    async def _connection(self, origin: Origin, timeouts: Timeouts) -> _Connection:
        """An idle connection to ``origin``, else a new one once the limit allows: at the
        limit, an idle connection to another service is closed for it, or else the request
        waits (at most its pool timeout) for a connection to come back or to close."""
        if self._closed:
            raise httpx.PoolTimeout("the connections to the services are closed")
        loop = asyncio.get_running_loop()
        pool_timeout = timeouts.get("pool")
        deadline = None if pool_timeout is None else loop.time() + pool_timeout
        while True:
            connection = self._idle_connection(origin)
            if connection is not None:
                return connection
            if self._open >= self._max_connections:
                self._close_an_idle_connection()
            if self._open < self._max_connections:
                break
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout_at(deadline):
                    await waiter
            except BaseException as exc:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
                if waiter.done() and not waiter.cancelled():
                    self._wake_next()  # woken, but leaving: the turn goes to the next
                if isinstance(exc, TimeoutError):
                    raise httpx.PoolTimeout("no connection to the service became free") from None
                raise
        self._open += 1
        try:
            return await _Connection.open(origin, timeouts.get("connect"))
        except BaseException:
            self._release_slot()
            raise

    def _idle_connection(self, origin: Origin) -> _Connection | None:
        """The most recently used idle connection to ``origin`` that can carry a request;
        expired and closed ones are closed on the way."""
        idle = self._idle.get(origin)
        if not idle:
            return None
        expired_before = time.monotonic() - self._keepalive_expiry
        while idle and idle[0].idle_since < expired_before:
            self._discard(idle.popleft())  # the oldest first
        while idle:
            connection = idle.pop()
            if connection.reusable:
                return connection
            self._discard(connection)
        return None

    def _close_an_idle_connection(self) -> None:
        """Free a slot held by the least recently used idle connection, to any service."""
        oldest: collections.deque[_Connection] | None = None
        for idle in self._idle.values():
            if idle and (oldest is None or idle[0].idle_since < oldest[0].idle_since):
                oldest = idle
        if oldest is not None:
            self._discard(oldest.popleft())

    def _release_slot(self) -> None:
        self._open -= 1
        self._wake_next()

    def _wake_next(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                break

    def _discard(self, connection: _Connection) -> None:
        if connection.counted:
            connection.counted = False
            connection.close()
            self._release_slot()

    def _give_back(self, origin: Origin, connection: _Connection) -> None:
        """The answer was read to its end: keep the connection for the next request, if it
        can carry one."""
        if self._closed or not connection.start_next_cycle():
            self._discard(connection)
            return
        connection.idle_since = time.monotonic()
        self._idle.setdefault(origin, collections.deque()).append(connection)
        self._wake_next()  # a request waiting for a connection may take this one


class _Head:
    __slots__ = ("headers", "reason", "status_code")

    def __init__(self, response: h11.Response) -> None:
        self.status_code = response.status_code
        self.headers = response.headers.raw_items()
        self.reason = response.reason


class Begun:
    """An answer whose head has arrived. ``aread`` reads its body (then the connection goes
    back to the pool) into ``content``; ``aclose`` first gives it up (the connection is
    closed): the names and order of an httpx response's."""

    __slots__ = ("body", "content", "headers", "raw_headers", "reason", "status_code")

    def __init__(self, head: _Head, body: _Body) -> None:
        self.status_code: int = head.status_code
        self.reason: bytes = head.reason
        self.raw_headers: list[tuple[bytes, bytes]] = head.headers
        # By lower-case name; the values of a repeated field joined as httpx joins them.
        headers: dict[str, str] = {}
        for name, value in head.headers:
            key, text = name.decode("latin-1").lower(), value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        self.headers = headers
        self.body = body
        self.content = b""

    async def aread(self) -> bytes:
        self.content = b"".join([chunk async for chunk in self.body])
        return self.content

    async def aclose(self) -> None:
        await self.body.aclose()


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: h11 over an asyncio transport."""

    def __init__(self) -> None:
        self._h11 = h11.Connection(h11.CLIENT)
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._lost: Exception | None = None
        self._eof = False
        self.closed = False
        self.counted = True  # holds one of the pool's slots until discarded
        self.idle_since = 0.0

    @classmethod
    async def open(cls, origin: Origin, timeout: float | None) -> _Connection:
        _, host, port = origin
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                _, connection = await loop.create_connection(cls, host.decode("ascii"), port)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {host.decode()}:{port} timed out") from None
        except OSError as exc:
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}") from exc
        return connection

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        # Data after the end of the stream: h11 refuses it, and so does the connection.
        with contextlib.suppress(RuntimeError):
            self._h11.receive_data(data)
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        with contextlib.suppress(RuntimeError):
            self._h11.receive_data(b"")
        self._wake()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._lost = exc
        if not self._eof:
            self._eof = True
            with contextlib.suppress(RuntimeError):
                self._h11.receive_data(b"")
        self._wake()
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def pause_writing(self) -> None:
        self._drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._drained = None

    # the pool's view

    @property
    def reusable(self) -> bool:
        return (
            not self.closed
            and not self._eof
            and self._h11.our_state is h11.IDLE
            and self._h11.their_state is h11.IDLE
        )

    def start_next_cycle(self) -> bool:
        if self.closed or self._eof:
            return False
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
            return True
        return False

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    # one exchange

    async def send(
        self,
        method: str,
        target: bytes,
        headers: RawHeaders,
        body: bytes | AsyncIterable[bytes],
        timeouts: Timeouts,
    ) -> _Head:
        """Send a request; the head of the answer (informational answers skipped)."""
        if self.closed or self._eof:
            raise httpx.RemoteProtocolError("the service closed the connection")
        try:
            self._write(self._h11.send(h11.Request(method=method, target=target, headers=headers)))
            if isinstance(body, bytes):
                if body:
                    self._write(self._h11.send(h11.Data(data=body)))
                    await self._drain(timeouts.get("write"))
            else:
                async for chunk in body:
                    if chunk:
                        self._write(self._h11.send(h11.Data(data=chunk)))
                        await self._drain(timeouts.get("write"))
            self._write(self._h11.send(h11.EndOfMessage()))
            await self._drain(timeouts.get("write"))
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc)) from exc
        while True:
            event = await self.next_event(timeouts.get("read"))
            if isinstance(event, h11.Response):
                return _Head(event)
            if not isinstance(event, h11.InformationalResponse):
                raise httpx.RemoteProtocolError(f"unexpected {type(event).__name__} from service")

    async def next_event(self, timeout: float | None) -> Any:
        """The next h11 event of the answer, waiting at most ``timeout`` for more data."""
        while True:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc)) from exc
            if event is h11.NEED_DATA:
                if self._eof:
                    raise self._broken()
                await self._wait(timeout)
                continue
            if isinstance(event, h11.ConnectionClosed):
                raise self._broken()
            return event

    def _broken(self) -> httpx.TransportError:
        if self._lost is not None:
            return httpx.ReadError(f"{type(self._lost).__name__}: {self._lost}")
        return httpx.RemoteProtocolError("the service closed the connection without an answer")

    def _write(self, data: bytes | None) -> None:
        if data:
            if self.closed or self._transport is None or self._transport.is_closing():
                raise httpx.WriteError("the connection to the service is closed")
            self._transport.write(data)

    async def _drain(self, timeout: float | None) -> None:
        drained = self._drained
        if drained is None:
            return
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(drained)
        except TimeoutError:
            raise httpx.WriteTimeout("writing to the service timed out") from None
        if self.closed:
            raise httpx.WriteError("the connection to the service is closed")

    async def _wait(self, timeout: float | None) -> None:
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = None if timeout is None else loop.call_later(timeout, self._time_out, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    @staticmethod
    def _time_out(waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            waiter.set_exception(httpx.ReadTimeout("the service did not answer in time"))

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _Body(httpx.AsyncByteStream):
    """The body of an answer, read from its connection; the connection goes back to the pool
    when the body was read to its end, and is closed when the body is closed before."""

    def __init__(
        self,
        pool: ServiceConnections,
        origin: Origin,
        connection: _Connection,
        timeout: float | None,
    ) -> None:
        self._pool = pool
        self._origin = origin
        self._connection: _Connection | None = connection
        self._timeout = timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        if connection is None:
            return
        try:
            while True:
                event = await connection.next_event(self._timeout)
                if isinstance(event, h11.Data):
                    yield bytes(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    break
        except BaseException:
            self._connection = None
            self._pool._discard(connection)
            raise
        self._connection = None
        self._pool._give_back(self._origin, connection)

    async def aclose(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            self._pool._discard(connection)
