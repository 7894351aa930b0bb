"""The inbox: another service's events in, this service's own events out, exactly once.

A projection turns events into rebuildable rows; an inbox turns them into *decisions* (a limit
was crossed, an indicator turned red) that must be recorded as events of this service once and
never again, whatever Kafka redelivers. For each batch of one topic partition, an
``InboxRunner`` opens ONE UnitOfWork and inserts the source event ids into ``inbox_messages``
(``ON CONFLICT DO NOTHING RETURNING``): ids that come back are fresh, the others were handled
before and are dropped. The handler loads aggregates and records events for the fresh ones;
the commit appends those events and the inbox rows in one transaction. Only then are the Kafka
offsets committed, and they are only a hint: a restart, a rebalance or a replay of the source
topic from offset zero finds every handled id already in the table and changes nothing.

A concurrency conflict (another writer moved a stream the handler touched) retries the batch;
an event the handler cannot handle (a "poison" event) goes to the dead-letter topic, recorded
as handled, and the runner moves on; a database or broker failure restarts the consumer after
a back-off, like ``ProjectionRunner``.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError

from shared_kernel.envelope import EnvelopeError, EventEnvelope
from shared_kernel.errors import ConcurrencyConflict
from shared_kernel.identity import Caller
from shared_kernel.projections import DeadLetters
from shared_kernel.unit_of_work import CommandContext, UnitOfWork

log = logging.getLogger(__name__)

# Kept apart from ``schema.metadata`` so that existing services' schemas do not change: a
# service with an inbox creates the table in its own migration with ``create_table(op)``.
inbox_metadata = sa.MetaData()

inbox_messages = sa.Table(
    "inbox_messages",
    inbox_metadata,
    sa.Column("consumer", sa.Text, primary_key=True),
    sa.Column("event_id", PG_UUID(as_uuid=True), primary_key=True),
    sa.Column(
        "handled_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)


def create_table(op: Any) -> None:
    """Create ``inbox_messages`` inside an Alembic migration (``op`` is ``alembic.op``)."""
    inbox_metadata.create_all(op.get_bind())


def drop_table(op: Any) -> None:
    inbox_metadata.drop_all(op.get_bind())


class InboxHandler(ABC):
    """Turns events of other services into this service's own events.

    ``handle`` gets only events not handled before, in partition order, inside the batch's
    UnitOfWork: it loads aggregates with ``uow.get``/``uow.find`` (once per batch: the same
    aggregate loaded twice would conflict with itself), calls their commands, and leaves the
    commit to the runner. It must decide from the events and the aggregates only (use the
    source event's ``time`` as "now"), so that a retried batch decides the same."""

    name: str
    topics: Sequence[str]

    @abstractmethod
    async def handle(self, uow: UnitOfWork, events: Sequence[EventEnvelope]) -> None: ...


MakeUnitOfWork = Callable[[CommandContext], UnitOfWork]

# Errors of the infrastructure, not of an event (and conflicts that outlived every retry): the
# runner restarts instead of dead-lettering.
INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    DBAPIError,
    OSError,
    KafkaError,
    ConcurrencyConflict,
)


