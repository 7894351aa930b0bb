"""Command line of the gateway.

python -m gateway migrate     apply the database migrations (a pre-start step)
python -m gateway seed-demo   register the demo operators; already registered ones are kept
python -m gateway keys        create the development key pair if it is missing
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from shared_kernel import migrations
from shared_kernel.envelope import Actor

from gateway.adapters.keys import load_signing_key
from gateway.app.demo import demo_operators
from gateway.app.operators import OperatorExists
from gateway.bootstrap import bootstrap
from gateway.settings import GatewaySettings

MIGRATIONS = Path(__file__).parent / "migrations"


def migrate(settings: GatewaySettings) -> None:
    migrations.upgrade(settings.database_url, MIGRATIONS)
    print("gateway: database migrated")


async def seed_demo(settings: GatewaySettings) -> None:
    if settings.environment == "production":
        raise SystemExit("gateway: refusing to register demo operators in production")
    gateway = bootstrap(settings)
    actor = Actor.system("gateway-seed-demo")
    try:
        for command in demo_operators():
            try:
                await gateway.register_operator(command, actor)
                print(f"gateway: registered {command.username} / {command.password}")
            except OperatorExists:
                print(f"gateway: {command.username} already registered, kept as it is")
    finally:
        await gateway.runtime.stop()


def keys(settings: GatewaySettings) -> None:
    key = load_signing_key(settings)
    print(f"gateway: key {key.key_id} in {settings.identity_private_key_file}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply the database migrations")
    commands.add_parser("seed-demo", help="register one demo operator per role")
    commands.add_parser("keys", help="create the development key pair if it is missing")
    args = parser.parse_args(argv)
    settings = GatewaySettings()
    if args.command == "migrate":
        migrate(settings)
    elif args.command == "seed-demo":
        asyncio.run(seed_demo(settings))
    else:
        keys(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
