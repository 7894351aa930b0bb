"""HTTP calls to the services behind the gateway, bounded in time.

Every failure becomes one of three exceptions the API maps to a problem answer: the service
cannot be reached (503), it did not answer in time (504), or it answered with something that
is not HTTP (502). A call never hangs: besides httpx's per-operation timeouts, the whole
exchange runs under one deadline.

A kept-alive connection may be closed by the service just as the next request is sent on it
(its keep-alive timeout, or a connection it gave up after an error): that request then fails
before any answer arrives, through no fault of its own. Such a request is sent once more, on
a new connection, when replaying it is safe: its method is idempotent, or it carries an
``Idempotency-Key`` (the service answers a replay with the first answer). A failure after the
answer began is never retried.

A service may run as several replicas (``adapters/replicas.py``): each request goes to the
replica whose turn it is among those believed up; one that refuses the connection is marked
down and the request goes to the next (nothing reached the refusing one, so this is safe for
any method). Only when every replica refused is the service unavailable.

The connections are the gateway's own (``service_connections``: an httpx transport), and a
proxied request goes to them without httpx's client layer, and to a plain-HTTP service
without httpx's request and response objects either (``ServiceConnections.begin``): the
request line and headers are those httpx would send (``Host``, the body's ``Content-Length``
as httpx sets it), its target the URL httpx would make of the same path and query. A query
httpx would change (a character it percent-encodes) goes the httpx way. Tests give an httpx
transport of their own (``MockTransport``, ``ASGITransport``), used through httpx's client.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import httpx
from opentelemetry.trace import SpanContext, SpanKind, StatusCode
from shared_kernel.tracing import TRACEPARENT, TRACESTATE, Tracer, format_traceparent

from gateway.adapters.replicas import Replicas
from gateway.adapters.service_connections import (
    Begun,
    Origin,
    RawHeaders,
    ServiceConnections,
    Timeouts,
)

log = logging.getLogger(__name__)

# Characters a path segment may carry unencoded (RFC 3986 pchar); everything else, including
# "%" and "/", is percent-encoded, so the service decodes exactly the segment we authorised.
_SEGMENT_SAFE = "-._~!$&'()*+,;=:@"
# Response headers passed back to the client besides the body and status.
# x-consistent: whether a read-your-writes wait reached the asked position.
RETURNED_HEADERS = ("content-type", "etag", "x-consistent", "retry-after")
# RFC 9110 9.2.2: a repeated request has the same effect as one.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# The connection broke before an answer began (never a timeout: that request may be running).
_CONNECTION_LOST = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
# Idle connections to the services are dropped before the services drop them (uvicorn's
# keep-alive timeout is 5 s), so that a request is rarely sent on a connection being closed.
KEEPALIVE_SECONDS = 2.0
# Connections to the services, all of them kept alive when idle (``service_connections``
# keeps every idle one until its expiry; httpx's default transport, in tests, is given the
# same keep-alive limit: it closed idle connections beyond 20 under steady load).
MAX_CONNECTIONS = 100
# A query httpx sends as it is (its URL's query-safe set: printable ASCII but space, '"', '#',
# '<' and '>'); the lean path forwards only such a query, any other goes through httpx.
_PLAIN_QUERY = re.compile(r"[!$-;=?-~]*")
# httpx gives a request with neither body nor framing header of these methods a length of 0.
_EMPTY_BODY_FRAMED = frozenset({"POST", "PUT", "PATCH"})


class UpstreamError(Exception):
    def __init__(self, service: str, detail: str) -> None:
        super().__init__(f"{service}: {detail}")
        self.service = service
        self.detail = detail


class UpstreamUnavailable(UpstreamError):
    """The service could not be reached: nothing was sent."""


class UpstreamTimedOut(UpstreamError):
    """The service did not answer in time; the request may or may not have been applied."""


class UpstreamFailed(UpstreamError):
    """The connection broke or the answer was not valid HTTP."""


class InvalidServiceDescription(UpstreamError):
    """The service answered, but its ``/openapi.json`` is not an OpenAPI document."""


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    body: bytes
    headers: dict[str, str]


class _Answer(Protocol):
    """An answer whose head has arrived: an httpx response, or ``Begun`` on the lean path."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...  # by lower-case name

    @property
    def content(self) -> bytes: ...

    async def aread(self) -> bytes: ...

    async def aclose(self) -> None: ...


A = TypeVar("A", bound=_Answer, covariant=True)


class _Call(Protocol[A]):
    """One request to one replica, to be sent (once more when replayable and the connection
    was lost before the answer began)."""

    @property
    def method(self) -> str: ...

    @property
    def replayable(self) -> bool: ...

    async def start(self) -> A: ...


@dataclass(frozen=True)
class _Lean:
    """Where a plain-HTTP replica's requests go on the lean path (``base_url`` parsed once)."""

    origin: Origin
    host: bytes  # the Host header httpx would send
    prefix: bytes  # the base URL's own path, without its trailing "/"

    @classmethod
    def of(cls, base_url: str) -> _Lean | None:
        url = httpx.URL(base_url)
        if url.scheme != "http":
            return None
        return cls((b"http", url.raw_host, url.port or 80), url.netloc, url.raw_path.rstrip(b"/"))


