"""Command line of the gateway.

python -m gateway serve       serve the gateway (--host, --port, --log-level): the one way to
                              run it, with its own server protocol (see gateway/server.py)
python -m gateway migrate     apply the database migrations (a pre-start step)
python -m gateway seed-demo   register the demo operators and the demo system (its API key is
                              printed once, when it is created); registered ones are kept
python -m gateway keys        create the development key pair if it is missing
python -m gateway rebuild     rebuild the gateway's read models (the case timeline and the
                              audit decisions) from the topics beside the live ones, and switch
                              to them
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from shared_kernel import migrations
from shared_kernel.identity import Caller
from shared_kernel.rebuild import rebuild_service
from shared_kernel.unit_of_work import CommandContext

from gateway.adapters.keys import load_signing_key
from gateway.app.api_keys import IssueApiKey, RegisterSystem, SystemExists
from gateway.app.demo import demo_operators, demo_systems
from gateway.app.operators import OperatorExists
from gateway.bootstrap import Gateway, bootstrap
from gateway.server import serve
from gateway.settings import GatewaySettings

MIGRATIONS = Path(__file__).parent / "migrations"


def migrate(settings: GatewaySettings) -> None:
    migrations.upgrade(settings.database_url, MIGRATIONS)
    print("gateway: database migrated")


async def seed_demo(settings: GatewaySettings) -> None:
    if settings.environment == "production":
        raise SystemExit("gateway: refusing to register demo operators in production")
    gateway = bootstrap(settings)
    caller = Caller.system("gateway-seed-demo")
    try:
        for command in demo_operators():
            try:
                await gateway.register_operator(command, caller)
                print(f"gateway: registered {command.username} / {command.password}")
            except OperatorExists:
                print(f"gateway: {command.username} already registered, kept as it is")
        for system in demo_systems():
            await seed_demo_system(gateway, caller, system)
    finally:
        await gateway.runtime.stop()


async def seed_demo_system(gateway: Gateway, caller: Caller, system: RegisterSystem) -> None:
    """A demo system with one API key, shown once and written beside the key pair
    (``demo-api-key.txt`` for the trading system, ``demo-<name>-api-key.txt`` for the others)
    for ``make run`` to show."""
    context = CommandContext(caller)
    try:
        await gateway.admin.register_system(context, system)
    except SystemExists:
        print(f"gateway: system {system.name} already registered, kept with its API keys")
        return
    issued = await gateway.admin.issue_api_key(context, IssueApiKey(system.name))
    key_file = gateway.settings.identity_private_key_file.parent / demo_key_file(system.name)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.touch(mode=0o600)
    key_file.write_text(issued.key.text + "\n")
    print(
        f"gateway: registered system {system.name} (roles {', '.join(sorted(system.roles))}); "
        f"its API key, shown this once: {issued.key.text} (also in {key_file})"
    )


def demo_key_file(system: str) -> str:
    return "demo-api-key.txt" if system == "trading-system" else f"demo-{system}-api-key.txt"


async def rebuild(settings: GatewaySettings) -> None:
    # Only the read models: no relay, no live projections.
    quiet = settings.model_copy(update={"run_relay": False, "run_projections": False})
    await rebuild_service(bootstrap(quiet).runtime)


def keys(settings: GatewaySettings) -> None:
    key = load_signing_key(settings)
    print(f"gateway: key {key.key_id} in {settings.identity_private_key_file}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serving = commands.add_parser("serve", help="serve the gateway")
    serving.add_argument("--host", default="127.0.0.1")
    serving.add_argument("--port", type=int, default=8000)
    serving.add_argument("--log-level", default="info")
    commands.add_parser("migrate", help="apply the database migrations")
    commands.add_parser("seed-demo", help="register one demo operator per role")
    commands.add_parser("keys", help="create the development key pair if it is missing")
    commands.add_parser(
        "rebuild", help="rebuild the case timeline and the audit decisions from the topics"
    )
    args = parser.parse_args(argv)
    settings = GatewaySettings()
    if args.command == "serve":
        serve(settings, host=args.host, port=args.port, log_level=args.log_level)
    elif args.command == "migrate":
        migrate(settings)
    elif args.command == "seed-demo":
        asyncio.run(seed_demo(settings))
    elif args.command == "rebuild":
        asyncio.run(rebuild(settings))
    else:
        keys(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
