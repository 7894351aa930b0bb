"""Command line of the console.

python -m console serve    serve the console (--host, --port, --log-level)
"""

from __future__ import annotations

import argparse

import uvicorn
from shared_kernel.logs import uvicorn_log_config

from console.main import create_app
from console.settings import ConsoleSettings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m console")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the console")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--log-level", default="info")
    args = parser.parse_args()
    settings = ConsoleSettings()
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        log_config=uvicorn_log_config(),  # the console's own log lines (shared_kernel.logs)
        # X-Forwarded-For/-Proto are believed only from the proxies named (none by default):
        # a client must not choose the address its log-in attempts are counted under.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
    )


if __name__ == "__main__":
    main()
