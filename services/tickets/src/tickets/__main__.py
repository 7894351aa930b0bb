"""Tickets commands: ``python -m tickets migrate | rebuild``."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from shared_kernel.migrations import upgrade
from shared_kernel.rebuild import rebuild

from tickets.bootstrap import TicketsSettings, bootstrap

MIGRATIONS = Path(__file__).parent / "migrations"


async def _rebuild() -> None:
    service = bootstrap(TicketsSettings(run_relay=False, run_projections=False))
    await service.runtime.start()
    try:
        for projection in service.runtime.projections:
            report = await rebuild(
                projection,
                service.runtime.read_models[projection.name],
                service.runtime.settings.kafka_bootstrap_servers,
                service.runtime.dead_letters(),
            )
            print(
                f"{projection.name}: generation {report.generation} live, "
                f"{report.events} events in {report.seconds:.2f}s "
                f"({report.events_per_second:,.0f}/s)"
            )
    finally:
        await service.runtime.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="tickets")
    parser.add_argument("command", choices=["migrate", "rebuild"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    if args.command == "migrate":
        upgrade(TicketsSettings().database_url, MIGRATIONS)
    else:
        asyncio.run(_rebuild())


if __name__ == "__main__":
    main()