@dataclass(frozen=True)
class _LeanCall:
    connections: ServiceConnections
    replica: _Lean
    method: str
    target: bytes
    headers: RawHeaders
    body: bytes
    timeouts: Timeouts
    replayable: bool

    async def start(self) -> Begun:
        return await self.connections.begin(
            self.replica.origin, self.method, self.target, self.headers, self.body, self.timeouts
        )


@dataclass(frozen=True)
class _HttpxCall:
    client: UpstreamClient
    request: httpx.Request

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def replayable(self) -> bool:
        return replayable(self.request)

    async def start(self) -> httpx.Response:
        return await self.client._start(self.request)


class UpstreamClient:
    """Calls to the services; with a ``tracer`` (traces on), each call is a client span whose
    context the service receives as ``traceparent`` (never a client's header: the proxy
    forwards only the headers it names)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_urls: Mapping[str, str | Sequence[str]],
        timeout_seconds: float,
        *,
        tracer: Tracer | None = None,
    ) -> None:
        self._http = http
        # The gateway's own connections (``upstream_http_client``): a proxied request goes to
        # them straight, without httpx's client layer (auth, redirects, cookies, default
        # headers: none of which the gateway uses), a tenth of its CPU per request.
        self._connections = http.connections if isinstance(http, ServiceHttpClient) else None
        self._extensions = {"timeout": httpx.Timeout(timeout_seconds).as_dict()}
        self._timeouts: Timeouts = self._extensions["timeout"]
        self._lean: dict[str, _Lean | None] = {}  # by base URL
        self.replicas = Replicas(base_urls)
        self._timeout = timeout_seconds
        self._tracer = tracer

    def knows(self, service: str) -> bool:
        return service in self.replicas

    async def openapi(self, service: str) -> dict[str, Any]:
        """The service's OpenAPI document (``GET /openapi.json``). A service that cannot be
        reached or answers with an error status raises UpstreamUnavailable (worth retrying
        while it starts); a document that is not an OpenAPI object raises
        InvalidServiceDescription. Any replica answers (they run the same code)."""

        def request(base_url: str) -> _HttpxCall:
            return _HttpxCall(self, self._http.build_request("GET", f"{base_url}/openapi.json"))

        response = await self._exchange(service, request)
        url = str(response.request.url)  # the replica's that answered
        if response.status_code != 200:
            raise UpstreamUnavailable(
                service, f"GET {url} answered {response.status_code}, not the OpenAPI document"
            )
        try:
            document = json.loads(response.content)
        except ValueError as exc:
            raise InvalidServiceDescription(service, f"{url} is not JSON: {exc}") from None
        if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
            raise InvalidServiceDescription(service, f"{url} is not an OpenAPI document")
        return document

    async def send(
        self,
        service: str,
        method: str,
        segments: Sequence[str],
        query: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> UpstreamResponse:
        if self._tracer is None:
            return await self._send(service, method, segments, query, headers, body)
        with self._tracer.start_as_current_span(
            f"{method} {service}",
            kind=SpanKind.CLIENT,
            attributes={"http.request.method": method, "server.address": service},
        ) as span:
            traced = {**headers, **trace_headers(span.get_span_context())}
            answer = await self._send(service, method, segments, query, traced, body)
            span.set_attribute("http.response.status_code", answer.status)
            if answer.status >= 500:
                span.set_status(StatusCode.ERROR)
            return answer

    async def _send(
        self,
        service: str,
        method: str,
        segments: Sequence[str],
        query: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> UpstreamResponse:
        path = "/".join(quote(segment, safe=_SEGMENT_SAFE) for segment in segments)
        lean = self._connections is not None and (not query or _PLAIN_QUERY.fullmatch(query))
        if query:
            path += "?" + query
        # Header values arrive decoded as Latin-1 (HTTP allows such octets): sent on as the
        # same bytes, not as ASCII text, which a value like "Öl" cannot be.
        raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]

        def request(base_url: str) -> _Call[_Answer]:
            replica = self._lean_replica(base_url) if lean else None
            if replica is not None and self._connections is not None:
                replay = method in IDEMPOTENT_METHODS or any(
                    name.lower() == "idempotency-key" for name in headers
                )
                return _LeanCall(
                    self._connections,
                    replica,
                    method,
                    replica.prefix + b"/" + path.encode("ascii"),
                    framed(replica.host, method, raw, body),
                    body,
                    self._timeouts,
                    replay,
                )
            url = f"{base_url}/{path}"
            if self._connections is not None:
                return _HttpxCall(
                    self,
                    httpx.Request(
                        method, url, headers=raw, content=body or None, extensions=self._extensions
                    ),
                )
            return _HttpxCall(
                self, self._http.build_request(method, url, headers=raw, content=body or None)
            )

        response = await self._exchange(service, request)
        returned = {
            name: response.headers[name] for name in RETURNED_HEADERS if name in response.headers
        }
        location = response.headers.get("location", "")
        if location.startswith("/v1/"):
            # The service names the new record in its own URL space; the client reaches it here.
            returned["location"] = f"/{service}{location}"
        return UpstreamResponse(response.status_code, response.content, returned)

    def _lean_replica(self, base_url: str) -> _Lean | None:
        if base_url not in self._lean:
            self._lean[base_url] = _Lean.of(base_url)
        return self._lean[base_url]

    async def _exchange(self, service: str, request: Callable[[str], _Call[A]]) -> A:
        """``request(base_url)``: the request to send to the replica at ``base_url``."""
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._replica_answer(service, request)
                try:
                    await response.aread()
                finally:
                    await response.aclose()
                return response
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise UpstreamUnavailable(service, f"cannot reach the {service} service") from exc
        except (httpx.TimeoutException, TimeoutError) as exc:
            raise UpstreamTimedOut(
                service,
                f"the {service} service did not answer within {self._timeout:g} s; the request "
                "may have been applied: retry with the same Idempotency-Key",
            ) from exc
        except httpx.TransportError as exc:
            raise UpstreamFailed(
                service, f"the {service} service broke off: {type(exc).__name__}"
            ) from exc

    async def _replica_answer(self, service: str, request: Callable[[str], _Call[A]]) -> A:
        """The answer of the first replica, in turn, that accepts the connection; a replica
        that refuses it is marked down (the probe marks it up again when it answers)."""
        refused: httpx.ConnectError | None = None
        for replica in self.replicas[service].in_turn():
            try:
                return await self._answer_begun(service, request(replica.base_url))
            except httpx.ConnectError as exc:
                replica.mark(False, f"connection refused ({type(exc).__name__})")
                refused = exc
        assert refused is not None  # a service has at least one replica
        raise refused

    async def _answer_begun(self, service: str, call: _Call[A]) -> A:
        """The response with its head read; sent twice when the connection was lost before
        the answer began and a replay is safe."""
        try:
            return await call.start()
        except _CONNECTION_LOST as exc:
            if not call.replayable:
                raise
            log.info(
                "%s %s: connection lost before an answer (%s); sending it once more",
                call.method,
                service,
                type(exc).__name__,
            )
            return await call.start()

    async def _start(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; the response once its head has arrived (its body still to read)."""
        if self._connections is None:
            return await self._http.send(request, stream=True)
        response = await self._connections.handle_async_request(request)
        response.request = request
        return response


