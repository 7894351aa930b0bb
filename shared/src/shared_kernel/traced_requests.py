"""Server spans of HTTP requests (see ``tracing``): a pure ASGI middleware, in every service's
app and the gateway's.

With traces off the middleware hands the request on untouched (one dictionary look-up). On,
each request runs under a server span named after its route template (``POST
/v1/journal-entries``), current while the route runs, so that the events it stores carry its
context. ``continue_incoming`` says what a ``traceparent`` header means: a service, behind the
gateway, continues its caller's trace; the gateway, facing clients, starts a new trace and only
links to the client's, so that nobody outside can put spans into another request's trace. No
header ever decides anything else: tracing is read by nobody's authorization.
"""

from __future__ import annotations

from opentelemetry.trace import SpanKind, StatusCode
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared_kernel import tracing


class TracingMiddleware:
    def __init__(self, app: ASGIApp, service: str, *, continue_incoming: bool = True) -> None:
        self.app = app
        self.service = service
        self.continue_incoming = continue_incoming

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracer = tracing.tracer_for(self.service) if scope["type"] == "http" else None
        if tracer is None:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        incoming = headers.get(tracing.TRACEPARENT), headers.get(tracing.TRACESTATE)
        if self.continue_incoming:
            parent, links = tracing.remote_parent(*incoming), tracing.link_to(None)
        else:
            parent, links = tracing.remote_parent(None), tracing.link_to(*incoming)
        method = scope["method"]
        status = 0

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with tracer.start_as_current_span(
            method,
            context=parent,
            kind=SpanKind.SERVER,
            links=links,
            attributes={"http.request.method": method, "url.path": scope["path"]},
        ) as span:
            try:
                await self.app(scope, receive, send_noting_status)
            finally:
                # The route is known once routing ran (Starlette notes it in the scope).
                template = getattr(scope.get("route"), "path", None)
                if template:
                    span.update_name(f"{method} {template}")
                    span.set_attribute("http.route", template)
                if status:
                    span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(StatusCode.ERROR)
