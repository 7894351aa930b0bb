"""A fake of the gateway's HTTP API for the console's unit tests: answers registered per
method and path, the operators' ``/auth/me`` per token, and a record of what was called."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from console.main import create_app
from console.settings import ConsoleSettings
from fastapi import FastAPI

Answer = Callable[[httpx.Request], httpx.Response]

# Who each demo token is (a subset of what the real /auth/me says, enough for the pages).
OPERATORS: dict[str, dict[str, Any]] = {
    "trader": {
        "roles": ["trader"],
        "office": "front",
        "permissions": [
            "POST /ledger/v1/booking-requests",
            "GET /ledger/v1/booking-requests",
            "GET /ledger/v1/booking-requests/{request_id}",
            "GET /tickets/v1/tickets",
            "POST /tickets/v1/tickets",
            "POST /risk/v1/pre-deal-checks",
            "GET /cases/{correlation_id}",
        ],
    },
    "accountant": {
        "roles": ["accountant"],
        "office": "back",
        "permissions": [
            "GET /ledger/v1/accounts",
            "GET /ledger/v1/journal-entries",
            "POST /ledger/v1/journal-entries",
            "GET /ledger/v1/booking-requests",
            "GET /ledger/v1/booking-requests/{request_id}",
            "POST /ledger/v1/booking-requests/{request_id}/approval",
            "POST /ledger/v1/booking-requests/{request_id}/rejection",
            "GET /ledger/v1/reports/trial-balance",
            "GET /cases/{correlation_id}",
        ],
    },
}


@dataclass
class FakeGateway:
    answers: dict[tuple[str, str], Answer] = field(default_factory=dict)
    calls: list[httpx.Request] = field(default_factory=list)
    operators: dict[str, dict[str, Any]] = field(default_factory=lambda: dict(OPERATORS))

    def operator(
        self, username: str, roles: list[str], office: str, permissions: list[str]
    ) -> None:
        """Another operator for this test (log in with password ``demo-<username>``)."""
        self.operators[username] = {"roles": roles, "office": office, "permissions": permissions}

    def on(self, method: str, path: str, body: Any = None, status: int = 200) -> None:
        """Answer ``method path`` with this JSON body (a problem+json when status >= 400)."""
        media = "application/problem+json" if status >= 400 else "application/json"
        self.answers[(method, path)] = lambda _: httpx.Response(
            status, content=json.dumps(body).encode(), headers={"content-type": media}
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        key = (request.method, request.url.path)
        if key == ("POST", "/auth/login"):
            sent = json.loads(request.content)
            if (
                sent["username"] in self.operators
                and sent["password"] == f"demo-{sent['username']}"
            ):
                return httpx.Response(
                    200, json={"access_token": f"token-{sent['username']}", "expires_in": 900}
                )
            return _problem(401, "Not authenticated", "invalid username or password")
        if key == ("GET", "/auth/me"):
            user = request.headers.get("authorization", "").removeprefix("Bearer token-")
            if user not in self.operators:
                return _problem(401, "Not authenticated", "token expired")
            return httpx.Response(
                200, json={"subject": user, "kind": "user", **self.operators[user]}
            )
        if key in self.answers:
            return self.answers[key](request)
        return _problem(404, "Not Found", f"no fake answer for {request.method} {request.url.path}")

    def app(self, tmp_path: Path, **settings: Any) -> FastAPI:
        config = ConsoleSettings(session_key_file=tmp_path / "session.key", **settings)
        return create_app(config, transport=httpx.MockTransport(self.handle))


def _problem(status: int, title: str, detail: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={"type": "about:blank", "title": title, "status": status, "detail": detail},
        headers={"content-type": "application/problem+json"},
    )


def browser(app: FastAPI) -> httpx.AsyncClient:
    """A client that keeps cookies, as a browser does."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console")


async def logged_in(client: httpx.AsyncClient, username: str) -> httpx.AsyncClient:
    """Logs ``username`` in through the log-in form, as a browser would."""
    form = await client.get("/login")
    nonce = form.text.split('name="login_nonce" value="', 1)[1].split('"', 1)[0]
    answer = await client.post(
        "/login",
        data={
            "username": username,
            "password": f"demo-{username}",
            "login_nonce": nonce,
            "next": "/",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(html: str) -> str:
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
