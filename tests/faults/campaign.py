"""`make faults`: the fault campaign of issue 16, one command, one table.

Starts the back office as ``KAFKA_PROFILE=cluster make run`` does (three Kafka brokers with
SASL and ACLs, PostgreSQL, every service, demo data) on free ports, with its data in
``FAULTS_DATA_DIR`` (default .data/faults, emptied first). Then, row by row, it runs a steady
load through the gateway (``load.py``), injects one fault while the load goes on
(``faults.py``), stops the load and checks (``reconcile.py``, ``observe.py``): every
acknowledged command in the read models exactly once, risk's exposure equal to what the ledger
holds, each topic's CloudEvent ids counted, the trial balance summing to zero, and
``python -m ledger verify``. After the last row the ledger's and risk's read models are rebuilt
from Kafka once (a rebuild is slow) and must equal the live ones. The table is printed and
written to ``<FAULTS_DATA_DIR>/fault-campaign.md``; the exit status is 0 when every row that ran
holds and the rebuild changed nothing.

``FAULT_SCALE`` (default 1) scales the long waits: 1 gives the issue's 30 s without Kafka and
60 s of SIGSTOP; the e2e test uses less.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.make_run_stack import ROOT, MakeRunStack, make_run_stack
from tests.faults.access import admin_kafka, cli_env
from tests.faults.accounting import Findings, Outcome, RowReport, Rule
from tests.faults.faults import Faults, ReplicaFaults
from tests.faults.load import Load, Party, first_acknowledged_after, now
from tests.faults.observe import (
    event_ids_by_topic,
    ledger_verify,
    pages,
    read_models,
    trial_balance,
)
from tests.faults.ports import quiet_ports
from tests.faults.reconcile import (
    ReadModels,
    differences,
    key_in,
    reconcile,
    topic_duplicates,
    trial_balance_problems,
)
from tests.faults.table import line, row_cells, table

WARMUP_S = 5.0  # load before the fault
TAIL_S = 10.0  # load after the fault is lifted
SETTLE_DEADLINE_S = 300.0  # for the read models to hold every acknowledged command
LIMIT = 10**13  # the counterparty's limit: every deal clears, the exposure only counts
Headers = dict[str, str]


@dataclass
class Campaign:
    stack: MakeRunStack
    gateway: httpx.AsyncClient
    faults: Faults
    load: Load
    officer: Headers
    limit_id: str
    replicas: ReplicaFaults
    outcomes: list[Outcome] = field(default_factory=list)  # every row's, for the checks
    rows: list[RowReport] = field(default_factory=list)
    rebuild: str = "not run"
    rebuild_equal: bool = False

    @property
    def accountant(self) -> Headers:
        return self.load.accountant

    async def read(self) -> ReadModels:
        return await read_models(
            self.gateway, self.load.party, self.accountant, self.officer, self.limit_id
        )

    async def uncleared(self, submitted_before: datetime) -> int:
        """The campaign's deals submitted before a moment that risk has not cleared yet."""
        requests = await pages(self.gateway, "/ledger/v1/booking-requests", self.accountant)
        return sum(
            1
            for r in requests
            if key_in(r.get("text"))
            and r["clearance"]["status"] != "cleared"
            and datetime.fromisoformat(r["submitted_at"]) < submitted_before
        )

    async def renew_logins(self) -> None:
        """Access tokens live 15 minutes; the campaign takes longer."""
        self.load.accountant = await login(self.gateway, "accountant")
        self.officer = await login(self.gateway, "risk-officer")

    async def row(
        self, name: str, rule: Rule, fault: Callable[[], Awaitable[float]] | None, why: str = ""
    ) -> RowReport:
        report = RowReport(name, rule, not_run=None if fault else why)
        self.rows.append(report)
        if fault is None:
            return report
        print(f"== {name}", flush=True)
        await self.renew_logins()
        loading = asyncio.create_task(self.load.run_until_stopped(report.outcomes))
        fault_failed = ""
        try:
            await asyncio.sleep(WARMUP_S)
            lifted = await fault()
            await asyncio.sleep(TAIL_S)
        except Exception as failure:
            print(f"the fault failed: {failure}", flush=True)
            fault_failed = f"the fault failed: {failure}"
            lifted = now()
        finally:
            self.load.stop()
            await loading
        self.outcomes += report.outcomes
        report.findings, settled = await self.settle(lifted)
        report.findings.problems += [fault_failed] if fault_failed else []
        report.findings.problems += self.replicas.problems  # what a replica fault saw itself
        report.findings.notes += self.replicas.notes + self.faults.notes
        self.replicas.problems, self.replicas.notes, self.faults.notes = [], [], []
        back = first_acknowledged_after(report.outcomes, lifted)
        report.recovery = (
            f"commands {'never' if back is None else f'{back:.1f} s'}, "
            f"read models {'never' if settled is None else f'{settled:.1f} s'} after lifted"
        )
        await self.check_topics_and_books(report.findings)
        print(line(row_cells(len(self.rows), report)), flush=True)
        return report

    async def settle(self, lifted: float) -> tuple[Findings, float | None]:
        """Reconcile until nothing acknowledged is missing (or the deadline): the findings, and
        seconds from the fault's lifting until then (None: never)."""
        deadline = now() + SETTLE_DEADLINE_S
        findings = Findings(problems=["the read models could not be read"])
        while now() < deadline:
            try:
                findings = reconcile(self.outcomes, await self.read())
            except httpx.HTTPError as failure:
                findings = Findings(problems=[f"reading the read models: {failure!r}"])
            if not findings.lost and not findings.problems:
                return findings, now() - lifted
            await asyncio.sleep(2)
        return findings, None

    async def check_topics_and_books(self, findings: Findings) -> None:
        try:
            ids = await asyncio.wait_for(event_ids_by_topic(admin_kafka(self.stack)), 180)
        except TimeoutError:
            findings.problems.append("the topics could not be read within 180 s")
        else:
            findings.topic_duplicates = sum(topic_duplicates(ids).values())
        findings.problems += trial_balance_problems(
            await trial_balance(self.gateway, self.accountant)
        )
        intact, said = await ledger_verify(cli_env(self.stack, "ledger"))
        if not intact:
            findings.problems.append(f"ledger verify: {said[-300:]}")

    async def rebuild_changes_nothing(self) -> None:
        """The ledger's and risk's read models rebuilt from offset zero equal the live ones."""
        before = await self.picture()
        for service in ("ledger", "risk"):
            done = await asyncio.create_subprocess_exec(
                sys.executable, "-m", service, "rebuild", cwd=ROOT, env=cli_env(self.stack, service)
            )
            if await done.wait() != 0:
                self.rebuild = f"python -m {service} rebuild failed"
                return
        after = await self.picture(like=before)
        changed = differences(before, after)
        self.rebuild_equal = not changed
        self.rebuild = "equal" if not changed else f"differs in {', '.join(changed)}"

    async def picture(self, like: dict[str, Any] | None = None) -> dict[str, Any]:
        """What the read models show of the campaign, once two readings agree (and agree with
        ``like``, when given; the last reading after a minute if they never do)."""
        last: dict[str, Any] = {}
        for _ in range(60):
            models = await self.read()
            now_ = {
                "ledger entries": sorted(models.entries.items()),
                "ledger booking requests": sorted(models.deal_clearance.items()),
                "risk exposure": models.exposure,
                "trial balance": await trial_balance(self.gateway, self.accountant),
            }
            if now_ == last and (like is None or now_ == like):
                return now_
            last = now_
            await asyncio.sleep(1)
        return last


async def login(gateway: httpx.AsyncClient, username: str) -> Headers:
    answer = await gateway.post(
        "/auth/login", json={"username": username, "password": f"demo-{username}"}
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def open_campaign(stack: MakeRunStack, gateway: httpx.AsyncClient, scale: float) -> Campaign:
    """Two accounts of a counterparty of its own, a limit that measures its exposure, and the
    load's callers: the accountant and the trading system's API key."""
    accountant = await login(gateway, "accountant")
    number = uuid.uuid4().int % 10**6
    accounts = []
    for code, name, kind in [(f"14{number:06d}", "Receivables", "asset"),
                             (f"84{number:06d}", "Revenue", "revenue")]:  # fmt: skip
        opened = await gateway.post(
            "/ledger/v1/accounts",
            json={"code": code, "name": name, "account_type": kind, "currency": "EUR"},
            headers=accountant,
        )
        opened.raise_for_status()
        accounts.append(str(opened.json()["id"]))
    party = Party((accounts[0], accounts[1]), f"FAULTS-{number:06d}")
    officer = await login(gateway, "risk-officer")
    requested = await gateway.post(
        "/risk/v1/limits",
        json={"dimension": "counterparty", "counterparty": party.counterparty,
              "currency": "EUR", "amount": LIMIT, "reason": "fault campaign"},
        headers=officer,
    )  # fmt: skip
    requested.raise_for_status()
    limit_id = str(requested.json()["id"])
    approved = await gateway.post(
        f"/risk/v1/limits/{limit_id}/approval",
        json={},
        headers=await login(gateway, "risk-officer-2"),
    )
    approved.raise_for_status()
    key = (Path(stack.env["BACKOFFICE_DATA_DIR"]) / "keys" / "demo-api-key.txt").read_text()
    load = Load(gateway, party, accountant, {"X-API-Key": key.strip()})
    faults = Faults(stack, scale)
    return Campaign(stack, gateway, faults, load, officer, limit_id, ReplicaFaults(faults))


async def run_rows(campaign: Campaign) -> None:
    faults, replicas = campaign.faults, campaign.replicas
    await campaign.row("one Kafka broker SIGKILLed, restarted", Rule(), faults.broker_killed)
    await campaign.row(
        f"Kafka down {faults.seconds(30):.0f} s (all three nodes)", Rule(), faults.kafka_down
    )
    await campaign.row(
        "PostgreSQL restarted (fast shutdown)", Rule(frozenset({503})), faults.postgres_restarted
    )
    in_flight = Rule(frozenset({502, 503}))  # only requests in flight on the killed replica
    ledgers, risks = len(replicas.replicas("ledger")), len(replicas.replicas("risk"))
    why = "" if ledgers >= 2 else f"replicas not available ({ledgers} ledger process)"
    await campaign.row(
        f"one of {ledgers} ledger replicas SIGKILLed", in_flight,
        replicas.replica_killed if not why else None, why,
    )  # fmt: skip
    await campaign.row(
        "the ledger's relay leader SIGKILLed", in_flight,
        replicas.relay_leader_killed if not why else None, why,
    )  # fmt: skip
    stuck = f"one of {risks} risk replicas stuck {faults.seconds(60, least=20):.0f} s (SIGSTOP)"
    if risks >= 2:
        await campaign.row(stuck, Rule(), lambda: replicas.consumer_stuck(campaign.uncleared))
    else:
        report = await campaign.row(
            f"risk stuck {faults.seconds(60, least=15):.0f} s (SIGSTOP)",
            Rule(),
            faults.consumer_stuck,
        )
        report.findings.notes.append("one risk process: no replica to take its partitions over")
    why = faults.why_no_disk_full() or ""
    disk = await campaign.row(
        "disk full for the event store", Rule(frozenset({503})), None if why else faults.disk_full,
        why,
    )  # fmt: skip
    if not why:
        await faults.disk_restored()
        if disk.findings.applied_unacknowledged:
            disk.findings.problems.append("a refused command was half-written")


async def run(stack: MakeRunStack, scale: float) -> Campaign:
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as gateway:
        campaign = await open_campaign(stack, gateway, scale)
        await run_rows(campaign)
        print("== rebuilding the ledger's and risk's read models", flush=True)
        await campaign.rebuild_changes_nothing()
        return campaign


def report(campaign: Campaign, scale: float, started: float) -> str:
    minutes = (time.monotonic() - started) / 60
    return (
        f"Fault campaign (issue 16): KAFKA_PROFILE=cluster, FAULT_SCALE={scale:g}, "
        f"{minutes:.1f} min\n\n{table(campaign.rows)}\n"
        f"After the last row, the ledger's and risk's read models rebuilt from Kafka: "
        f"{campaign.rebuild}.\n"
        "Checks after each row, over every command of the campaign so far: each acknowledged "
        "command once in the ledger's read models, risk's exposure equal to what the ledger "
        "holds, deals cleared, each topic's CloudEvent ids counted (read from offset 0 as the "
        "admin principal), the trial balance summing to zero, `python -m ledger verify`.\n"
    )


def main() -> int:
    scale = float(os.environ.get("FAULT_SCALE", "1"))
    data_dir = Path(os.environ.get("FAULTS_DATA_DIR") or ROOT / ".data" / "faults").resolve()
    shutil.rmtree(data_dir, ignore_errors=True)
    # The servers the faults take down (and every replica) listen below the ephemeral range:
    # see ports.py for the clients that otherwise take a dead server's port.
    taken: set[int] = set()
    ledgers, risks = (",".join(str(quiet_ports(1, taken)) for _ in range(2)) for _ in range(2))
    extra = {
        "KAFKA_PROFILE": "cluster",
        "KAFKA_CLUSTER_PORT": str(quiet_ports(3, taken)),
        "KAFKA_CLUSTER_CONTROLLER_PORT": str(quiet_ports(3, taken)),
        "PG_PORT": str(quiet_ports(1, taken)),
        # Two replicas of the ledger and of risk (LEDGER_PORT: the first, for the stack's tools).
        "LEDGER_PORTS": ledgers,
        "LEDGER_PORT": ledgers.split(",")[0],
        "RISK_PORTS": risks,
        "RISK_PORT": risks.split(",")[0],
        **{f"{name}_PORT": str(quiet_ports(1, taken)) for name in ("GATEWAY", "TICKETS")},
    }
    started = time.monotonic()
    print(f"starting the back office on a 3-broker cluster in {data_dir} ...", flush=True)
    with make_run_stack(data_dir, extra) as stack:
        campaign = asyncio.run(run(stack, scale))
    text = report(campaign, scale, started)
    print("\n" + text, flush=True)
    (data_dir / "fault-campaign.md").write_text(text)
    print(f"(written to {data_dir / 'fault-campaign.md'})")
    ran = [row for row in campaign.rows if not row.not_run]
    return 0 if all(row.holds for row in ran) and campaign.rebuild_equal else 1


if __name__ == "__main__":
    sys.exit(main())
