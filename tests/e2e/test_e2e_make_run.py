"""The documented commands, run as a user runs them, against a stack that `make run` started:
`make rebuild`, `python -m ledger verify`, the demo data, a service killed under the
supervisor, and /docs in a browser without internet."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.make_run_stack import ROOT, MakeRunStack, make_run_stack, service_pid

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The console's screenshots the README shows are taken here, from the demo data.
SCREENSHOTS_FOR_README = Path(os.environ.get("CONSOLE_SCREENSHOTS") or ROOT / ".screenshots")


@pytest.fixture(scope="module")
def stack() -> Iterator[MakeRunStack]:
    # Not below pytest's tmp_path: every pytest session makes that tree private to its user
    # again (0700) and prunes old runs, and PostgreSQL runs as a user of its own when we are root.
    data_dir = Path(tempfile.mkdtemp(prefix="backoffice-make-run-"))
    try:
        with make_run_stack(data_dir) as running:
            yield running
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def login(client: httpx.Client, username: str) -> dict[str, str]:
    answer = client.post("/auth/login", json={"username": username, "password": f"demo-{username}"})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def run(stack: MakeRunStack, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command),
        cwd=ROOT,
        env=stack.cli_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_make_rebuild_and_verify_work_against_make_run(stack: MakeRunStack) -> None:
    rebuilt = run(stack, "make", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    for read_model in (
        "ledger_view_v4",
        "tickets_view_v2",
        "register_view_v1",
        "limit_view_v2",
        "case_timeline_v1",
    ):
        assert f"{read_model}: generation 2 live" in rebuilt.stdout, rebuilt.stdout

    verified = run(stack, sys.executable, "-m", "ledger", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("INTACT: ")
    checked = int(verified.stdout.split("checked ")[1].split()[0])
    assert checked >= 40  # the demo month's postings and the chart at least
    risk = run(stack, sys.executable, "-m", "risk", "verify")
    assert risk.returncode == 0 and risk.stdout.startswith("INTACT: "), risk.stdout + risk.stderr


def get(client: httpx.Client, path: str, headers: dict[str, str]) -> Any:
    answer = client.get(path, headers=headers)
    assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text}"
    return answer.json()


def read_when_caught_up(
    client: httpx.Client, path: str, position: int, headers: dict[str, str]
) -> Any:
    """The read model's answer once it has applied ``position`` (bounded: 90 s)."""
    deadline = time.monotonic() + 90
    while True:
        answer = client.get(
            path, params={"min_position": position, "wait_ms": 5000}, headers=headers
        )
        if answer.headers.get("X-Consistent") == "true" or time.monotonic() > deadline:
            assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text}"
            return answer.json()
        time.sleep(0.5)


def demo_picture(client: httpx.Client) -> dict[str, Any]:
    """What a user sees of the demo data, as comparable numbers."""
    accountant, risk, support = (
        login(client, u) for u in ("accountant", "risk-officer", "it-support")
    )
    period = datetime.now(UTC).strftime("%Y-%m")
    trial = get(client, f"/ledger/v1/reports/trial-balance?period={period}", accountant)
    requests = get(client, "/ledger/v1/booking-requests?status=pending&limit=200", accountant)
    tickets = get(client, "/tickets/v1/tickets?limit=200", support)["items"]
    heat = get(client, "/risk/v1/reports/heat-map", risk)
    utilisation = get(client, "/risk/v1/reports/limit-utilisation", risk)["items"]
    kris = {k["kri_id"]: k for k in get(client, "/risk/v1/kris", risk)["items"]}
    history = get(client, "/risk/v1/kris/failed-payments/measurements", risk)["items"]
    return {
        "trial": trial,
        "pending": sorted(r["voucher_number"] for r in requests["items"]),
        "tickets": sorted((t["status"], t["title"]) for t in tickets),
        "heat": heat,
        "limits": utilisation,
        "kris": {kri_id: (k["status"], k.get("current_value")) for kri_id, k in kris.items()},
        "history": len(history),
    }


