"""How many records an inbox runner fetches (and so handles in one transaction): its own
``max_records``, unless the handler asks for another bound."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from aiokafka import ConsumerRecord
from shared_kernel.codec import EventCodec, RecordedEvent
from shared_kernel.inbox import InboxHandler, InboxRunner
from shared_kernel.memory import InMemoryBackend
from shared_kernel.projections import DeadLetters
from shared_kernel.unit_of_work import UnitOfWork

pytestmark = pytest.mark.unit


class NoDeadLetters(DeadLetters):
    def __init__(self) -> None:
        pass

    async def send(self, projection: str, record: ConsumerRecord[bytes, bytes], error: str) -> None:
        raise AssertionError("nothing is consumed here")


class Ignoring(InboxHandler):
    name = "ignoring"
    topics = ("events",)
    codec = EventCodec()

    async def handle(self, uow: UnitOfWork, events: Sequence[RecordedEvent]) -> None:
        """Never called: no runner here consumes."""


class Netting(Ignoring):
    """A handler whose cost is per transaction: it asks for bigger fetches."""

    max_records = 2_000


def runner(handler: InboxHandler) -> InboxRunner:
    backend = InMemoryBackend(EventCodec())
    return InboxRunner(
        handler, "svc", backend.make_uow, "127.0.0.1:1", "group", NoDeadLetters(), max_records=500
    )


def test_a_runner_fetches_its_own_bound_unless_the_handler_asks_for_another() -> None:
    assert runner(Ignoring()).max_records == 500
    assert runner(Netting()).max_records == 2_000
