"""The console's one port to the back office: the gateway's public HTTP API.

Every call carries the operator's own bearer token; the console holds no other credential, so
the gateway's policy and the services' rules decide everything it may show or do. A refusal
comes back as ``ApiRefusal`` with the problem+json title and detail, for the page to show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from shared_kernel.health import Probe
from shared_kernel.health_checks import upstream_probe

# A readiness probe's wait for the gateway (the probe's own deadline is 2 s).
LIVENESS_TIMEOUT_SECONDS = 1.5
# A tuple repeats the parameter once per value (``?status=new&status=open``).
Params = Mapping[str, str | int | float | bool | tuple[str, ...] | None]


class ApiRefusal(Exception):
    """The API said no (4xx/5xx): what it said, readable for a person."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        code: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.code = code
        self.errors = errors or []

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail}"


class GatewayUnavailable(ApiRefusal):
    """The gateway could not be reached or did not answer in time."""


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    body: Any
    headers: Mapping[str, str]


class GatewayClient:
    """One pooled HTTP client for the process; the token is given per call."""

    def __init__(self, base_url: str, timeout: float, *, transport: Any = None) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    async def close(self) -> None:
        await self._client.aclose()

    def liveness_probe(self) -> Probe:
        """A readiness check of the console: the gateway answers ``/health/live``."""
        return upstream_probe(self._client, "/health/live", timeout=LIVENESS_TIMEOUT_SECONDS)

    async def log_in(self, username: str, password: str) -> tuple[str, int]:
        """A fresh gateway token and its lifetime in seconds."""
        answer = await self.call(
            "POST", "/auth/login", None, {"username": username, "password": password}
        )
        return str(answer.body["access_token"]), int(answer.body["expires_in"])

    async def get(self, path: str, token: str, params: Params | None = None) -> Any:
        return (await self.call("GET", path, token, params=params)).body

    async def post(
        self,
        path: str,
        token: str,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return (await self.call("POST", path, token, body, headers=headers)).body

    async def delete(
        self, path: str, token: str, *, headers: Mapping[str, str] | None = None
    ) -> Any:
        return (await self.call("DELETE", path, token, headers=headers)).body

    async def call(
        self,
        method: str,
        path: str,
        token: str | None,
        body: Any = None,
        *,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ApiAnswer:
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        query = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        try:
            response = await self._client.request(
                method, path, params=query, json=body if body is not None else None, headers=sent
            )
        except httpx.HTTPError as failure:
            raise GatewayUnavailable(
                503,
                "Back office unavailable",
                f"the gateway did not answer ({type(failure).__name__})",
            ) from failure
        if response.status_code >= 400:
            raise refusal_of(response)
        content_type = response.headers.get("content-type", "")
        payload: Any = response.json() if "json" in content_type else response.text
        return ApiAnswer(response.status_code, payload, response.headers)

    async def raw(self, path: str, token: str, params: Params | None = None) -> httpx.Response:
        """A download (CSV) passed through as it came."""
        query = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        try:
            response = await self._client.get(
                path, params=query, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as failure:
            raise GatewayUnavailable(
                503,
                "Back office unavailable",
                f"the gateway did not answer ({type(failure).__name__})",
            ) from failure
        if response.status_code >= 400:
            raise refusal_of(response)
        return response


def refusal_of(response: httpx.Response) -> ApiRefusal:
    """The problem+json of a refusal, or a plain description when the body is not one."""
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        return ApiRefusal(response.status_code, response.reason_phrase or "Refused", "")
    errors = problem.get("errors")
    return ApiRefusal(
        status=response.status_code,
        title=str(problem.get("title") or response.reason_phrase or "Refused"),
        detail=str(problem.get("detail") or ""),
        code=str(problem["code"]) if problem.get("code") else None,
        errors=[e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else [],
    )
