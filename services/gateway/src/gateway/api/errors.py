"""The gateway's own failures as RFC 9457 problems (the kernel maps domain errors)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from shared_kernel.web import problem

from gateway.adapters.rate_limit import RateLimited
from gateway.adapters.shared_buckets import RateLimitStoreUnavailable
from gateway.adapters.upstream import UpstreamFailed, UpstreamTimedOut, UpstreamUnavailable
from gateway.api.request_limits import BodyReadTimedOut
from gateway.app.operators import InvalidCredentials

log = logging.getLogger(__name__)


class BearerRejected(Exception):
    """No usable bearer token. ``error`` is the RFC 6750 error code, None when none was sent."""

    def __init__(self, detail: str, error: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.error = error

    @property
    def challenge(self) -> str:
        challenge = 'Bearer realm="backoffice"'
        return f'{challenge}, error="{self.error}"' if self.error else challenge


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


def install_gateway_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(BearerRejected)
    async def _bearer(_: Request, exc: BearerRejected) -> JSONResponse:
        return problem(
            401,
            "Unauthenticated",
            exc.detail,
            code="Unauthenticated",
            headers={"WWW-Authenticate": exc.challenge},
        )

    @app.exception_handler(InvalidCredentials)
    async def _credentials(_: Request, __: InvalidCredentials) -> JSONResponse:
        return problem(
            401, "Unauthenticated", "unknown username or wrong password", code="InvalidCredentials"
        )

    @app.exception_handler(RateLimited)
    async def _rate_limited(_: Request, exc: RateLimited) -> JSONResponse:
        return problem(
            429,
            "Too many requests",
            exc.detail,
            code="RateLimited",
            headers={"Retry-After": str(exc.retry_after)},
        )

    @app.exception_handler(RateLimitStoreUnavailable)
    async def _limits_unavailable(_: Request, exc: RateLimitStoreUnavailable) -> JSONResponse:
        log.warning("%s", exc)
        return problem(
            503,
            "Service unavailable",
            "the gateway cannot reach its database; try again shortly",
            code="ServiceUnavailable",
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(BodyTooLarge)
    async def _too_large(_: Request, exc: BodyTooLarge) -> JSONResponse:
        return problem(
            413,
            "Request body too large",
            f"the request body exceeds {exc.limit} bytes",
            code="BodyTooLarge",
        )

    @app.exception_handler(BodyReadTimedOut)
    async def _body_timed_out(_: Request, exc: BodyReadTimedOut) -> JSONResponse:
        # The rest of the body may still trickle in: the connection cannot be reused.
        return problem(
            408,
            "Request timeout",
            str(exc.detail),
            code="BodyReadTimeout",
            headers={"Connection": "close"},
        )

    @app.exception_handler(UpstreamUnavailable)
    async def _unavailable(_: Request, exc: UpstreamUnavailable) -> JSONResponse:
        return problem(503, "Service unavailable", exc.detail, code="ServiceUnavailable")

    @app.exception_handler(UpstreamTimedOut)
    async def _timed_out(_: Request, exc: UpstreamTimedOut) -> JSONResponse:
        return problem(504, "Service timed out", exc.detail, code="ServiceTimeout")

    @app.exception_handler(UpstreamFailed)
    async def _failed(_: Request, exc: UpstreamFailed) -> JSONResponse:
        return problem(502, "Bad gateway", exc.detail, code="ServiceFailed")
