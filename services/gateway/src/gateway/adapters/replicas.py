"""The replicas of each service behind the gateway: which are believed up, and whose turn it is.

A service may run as several processes (``GATEWAY_SERVICES`` lists their base URLs). Requests
go round-robin over the replicas believed up. A replica is believed down from the moment a
connection to it is refused (``httpx.ConnectError``: nothing was sent, so the request may go
to the next replica whatever its method), and up again when its ``/health/live`` answers: a
probe asks every replica once a second (``ReplicaProbe``). ``/health/live``, not
``/health/ready``: a replica whose database is away still answers, with its own 503, which
is the client's answer to hear; only a replica that does not answer at all is routed around.

A replica believed down is still tried when no replica is believed up (the last resort, in
the order of turns): a service of one replica then behaves as before replicas existed, and a
replica that came back is used before its next probe.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx
from shared_kernel.health import CheckOutcome, Probe
from shared_kernel.health_checks import upstream_probe
from shared_kernel.metrics import UPSTREAM_REPLICA_UP

log = logging.getLogger(__name__)

SERVICE = "gateway"
PROBE_INTERVAL_SECONDS = 1.0
PROBE_TIMEOUT_SECONDS = 0.5


@dataclass
class Replica:
    """One process of a service: its 1-based number among the service's and its base URL."""

    service: str
    number: int
    base_url: str
    up: bool = True

    def mark(self, up: bool, why: str) -> None:
        if up != self.up:
            log.warning(
                "%s replica %d (%s) is %s: %s",
                self.service,
                self.number,
                self.base_url,
                "back up" if up else "down",
                why,
            )
        self.up = up
        gauge = UPSTREAM_REPLICA_UP.labels(SERVICE, self.service, str(self.number), self.base_url)
        gauge.set(1 if up else 0)


class ServiceReplicas:
    """The replicas of one service and whose turn it is."""

    def __init__(self, service: str, base_urls: Sequence[str]) -> None:
        if not base_urls:
            raise ValueError(f"service {service!r} has no replica")
        self.service = service
        self.replicas = [Replica(service, k + 1, url) for k, url in enumerate(base_urls)]
        for replica in self.replicas:
            replica.mark(True, "configured")
        self._turn = 0

    def in_turn(self) -> list[Replica]:
        """The replicas to try for one request, in order: those believed up, starting with
        the one whose turn it is, then those believed down (the last resort)."""
        up = [r for r in self.replicas if r.up]
        down = [r for r in self.replicas if not r.up]
        turn = self._turn
        self._turn += 1
        if up:
            start = turn % len(up)
            up = up[start:] + up[:start]
        return up + down

    @property
    def any_up(self) -> bool:
        return any(r.up for r in self.replicas)


class Replicas:
    """Every service's replicas (what ``GATEWAY_SERVICES`` names)."""

    def __init__(self, base_urls: Mapping[str, str | Sequence[str]]) -> None:
        self.services = {
            name: ServiceReplicas(name, (urls,) if isinstance(urls, str) else tuple(urls))
            for name, urls in base_urls.items()
        }

    def __contains__(self, service: str) -> bool:
        return service in self.services

    def __getitem__(self, service: str) -> ServiceReplicas:
        return self.services[service]

    def all(self) -> list[Replica]:
        return [r for service in self.services.values() for r in service.replicas]


class ReplicaProbe:
    """Asks every replica's ``/health/live`` every ``interval`` seconds and marks it up or
    down by the answer (``run`` until cancelled; ``probe_once`` for tests)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        replicas: Replicas,
        *,
        interval: float = PROBE_INTERVAL_SECONDS,
        timeout: float = PROBE_TIMEOUT_SECONDS,
    ) -> None:
        self._http = http
        self._replicas = replicas
        self._interval = interval
        self._timeout = timeout

    async def probe_once(self) -> None:
        await asyncio.gather(*(self._probe(r) for r in self._replicas.all()))

    async def _probe(self, replica: Replica) -> None:
        try:
            response = await self._http.get(
                f"{replica.base_url}/health/live", timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            replica.mark(False, f"/health/live: {type(exc).__name__}")
            return
        replica.mark(response.status_code == 200, f"/health/live {response.status_code}")

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.probe_once()


def any_replica_ready(
    http: httpx.AsyncClient, base_urls: Sequence[str], *, timeout: float, optional: bool = False
) -> Probe:
    """A service's readiness for the gateway's ``/health/ready``: ready when any replica's
    ``/health/ready`` is (the gateway routes around the others); the detail names each."""
    probes = [upstream_probe(http, f"{url}/health/ready", timeout=timeout) for url in base_urls]

    async def probe() -> CheckOutcome:
        outcomes = await asyncio.gather(*(p() for p in probes))
        ok = any(ready for ready, _ in outcomes)
        if len(outcomes) == 1:
            detail = outcomes[0][1]
        else:
            detail = "; ".join(f"replica {k}: {d}" for k, (_, d) in enumerate(outcomes, 1))
        if optional and not ok:
            return True, f"optional, {detail}"
        return ok, detail

    return probe
