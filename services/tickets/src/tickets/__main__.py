"""Tickets commands: ``python -m tickets migrate | rebuild``."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from shared_kernel.migrations import upgrade
from shared_kernel.rebuild import rebuild_service

from tickets.bootstrap import TicketsSettings, bootstrap

MIGRATIONS = Path(__file__).parent / "migrations"


async def _rebuild() -> None:
    settings = TicketsSettings(run_relay=False, run_projections=False, run_sla_scheduler=False)
    await rebuild_service(bootstrap(settings).runtime)


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
