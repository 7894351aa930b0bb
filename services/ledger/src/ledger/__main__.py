"""Ledger commands: ``python -m ledger migrate | rebuild | verify | redrive <inbox>``.

``redrive`` handles again what the inbox (risk's clearances) dead-lettered, once its cause is
fixed; it exits 0 when none failed (and announces the inbox's recovery), 1 otherwise.

``verify`` recomputes the journal's hash chain and names the first entry that does not
match; it exits 0 when the chain is intact, 1 when it is broken, 2 when it could not check.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from shared_kernel.db import create_engine
from shared_kernel.eventstore import PostgresEventStore
from shared_kernel.migrations import upgrade
from shared_kernel.rebuild import rebuild_service
from shared_kernel.redrive import redrive_service

from ledger.app.verification import JournalVerifier
from ledger.bootstrap import SERVICE, LedgerSettings, bootstrap

MIGRATIONS = Path(__file__).parent / "migrations"


def _quiet() -> LedgerSettings:
    """Only the command's work: no relay, no live projections, no inboxes."""
    return LedgerSettings(run_relay=False, run_projections=False, run_inboxes=False)


async def _rebuild() -> None:
    await rebuild_service(bootstrap(_quiet()).runtime)


async def _redrive(consumer: str) -> int:
    report = await redrive_service(bootstrap(_quiet()).runtime, consumer)
    return 0 if report.clean else 1


async def _verify(as_json: bool) -> int:
    """Needs the database only (no Kafka)."""
    engine = create_engine(LedgerSettings().database_url, pool_size=1)
    try:
        result = await JournalVerifier(engine, PostgresEventStore(source=f"/{SERVICE}")).verify()
    except Exception as exc:
        print(f"could not verify the journal: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    if as_json:
        print(json.dumps(result, default=str, indent=2))
    else:
        print(("INTACT: " if result["intact"] else "BROKEN: ") + result["detail"])
        mismatch = result["first_mismatch"]
        if mismatch:
            for key in ("entry_id", "voucher_number", "event_id", "event_type", "position"):
                if mismatch.get(key) is not None:
                    print(f"  {key}: {mismatch[key]}")
        print(f"  checked {result['checked']} events in {result['seconds']:.2f}s")
    return 0 if result["intact"] else 1


def main() -> None:
    parser = argparse.ArgumentParser(prog="ledger")
    parser.add_argument("command", choices=["migrate", "rebuild", "verify", "redrive"])
    parser.add_argument("consumer", nargs="?", help="redrive: the inbox, e.g. ledger.<name>")
    parser.add_argument("--json", action="store_true", help="verify: print the result as JSON")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.command != "verify" else logging.WARNING)
    if args.command == "migrate":
        upgrade(LedgerSettings().database_url, MIGRATIONS)
    elif args.command == "rebuild":
        asyncio.run(_rebuild())
    elif args.command == "verify":
        sys.exit(asyncio.run(_verify(args.json)))
    elif args.consumer is None:
        parser.error("redrive needs the inbox: python -m ledger redrive <consumer>")
    else:
        sys.exit(asyncio.run(_redrive(args.consumer)))


if __name__ == "__main__":
    main()
