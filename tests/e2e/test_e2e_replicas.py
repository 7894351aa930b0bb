"""`LEDGER_REPLICAS=2 GATEWAY_REPLICAS=2 make run`, as the README's "Replicas" section says it:
both ledger replicas serve through both gateways; one killed under load is routed around and
comes back; the relay leader killed is replaced within 15 s with nothing lost or applied twice;
a role revoked through one gateway is refused at the other, and log-in attempts are counted
across both.

Tickets and risk run once each (to spare the two cores); every request goes through the
gateways, as a client's would."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.make_run_stack import ROOT, MakeRunStack, make_run_stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

SECTION = "Replicas"
TAKEOVER_LIMIT_S = 15.0
# What a request in flight on a replica that dies may answer: never 500.
IN_FLIGHT_FAILURES = {502, 503, 504}


def readme_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split(f"## {SECTION}\n", 1)[1].split("\n## ", 1)[0]
    return [block.split("\n```", 1)[0] for block in section.split("```bash\n")[1:]]


def readme_lines() -> list[str]:
    """The README's commands, one a line, without their comments; not the replicas benchmark,
    which starts servers of its own (tests/e2e/test_e2e_readme_benchmarks.py runs it)."""
    return [
        line.split("  #", 1)[0].strip()
        for block in readme_blocks()
        for line in block.splitlines()
        if line.strip() and not line.startswith("bash deploy/bench.sh")
    ]


def make_run_line() -> str:
    [line] = [line for line in readme_lines() if line.endswith("make run")]
    return line


@pytest.fixture(scope="module")
def stack() -> Iterator[MakeRunStack]:
    command = make_run_line()
    assert command == "LEDGER_REPLICAS=2 GATEWAY_REPLICAS=2 make run", command
    settings = dict(part.split("=", 1) for part in command.split()[:-2])
    counts = {name.removesuffix("_REPLICAS").lower(): int(n) for name, n in settings.items()}
    data_dir = Path(tempfile.mkdtemp(prefix="backoffice-make-run-replicas-"))
    try:
        # The README's settings; the stack's ports are free ones (<SERVICE>_PORTS).
        with make_run_stack(data_dir, settings, replicas=counts) as running:
            yield running
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


# -- helpers ----------------------------------------------------------------------------------


def gateways(stack: MakeRunStack) -> list[str]:
    return [f"http://127.0.0.1:{port}" for port in stack.ports("gateway")]


def ledgers(stack: MakeRunStack) -> list[str]:
    return [f"http://127.0.0.1:{port}" for port in stack.ports("ledger")]


def login(gateway: str, username: str, password: str | None = None) -> dict[str, str]:
    answer = httpx.post(
        f"{gateway}/auth/login",
        json={"username": username, "password": password or f"demo-{username}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def metric(url: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples at ``url``/metrics whose labels include ``labels``."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    total = 0.0
    for found in re.finditer(rf"^{name}\{{([^}}]*)\}} (\S+)$", text, re.M):
        have = dict(re.findall(r'(\w+)="([^"]*)"', found.group(1)))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(found.group(2))
    return total


def posted_entries(url: str) -> float:
    return metric(url, "backoffice_http_requests_total", route="/v1/journal-entries", method="POST")


def relay_leaders(stack: MakeRunStack) -> list[int]:
    """The replica numbers (1-based) whose relay says it leads."""
    leading = []
    for number, url in enumerate(ledgers(stack), 1):
        try:
            if metric(url, "backoffice_relay_leader", service="ledger") == 1:
                leading.append(number)
        except httpx.TransportError:
            continue  # dead or restarting
    return leading


def wait_for(what: str, check: Callable[[], bool], timeout: float, stack: MakeRunStack) -> float:
    """Seconds until ``check`` holds (polled every 0.2 s); fails after ``timeout``."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout} s\n{stack.log_tail(40)}")
        time.sleep(0.2)
    return time.monotonic() - started


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).is_success
    except httpx.TransportError:
        return False


