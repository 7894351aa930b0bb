"""How the gateway is served: the one place of its uvicorn configuration
(``python -m gateway serve --host --port``; ``deploy/run.py`` and the e2e tests start it so).

- Proxy headers are off in uvicorn: by default uvicorn believes ``X-Forwarded-For`` from
  127.0.0.1, which is every client of a gateway on a developer's machine. The gateway decides
  itself whom to believe (``TRUSTED_PROXIES``, see ``api/client_address.py``).
- Slow clients: uvicorn has no deadline for reading a request, so a client trickling its head
  or body one byte at a time holds a connection for ever. ``EdgeProtocol`` (uvicorn's h11
  protocol with deadlines) closes a connection whose request head has not arrived within
  ``HEADER_READ_TIMEOUT_SECONDS`` of the connection opening (or of the previous answer), and
  one whose body has not arrived ``BODY_READ_GRACE_SECONDS`` after ``BODY_READ_TIMEOUT_SECONDS``
  of its head (by then the app has answered 408 itself, see ``api/request_limits.py``; this is
  the backstop for a body the app never read). An over-long request line is answered 414
  before it is buffered.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, ClassVar

import h11
import uvicorn
from shared_kernel.logs import uvicorn_log_config
from uvicorn.protocols.http.h11_impl import H11Protocol

from gateway.main import create_app
from gateway.settings import GatewaySettings

log = logging.getLogger(__name__)

# Header fields besides the request line: the same room as h11's default for a whole head.
MAX_HEADER_FIELDS_BYTES = 16_384
# Method, spaces and "HTTP/1.1\r" around the target in a request line.
REQUEST_LINE_OVERHEAD = 32
BODY_READ_GRACE_SECONDS = 1.0
# After a refusal, what the client still sends is read and dropped for this long before the
# connection closes: closing with unread data would reset it, and the refusal could be lost.
LINGER_SECONDS = 2.0


class EdgeProtocol(H11Protocol):
    """uvicorn's h11 protocol with read deadlines; ``protocol_for`` sets the class values."""

    header_timeout: ClassVar[float] = 10.0
    body_timeout: ClassVar[float] = 30.0
    max_url_bytes: ClassVar[int] = 16_384

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._deadline: asyncio.TimerHandle | None = None
        self._phase: str | None = None
        self._line_bytes = 0
        self._head_started = False
        self._refused = False
        super().connection_made(transport)
        self._watch()

    def data_received(self, data: bytes) -> None:
        if self._refused or (self._phase == "head" and self._request_line_too_long(data)):
            return
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    def _watch(self) -> None:
        """Arm the deadline of the phase the connection is in: waiting for a request head,
        or for the rest of a body; none while the app answers."""
        if self.transport.is_closing():
            self._cancel()
            return
        state = self.conn.their_state
        phase = "head" if state is h11.IDLE else "body" if state is h11.SEND_BODY else None
        if phase == self._phase:
            return
        self._cancel()
        self._phase = phase
        if phase == "head":
            self._line_bytes, self._head_started = 0, False
            self._deadline = self.loop.call_later(self.header_timeout, self._head_too_slow)
        elif phase == "body":
            seconds = self.body_timeout + BODY_READ_GRACE_SECONDS
            self._deadline = self.loop.call_later(seconds, self._body_too_slow)

    def _cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._phase = None

    def _request_line_too_long(self, data: bytes) -> bool:
        """Counts the request line as it arrives; refuses it with 414 once it is longer than
        any URL the gateway accepts, instead of buffering it."""
        self._head_started = self._head_started or bool(data)
        if self._line_bytes < 0:  # the line is complete: headers are h11's to bound
            return False
        end = data.find(b"\n")
        self._line_bytes = -1 if end >= 0 else self._line_bytes + len(data)
        if self._line_bytes > self.max_url_bytes + REQUEST_LINE_OVERHEAD:
            self._refuse(414, "URI too long", f"a URL may hold at most {self.max_url_bytes} bytes")
            return True
        return False

    def _head_too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if not self._head_started:
            # An idle connection: close it silently, as a keep-alive timeout would (a 408
            # could be taken by a client as the answer to a request it is just sending).
            self.transport.close()
            return
        log.info("closing a connection from %s: request head not complete in time", self.client)
        self._refuse(
            408,
            "Request timeout",
            f"the request head did not arrive within {self.header_timeout:g} s",
        )

    def _body_too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            log.info("closing a connection from %s: request body not complete in time", self.client)
            self.transport.close()

    def _refuse(self, status: int, title: str, detail: str) -> None:
        """Answer a problem and close, before any request reached the app."""
        code = "UriTooLong" if status == 414 else "HeadReadTimeout"
        body = json.dumps(
            {
                "type": f"urn:backoffice:problem:{code}",
                "title": title,
                "status": status,
                "detail": detail,
                "code": code,
            }
        ).encode()
        head = (
            f"HTTP/1.1 {status} {title}\r\ncontent-type: application/problem+json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        ).encode()
        self._cancel()
        self._refused = True
        self.transport.write(head + body)
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()


def protocol_for(settings: GatewaySettings) -> type[EdgeProtocol]:
    """The protocol class with the deadlines and URL limit of ``settings``."""
    return type(
        "GatewayEdgeProtocol",
        (EdgeProtocol,),
        {
            "header_timeout": settings.header_read_timeout_seconds,
            "body_timeout": settings.body_read_timeout_seconds,
            "max_url_bytes": settings.max_url_bytes,
        },
    )


def server_config(
    settings: GatewaySettings, app: Any, *, host: str, port: int, log_level: str = "info"
) -> uvicorn.Config:
    """The uvicorn configuration of the gateway serving ``app``."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=uvicorn_log_config(),  # the gateway's own log lines (shared_kernel.logs)
        http=protocol_for(settings),
        proxy_headers=False,
        h11_max_incomplete_event_size=(
            settings.max_url_bytes + REQUEST_LINE_OVERHEAD + MAX_HEADER_FIELDS_BYTES
        ),
        lifespan="on",
    )


def serve(settings: GatewaySettings, *, host: str, port: int, log_level: str) -> None:
    """Run the gateway until it is stopped (SIGINT or SIGTERM)."""
    config = server_config(
        settings, create_app(settings), host=host, port=port, log_level=log_level
    )
    uvicorn.Server(config).run()
