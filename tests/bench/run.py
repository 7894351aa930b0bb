"""``make bench``: every benchmark, each figure printed beside its baseline from the same run.

    .venv/bin/python tests/bench/run.py [append relay rebuild http gateway ledger-bulk
                                          ledger-books tickets tickets-queue risk
                                          risk-exposure clearance console] [--profile]

Needs a PostgreSQL server (``BENCH_DATABASE_URL``) and Kafka (``KAFKA_BOOTSTRAP_SERVERS``);
``deploy/bench.sh`` starts throw-away ones on bench ports. A benchmark that fails is reported
and the others still run; the exit status is then 1.
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

from bench_common import Report, kafka_bootstrap, server_url

BENCHMARKS: dict[str, tuple[str, str, float]] = {
    # name: (title, module with ``async def run(report)``, time limit in seconds)
    "append": ("1. event store append", "bench_append", 150),
    "relay": ("2. outbox relay to Kafka", "bench_relay", 150),
    "rebuild": ("3. rebuild from Kafka", "bench_rebuild", 240),
    "http": ("4. journal entries over HTTP", "bench_http", 180),
    "gateway": ("5. gateway overhead, GET one account", "bench_gateway_overhead", 180),
    "ledger-bulk": ("6. ledger: bulk posting", "bench_ledger_bulk", 300),
    "ledger-books": ("7. ledger: trial balance, verify, 1M", "bench_ledger_books", 1200),
    "tickets": ("8. tickets: opening tickets over HTTP", "bench_tickets", 180),
    "tickets-queue": ("9. tickets: queue view and SLA sweep, 100k", "bench_tickets_queue", 300),
    "risk": ("10. risk: pre-deal check, heat map over 10k risks", "bench_risk", 240),
    "risk-exposure": (
        "11. risk: exposure projection from ledger events",
        "bench_risk_exposure",
        240,
    ),
    "clearance": ("12. deal clearance: submission -> cleared", "bench_clearance", 240),
    "console": ("13. console: server time and weight per page", "bench_console", 900),
}


async def main(selected: list[str]) -> int:
    report = Report()
    failed: list[str] = []
    began = time.perf_counter()
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
            await asyncio.wait_for(run(report), timeout=limit)
        except TimeoutError:
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
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmarks", nargs="*", help=f"any of {', '.join(BENCHMARKS)} (all)")
    parser.add_argument("--profile", action="store_true", help="cProfile the measured sections")
    args = parser.parse_args()
    unknown = sorted(set(args.benchmarks) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    if args.profile:
        os.environ["BENCH_PROFILE"] = "1"
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(asyncio.run(main(args.benchmarks or list(BENCHMARKS))))
