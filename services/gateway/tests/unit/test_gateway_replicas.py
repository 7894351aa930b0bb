"""The gateway over a service's replicas: round-robin over those believed up, a refused
connection routes the request to the next one, the probe brings a replica back, and with
every replica down the service is unavailable (503).

The replicas are faked with ``httpx.MockTransport`` (a fake of the network): a replica that
"refuses" raises ``httpx.ConnectError`` as httpx does when nothing listens on its port."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest
from gateway.adapters.replicas import ReplicaProbe, any_replica_ready
from gateway.adapters.upstream import UpstreamClient, UpstreamFailed, UpstreamUnavailable
from shared_kernel.metrics import REGISTRY

pytestmark = pytest.mark.unit

URLS = ("http://ledger-1.test", "http://ledger-2.test", "http://ledger-3.test")


@dataclass
class FakeReplicas:
    """Replicas by host: each answers 201, or refuses connections while in ``dead``."""

    dead: set[str] = field(default_factory=set)
    broken_mid_request: set[str] = field(default_factory=set)
    calls: list[tuple[str, str]] = field(default_factory=list)  # (host, path)

    def handle(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.calls.append((host, request.url.path))
        if host in self.dead:
            raise httpx.ConnectError("connection refused", request=request)
        if host in self.broken_mid_request:
            raise httpx.ReadError("connection reset by peer", request=request)
        if request.url.path == "/health/live":
            return httpx.Response(200, json={"status": "live"})
        if request.url.path == "/health/ready":
            return httpx.Response(200, json={"status": "ready", "checks": []})
        return httpx.Response(201, json={"by": host})

    def served(self, path: str = "/v1/journal-entries") -> Counter[str]:
        return Counter(host for host, p in self.calls if p == path)


def client(fake: FakeReplicas, urls: tuple[str, ...] = URLS) -> UpstreamClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake.handle))
    return UpstreamClient(http, {"ledger": urls}, timeout_seconds=5)


async def post(upstream: UpstreamClient) -> str:
    answer = await upstream.send("ledger", "POST", ["v1", "journal-entries"], "", {}, b"{}")
    assert answer.status == 201
    by: str = httpx.Response(200, content=answer.body).json()["by"]
    return by


def replica_up(number: int, url: str) -> float | None:
    labels = {"service": "gateway", "upstream": "ledger", "replica": str(number), "address": url}
    return REGISTRY.get_sample_value("backoffice_upstream_replica_up", labels)


async def test_requests_go_round_robin_over_the_replicas() -> None:
    fake = FakeReplicas()
    upstream = client(fake)
    by = [await post(upstream) for _ in range(6)]
    assert by == ["ledger-1.test", "ledger-2.test", "ledger-3.test"] * 2


async def test_a_refused_connection_marks_the_replica_down_and_the_request_goes_on() -> None:
    fake = FakeReplicas(dead={"ledger-2.test"})
    upstream = client(fake)
    # A POST without an Idempotency-Key too: nothing reached the refusing replica.
    by = [await post(upstream) for _ in range(6)]
    assert "ledger-2.test" not in by and len(by) == 6
    assert fake.served()["ledger-2.test"] == 1  # tried once, then routed around
    assert Counter(by) == {"ledger-1.test": 3, "ledger-3.test": 3}
    assert replica_up(2, URLS[1]) == 0 and replica_up(1, URLS[0]) == 1


async def test_the_probe_brings_a_replica_back_when_it_answers_again() -> None:
    fake = FakeReplicas(dead={"ledger-2.test"})
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake.handle))
    upstream = UpstreamClient(http, {"ledger": URLS[:2]}, timeout_seconds=5)
    probe = ReplicaProbe(http, upstream.replicas)
    await probe.probe_once()
    assert [r.up for r in upstream.replicas["ledger"].replicas] == [True, False]
    assert {await post(upstream) for _ in range(4)} == {"ledger-1.test"}
    fake.dead.clear()  # restarted by its supervisor
    await probe.probe_once()
    assert replica_up(2, URLS[1]) == 1
    assert Counter([await post(upstream) for _ in range(4)]) == {
        "ledger-1.test": 2,
        "ledger-2.test": 2,
    }
    assert fake.served("/health/live") == {"ledger-1.test": 2, "ledger-2.test": 2}


async def test_with_every_replica_down_the_service_is_unavailable() -> None:
    fake = FakeReplicas(dead={"ledger-1.test", "ledger-2.test", "ledger-3.test"})
    upstream = client(fake)
    with pytest.raises(UpstreamUnavailable, match="cannot reach the ledger service"):
        await post(upstream)
    assert not upstream.replicas["ledger"].any_up
    # Believed down, still the last resort: the first to come back answers at once.
    fake.dead.discard("ledger-3.test")
    assert await post(upstream) == "ledger-3.test"


async def test_a_request_broken_off_in_flight_fails_and_is_not_sent_elsewhere() -> None:
    fake = FakeReplicas(broken_mid_request={"ledger-1.test"})
    upstream = client(fake)
    with pytest.raises(UpstreamFailed, match="broke off"):
        await post(upstream)  # a POST without a key: it may have been applied
    assert fake.served() == {"ledger-1.test": 1}
    assert upstream.replicas["ledger"].replicas[0].up  # it answered the connection


async def test_the_openapi_document_comes_from_any_replica_that_answers() -> None:
    fake = FakeReplicas(dead={"ledger-1.test"})

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/openapi.json" and request.url.host not in fake.dead:
            fake.calls.append((request.url.host, request.url.path))
            return httpx.Response(200, json={"openapi": "3.1.0", "paths": {}})
        return fake.handle(request)

    upstream = UpstreamClient(
        httpx.AsyncClient(transport=httpx.MockTransport(handle)), {"ledger": URLS}, 5
    )
    assert await upstream.openapi("ledger") == {"openapi": "3.1.0", "paths": {}}
    assert fake.calls == [("ledger-1.test", "/openapi.json"), ("ledger-2.test", "/openapi.json")]


async def test_a_service_is_ready_when_any_replica_is() -> None:
    fake = FakeReplicas(dead={"ledger-1.test"})
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake.handle))
    ok, detail = await any_replica_ready(http, URLS[:2], timeout=1)()
    assert ok and detail == "replica 1: not reachable (ConnectError); replica 2: ready"
    fake.dead.add("ledger-2.test")
    ok, detail = await any_replica_ready(http, URLS[:2], timeout=1)()
    assert not ok
    ok, detail = await any_replica_ready(http, URLS[:1], timeout=1)()
    assert (ok, detail) == (False, "not reachable (ConnectError)")  # as before replicas
