"""The inbox: another service's events in, this service's own events out, exactly once.

A projection turns events into rebuildable rows; an inbox turns them into *decisions* (a limit
was crossed, an indicator turned red) that must be recorded as events of this service once and
never again, whatever Kafka redelivers. For each fetch (the records of its partitions, each in
order), an ``InboxRunner`` opens ONE UnitOfWork and claims the source event ids
(``UnitOfWork.claim``: rows of ``inbox_messages``, ``ON CONFLICT DO NOTHING RETURNING``): ids
that come back are fresh, the others were handled before and are dropped. The handler loads
aggregates and records events for the fresh ones; the commit appends those events and the inbox
rows in one transaction. Only then are the Kafka offsets committed, and they are only a hint: a
restart, a rebalance or a replay of the source topic from offset zero finds every handled id
already in the table and changes nothing.

The handler never sees raw JSON: each message is decoded and validated with the handler's
``codec`` (the classes of the foreign events it reads, with upcasters) first. A malformed event
of a type it reads (a field missing or of the wrong type) goes to the dead-letter topic and is
never handled; events of other types are only recorded as seen.

A concurrency conflict (another writer moved a stream the handler touched) retries the batch;
an event the handler cannot handle (a "poison" event) goes to the dead-letter topic, recorded
as handled and marked as dead-lettered (a claim of ``<consumer>#dead-lettered``, which
``InboxWriter.redrive`` releases to handle it once its cause is fixed; see ``redrive``), and
the runner moves on; a database or broker failure ends the run, and the
``Supervisor`` that runs it restarts the consumer after a back-off, like ``ProjectionRunner``.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from sqlalchemy.exc import DBAPIError

from shared_kernel.codec import EventCodec, MalformedEvent, RecordedEvent
from shared_kernel.commands import MakeUnitOfWork
from shared_kernel.envelope import EnvelopeError, EventEnvelope
from shared_kernel.errors import ConcurrencyConflict
from shared_kernel.identity import Caller
from shared_kernel.kafka_connection import KafkaTarget, client_kwargs
from shared_kernel.projections import DeadLetters
from shared_kernel.schema import inbox_metadata
from shared_kernel.tracing import Tracer, consuming
from shared_kernel.unit_of_work import CommandContext, UnitOfWork

log = logging.getLogger(__name__)


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
    # The published language of the events it reads: a class for each type it handles (only
    # the fields it uses), with upcasters. The writer decodes and validates every event with
    # it; a malformed one of a known type is dead-lettered, one of another type is skipped.
    codec: EventCodec
    # At most this many events per unit of work (None: the runner's whole batch), for a
    # handler whose decisions one unit of work cannot hold several of (each would load the
    # same stream again, say a queue's round-robin turn, and conflict with itself).
    batch_size: int | None = None
    # At most this many records per fetch, and so per transaction (None: the runner's
    # ``max_records``). For a handler whose cost is mostly per transaction rather than per
    # event (it records its changes net of the batch, one per aggregate), a bigger fetch of a
    # topic it lags behind means fewer of them and fewer events recorded.
    max_records: int | None = None

    @abstractmethod
    async def handle(self, uow: UnitOfWork, events: Sequence[RecordedEvent]) -> None: ...


@dataclass(frozen=True)
class _Message:
    """One message of a batch, decoded: ``event`` when the handler reads its type,
    ``malformed`` when it is of such a type but does not validate (never handled)."""

    record: ConsumerRecord[bytes, bytes]
    envelope: EventEnvelope
    event: RecordedEvent | None = None
    malformed: MalformedEvent | None = None


# Errors of the infrastructure, not of an event (and conflicts that outlived every retry): the
# runner restarts instead of dead-lettering.
INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    DBAPIError,
    OSError,
    KafkaError,
    ConcurrencyConflict,
)


class InboxWriter:
    """Handles batches of records (of one or several partitions, each in order) exactly once in
    effect (no Kafka involved: testable)."""

    def __init__(
        self,
        handler: InboxHandler,
        service: str,
        make_uow: MakeUnitOfWork,
        dead: DeadLetters,
        *,
        attempts: int = 20,
        tracer: Tracer | None = None,
    ) -> None:
        self.handler = handler
        self.consumer = f"{service}.{handler.name}"
        # The claims of the events it dead-lettered and never handled (see ``redrive``).
        self.dead_mark = f"{self.consumer}#dead-lettered"
        self.caller = Caller.system(f"{service}-{handler.name}")
        self._make_uow = make_uow
        self._dead = dead
        self._attempts = attempts
        self._tracer = tracer
        self.seen = 0
        self.handled = 0

    async def write(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        size = self.handler.batch_size or len(records) or 1
        for start in range(0, len(records), size):
            await self._write(records[start : start + size])
        self.seen += len(records)

    async def _write(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        messages: list[_Message] = []
        for record in records:
            try:
                envelope = EventEnvelope.from_json_bytes(record.value or b"")
            except EnvelopeError as exc:
                await self._dead.send(self.consumer, record, f"undecodable: {exc}")
                continue
            try:
                messages.append(_Message(record, envelope, self.handler.codec.read(envelope)))
            except MalformedEvent as exc:
                messages.append(_Message(record, envelope, malformed=exc))
        if not messages:
            return
        try:
            await self._with_retries(messages)
        except INFRASTRUCTURE_ERRORS:
            raise
        except Exception:
            log.warning(
                "inbox batch of %d failed in %s; handling one by one", len(messages), self.consumer
            )
            for message in messages:
                await self._one(message)

    async def _one(self, message: _Message) -> None:
        try:
            await self._with_retries([message])
        except INFRASTRUCTURE_ERRORS:
            raise
        except Exception as exc:  # a poison event must not stop the inbox
            await self._dead.send(self.consumer, message.record, f"{type(exc).__name__}: {exc}")
            await self._with_retries([message], handle=False)

    async def redrive(self, record: ConsumerRecord[bytes, bytes]) -> bool:
        """Handle again an event this inbox dead-lettered (``record``, from the dead-letter
        topic), once its cause is fixed: its claim is released and it is handled in one
        transaction. False when it is not a dead letter of this inbox left to re-drive (one
        re-driven before, or one never dead-lettered here). Raises what decoding or handling
        raises, and then nothing changes."""
        envelope = EventEnvelope.from_json_bytes(record.value or b"")
        message = _Message(record, envelope, self.handler.codec.read(envelope))
        return await self._with_retries([message], redrive=True)

    async def _with_retries(
        self, messages: Sequence[_Message], *, handle: bool = True, redrive: bool = False
    ) -> bool:
        # Under consumer spans continuing the events' traces: what the handler records is
        # stored with the trace context of the first of them (``tracing.consuming``).
        with consuming(self._tracer, self.consumer, (m.envelope for m in messages)):
            return await self._attempt(messages, handle=handle, redrive=redrive)

    async def _attempt(self, messages: Sequence[_Message], *, handle: bool, redrive: bool) -> bool:
        # The malformed events already dead-lettered by an attempt that then conflicted: the
        # retry must not send them again.
        sent: set[UUID] = set()
        for attempt in range(1, self._attempts + 1):
            try:
                return await self._transaction(messages, sent, handle=handle, redrive=redrive)
            except ConcurrencyConflict:
                if attempt == self._attempts:
                    raise
                log.info("inbox %s: concurrent change, retrying (%d)", self.consumer, attempt)
                await asyncio.sleep(min(0.005 * 2**attempt, 0.5))
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _transaction(
        self, messages: Sequence[_Message], sent: set[UUID], *, handle: bool, redrive: bool
    ) -> bool:
        first = messages[0].envelope
        context = CommandContext(
            self.caller,
            correlation_id=first.correlation_id,
            causation_id=str(first.id),
        )
        async with self._make_uow(context) as uow:
            ids = [m.envelope.id for m in messages]
            if redrive:
                # Only a dead letter still marked: the mark goes in this transaction.
                if not await uow.release(self.dead_mark, ids):
                    return False
                await uow.release(self.consumer, ids)
            fresh_ids = await uow.claim(self.consumer, ids)
            seen: set[UUID] = set()
            typed: list[RecordedEvent] = []  # the fresh events of types the handler reads
            malformed: list[_Message] = []
            for message in messages:
                event_id = message.envelope.id
                if event_id in fresh_ids and event_id not in seen:
                    seen.add(event_id)
                    if message.malformed is not None:
                        malformed.append(message)
                    elif message.event is not None:
                        typed.append(message.event)
            if typed and handle:
                await self.handler.handle(uow, typed)
            # Dead-lettered when first seen only (a replay finds it claimed), before the
            # commit: never lost. A conflict's retry does not send it again; only a commit
            # that fails otherwise (the database gone) may leave it sent twice.
            for message in malformed:
                if message.envelope.id not in sent:
                    await self._dead.send(
                        self.consumer, message.record, f"malformed: {message.malformed}"
                    )
                    sent.add(message.envelope.id)
            never_handled = seen if not handle else {m.envelope.id for m in malformed}
            if never_handled:
                await uow.claim(self.dead_mark, list(never_handled))
            await uow.commit()
        if handle:
            self.handled += len(seen) - len(malformed)
        return True


class InboxRunner:
    """Runs an inbox handler in the consumer group ``<namespace><service>.<name>`` with manual
    offset commits after each fetch's transaction. ``run`` is one run; a ``Supervisor``
    restarts it after a failure."""

    def __init__(
        self,
        handler: InboxHandler,
        service: str,
        make_uow: MakeUnitOfWork,
        bootstrap_servers: KafkaTarget,
        group_id: str,
        dead: DeadLetters,
        *,
        max_records: int = 500,
        tracer: Tracer | None = None,
    ) -> None:
        self.writer = InboxWriter(handler, service, make_uow, dead, tracer=tracer)
        self.handler = handler
        self._bootstrap = bootstrap_servers
        self._group_id = group_id
        # Records per fetch, and so per transaction: the handler's own bound, if it has one.
        self.max_records = handler.max_records or max_records
        self._consumer: AIOKafkaConsumer | None = None
        # Per partition: the offset after the last record handled (for ``lag``).
        self._handled: dict[TopicPartition, int] = {}

    async def run(self) -> None:
        """One run: handle batches until cancelled or until a failure (database or broker away)
        ends it. Run it under a ``Supervisor``, which restarts it with back-off; the inbox
        table makes the restart exact."""
        consumer = AIOKafkaConsumer(
            *self.handler.topics,
            **client_kwargs(self._bootstrap),
            group_id=self._group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.max_records,
        )
        self._consumer = consumer
        try:
            # Inside the try: a cancel while starting must still close the consumer.
            await consumer.start()
            while True:
                batches = await consumer.getmany(timeout_ms=100, max_records=self.max_records)
                assigned = consumer.assignment()
                # Revoked during the fetch: its new owner handles it.
                owned = {tp: records for tp, records in batches.items() if tp in assigned}
                if not owned:
                    continue
                # Every partition of the fetch in one transaction (each partition's records in
                # order; the order between partitions is arbitrary anyway): one commit per
                # fetch instead of one per partition, which is what keeps the latency of a
                # busy topic with many partitions low.
                await self.writer.write([r for records in owned.values() for r in records])
                handled = {tp: records[-1].offset + 1 for tp, records in owned.items()}
                self._handled.update(handled)
                await self._commit(consumer, handled)
        finally:
            self._consumer = None
            await consumer.stop()

    async def lag(self) -> dict[TopicPartition, int]:
        """Per partition it owns: the Kafka end offset minus the offset after the last record
        it handled (or its group's committed offset, before it handled any). Empty while the
        consumer is not running. For ``/metrics``, never in the handling loop."""
        consumer = self._consumer
        if consumer is None:
            return {}
        owned = sorted(consumer.assignment())
        if not owned:
            return {}
        ends = await consumer.end_offsets(owned)
        lags: dict[TopicPartition, int] = {}
        for tp, end in ends.items():
            handled = self._handled.get(tp)
            if handled is None:
                handled = await consumer.committed(tp) or 0
            lags[tp] = max(0, end - handled)
        return lags

    @staticmethod
    async def _commit(consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        try:
            # Only a hint: the inbox table decides what was handled.
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            log.info("offset hint for %s not committed: %s", sorted(offsets), exc)