def test_make_run_seeds_a_month_of_business_once(stack: MakeRunStack) -> None:
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as client:
        seen = demo_picture(client)
        assert len(seen["pending"]) >= 3
        statuses = {status for status, _ in seen["tickets"]}
        assert {"new", "open", "pending", "resolved", "closed", "cancelled"} <= statuses
        assert seen["kris"]["failed-payments"][0] == "amber" and seen["history"] >= 5
        assert seen["limits"]

        sys.path.insert(0, str(ROOT / "deploy"))
        import demo_data

        demo_data.seed(stack.gateway_url)  # make run seeds again at every start
        time.sleep(3)  # let the projections apply anything a second seeding might have added
        assert demo_picture(client) == seen


def test_a_killed_service_comes_back_and_keeps_acknowledged_writes(stack: MakeRunStack) -> None:
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as client:
        accountant = login(client, "accountant")
        accounts = get(client, "/ledger/v1/accounts?limit=200", accountant)["items"]
        ids = {a["code"]: a["account_id"] for a in accounts}
        posted = []
        for number in range(5):
            entry = {
                "voucher_number": f"KILL-{uuid.uuid4().hex[:8]}-{number}",
                "booking_date": datetime.now(UTC).date().isoformat(),
                "text": "posted just before the ledger is killed",
                "lines": [
                    {
                        "account_id": ids["4930"],
                        "side": "debit",
                        "amount": 1000 + number,
                        "currency": "EUR",
                    },
                    {
                        "account_id": ids["1000"],
                        "side": "credit",
                        "amount": 1000 + number,
                        "currency": "EUR",
                    },
                ],
            }
            answer = client.post("/ledger/v1/journal-entries", json=entry, headers=accountant)
            assert answer.status_code == 201, answer.text
            posted.append((answer.json()["id"], answer.json()["position"], entry["voucher_number"]))

        gateway_before = service_pid(stack, "tickets")
        os.kill(service_pid(stack, "ledger"), signal.SIGKILL)

        deadline = time.monotonic() + 30
        back = False
        while time.monotonic() < deadline and not back:
            try:
                back = httpx.get(
                    f"http://127.0.0.1:{stack.port('ledger')}/health", timeout=2
                ).is_success
            except httpx.TransportError:
                time.sleep(0.5)
        assert back, f"the ledger did not answer within 30 s:\n{stack.log_tail()}"
        assert "supervisor: ledger" in stack.log.read_text()
        assert service_pid(stack, "tickets") == gateway_before  # the others stayed up

        # Acknowledged means stored: once the restarted ledger's projection has caught up to
        # each entry's position (its consumer group may first wait out the killed member's
        # session), every entry reads back as it was posted.
        for entry_id, position, voucher in posted:
            seen = read_when_caught_up(
                client, f"/ledger/v1/journal-entries/{entry_id}", position, accountant
            )
            assert seen["voucher_number"] == voucher


@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (apt-get install chromium)")
async def test_docs_list_the_operations_without_internet(
    stack: MakeRunStack, tmp_path: Path
) -> None:
    from playwright.async_api import Route, async_playwright

    async def offline(route: Route) -> None:
        # No internet: anything not served by this machine fails, as behind a closed firewall.
        if route.request.url.startswith("http://127.0.0.1:"):
            await route.continue_()
        else:
            await route.abort()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = await browser.new_page()
            await page.route("**/*", offline)
            await page.goto(f"{stack.gateway_url}/docs")
            login = page.locator('.opblock-summary-path[data-path="/auth/login"]')
            await login.wait_for(timeout=30_000)
            ledger = page.locator('.opblock-summary-path[data-path="/ledger/v1/journal-entries"]')
            assert await ledger.count() >= 1
            shot = Path(os.environ.get("DOCS_SCREENSHOT", tmp_path / "docs.png"))
            await page.screenshot(path=str(shot), full_page=False)
        finally:
            await browser.close()