@dataclass
class Books:
    """Two fresh accounts of this test: every entry debits ``expense`` and credits ``bank``."""

    gateway: str
    headers: dict[str, str]
    expense: str
    bank: str

    @classmethod
    def open(cls, gateway: str) -> Books:
        headers = login(gateway, "accountant")
        ids = []
        for kind, first_digit in (("expense", 6), ("asset", 1)):
            opened = httpx.post(
                f"{gateway}/ledger/v1/accounts",
                json={
                    "code": f"{first_digit}{uuid.uuid4().int % 10**7:07d}",
                    "name": f"replica test {kind}",
                    "account_type": kind,
                    "currency": "EUR",
                },
                headers=headers,
                timeout=30,
            )
            assert opened.status_code == 201, opened.text
            ids.append(opened.json()["id"])
        return cls(gateway, headers, *ids)

    def entry(self, voucher: str, amount: int) -> dict[str, Any]:
        return {
            "voucher_number": voucher,
            "booking_date": datetime.now(UTC).date().isoformat(),
            "text": "posted through a replica",
            "lines": [
                {"account_id": self.expense, "side": "debit", "amount": amount, "currency": "EUR"},
                {"account_id": self.bank, "side": "credit", "amount": amount, "currency": "EUR"},
            ],
        }

    def lines(self, at_position: int) -> list[dict[str, Any]]:
        """Every line of the expense account, once the read model has applied
        ``at_position`` (bounded)."""
        deadline = time.monotonic() + 90
        while True:
            answer = httpx.get(
                f"{self.gateway}/ledger/v1/accounts/{self.expense}",
                params={"min_position": at_position, "wait_ms": 5000},
                headers=self.headers,
                timeout=30,
            )
            if answer.headers.get("x-consistent") == "true":
                break
            assert time.monotonic() < deadline, f"not caught up: {answer.text}"
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 200}
            if cursor:
                params["cursor"] = cursor
            page = httpx.get(
                f"{self.gateway}/ledger/v1/accounts/{self.expense}/lines",
                params=params,
                headers=self.headers,
                timeout=30,
            )
            assert page.status_code == 200, page.text
            found += page.json()["items"]
            cursor = page.json()["next_cursor"]
            if not cursor:
                return found


@dataclass
class Sent:
    voucher: str
    amount: int
    status: int  # 0: no answer at all (the client's own transport error)
    started: float
    ended: float
    position: int = 0


class Load:
    """A steady stream of journal entries through both gateways (``workers`` at a time)."""

    def __init__(self, stack: MakeRunStack, books: Books, workers: int = 3) -> None:
        self.sent: list[Sent] = []
        self._books = books
        self._gateways = gateways(stack)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._work, args=(k,)) for k in range(workers)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def count(self) -> int:
        with self._lock:
            return len(self.sent)

    def _work(self, worker: int) -> None:
        with httpx.Client(timeout=30) as http:
            number = 0
            while not self._stop.is_set():
                number += 1
                gateway = self._gateways[(worker + number) % len(self._gateways)]
                voucher = f"RL-{uuid.uuid4().hex[:10]}"
                amount = 100 + number
                started = time.monotonic()
                try:
                    answer = http.post(
                        f"{gateway}/ledger/v1/journal-entries",
                        json=self._books.entry(voucher, amount),
                        headers=self._books.headers,
                    )
                    status = answer.status_code
                    position = answer.json().get("position", 0) if status == 201 else 0
                except httpx.TransportError:
                    status, position = 0, 0
                with self._lock:
                    self.sent.append(
                        Sent(voucher, amount, status, started, time.monotonic(), position)
                    )

    def until(self, count: int, stack: MakeRunStack, timeout: float = 120) -> None:
        wait_for(f"{count} requests sent", lambda: self.count() >= count, timeout, stack)


def exactly_once(books: Books, sent: list[Sent]) -> None:
    """Every acknowledged entry is in the read model once; one that failed is there at most
    once (it may have been applied before its answer was lost); nothing else is there."""
    acknowledged = [s for s in sent if s.status == 201]
    lines = books.lines(max(s.position for s in acknowledged))
    seen: dict[str, int] = {}
    for line in lines:
        seen[line["voucher_number"]] = seen.get(line["voucher_number"], 0) + 1
    assert all(count == 1 for count in seen.values()), {v: c for v, c in seen.items() if c > 1}
    missing = [s.voucher for s in acknowledged if s.voucher not in seen]
    assert missing == [], f"acknowledged but not in the read model: {missing}"
    assert set(seen) <= {s.voucher for s in sent}


