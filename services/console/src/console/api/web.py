"""What every page handler uses: the visit (who, in which language), rendering, refusals.

``Visit`` is a FastAPI dependency: it reads the session cookie, asks the gateway who the
operator is (``/auth/me``, cached briefly per token) and knows the reader's language. A page
calls the API through ``visit.api`` with the operator's own token, renders a template with
``visit.render``, and lets refusals propagate: the error handlers in ``main.py`` turn an
``ApiRefusal`` into a readable page and a lapsed session into the log-in page.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse, Response

from console.adapters.gateway import ApiRefusal, GatewayClient, Params
from console.api.i18n import Formats, language_of
from console.api.session import LOCALE_COOKIE, Session, SessionCodec, csrf_matches
from console.domain.navigation import sections_for
from console.domain.operator import Operator
from console.domain.throttle import LoginThrottle
from console.settings import ConsoleSettings

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
ME_CACHE_SECONDS = 30.0
ME_CACHE_SIZE = 1000


class LoginRequired(Exception):
    """No session, or one that lapsed: the log-in page, then back to ``next``."""

    def __init__(self, next_path: str, *, expired: bool = False) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.expired = expired


class CsrfRefused(Exception):
    """A form without this session's CSRF token (a forged or expired form)."""


def templates() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["merge_query"] = merge_query
    return environment


def merge_query(params: Mapping[str, str], **changes: Any) -> str:
    """The query string with some parameters replaced (a next page, another filter)."""
    merged = {**dict(params), **{k: str(v) for k, v in changes.items() if v is not None}}
    return urlencode({k: v for k, v in merged.items() if v != ""})


class Console:
    """The process's parts, made once in ``main.create_app`` (the composition root)."""

    def __init__(
        self, settings: ConsoleSettings, gateway: GatewayClient, sessions: SessionCodec
    ) -> None:
        self.settings = settings
        self.gateway = gateway
        self.sessions = sessions
        self.templates = templates()
        self.timezone = ZoneInfo(settings.timezone)
        self._me: OrderedDict[str, tuple[float, Operator]] = OrderedDict()
        self.login_throttle = LoginThrottle(settings.login_attempts_per_minute)

    def formats(self, request: Request) -> Formats:
        language = language_of(
            request.cookies.get(LOCALE_COOKIE),
            request.headers.get("accept-language"),
            self.settings.default_locale,
        )
        return Formats(language, self.timezone)

    async def operator(self, session: Session) -> Operator:
        """Who holds this token, asked of the gateway (and kept for a few seconds)."""
        key = hashlib.sha256(session.token.encode()).hexdigest()
        cached = self._me.get(key)
        now = time.monotonic()
        if cached and now - cached[0] < ME_CACHE_SECONDS:
            return cached[1]
        operator = Operator.from_me(await self.gateway.get("/auth/me", session.token))
        self._me[key] = (now, operator)
        self._me.move_to_end(key)
        while len(self._me) > ME_CACHE_SIZE:
            self._me.popitem(last=False)
        return operator

    def forget(self, session: Session) -> None:
        self._me.pop(hashlib.sha256(session.token.encode()).hexdigest(), None)


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


@dataclass
class Visit:
    """One request of a logged-in operator."""

    request: Request
    console: Console
    session: Session
    operator: Operator
    formats: Formats

    async def get(self, path: str, params: Params | None = None) -> Any:
        return await self.console.gateway.get(path, self.session.token, params)

    async def post(
        self, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> Any:
        return await self.console.gateway.post(path, self.session.token, body, headers=headers)

    async def delete(self, path: str, headers: Mapping[str, str] | None = None) -> Any:
        return await self.console.gateway.delete(path, self.session.token, headers=headers)

    async def gather(self, *calls: Any) -> list[Any]:
        """Several API calls at once (a page's server time is its slowest call, not their sum)."""
        return list(await asyncio.gather(*calls))

    def require(self, *routes: str) -> None:
        """The 403 page, before calling the API, when the policy does not allow a route."""
        if not self.operator.may(*routes):
            raise ApiRefusal(
                403,
                self.formats._("Not allowed"),
                self.formats._("Your roles do not allow this page."),
                code="Forbidden",
            )

    async def form(self) -> dict[str, str]:
        """The posted form, after checking its CSRF token."""
        form = await self.request.form()
        fields = {key: str(value) for key, value in form.items() if isinstance(value, str)}
        if not csrf_matches(self.session, fields.get("csrf_token")):
            raise CsrfRefused()
        return fields

    async def form_lists(self) -> Mapping[str, list[str]]:
        """The posted form with repeated fields (a lines editor), after the CSRF check."""
        form = await self.request.form()
        if not csrf_matches(self.session, str(form.get("csrf_token") or "")):
            raise CsrfRefused()
        return {key: [str(v) for v in form.getlist(key) if isinstance(v, str)] for key in form}

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        html = render_page(self.console, self.request, self.formats, template, self, **context)
        response = HTMLResponse(html, status_code=status_code)
        # Sliding idle expiry: each page re-signs the cookie.
        self.console.sessions.write(self.request, response, self.session)
        return response

    def fragment(self, template: str, **context: Any) -> str:
        """A part of a page (a live list), rendered alone."""
        return render_page(self.console, self.request, self.formats, template, self, **context)


def render_page(
    console: Console,
    request: Request,
    formats: Formats,
    template: str,
    visit: Visit | None,
    **context: Any,
) -> str:
    operator = visit.operator if visit else None
    return console.templates.get_template(template).render(
        request=request,
        path=request.url.path,
        _=formats._,
        f=formats,
        language=formats.language,
        operator=operator,
        sections=sections_for(operator) if operator else [],
        csrf_token=visit.session.csrf if visit else "",
        **context,
    )


async def current_visit(request: Request) -> Visit:
    console = console_of(request)
    session = console.sessions.read(request)
    if session is None:
        raise LoginRequired(_next_of(request), expired=bool(request.cookies.get("console_session")))
    try:
        operator = await console.operator(session)
    except ApiRefusal as refusal:
        if refusal.status == 401:
            raise LoginRequired(_next_of(request), expired=True) from refusal
        raise
    return Visit(request, console, session, operator, console.formats(request))


def _next_of(request: Request) -> str:
    path = request.url.path
    if request.method != "GET" or path.startswith("/live/"):
        return "/"
    return path + (f"?{request.url.query}" if request.url.query else "")


CurrentVisit = Annotated[Visit, Depends(current_visit)]


def redirect(location: str, visit: Visit | None = None) -> Response:
    """303 See Other after a form (post/redirect/get)."""
    response = Response(status_code=303, headers={"Location": location})
    if visit:
        visit.console.sessions.write(visit.request, response, visit.session)
    return response
