"""The ledger's composition root: the one place that wires kernel, domain and adapters."""

from __future__ import annotations

from dataclasses import dataclass

from shared_kernel.codec import EventCodec
from shared_kernel.readmodel import PositionWaiter
from shared_kernel.runtime import ServiceRuntime
from shared_kernel.settings import ServiceSettings

from ledger.app.queries import LedgerQueries
from ledger.domain import AccountOpened, JournalEntryPosted
from ledger.projections.ledger_view import LedgerView

SERVICE = "ledger"


class LedgerSettings(ServiceSettings):
    """Ledger settings: the common ones for now."""


def ledger_codec() -> EventCodec:
    return EventCodec([AccountOpened, JournalEntryPosted])


@dataclass
class Ledger:
    runtime: ServiceRuntime
    queries: LedgerQueries
    waiter: PositionWaiter


def bootstrap(settings: LedgerSettings | None = None) -> Ledger:
    settings = settings or LedgerSettings()
    view = LedgerView(settings.topic_namespace)
    runtime = ServiceRuntime(SERVICE, settings, ledger_codec(), [view])
    return Ledger(
        runtime=runtime,
        queries=LedgerQueries(runtime.read_models[view.name]),
        waiter=runtime.waiter(view.name),
    )
