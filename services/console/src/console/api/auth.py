"""Log-in, log-out and the language switch."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from console.adapters.gateway import ApiRefusal
from console.api.i18n import LOCALES
from console.api.session import LOCALE_COOKIE, csrf_matches, new_session
from console.api.web import CsrfRefused, console_of, render_page

router = APIRouter()


def safe_next(target: str | None) -> str:
    """Only a path of this console: never an absolute or scheme-relative URL (open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def _login_page(
    request: Request,
    *,
    status: int = 200,
    error: str = "",
    username: str = "",
    next_path: str = "/",
    notice: str = "",
) -> HTMLResponse:
    console = console_of(request)
    formats = console.formats(request)
    response = HTMLResponse(status_code=status)
    nonce = console.sessions.login_nonce(request, response)
    html = render_page(
        console,
        request,
        formats,
        "login.html",
        None,
        login_nonce=nonce,
        error=error,
        username=username,
        next_path=safe_next(next_path),
        notice=notice,
    )
    response.body = response.render(html)
    response.headers["content-length"] = str(len(response.body))
    return response


@router.get("/login")
async def login_form(request: Request, next: str = "/", expired: bool = False) -> HTMLResponse:
    formats = console_of(request).formats(request)
    notice = formats._("Your session has ended. Please log in again.") if expired else ""
    return _login_page(request, next_path=next, notice=notice)


@router.post("/login")
async def log_in(request: Request) -> Response:
    console = console_of(request)
    formats = console.formats(request)
    form = await request.form()
    username = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    next_path = safe_next(str(form.get("next") or "/"))
    if not console.sessions.login_nonce_matches(request, str(form.get("login_nonce") or "")):
        return _login_page(
            request,
            status=400,
            username=username,
            next_path=next_path,
            error=formats._("The form has expired. Please try again."),
        )
    client = request.client.host if request.client else "unknown"
    if not console.login_throttle.allow(client, time.time()):
        return _login_page(
            request,
            status=429,
            username=username,
            next_path=next_path,
            error=formats._("Too many log-in attempts. Please wait a minute."),
        )
    if not username or not password:
        return _login_page(
            request,
            status=422,
            username=username,
            next_path=next_path,
            error=formats._("Username and password are required."),
        )
    try:
        token, lifetime = await console.gateway.log_in(username[:200], password[:1024])
    except ApiRefusal as refusal:
        message = refusal.detail or refusal.title
        if refusal.status == 401:
            message = formats._("Unknown username or wrong password.")
        return _login_page(
            request,
            status=refusal.status if refusal.status < 500 else 503,
            username=username,
            next_path=next_path,
            error=message,
        )
    response = Response(status_code=303, headers={"Location": next_path})
    console.sessions.write(request, response, new_session(token, username, lifetime))
    response.delete_cookie("console_login", path="/")
    return response


@router.post("/logout")
async def log_out(request: Request) -> Response:
    console = console_of(request)
    session = console.sessions.read(request)
    form = await request.form()
    if session is not None:
        if not csrf_matches(session, str(form.get("csrf_token") or "")):
            raise CsrfRefused()
        console.forget(session)
    response = Response(status_code=303, headers={"Location": "/login"})
    console.sessions.clear(request, response)
    return response


@router.post("/locale")
async def switch_language(request: Request) -> Response:
    """The reader's language, kept in a cookie; the form carries the session's CSRF token, or
    the log-in form's before there is a session."""
    console = console_of(request)
    form = await request.form()
    sent = str(form.get("csrf_token") or "")
    session = console.sessions.read(request)
    if not (
        csrf_matches(session, sent)
        if session
        else console.sessions.login_nonce_matches(request, sent)
    ):
        raise CsrfRefused()
    language = str(form.get("language") or "")
    back = safe_next(str(form.get("next") or "/"))
    response = Response(status_code=303, headers={"Location": back})
    if language in LOCALES:
        response.set_cookie(
            LOCALE_COOKIE,
            language,
            max_age=365 * 24 * 3600,
            path="/",
            secure=console.sessions.secure(request),
            httponly=True,
            samesite="strict",
        )
    return response