@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (apt-get install chromium)")
async def test_a_day_at_the_console_without_a_terminal(stack: MakeRunStack) -> None:
    """As a new user: open the console address `make run` printed, log in as the trader and
    submit a booking request with the demo chart, then as the accountant find it in My work,
    approve it and see it in the trial balance; a look at the risk heat map and the ticket
    queue of the demo data. The screenshots are the README's (docs/console/)."""
    from playwright.async_api import expect

    from tests.e2e.browser import chromium, log_in, offline_page, shoot

    printed = re.search(r"Operator console\s+(http://\S+)", stack.log.read_text())
    assert printed, stack.log_tail()
    console = printed.group(1).rstrip("/")
    assert console == stack.console_url
    voucher = f"DAY-{uuid.uuid4().hex[:6]}"
    async with chromium() as browser:
        trader = await offline_page(browser)
        await log_in(trader, console, "trader")
        await trader.get_by_role("navigation").get_by_role("link", name="Ledger").click()
        await trader.get_by_role("link", name="New booking request").click()
        await trader.get_by_label("Voucher number").fill(voucher)
        await trader.get_by_label("Booking text").fill("Advisory fee, ACME GmbH")
        for row, code, side in [(1, "1200", "debit"), (2, "8400", "credit")]:
            account = trader.locator(f"#line-{row}-account option", has_text=f"{code} ")
            await trader.locator(f"#line-{row}-account").select_option(
                await account.first.get_attribute("value")
            )
            await trader.locator(f"#line-{row}-side").select_option(side)
            await trader.locator(f"#line-{row}-amount").fill("2,500.00")
        await trader.get_by_role("button", name="Submit for approval").click()
        await trader.get_by_role(
            "heading", name=re.compile(f"Booking request {voucher}")
        ).wait_for()
        assert await trader.get_by_role("button", name="Approve and post").count() == 0

        accountant = await offline_page(browser)
        await log_in(accountant, console, "accountant")
        await accountant.get_by_role("link", name=voucher).wait_for()
        await shoot(accountant, "my-work", SCREENSHOTS_FOR_README)
        revenue = accountant.get_by_role("row", name=re.compile(r"^8400 "))
        await accountant.goto(f"{console}/ledger/trial-balance")
        before = euros(await revenue.inner_text())
        await accountant.goto(f"{console}/")
        await accountant.get_by_role("link", name=voucher).click()
        await accountant.get_by_role("button", name="Approve and post").click()
        await expect(accountant.get_by_text("approved", exact=True)).to_be_visible()
        await accountant.goto(f"{console}/ledger/trial-balance")
        after = euros(await revenue.inner_text())
        # The revenue account's credits (and its balance) grew by the request's EUR 2,500.00.
        assert [round(a - b, 2) for a, b in zip(after, before, strict=True)].count(2500.0) >= 1

        risk = await offline_page(browser)
        await log_in(risk, console, "risk-officer")
        await risk.get_by_role("navigation").get_by_role("link", name="Risk").click()
        await risk.get_by_role(
            "heading", name=re.compile("heat map", re.IGNORECASE)
        ).first.wait_for()
        await shoot(risk, "heat-map", SCREENSHOTS_FOR_README)

        support = await offline_page(browser)
        await log_in(support, console, "it-support")
        await support.get_by_role("navigation").get_by_role("link", name="Tickets").click()
        await support.get_by_role("heading", name=re.compile("Tickets")).first.wait_for()
        await shoot(support, "tickets", SCREENSHOTS_FOR_README)


def euros(text: str) -> list[float]:
    """The amounts of a row as the English console writes them ("€1,234.56")."""
    return [float(a.replace(",", "")) for a in re.findall(r"€(-?[\d,]+\.\d\d)", text)]


def readme_examples(title: str = "Trying it") -> list[str]:
    """The shell blocks of a section of the README, as a user copies them."""
    text = (ROOT / "README.md").read_text()
    section = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    return [block.split("\n```", 1)[0] for block in section.split("```bash\n")[1:]]


def on_this_stack(stack: MakeRunStack, script: str) -> str:
    """A README command with `make run`'s default ports and data directory replaced by this
    stack's."""
    ports = {"8000": "gateway", "8001": "ledger", "8002": "tickets", "8003": "risk"}
    for default, name in ports.items():
        for host in ("localhost", "127.0.0.1"):
            script = script.replace(f"{host}:{default}", f"{host}:{stack.port(name)}")
    return script.replace("127.0.0.1:9092", f"127.0.0.1:{stack.env['KAFKA_PORT']}").replace(
        ".data/keys/", f"{stack.env['BACKOFFICE_DATA_DIR']}/keys/"
    )


