"""The composition root: settings, the gateway client, sessions, routers, error pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from shared_kernel.health import Readiness, install_health
from shared_kernel.logs import configure_logging
from shared_kernel.metrics import install_metrics
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, Response

from console.adapters.gateway import ApiRefusal, GatewayClient
from console.api import auth, live, pages
from console.api.security import SecurityHeaders
from console.api.session import SessionCodec, load_or_create_key
from console.api.timing import ServerTiming
from console.api.web import (
    Console,
    CsrfRefused,
    LoginRequired,
    console_of,
    current_visit,
    render_page,
)
from console.settings import ConsoleSettings

STATIC = Path(__file__).resolve().parent / "static"


def create_app(settings: ConsoleSettings | None = None, *, transport: Any = None) -> FastAPI:
    settings = settings or ConsoleSettings()
    configure_logging("console")  # LOG_FORMAT, LOG_LEVEL
    gateway = GatewayClient(settings.gateway_url, settings.api_timeout_seconds, transport=transport)
    sessions = SessionCodec(
        load_or_create_key(settings.session_key_file),
        settings.session_idle_seconds,
        settings.secure_cookies,
    )
    console = Console(settings, gateway, sessions)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await gateway.close()

    app = FastAPI(
        title="Operator console", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.console = console
    app.add_middleware(SecurityHeaders)
    app.add_middleware(ServerTiming)
    install_metrics(app, "console")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(auth.router)
    app.include_router(live.router)
    for router in pages.routers():
        app.include_router(router)
    install_health(app)
    # Ready while the gateway answers: without it the console can show nothing.
    app.state.readiness = Readiness()
    app.state.readiness.add("gateway", gateway.liveness_probe())

    app.add_exception_handler(ApiRefusal, _refused)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    return app


async def _error_page(
    request: Request,
    status: int,
    title: str,
    detail: str,
    code: str | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> Response:
    """A readable page for a refusal, in the operator's layout when there is a session."""
    console = console_of(request)
    formats = console.formats(request)
    try:
        visit = await current_visit(request)
    except (LoginRequired, ApiRefusal):
        visit = None
    html = render_page(
        console,
        request,
        formats,
        "error.html",
        visit,
        status=status,
        title=title,
        detail=detail,
        code=code,
        errors=errors or [],
    )
    return HTMLResponse(html, status_code=status)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiRefusal)
    if exc.status == 401:
        return await _login_required(request, LoginRequired(request.url.path, expired=True))
    return await _error_page(request, exc.status, exc.title, exc.detail, exc.code, exc.errors)


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    from urllib.parse import urlencode

    query = urlencode({"next": exc.next_path, **({"expired": "1"} if exc.expired else {})})
    response = Response(status_code=303, headers={"Location": f"/login?{query}"})
    console_of(request).sessions.clear(request, response)
    return response


async def _csrf_refused(request: Request, exc: Exception) -> Response:
    formats = console_of(request).formats(request)
    return await _error_page(
        request,
        400,
        formats._("Refused"),
        formats._("The form has expired. Please try again."),
        "CsrfTokenInvalid",
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    formats = console_of(request).formats(request)
    if exc.status_code == 404:
        return await _error_page(
            request, 404, formats._("Not found"), formats._("There is no such page.")
        )
    return await _error_page(request, exc.status_code, formats._("Refused"), str(exc.detail))


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    formats = console_of(request).formats(request)
    errors = [
        {
            "field": ".".join(str(p) for p in error.get("loc", ())[1:]),
            "message": error.get("msg", ""),
        }
        for error in exc.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return await _error_page(request, 422, formats._("Refused"), detail, "InvalidInput", errors)
