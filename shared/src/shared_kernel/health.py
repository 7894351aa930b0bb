"""Health: is the process alive, and is it ready to serve?

- ``GET /health/live``: the process answers (no I/O at all): restart it when this fails.
- ``GET /health/ready``: every readiness check passes (database, Kafka, read models within
  their lag, ...): send it traffic only then. 200 or 503, both with the same body::

      {"status": "ready" | "not ready",
       "checks": [{"name": "database", "ok": true, "detail": "answered in 2 ms"}, ...]}

- ``GET /health``: kept as it was (``{"status": "ok"}``, the process answers), for scripts.

A check is an async callable returning ``(ok, detail)`` (or raising: the check fails with the
exception named). ``Readiness`` runs all checks at once, each under a deadline, so one hung
dependency is named as such and never holds the probe. Details are for operators and may be
read without credentials (the gateway's probe is public): they name what failed, never a
connection string (``redacted`` strips credentials from any URL an exception may quote).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

#: what a check answers: whether it passed, and a short text for an operator
CheckOutcome = tuple[bool, str]
Probe = Callable[[], Awaitable[CheckOutcome]]

DEFAULT_TIMEOUT_SECONDS = 2.0
# scheme://user:password@host -> scheme://user:***@host
_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@\s]*@")
_MAX_DETAIL = 300


def redacted(text: str) -> str:
    """``text`` without passwords in URLs, and not too long for a probe's answer."""
    cleaned = _CREDENTIALS.sub(r"\g<scheme>\g<user>:***@", text)
    return cleaned if len(cleaned) <= _MAX_DETAIL else cleaned[: _MAX_DETAIL - 3] + "..."


@dataclass(frozen=True)
class Check:
    """One readiness check: a name an operator recognises and how to probe it."""

    name: str
    probe: Probe


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class ReadinessReport:
    checks: tuple[CheckResult, ...]

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failing(self) -> list[str]:
        return [check.name for check in self.checks if not check.ok]

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "ready" if self.ready else "not ready",
            "checks": [check.as_json() for check in self.checks],
        }


class Readiness:
    """The readiness checks of one process, run together under one deadline each."""

    def __init__(
        self, checks: Sequence[Check] = (), *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    ) -> None:
        self.checks = list(checks)
        self.timeout_seconds = timeout_seconds

    def add(self, name: str, probe: Probe) -> None:
        self.checks.append(Check(name, probe))

    async def report(self) -> ReadinessReport:
        results = await asyncio.gather(*(self._run(check) for check in self.checks))
        return ReadinessReport(tuple(results))

    async def _run(self, check: Check) -> CheckResult:
        try:
            async with asyncio.timeout(self.timeout_seconds):
                ok, detail = await check.probe()
        except TimeoutError:
            return CheckResult(check.name, False, f"no answer within {self.timeout_seconds:g} s")
        except Exception as exc:  # a failing dependency is the answer, not an error
            return CheckResult(check.name, False, redacted(f"{type(exc).__name__}: {exc}"))
        return CheckResult(check.name, ok, redacted(detail))


STARTING = ReadinessReport((CheckResult("startup", False, "the process is starting"),))


def install_health(app: FastAPI) -> None:
    """``/health``, ``/health/live`` and ``/health/ready`` on ``app`` (not in its OpenAPI
    document). Readiness asks ``app.state.readiness`` (a ``Readiness``), which the lifespan
    sets once the process has started: before, the process is not ready ("startup")."""

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/live", include_in_schema=False)
    async def live() -> dict[str, str]:
        return {"status": "live"}

    @app.get("/health/ready", include_in_schema=False)
    async def ready(request: Request) -> JSONResponse:
        readiness: Readiness | None = getattr(request.app.state, "readiness", None)
        report = STARTING if readiness is None else await readiness.report()
        return JSONResponse(report.as_json(), status_code=200 if report.ready else 503)


def timed(started: float) -> str:
    """``answered in N ms`` since ``started`` (``time.perf_counter()``)."""
    return f"answered in {(time.perf_counter() - started) * 1000:.0f} ms"
