"""The operator's session: a signed, HttpOnly, SameSite=Strict cookie holding the gateway token.

No session table: any console replica with the same key reads the cookie, and a restart keeps
operators logged in. The cookie is signed (a changed byte is no session) and carries its own
CSRF secret; it is re-signed on every page, so it lapses after ``session_idle_seconds`` without
a request, and at the latest when the gateway token inside it expires.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "console_session"
LOGIN_COOKIE = "console_login"
LOCALE_COOKIE = "console_locale"


@dataclass(frozen=True)
class Session:
    token: str
    username: str
    csrf: str
    expires_at: float  # when the gateway token lapses (epoch seconds)

    def expired(self, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) >= self.expires_at


def load_or_create_key(path: Path) -> bytes:
    """The signing key, made once (0600) and kept across restarts."""
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    path.touch(mode=0o600)
    path.write_bytes(key)
    return key


class SessionCodec:
    def __init__(self, key: bytes, idle_seconds: int, secure: str) -> None:
        self._sessions = URLSafeTimedSerializer(key, salt="console-session")
        self._logins = URLSafeTimedSerializer(key, salt="console-login")
        self.idle_seconds = idle_seconds
        self._secure = secure

    def read(self, request: Request) -> Session | None:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            data: Any = self._sessions.loads(raw, max_age=self.idle_seconds)
        except BadSignature:
            return None
        try:
            session = Session(
                token=str(data["t"]),
                username=str(data["u"]),
                csrf=str(data["c"]),
                expires_at=float(data["e"]),
            )
        except (KeyError, TypeError, ValueError):
            return None
        return None if session.expired() else session

    def write(self, request: Request, response: Response, session: Session) -> None:
        value = self._sessions.dumps(
            {"t": session.token, "u": session.username, "c": session.csrf, "e": session.expires_at}
        )
        self._set(request, response, SESSION_COOKIE, value, self.idle_seconds)

    def clear(self, request: Request, response: Response) -> None:
        response.delete_cookie(
            SESSION_COOKIE, path="/", secure=self.secure(request), httponly=True, samesite="strict"
        )

    def login_nonce(self, request: Request, response: Response) -> str:
        """A CSRF token for the log-in form (there is no session yet to bind it to)."""
        nonce = secrets.token_urlsafe(24)
        self._set(request, response, LOGIN_COOKIE, self._logins.dumps(nonce), 3600)
        return nonce

    def login_nonce_matches(self, request: Request, sent: str) -> bool:
        raw = request.cookies.get(LOGIN_COOKIE)
        if not raw or not sent:
            return False
        try:
            nonce = self._logins.loads(raw, max_age=3600)
        except BadSignature:
            return False
        return hmac.compare_digest(str(nonce), sent)

    def secure(self, request: Request) -> bool:
        if self._secure == "always":
            return True
        if self._secure == "never":
            return False
        return request.url.scheme == "https"

    def _set(self, request: Request, response: Response, name: str, value: str, age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=age,
            path="/",
            secure=self.secure(request),
            httponly=True,
            samesite="strict",
        )


def new_session(token: str, username: str, lifetime_seconds: int) -> Session:
    return Session(
        token=token,
        username=username,
        csrf=secrets.token_urlsafe(24),
        expires_at=time.time() + lifetime_seconds,
    )


def csrf_matches(session: Session, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(session.csrf, str(sent))
