"""Run one kernel loop as an OS process of its own: the outbox relay or a projection runner.

::

    python -m shared_kernel.worker relay --database-url URL --bootstrap HOST:PORT \\
        --topic ledger.events --partitions 6 [--source /ledger] [--batch-size 1000]
    python -m shared_kernel.worker project --database-url URL --bootstrap HOST:PORT \\
        --projection ledger.projections.ledger_view:LedgerView [--topic-namespace NS] \\
        --group ledger.ledger_view --dead-letter-topic ledger.dead-letters [--max-records 2000]

``--projection`` names a ``Projection`` instance, or a callable (such as a projection class)
that takes the topic namespace and returns one. ``DATABASE_URL`` and
``KAFKA_BOOTSTRAP_SERVERS`` are the defaults of the first two options.

The loop runs under a ``Supervisor``: a crash is logged and the loop restarted with back-off.
SIGTERM and SIGINT stop the loop cleanly. A SIGKILL loses nothing either: the relay re-sends
the batch it had not yet checkpointed, and a projection's checkpoint is committed with its
read-model change, so a half-applied batch is rolled back and applied again on restart.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Sequence

from shared_kernel import tracing
from shared_kernel.db import create_engine
from shared_kernel.eventstore import PostgresEventStore
from shared_kernel.kafka import TopicSpec, create_producer, ensure_topics
from shared_kernel.logs import LogSettings, configure_logging
from shared_kernel.outbox import OutboxRelay
from shared_kernel.projection_runner import ProjectionRunner
from shared_kernel.projections import DeadLetters, Projection
from shared_kernel.readmodel import ReadModelStore
from shared_kernel.supervisor import RunFactory, Supervisor

log = logging.getLogger("shared_kernel.worker")


def load_projection(reference: str, topic_namespace: str) -> Projection:
    """Resolve ``package.module:attribute`` to a projection (see the module docstring)."""
    module_name, sep, attribute = reference.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(
            f"--projection must look like 'package.module:attribute', not {reference!r}"
        )
    target: object = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    if isinstance(target, Projection):
        return target
    if callable(target):
        made = target(topic_namespace)
        if isinstance(made, Projection):
            return made
    raise TypeError(f"{reference} is neither a Projection nor a factory of one")


async def run_relay(args: argparse.Namespace) -> None:
    await ensure_topics(args.bootstrap, [TopicSpec(args.topic, args.partitions)])
    engine = create_engine(args.database_url, pool_size=2)
    producer = create_producer(args.bootstrap, client_id=f"relay-{args.source.strip('/')}")
    await producer.start()
    try:
        relay = OutboxRelay(
            engine,
            PostgresEventStore(source=args.source),
            producer,
            args.topic,
            args.partitions,
            name=args.relay_name,
            batch_size=args.batch_size,
        )
        log.info("relay %s publishing to %s", args.relay_name, args.topic)
        await _supervised(f"relay {args.relay_name}", relay.run)
    finally:
        await producer.stop()
        await engine.dispose()


async def run_projection(args: argparse.Namespace) -> None:
    projection = load_projection(args.projection, args.topic_namespace)
    # Traces as in a service (``tracing``): off unless OTEL_TRACES_EXPORTER names an exporter.
    tracing.configure(os.environ.get("OTEL_TRACES_EXPORTER", "none"))
    await ensure_topics(args.bootstrap, [TopicSpec(args.dead_letter_topic, 1)])
    engine = create_engine(args.database_url, pool_size=2)
    producer = create_producer(args.bootstrap, client_id=f"projection-{projection.name}")
    await producer.start()
    try:
        runner = ProjectionRunner(
            projection,
            ReadModelStore(engine, projection.name, projection.metadata),
            args.bootstrap,
            group_id=args.group,
            dead=DeadLetters(producer, args.dead_letter_topic),
            max_records=args.max_records,
            tracer=tracing.tracer_for(projection.name),
        )
        log.info("projection %s reading %s", projection.name, list(projection.topics))
        await _supervised(f"projection {projection.name}", runner.run)
    finally:
        await producer.stop()
        await engine.dispose()


async def _supervised(name: str, run: RunFactory) -> None:
    """Run the loop under a supervisor (restarted with back-off after a crash) until cancelled."""
    supervisor = Supervisor("worker")
    supervisor.spawn(name, run)
    try:
        await supervisor.wait()
    finally:
        await supervisor.stop()


async def _until_signalled(main: Awaitable[None]) -> None:
    task = asyncio.ensure_future(main)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m shared_kernel.worker")
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
        sub.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
        sub.add_argument("--log-level", default="INFO")

    relay = commands.add_parser("relay", help="publish committed events to Kafka")
    common(relay)
    relay.add_argument("--topic", required=True)
    relay.add_argument("--partitions", type=int, required=True)
    relay.add_argument("--source", default="/kernel", help="the event source, e.g. /ledger")
    relay.add_argument("--relay-name", default="kafka", help="the outbox cursor's name")
    relay.add_argument("--batch-size", type=int, default=1000)

    project = commands.add_parser("project", help="apply a topic to a read model")
    common(project)
    project.add_argument("--projection", required=True, help="package.module:attribute")
    project.add_argument("--topic-namespace", default="")
    project.add_argument("--group", required=True, help="the Kafka consumer group")
    project.add_argument("--dead-letter-topic", required=True)
    project.add_argument("--max-records", type=int, default=2000)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.database_url or not args.bootstrap:
        parser.error("--database-url and --bootstrap (or DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS)")
    # JSON lines by default, as the services write them (LOG_FORMAT=text for people).
    configure_logging("worker", LogSettings(log_level=args.log_level))
    commands: dict[str, Callable[[argparse.Namespace], Awaitable[None]]] = {
        "relay": run_relay,
        "project": run_projection,
    }
    asyncio.run(_until_signalled(commands[args.command](args)))


if __name__ == "__main__":
    main()
