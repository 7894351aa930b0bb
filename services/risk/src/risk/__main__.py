"""Risk commands: ``python -m risk migrate | rebuild | verify | redrive <inbox>``.

``verify`` checks the hash chain of the service's event store; it exits 0 when the chain is
intact, 1 when it is broken, 2 when it could not check. ``redrive`` handles again what the
inbox dead-lettered (once its cause is fixed): 0 when none failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from shared_kernel.db import create_engine
from shared_kernel.eventstore import PostgresEventStore
from shared_kernel.migrations import upgrade
from shared_kernel.rebuild import rebuild_service
from shared_kernel.redrive import redrive_service

from risk.bootstrap import SERVICE, RiskSettings, bootstrap

MIGRATIONS = Path(__file__).parent / "migrations"


def _quiet() -> RiskSettings:
    # Only the command's work: no relay, no live projections, no inboxes, no background loops.
    return RiskSettings(
        run_relay=False, run_projections=False, run_inboxes=False, run_acceptance_sweeper=False
    )


async def _rebuild() -> None:
    await rebuild_service(bootstrap(_quiet()).runtime)


async def _redrive(consumer: str) -> int:
    report = await redrive_service(bootstrap(_quiet()).runtime, consumer)
    return 0 if report.clean else 1


async def _verify() -> int:
    """Needs the database only (no Kafka)."""
    engine = create_engine(RiskSettings().database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            report = await PostgresEventStore(source=f"/{SERVICE}").verify_chain(conn)
    except Exception as exc:
        print(f"could not verify the event store: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    if report.broken_at is None:
        print(f"INTACT: {report.checked} events checked")
    else:
        broken = report.broken_at
        print(
            f"BROKEN at position {broken.position} ({broken.event_type} of {broken.subject}); "
            f"{report.checked} events before it are intact"
        )
    return 0 if report.intact else 1


def main() -> None:
    parser = argparse.ArgumentParser(prog="risk")
    parser.add_argument("command", choices=["migrate", "rebuild", "verify", "redrive"])
    parser.add_argument("consumer", nargs="?", help="redrive: the inbox, e.g. risk.<name>")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.command != "verify" else logging.WARNING)
    if args.command == "migrate":
        upgrade(RiskSettings().database_url, MIGRATIONS)
    elif args.command == "rebuild":
        asyncio.run(_rebuild())
    elif args.command == "redrive":
        if args.consumer is None:
            parser.error("redrive needs the inbox: python -m risk redrive <consumer>")
        sys.exit(asyncio.run(_redrive(args.consumer)))
    else:
        sys.exit(asyncio.run(_verify()))


if __name__ == "__main__":
    main()
