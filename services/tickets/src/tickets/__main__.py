"""Tickets commands: ``python -m tickets migrate | rebuild | redrive <inbox>``.

``redrive`` handles again what the inbox dead-lettered (once its cause is fixed); it exits 0
when none failed (and announces the inbox's recovery), 1 otherwise."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from shared_kernel.migrations import upgrade
from shared_kernel.rebuild import rebuild_service
from shared_kernel.redrive import redrive_service

from tickets.bootstrap import TicketsSettings, bootstrap

MIGRATIONS = Path(__file__).parent / "migrations"


# Only the command's work: no relay, no live projections, no inboxes, no background loops.
def _quiet() -> TicketsSettings:
    return TicketsSettings(
        run_relay=False, run_projections=False, run_inboxes=False, run_sla_scheduler=False
    )


async def _rebuild() -> None:
    await rebuild_service(bootstrap(_quiet()).runtime)


async def _redrive(consumer: str) -> int:
    report = await redrive_service(bootstrap(_quiet()).runtime, consumer)
    return 0 if report.clean else 1


def main() -> None:
    parser = argparse.ArgumentParser(prog="tickets")
    parser.add_argument("command", choices=["migrate", "rebuild", "redrive"])
    parser.add_argument("consumer", nargs="?", help="redrive: the inbox, e.g. tickets.<name>")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    if args.command == "migrate":
        upgrade(TicketsSettings().database_url, MIGRATIONS)
    elif args.command == "rebuild":
        asyncio.run(_rebuild())
    elif args.consumer is None:
        parser.error("redrive needs the inbox: python -m tickets redrive <consumer>")
    else:
        sys.exit(asyncio.run(_redrive(args.consumer)))


if __name__ == "__main__":
    main()