def pid_of(stack: MakeRunStack, replica: int) -> int:
    return stack.pid_of("ledger", replica)


# -- tests ------------------------------------------------------------------------------------


def test_both_ledger_replicas_serve_and_what_either_gateway_posts_is_read_once(
    stack: MakeRunStack,
) -> None:
    processes = stack.processes()
    assert sorted((p["name"], p["replica"]) for p in processes) == [
        ("console", 1),
        ("gateway", 1),
        ("gateway", 2),
        ("ledger", 1),
        ("ledger", 2),
        ("risk", 1),
        ("tickets", 1),
    ]
    for p in processes:
        os.kill(int(p["pid"]), 0)  # each pid is a live process
    books = Books.open(gateways(stack)[0])
    before = [posted_entries(url) for url in ledgers(stack)]
    sent = []
    with httpx.Client(timeout=30) as http:
        for number in range(16):
            gateway = gateways(stack)[number % 2]
            voucher = f"RB-{uuid.uuid4().hex[:10]}"
            answer = http.post(
                f"{gateway}/ledger/v1/journal-entries",
                json=books.entry(voucher, 1000 + number),
                headers=books.headers,
            )
            assert answer.status_code == 201, answer.text
            now = time.monotonic()
            sent.append(Sent(voucher, 1000 + number, 201, now, now, answer.json()["position"]))
    served = [posted_entries(url) - b for url, b in zip(ledgers(stack), before, strict=True)]
    assert sum(served) == 16 and all(n >= 4 for n in served), served  # both take turns
    exactly_once(books, sent)
    account = httpx.get(
        f"{books.gateway}/ledger/v1/accounts/{books.expense}", headers=books.headers, timeout=30
    ).json()
    assert account["debit_total"] == sum(s.amount for s in sent)


def test_a_replica_killed_under_load_is_routed_around_and_rejoins(stack: MakeRunStack) -> None:
    books = Books.open(gateways(stack)[1])
    victim = pid_of(stack, 2)
    with Load(stack, books) as load:
        load.until(30, stack)
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        load.until(load.count() + 60, stack)
    sent = load.sent
    statuses = {s.status for s in sent}
    assert statuses <= {201} | IN_FLIGHT_FAILURES, sorted(statuses)
    failed = [s for s in sent if s.status != 201]
    # Only requests in flight at the kill fail (a second's grace: the connections the gateways
    # held to it are found closed as they are next used); everything sent later succeeds.
    late = [s for s in failed if s.started > killed_at + 1.0]
    assert late == [], late
    assert len(failed) <= 6, failed
    print(
        f"\nreplica killed under load: {len(sent)} requests, {len(failed)} failed in flight "
        f"({sorted(s.status for s in failed)})"
    )

    # The supervisor restarts it; the gateways probe it up again and both replicas serve.
    wait_for("ledger#2 restarted", lambda: pid_of(stack, 2) != victim, 60, stack)
    wait_for("ledger#2 answers", lambda: answers(ledgers(stack)[1]), 120, stack)

    def believed_up() -> bool:
        return all(
            metric(g, "backoffice_upstream_replica_up", upstream="ledger", replica="2") == 1
            for g in gateways(stack)
        )

    wait_for("ledger#2 believed up by both gateways", believed_up, 10, stack)
    assert "supervisor: ledger#2" in stack.log.read_text()
    before = [posted_entries(url) for url in ledgers(stack)]
    with Load(stack, books, workers=2) as load_after:
        load_after.until(16, stack)
    assert {s.status for s in load_after.sent} == {201}
    served = [posted_entries(url) - b for url, b in zip(ledgers(stack), before, strict=True)]
    assert all(n >= 3 for n in served), served  # the restarted replica serves again
    exactly_once(books, sent + load_after.sent)


