"""The ledger's composition root: the one place that wires kernel, domain and adapters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from pydantic import Field
from shared_kernel.codec import EventCodec
from shared_kernel.commands import CommandBus, utc_now
from shared_kernel.readmodel import PositionWaiter
from shared_kernel.runtime import ServiceRuntime
from shared_kernel.settings import ServiceSettings

from ledger.app.clearance import RiskClearances
from ledger.app.commands import LedgerCommands
from ledger.app.expiry import ExpirySweeper
from ledger.app.exports import LedgerExports
from ledger.app.period_close import ReadModelPendingIndex
from ledger.app.queries import LedgerQueries
from ledger.app.reports import LedgerReports
from ledger.app.verification import JournalVerifier
from ledger.domain import ALL_EVENTS
from ledger.projections.ledger_view import LedgerView

SERVICE = "ledger"


class LedgerSettings(ServiceSettings):
    """Ledger settings: the common ones, plus booking-request expiry and command retries."""

    service: ClassVar[str] = SERVICE

    # How long a booking request waits for a decision before it expires.
    booking_request_ttl_seconds: float = Field(default=3 * 24 * 3600, gt=0)
    # How often the expiry sweeper looks for overdue requests (``run_expiry_sweeper``).
    expiry_sweep_interval_seconds: float = Field(default=5.0, gt=0)
    run_expiry_sweeper: bool = True
    # How often a command is run again after a concurrency conflict before answering 409.
    command_attempts: int = Field(default=12, ge=1, le=100)


def ledger_codec() -> EventCodec:
    return EventCodec(ALL_EVENTS)


@dataclass
class Ledger:
    settings: LedgerSettings
    runtime: ServiceRuntime
    bus: CommandBus
    commands: LedgerCommands
    queries: LedgerQueries
    reports: LedgerReports
    exports: LedgerExports
    verifier: JournalVerifier
    sweeper: ExpirySweeper
    waiter: PositionWaiter
    clock: Callable[[], datetime]


def bootstrap(
    settings: LedgerSettings | None = None, *, clock: Callable[[], datetime] = utc_now
) -> Ledger:
    settings = settings or LedgerSettings()
    codec = ledger_codec()
    view = LedgerView(settings.topic_namespace, codec=codec)
    # Risk's answers to the deals (``DealCleared`` / ``DealRefused``) recorded on the requests.
    inboxes = [RiskClearances(settings.topic_namespace)]
    runtime = ServiceRuntime(SERVICE, settings, codec, [view], inboxes=inboxes)
    read_model = runtime.read_models[view.name]

    bus = CommandBus(runtime.unit_of_work, attempts=settings.command_attempts)
    queries = LedgerQueries(read_model)
    waiter = runtime.waiter(view.name)

    async def store_head() -> int:
        async with runtime.engine.connect() as conn:
            return await runtime.store.head(conn)

    commands = LedgerCommands(
        request_ttl=timedelta(seconds=settings.booking_request_ttl_seconds),
        clock=clock,
        pending_requests=ReadModelPendingIndex(queries.pending_request_ids, store_head, waiter),
    )
    return Ledger(
        settings=settings,
        runtime=runtime,
        bus=bus,
        commands=commands,
        queries=queries,
        reports=LedgerReports(read_model, queries),
        exports=LedgerExports(read_model),
        verifier=JournalVerifier(runtime.engine, runtime.store),
        sweeper=ExpirySweeper(
            bus, commands, queries, clock, interval_seconds=settings.expiry_sweep_interval_seconds
        ),
        waiter=waiter,
        clock=clock,
    )
