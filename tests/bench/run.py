"""``make bench``: the benchmarks beside their same-run baselines, then issue 14's table.

Each figure is printed beside its baseline measured in the same run; the closing table has a
row per figure of issue 14 (figure, measured, baseline, ratio, goal, met), the load average at
the start and the end and the git commit.

    .venv/bin/python tests/bench/run.py [append relay rebuild http gateway ledger-bulk
                                          risk risk-exposure lag tickets tickets-queue
                                          clearance ledger-books console traces
                                          replicas]
                                          [--all] [--profile]

Without names it runs the default set (every benchmark but the long ``ledger-books`` and
``console``); ``--all`` runs every one. Needs a PostgreSQL server (``BENCH_DATABASE_URL``) and
Kafka (``KAFKA_BOOTSTRAP_SERVERS``); ``deploy/bench.sh`` starts throw-away ones on bench ports.
A benchmark that fails is reported and the others still run; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import platform
import sys
import time
import traceback
from collections.abc import Awaitable, Callable

from bench_common import CREATED, Report, end_connections, kafka_bootstrap, server_url
from bench_figures import git_commit, load_average, table

BENCHMARKS: dict[str, tuple[str, str, float]] = {
    # name: (title, module with ``async def run(report)``, time limit in seconds)
    "append": ("1. event store append, beside the eventsourcing library", "bench_append", 180),
    "relay": ("2. outbox relay to Kafka", "bench_relay", 150),
    "rebuild": ("3. rebuild from Kafka", "bench_rebuild", 240),
    "http": ("4. journal entries over HTTP", "bench_http", 240),
    "gateway": ("5. gateway overhead and CPU, GET one account", "bench_gateway_overhead", 240),
    "ledger-bulk": ("6. ledger: bulk posting", "bench_ledger_bulk", 300),
    "risk": ("7. risk: pre-deal check, heat map over 10k risks", "bench_risk", 240),
    "risk-exposure": (
        "8. risk: exposure projection from ledger events",
        "bench_risk_exposure",
        240,
    ),
    "lag": ("9. command -> read model lag at half the maximum load", "bench_lag", 150),
    "tickets": ("10. tickets: opening tickets over HTTP", "bench_tickets", 180),
    "tickets-queue": ("11. tickets: queue view and SLA sweep, 100k", "bench_tickets_queue", 300),
    "clearance": ("12. deal clearance: submission -> cleared", "bench_clearance", 240),
    "ledger-books": ("13. ledger: trial balance, verify, 1M", "bench_ledger_books", 1200),
    "console": ("14. console: server time and weight per page", "bench_console", 900),
    "traces": ("15. traces: CPU per request, off and on", "bench_traces", 300),
    "replicas": ("16. ledger replicas on a three-broker cluster", "bench_replicas", 900),
}
# Long ones (a million events; every console page; a Kafka cluster): by name or with --all.
LONG = ("ledger-books", "console", "replicas")


async def within(benchmark: Awaitable[None], limit: float) -> bool:
    """Runs ``benchmark`` for at most ``limit`` seconds; False when it was stopped. A stopped
    benchmark is cancelled; should the cancellation hang (asyncpg waiting on the server in the
    middle of an executemany), the connections to the databases it created are ended, and
    after that it is left behind rather than holding up the rest."""
    created = len(CREATED)
    task = asyncio.ensure_future(benchmark)
    done, _ = await asyncio.wait({task}, timeout=limit)
    if done:
        task.result()  # its exception, if it failed
        return True
    task.cancel()
    await asyncio.wait({task}, timeout=10)
    if not task.done():
        await end_connections(CREATED[created:])
        await asyncio.wait({task}, timeout=30)
    if not task.done():
        print("    WARNING: the stopped benchmark is still running, left behind", flush=True)
    elif not task.cancelled():
        task.exception()  # retrieved: a failure while stopping is not reported twice
    return False


async def main(selected: list[str]) -> int:
    report = Report()
    failed: list[str] = []
    began = time.perf_counter()
    load_at_start = load_average()
    print(
        f"bench: PostgreSQL {server_url()}, Kafka {kafka_bootstrap()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}",
        flush=True,
    )
    for name in selected:
        title, module, limit = BENCHMARKS[name]
        print(f"\n== {title} ==", flush=True)
        started = time.perf_counter()
        try:
            # Imported here: a service that is mid-change fails its own benchmarks only.
            run: Callable[[Report], Awaitable[None]] = importlib.import_module(module).run
            if not await within(run(report), limit):
                report.say(f"{title}: FAILED, not done within {limit:.0f}s")
                failed.append(name)
        except Exception as exc:
            traceback.print_exc()
            report.say(f"{title}: FAILED, {type(exc).__name__}: {exc}")
            failed.append(name)
        print(f"    ({time.perf_counter() - started:.0f}s)", flush=True)
    print(f"\n== summary ({time.perf_counter() - began:.0f}s) ==")
    for line in report.lines:
        print(line)
    # Issue 14's table when a figure of it was measured; the run's conditions always.
    figures = any(result.figure for result in report.results)
    heading = "issue 14's table" if figures else "run"
    print(f"\n== {heading}: {', '.join(selected)} ==")
    print(f"commit {git_commit()}; load average at start {load_at_start}, at end {load_average()}")
    print(f"failed: {', '.join(failed)}" if failed else "failed: none")
    for line in table(report.results) if figures else []:
        print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "benchmarks",
        nargs="*",
        help=f"any of {', '.join(BENCHMARKS)} (default: all but {', '.join(LONG)})",
    )
    parser.add_argument("--all", action="store_true", help="every benchmark, the long ones too")
    parser.add_argument("--profile", action="store_true", help="cProfile the measured sections")
    args = parser.parse_args()
    unknown = sorted(set(args.benchmarks) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    if args.profile:
        os.environ["BENCH_PROFILE"] = "1"
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    default = [name for name in BENCHMARKS if args.all or name not in LONG]
    sys.exit(asyncio.run(main(args.benchmarks or default)))