def test_the_relay_leader_killed_is_replaced_within_fifteen_seconds_losing_nothing(
    stack: MakeRunStack,
) -> None:
    wait_for("one relay leads", lambda: len(relay_leaders(stack)) == 1, 30, stack)
    [leader] = relay_leaders(stack)
    standby = 3 - leader
    books = Books.open(gateways(stack)[0])
    victim = pid_of(stack, leader)
    with Load(stack, books, workers=2) as load:
        load.until(20, stack)
        os.kill(victim, signal.SIGKILL)
        takeover = wait_for(
            "the standby's relay leads",
            lambda: standby in relay_leaders(stack),
            TAKEOVER_LIMIT_S,
            stack,
        )
        load.until(load.count() + 40, stack)
    print(f"\nrelay leader killed: replica {standby} took over in {takeover:.1f} s")
    assert takeover <= TAKEOVER_LIMIT_S
    statuses = {s.status for s in load.sent}
    assert statuses <= {201} | IN_FLIGHT_FAILURES, sorted(statuses)
    exactly_once(books, load.sent)
    # Everything stored was published: the relay lag is back to 0 (sampled every few seconds).
    wait_for(
        "relay lag 0",
        lambda: metric(ledgers(stack)[standby - 1], "backoffice_relay_lag_positions") == 0,
        30,
        stack,
    )
    # The killed replica comes back as a standby: one leader still.
    wait_for("the killed replica answers", lambda: answers(ledgers(stack)[leader - 1]), 120, stack)
    assert relay_leaders(stack) == [standby]


def test_a_role_revoked_through_one_gateway_is_refused_at_the_other(stack: MakeRunStack) -> None:
    first, second = gateways(stack)
    admin = login(first, "admin")
    username = f"replica-{uuid.uuid4().hex[:8]}"
    registered = httpx.post(
        f"{first}/admin/v1/operators",
        json={
            "username": username,
            "display_name": "Replica Tester",
            "roles": ["accountant", "monitoring"],
            "password": "a long enough password 42",
        },
        headers=admin,
        timeout=30,
    )
    assert registered.status_code == 201, registered.text
    operator = login(second, username, "a long enough password 42")
    assert httpx.get(f"{second}/ledger/v1/accounts", headers=operator, timeout=30).is_success
    revoked = httpx.delete(
        f"{first}/admin/v1/operators/{username}/roles/accountant", headers=admin, timeout=30
    )
    assert revoked.status_code == 200, revoked.text
    revoked_at = time.monotonic()

    def refused() -> bool:
        answer = httpx.get(f"{second}/ledger/v1/accounts", headers=operator, timeout=30)
        assert answer.status_code in (200, 403), answer.text
        return answer.status_code == 403

    wait_for("the revoked role refused at the other gateway", refused, 5, stack)
    took = time.monotonic() - revoked_at
    print(f"\nrevocation held at the second gateway after {took:.1f} s")
    assert took <= 2.5


def test_log_in_attempts_are_counted_across_gateways(stack: MakeRunStack) -> None:
    """10 attempts a minute per username from one address (the default), whichever gateway
    takes them: the buckets are in the gateway's PostgreSQL, not in each process."""
    first, second = gateways(stack)
    username = f"guess-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    statuses = [
        httpx.post(
            f"{gateway}/auth/login",
            json={"username": username, "password": "a wrong guess"},
            timeout=30,
        ).status_code
        for gateway in [first, second] * 6
    ]
    refilled = int((time.monotonic() - started) // 6)  # one attempt more every 6 s

    assert statuses[:10] == [401] * 10
    assert 429 in statuses[10:]
    assert statuses.count(401) <= 10 + refilled  # per process it would be 12 (6 each)


def test_the_readme_commands_run_as_written(stack: MakeRunStack) -> None:
    """The README's lines beside `make run`, on this stack's ports and data directory."""
    ports = {
        "8000": stack.ports("gateway")[0],
        "8100": stack.ports("gateway")[1],
        "8001": stack.ports("ledger")[0],
        "8101": stack.ports("ledger")[1],
    }
    outputs = []
    for line in readme_lines():
        if line.endswith("make run"):
            continue  # the stack itself
        script = line.replace(".data/", f"{stack.env['BACKOFFICE_DATA_DIR']}/")
        for default, port in ports.items():
            script = script.replace(f"localhost:{default}", f"localhost:{port}")
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
        outputs.append(done.stdout)
    text = "\n".join(outputs)
    assert '"name": "ledger"' in text and '"replica": 2' in text
    assert re.search(r'^backoffice_relay_leader\{service="ledger"\} [01]\.0$', text, re.M)
    assert 'upstream="ledger"' in text