class InboxWriter:
    """Handles batches of one partition exactly once in effect (no Kafka involved: testable)."""

    def __init__(
        self,
        handler: InboxHandler,
        service: str,
        make_uow: MakeUnitOfWork,
        dead: DeadLetters,
        *,
        attempts: int = 20,
    ) -> None:
        self.handler = handler
        self.consumer = f"{service}.{handler.name}"
        self.caller = Caller.system(f"{service}-{handler.name}")
        self._make_uow = make_uow
        self._dead = dead
        self._attempts = attempts
        self.seen = 0
        self.handled = 0

    async def write(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        await self._write(records)
        self.seen += len(records)

    async def _write(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        decoded: list[tuple[ConsumerRecord[bytes, bytes], EventEnvelope]] = []
        for record in records:
            try:
                decoded.append((record, EventEnvelope.from_json_bytes(record.value or b"")))
            except EnvelopeError as exc:
                await self._dead.send(self.consumer, record, f"undecodable: {exc}")
        if not decoded:
            return
        try:
            await self._with_retries([e for _, e in decoded])
        except INFRASTRUCTURE_ERRORS:
            raise
        except Exception:
            log.warning(
                "inbox batch of %d failed in %s; handling one by one", len(decoded), self.consumer
            )
            for record, envelope in decoded:
                await self._one(record, envelope)

    async def _one(self, record: ConsumerRecord[bytes, bytes], envelope: EventEnvelope) -> None:
        try:
            await self._with_retries([envelope])
        except INFRASTRUCTURE_ERRORS:
            raise
        except Exception as exc:  # a poison event must not stop the inbox
            await self._dead.send(self.consumer, record, f"{type(exc).__name__}: {exc}")
            await self._with_retries([envelope], handle=False)

    async def _with_retries(
        self, envelopes: Sequence[EventEnvelope], *, handle: bool = True
    ) -> None:
        for attempt in range(1, self._attempts + 1):
            try:
                await self._transaction(envelopes, handle=handle)
                return
            except ConcurrencyConflict:
                if attempt == self._attempts:
                    raise
                log.info("inbox %s: concurrent change, retrying (%d)", self.consumer, attempt)
                await asyncio.sleep(min(0.005 * 2**attempt, 0.5))

    async def _transaction(self, envelopes: Sequence[EventEnvelope], *, handle: bool) -> None:
        first = envelopes[0]
        context = CommandContext(
            self.caller,
            correlation_id=first.correlation_id,
            causation_id=str(first.id),
        )
        async with self._make_uow(context) as uow:
            fresh_ids = await self._claim(uow, [e.id for e in envelopes])
            seen: set[UUID] = set()
            fresh: list[EventEnvelope] = []
            for envelope in envelopes:
                if envelope.id in fresh_ids and envelope.id not in seen:
                    seen.add(envelope.id)
                    fresh.append(envelope)
            if fresh and handle:
                await self.handler.handle(uow, fresh)
            await uow.commit()
        if handle:
            self.handled += len(fresh)

    async def _claim(self, uow: UnitOfWork, event_ids: Sequence[UUID]) -> set[UUID]:
        """Insert the inbox rows; the ids that come back were not handled before."""
        unique = list(dict.fromkeys(event_ids))
        rows = await uow.connection.execute(_CLAIM, {"consumer": self.consumer, "ids": unique})
        return {row.event_id for row in rows}


# One statement for any number of ids (an array, unnested): compiled once, not per batch.
_CLAIM = (
    pg_insert(inbox_messages)
    .from_select(
        ["consumer", "event_id"],
        sa.select(
            sa.bindparam("consumer", type_=sa.Text),
            sa.func.unnest(sa.bindparam("ids", type_=ARRAY(PG_UUID(as_uuid=True)))),
        ),
    )
    .on_conflict_do_nothing()
    .returning(inbox_messages.c.event_id)
)


class InboxRunner:
    """Runs an inbox handler in the consumer group ``<namespace><service>.<name>`` with manual
    offset commits after each batch's transaction. Restarts with back-off on failure."""

    def __init__(
        self,
        handler: InboxHandler,
        service: str,
        make_uow: MakeUnitOfWork,
        bootstrap_servers: str,
        group_id: str,
        dead: DeadLetters,
        *,
        max_records: int = 500,
    ) -> None:
        self.writer = InboxWriter(handler, service, make_uow, dead)
        self.handler = handler
        self._bootstrap = bootstrap_servers
        self._group_id = group_id
        self._max_records = max_records

    async def run(self) -> None:
        backoff = 0.5
        while True:
            try:
                await self._run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("inbox %s failed; restarting in %.1fs", self.handler.name, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def _run_once(self) -> None:
        consumer = AIOKafkaConsumer(
            *self.handler.topics,
            bootstrap_servers=self._bootstrap,
            group_id=self._group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self._max_records,
        )
        try:
            # Inside the try: a cancel while starting must still close the consumer.
            await consumer.start()
            while True:
                batches = await consumer.getmany(timeout_ms=100, max_records=self._max_records)
                for tp, records in batches.items():
                    if tp not in consumer.assignment():
                        continue  # revoked during the fetch: its new owner handles it
                    await self.writer.write(records)
                    await self._commit(consumer, tp, records[-1].offset + 1)
        finally:
            await consumer.stop()

    @staticmethod
    async def _commit(consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> None:
        try:
            # Only a hint: the inbox table decides what was handled.
            await consumer.commit({tp: offset})
        except (CommitFailedError, IllegalStateError) as exc:
            log.info("offset hint for %s not committed: %s", tp, exc)
