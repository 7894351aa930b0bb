"""Ledger commands: ``python -m ledger migrate | rebuild``."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from shared_kernel.migrations import upgrade
from shared_kernel.rebuild import rebuild

from ledger.bootstrap import LedgerSettings, bootstrap

MIGRATIONS = Path(__file__).parent / "migrations"


async def _rebuild() -> None:
    ledger = bootstrap(LedgerSettings(run_relay=False, run_projections=False))
    await ledger.runtime.start()
    try:
        for projection in ledger.runtime.projections:
            report = await rebuild(
                projection,
                ledger.runtime.read_models[projection.name],
                ledger.runtime.settings.kafka_bootstrap_servers,
                ledger.runtime.dead_letters(),
            )
            print(
                f"{projection.name}: generation {report.generation} live, "
                f"{report.events} events in {report.seconds:.2f}s "
                f"({report.events_per_second:,.0f}/s)"
            )
    finally:
        await ledger.runtime.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="ledger")
    parser.add_argument("command", choices=["migrate", "rebuild"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    if args.command == "migrate":
        upgrade(LedgerSettings().database_url, MIGRATIONS)
    else:
        asyncio.run(_rebuild())


if __name__ == "__main__":
    main()