def run_readme_block(stack: MakeRunStack, block: str) -> str:
    """A README block run by bash against this stack (only its ports and data directory are
    its own); returns what it printed."""
    script = on_this_stack(stack, block)
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_readme_examples_run_as_written(stack: MakeRunStack) -> None:
    """Each command of the README's "Trying it", run by bash against a stack started as
    `make run` starts it; only the ports and the data directory are this stack's own."""
    blocks = readme_examples()
    assert len(blocks) == 3, "the README's Trying it section changed shape"
    ledger, support_and_risk, story = (run_readme_block(stack, block) for block in blocks)
    assert '"code":"1200"' in ledger and '"position":' in ledger
    assert '"balance":' in ledger.split('"position":', 1)[1]  # the account read after the post
    assert "ledger.JournalEntryPosted.v1" in ledger
    assert "Order entry down" in support_and_risk
    assert '"allowed":' in support_and_risk and '"inherent"' in support_and_risk
    assert '"code":"DealRefused"' in story  # the second deal, before the limit was raised
    assert '{"status":"cleared","recheck":true}' in story
    timeline = story.split('"recheck":true}', 1)[1]
    for step in (
        "ledger BookingRequestSubmitted",
        "risk DealCleared",
        "ledger BookingRequestCleared",
        "ledger BookingRequestApproved",
        "ledger JournalEntryPosted",
    ):
        service, kind = step.split()
        assert f"{service} {service}.{kind}:" in timeline, timeline


async def test_the_data_contracts_commands_run_as_written(stack: MakeRunStack) -> None:
    """The README's "Data contracts": the AsyncAPI document and the schemas at the gateway,
    and `make contracts` (nothing to rewrite in a checkout whose schemas are current). The
    events on Kafka name their schema at this gateway, and it answers."""
    blocks = readme_examples("Data contracts")
    assert len(blocks) == 2, "the README's Data contracts section changed shape"
    served, contracts = (run_readme_block(stack, block) for block in blocks)
    topics = served.splitlines()
    assert {"ledger.events", "gateway.audit", "risk.dead-letter-notices"} <= set(topics)
    assert '["entry_id","voucher_number","booking_date","text","lines"]' in served
    gateway = f"http://127.0.0.1:{stack.port('gateway')}"
    assert f"{gateway}/schemas/backoffice/backoffice.DeadLettered.v1.json" in served
    assert "event schemas, 0 rewritten" in contracts

    event = await first_event(f"127.0.0.1:{stack.env['KAFKA_PORT']}", "ledger.events")
    assert event["dataschema"] == f"{gateway}/schemas/ledger/{event['type']}.json"
    async with httpx.AsyncClient(timeout=30) as client:
        schema = (await client.get(event["dataschema"])).json()
    assert schema["title"] == event["type"] and schema["$id"] == event["dataschema"]


async def first_event(bootstrap: str, topic: str) -> dict[str, Any]:
    """The first CloudEvent on a topic, read as a data team would: from offset zero."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), timeout=60)
    finally:
        await consumer.stop()
    event: dict[str, Any] = json.loads(record.value or b"{}")
    return event


def test_the_health_and_logs_examples_run_as_written(stack: MakeRunStack) -> None:
    """The README's "Health and logs" commands against the make-run stack: the ledger and the
    gateway are ready, listing their checks; the services' log lines are text for people."""
    [block] = readme_examples("Health and logs")
    deadline = time.monotonic() + 90  # another test may just have killed the ledger
    while True:
        ledger, gateway = run_readme_block(stack, block).splitlines()
        if all('"status":"ready"' in line for line in (ledger, gateway)):
            break
        if time.monotonic() > deadline:
            break
        time.sleep(1)
    assert ledger.startswith('{"status":"ready","checks":[{"name":"database","ok":true'), ledger
    assert '"name":"kafka","ok":true' in ledger and '"name":"inbox risk_clearances"' in ledger
    assert gateway.startswith('{"status":"ready"'), gateway
    for service in ("ledger", "tickets", "risk"):
        assert f'{{"name":"service {service}","ok":true,"detail":"ready"}}' in gateway
    # make run's services write text lines: ISO time, level, service, logger, [request actor].
    lines = stack.log.read_text()
    assert re.search(r"^\S+Z INFO (ledger|tickets|risk|gateway) \S+ \[", lines, re.M), lines[-3000:]