class ServiceHttpClient(httpx.AsyncClient):
    """httpx's client over the gateway's own connections (``service_connections``), which
    ``UpstreamClient`` also uses directly for proxied requests."""

    def __init__(self, connections: ServiceConnections, **kwargs: Any) -> None:
        super().__init__(transport=connections, **kwargs)
        self.connections = connections


def trace_headers(span_context: SpanContext) -> dict[str, str]:
    """The W3C Trace Context headers that continue ``span_context`` in the service."""
    headers = {TRACEPARENT: format_traceparent(span_context)}
    state = span_context.trace_state.to_header()
    if state:
        headers[TRACESTATE] = state
    return headers


def upstream_http_client(
    transport: httpx.AsyncBaseTransport | None, timeout_seconds: float
) -> httpx.AsyncClient:
    """The one HTTP client of the gateway for all services: a pool of kept-alive HTTP/1.1
    connections (``service_connections``; ``transport`` replaces the network in tests)."""
    skip_sniffio_search()
    limits = httpx.Limits(
        max_connections=MAX_CONNECTIONS,
        max_keepalive_connections=MAX_CONNECTIONS,
        keepalive_expiry=KEEPALIVE_SECONDS,
    )
    options: dict[str, Any] = {
        "timeout": timeout_seconds,
        "follow_redirects": False,
        "limits": limits,
        # Service-to-service calls never go through a proxy from the environment.
        "trust_env": False,
    }
    if transport is not None:
        return httpx.AsyncClient(transport=transport, **options)
    return ServiceHttpClient(ServiceConnections(limits), **options)


def skip_sniffio_search() -> None:
    """httpcore runs ``import sniffio`` several times per request to learn which event loop
    runs it. sniffio is not installed here, and a failed import is not remembered: each one
    searched the whole ``sys.path`` again (5 to 13 % of the gateway's CPU in its profiles).
    Recording the absence in ``sys.modules`` makes the import fail at once; httpcore and anyio
    then assume asyncio, as they do without sniffio. Nothing changes where sniffio exists."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


def framed(host: bytes, method: str, headers: RawHeaders, body: bytes) -> RawHeaders:
    """``headers`` as httpx's request would carry them: ``Host`` first, the body's length
    last, or a length of 0 right after ``Host`` for an empty POST, PUT or PATCH."""
    if body:
        return [(b"Host", host), *headers, (b"Content-Length", str(len(body)).encode())]
    if method in _EMPTY_BODY_FRAMED:
        return [(b"Host", host), (b"Content-Length", b"0"), *headers]
    return [(b"Host", host), *headers]


def replayable(request: httpx.Request) -> bool:
    """Whether sending ``request`` twice has the effect of sending it once."""
    return request.method in IDEMPOTENT_METHODS or "idempotency-key" in request.headers
