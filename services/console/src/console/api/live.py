"""Live lists: server-sent events that carry a list's new HTML when it changed.

A page marks a list with ``data-live="/live/<name>?<its filters>"``; static/console.js opens an
EventSource on it and swaps the list's content for each ``update``. The stream renders the same
fragment the page rendered, from the same API calls with the operator's own token, every
``live_interval_seconds``, and sends it only when it differs: what others change (a new request
to approve, a ticket taken, a limit used up) appears without reloading. Without JavaScript the
page is the same, only not live. A stream ends after ``live_stream_seconds`` (the browser
reconnects), when the session lapses, or when the API refuses.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from console.adapters.gateway import ApiRefusal
from console.api.web import LoginRequired, Visit, current_visit

Fragment = Callable[[Visit, Mapping[str, str]], Awaitable[str]]
FRAGMENTS: dict[str, Fragment] = {}

router = APIRouter()


def live_fragment(name: str) -> Callable[[Fragment], Fragment]:
    """Registers a fragment under /live/<name>; the page renders it with the same function."""

    def register(render: Fragment) -> Fragment:
        if name in FRAGMENTS:
            raise ValueError(f"live fragment {name!r} registered twice")
        FRAGMENTS[name] = render
        return render

    return register


def event(name: str, html: str) -> str:
    data = "\n".join(f"data: {line}" for line in html.splitlines() or [""])
    return f"event: {name}\n{data}\n\n"


@router.get("/live/{name}")
async def live(name: str, request: Request) -> Response:
    render = FRAGMENTS.get(name)
    if render is None:
        return Response("no such live list", status_code=404, media_type="text/plain")
    try:
        visit = await current_visit(request)
    except LoginRequired:
        # EventSource cannot follow a redirect to the log-in page; 204 tells it to stop.
        return Response(status_code=204)
    params = dict(request.query_params)
    settings = visit.console.settings

    async def stream() -> AsyncIterator[str]:
        yield "retry: 5000\n\n"
        last = ""
        ends = time.monotonic() + settings.live_stream_seconds
        while time.monotonic() < ends and not visit.session.expired():
            if await request.is_disconnected():
                return
            try:
                html = await render(visit, params)
            except ApiRefusal as refusal:
                yield event("refused", f"{refusal.title}: {refusal.detail}")
                return
            if html != last:
                yield event("update", html)
                last = html
            else:
                yield ": unchanged\n\n"
            await asyncio.sleep(settings.live_interval_seconds)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