def test_the_data_teams_example_loads_the_demo_ledger_as_written(
    stack: MakeRunStack, tmp_path: Path
) -> None:
    """The README's data-team commands against a stack started as `make run` starts it: every
    event of the demo ledger validates against its committed schema and lands in DuckDB."""
    database = tmp_path / "ledger.duckdb"
    [script] = readme_examples("For data teams")
    assert "127.0.0.1:9092" in script and "/tmp/ledger.duckdb" in script
    script = script.replace("127.0.0.1:9092", f"127.0.0.1:{stack.env['KAFKA_PORT']}").replace(
        "/tmp/ledger.duckdb", str(database)
    )
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
    loaded = re.search(r"loaded (\d+) new events .*; refused 0\n", done.stdout)
    assert loaded and int(loaded.group(1)) >= 40, done.stdout  # the demo month at least
    assert "account_code" in done.stdout and "debits" in done.stdout, done.stdout

    with duckdb.connect(str(database), read_only=True) as loaded_db:
        types = dict(loaded_db.execute("SELECT type, count(*) FROM events GROUP BY 1").fetchall())
        balance = loaded_db.execute(
            "SELECT currency, sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) "
            "FROM journal_lines GROUP BY 1"
        ).fetchall()
    assert types.get("ledger.JournalEntryPosted.v1", 0) >= 20, types
    assert all(total == 0 for _, total in balance) and balance, balance  # the journal balances

    # The same loader over the demo's other topics: every event of them keeps its contract.
    for topic in ("risk.events", "tickets.events", "gateway.events", "gateway.audit"):
        loaded_topic = subprocess.run(
            [
                sys.executable,
                "examples/load_events_into_duckdb.py",
                "--bootstrap",
                f"127.0.0.1:{stack.env['KAFKA_PORT']}",
                "--topic",
                topic,
                "--database",
                str(tmp_path / "office.duckdb"),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert loaded_topic.returncode == 0, f"{topic}: {loaded_topic.stdout}{loaded_topic.stderr}"
        assert "; refused 0" in loaded_topic.stdout, loaded_topic.stdout


# Last in this module on purpose: it puts a poison record on the stack's ledger topic, which
# the tests above must not meet (a dead letter, and an incident the tickets service opens).
def test_the_readme_observability_commands_run_as_written(stack: MakeRunStack) -> None:
    """The README's metrics commands, then its projection broken on purpose: the dead-letter
    counter of the ledger's projection moves."""
    blocks = readme_examples("Observability")
    assert len(blocks) == 2, "the README's Observability section changed shape"
    outputs = [run_readme_block(stack, block) for block in blocks]
    metrics, broken = map(samples, outputs)
    lags = [v for (name, _), v in metrics.items() if name == "backoffice_projection_lag_messages"]
    assert lags, outputs[0]
    assert ("backoffice_relay_lag_positions", frozenset({("service", "ledger")})) in metrics
    requests = [labels for name, labels in metrics if name == "backoffice_http_requests_total"]
    routes = {dict(labels)["route"] for labels in requests}
    assert routes and all(route.startswith("/ledger/v1/") for route in routes)
    runs = ("service", "tickets"), ("sweeper", "sla")
    assert metrics[("backoffice_sweeper_runs_total", frozenset(runs))] >= 1
    assert any(name == "backoffice_inbox_lag_messages" for name, _ in metrics)
    dead = {
        dict(labels)["consumer"]: value
        for (name, labels), value in broken.items()
        if name == "backoffice_dead_letters_total" and ("service", "ledger") in labels
    }
    assert [v for consumer, v in dead.items() if consumer.startswith("ledger_view")] == [1.0]


def samples(exposition: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Prometheus text (lines of it, as grep leaves them), parsed: value by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }
