"""What the services behind the gateway offer, read from their OpenAPI documents at start-up.

At start-up the gateway fetches every service's ``/openapi.json``, retrying for a bounded
time because the services may be starting at the same moment, and refuses to start when a
service has a route the policy does not mention (the policy must decide about every route,
explicitly). A policy entry for a route the service lacks is only a warning. A service named
optional may be down at start-up: its routes are then known from the policy alone until its
document can be read (retried, at most every ``RETRY_OPTIONAL_SECONDS``, when someone asks
for the combined API description).

The route tables also give ``405 Method Not Allowed`` its ``Allow`` header.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

from gateway.adapters.upstream import InvalidServiceDescription, UpstreamError
from gateway.domain.policy import Policy, PolicyError
from gateway.domain.routes import RouteTable, check_coverage

log = logging.getLogger(__name__)

FetchDocument = Callable[[str], Awaitable[dict[str, Any]]]
RETRY_OPTIONAL_SECONDS = 10.0
# One attempt at an optional service is short: it must not hold up start-up or a request.
OPTIONAL_ATTEMPT_SECONDS = 2.0
_FIRST_DELAY, _MAX_DELAY = 0.2, 2.0


class GatewayMisconfigured(RuntimeError):
    """The policy and the services do not fit together; the gateway refuses to start."""


class ServiceCatalogue:
    def __init__(
        self,
        policy: Policy,
        services: Collection[str],
        optional: Collection[str],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._services = sorted(services)
        self._optional = frozenset(optional)
        # Until a service's own document is read, its routes are the ones the policy names.
        self._tables = {s: RouteTable.from_policy(s, policy) for s in self._services}
        self._documents: dict[str, dict[str, Any]] = {}
        self._next_retry = 0.0
        self.version = 0  # grows whenever a document is adopted; caches key on it

    @property
    def documents(self) -> Mapping[str, dict[str, Any]]:
        """The OpenAPI documents read so far, by service."""
        return self._documents

    def allowed_methods(self, service: str, segments: tuple[str, ...]) -> frozenset[str] | None:
        """The methods the service offers on this path; None when no route matches it."""
        table = self._tables.get(service)
        return None if table is None else table.allowed_methods(segments)

    async def discover(self, fetch: FetchDocument, wait_seconds: float) -> None:
        """Read every service's document. Required services are retried until
        ``wait_seconds`` have passed; an optional one gets one attempt. Raises
        GatewayMisconfigured naming every problem found."""
        required = [s for s in self._services if s not in self._optional]
        optional = [s for s in self._services if s in self._optional]
        deadline = self._clock() + wait_seconds
        outcomes = await asyncio.gather(
            *(self._fetch_until(fetch, s, deadline) for s in required),
            *(self._fetch_once(fetch, s) for s in optional),
            return_exceptions=True,
        )
        problems: list[str] = []
        for service, outcome in zip(required + optional, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                if not isinstance(outcome, UpstreamError):
                    raise outcome
                if service in self._optional:
                    log.warning(
                        "optional service %s is not reachable (%s); its routes are known from "
                        "the policy alone and it is missing from /openapi.json for now",
                        service,
                        outcome.detail,
                    )
                    continue
                problems.append(f"{service}: {outcome.detail}")
            elif outcome is not None:
                problems.extend(self._adopt(service, outcome))
        self._next_retry = self._clock() + RETRY_OPTIONAL_SECONDS
        if problems:
            message = "the gateway refuses to start:\n  " + "\n  ".join(problems)
            log.error("%s", message)
            raise GatewayMisconfigured(message)

    async def retry_missing(self, fetch: FetchDocument) -> None:
        """Try again to read the documents of optional services that were down, at most every
        RETRY_OPTIONAL_SECONDS. Routes the policy misses are logged as errors (they stay
        denied: the gateway is running and cannot refuse to start any more)."""
        missing = [s for s in self._services if s not in self._documents]
        if not missing or self._clock() < self._next_retry:
            return
        self._next_retry = self._clock() + RETRY_OPTIONAL_SECONDS
        for service in missing:
            try:
                document = await self._fetch_once(fetch, service)
            except UpstreamError as exc:
                log.info("optional service %s still not reachable: %s", service, exc.detail)
                continue
            for problem in self._adopt(service, document):
                log.error("%s (its uncovered routes are denied to everyone)", problem)

    async def _fetch_until(
        self, fetch: FetchDocument, service: str, deadline: float
    ) -> dict[str, Any]:
        delay = _FIRST_DELAY
        while True:
            try:
                async with asyncio.timeout(max(deadline - self._clock(), 0.1)):
                    return await fetch(service)
            except InvalidServiceDescription:
                raise
            except (UpstreamError, TimeoutError) as exc:
                detail = exc.detail if isinstance(exc, UpstreamError) else "no answer"
                if self._clock() + delay > deadline:
                    raise UpstreamError(
                        service, f"no OpenAPI document within the start-up wait: {detail}"
                    ) from exc
                log.info("waiting for %s: %s", service, detail)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_DELAY)

    async def _fetch_once(self, fetch: FetchDocument, service: str) -> dict[str, Any]:
        try:
            async with asyncio.timeout(OPTIONAL_ATTEMPT_SECONDS):
                return await fetch(service)
        except TimeoutError as exc:
            raise UpstreamError(service, "no answer within one short attempt") from exc

    def _adopt(self, service: str, document: dict[str, Any]) -> list[str]:
        """Take the service's document as the truth about its routes; the problems that must
        stop the gateway, as lines naming service, method and path."""
        try:
            table = RouteTable.from_openapi(service, document)
        except PolicyError as exc:
            return [str(exc)]
        coverage = check_coverage(self._policy, table)
        for path in table.unreachable:
            log.warning("%s: %s is outside /v1/, not reachable through the gateway", service, path)
        for rule in coverage.unused:
            log.warning(
                "policy entry %s names a route the %s service does not have",
                rule.describe(),
                service,
            )
        self._tables[service] = table
        self._documents[service] = document
        self.version += 1
        return [
            f"{route.describe()} is a route of the {service} service but the policy file "
            "does not mention it: add it with the roles allowed"
            for route in coverage.uncovered
        ]
