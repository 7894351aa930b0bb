"""The outbox relay: publishes every committed event, and only committed events, to Kafka.

The events table is the outbox. Positions commit out of order and may have gaps (see
``eventstore``); the relay reads only the run after its cursor that no running transaction can
still fill in before (``relay_order``), so it never skips a late commit. It sends events in
position order with an idempotent ``acks=all`` producer and moves its cursor only over events
that Kafka acknowledged: everything at or below the cursor is published or proven never to
commit. A crash between send and cursor update re-sends those events on restart: at-least-once;
consumers drop such duplicates by event id (see ``projections`` and ``inbox``), never by the
``position`` inside a message, which is information for readers, not control. The transaction
that moves the cursor also extends the seal chain over what it covers (``sealing``).

Reads are pipelined with acknowledgements: while up to ``max_in_flight`` batches wait for
Kafka, the next batch is read and handed to the producer. Batches are settled strictly in
order, so the cursor only ever reaches a position whose events, and all before it, are
acknowledged; a failed send ends the run (a ``Supervisor`` restarts it from the durable cursor).
Cursor writes are coalesced (one commit per ``checkpoint_interval`` while busy, and one as soon
as the pipeline drains), which never puts them ahead of the acknowledgements.

When idle the relay sleeps until an append's ``NOTIFY`` (``EVENTS_CHANNEL``, sent after the
command's commit) wakes it, with a fallback poll in case a notification is missed (LISTEN is
not durable: one sent while the listening connection was being set up is lost, hence the poll).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared_kernel.append_signal import EVENTS_CHANNEL
from shared_kernel.envelope import CONTENT_TYPE
from shared_kernel.eventstore import EventStore
from shared_kernel.outbox_records import CloudEventRecords, OutboxRow
from shared_kernel.relay_order import OrderedReader
from shared_kernel.schema import outbox_cursor
from shared_kernel.sealing import SealChain

log = logging.getLogger(__name__)

RELAY_LOCK_KEY = 0x0BAC_0FF1CF
# The leader touches its leadership connection this often; a standby that finds the lock's
# connection untouched for STALE_LEADER_SECONDS ends it (see ``OutboxRelay._take_over_stale``).
HEARTBEAT_SECONDS = 1.0
STALE_LEADER_SECONDS = 10.0
# The holder of the relay's lock in this database, and how long its connection has been
# untouched (pg_stat_activity.state_change: every statement moves it). A bigint advisory key is
# in pg_locks as classid (high 32 bits), objid (low 32 bits) and objsubid 1.
_LOCK_HOLDER = sa.text(
    "SELECT l.pid, extract(epoch FROM clock_timestamp() - a.state_change) AS untouched"
    " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
    " AND l.classid = :high AND l.objid = :low"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
HEADERS = [("content-type", CONTENT_TYPE.encode())]


@dataclass
class _InFlight:
    """A batch handed to the producer: its last position, its size, and its acknowledgements."""

    last: int
    count: int
    acks: asyncio.Future[Any]


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        store: EventStore,
        producer: AIOKafkaProducer,
        topic: str,
        partitions: int,
        *,
        name: str = "kafka",
        batch_size: int = 1000,
        max_in_flight: int = 4,
        checkpoint_interval: float = 0.1,
        fallback_poll: float = 0.1,
        heartbeat: float = HEARTBEAT_SECONDS,
        stale_after: float = STALE_LEADER_SECONDS,
    ) -> None:
        self._engine = engine
        self._store = store
        self._producer = producer
        self._topic = topic
        self._partitions = partitions
        self._name = name
        self._batch_size = batch_size
        self._max_in_flight = max_in_flight
        self._checkpoint_interval = checkpoint_interval
        self._fallback_poll = fallback_poll
        self._heartbeat = heartbeat
        self._stale_after = stale_after
        self.took_over_from: list[int] = []  # backend pids of stale leaders this relay ended
        self.published = 0  # acknowledged events (counted again after a restart re-sends)
        self._cursor: int | None = None  # held in memory: only the leader moves it
        self._wake = asyncio.Event()
        self.listening = False  # leader, and LISTENing for appends
        self._leading = False  # in ``run``: the leadership connection must stay up
        self._order = OrderedReader(engine)
        self._records = CloudEventRecords(store.source, partitions)
        self._seals = SealChain()

    @property
    def leading(self) -> bool:
        """Whether this relay holds the lock and publishes (the others of its database wait)."""
        return self._leading and self.listening

    async def cursor(self) -> int:
        """The durable cursor: the position up to which every event is acknowledged."""
        async with self._engine.connect() as conn:
            row = await conn.execute(
                sa.select(outbox_cursor.c.position).where(outbox_cursor.c.relay == self._name)
            )
            return int(row.scalar_one_or_none() or 0)

    async def _resume(self) -> int:
        """Take up the durable cursor and the seal chain's tail again (both may have moved
        under another relay since this one last led)."""
        self._cursor = await self.cursor()
        self._seals = SealChain()
        return self._cursor

    async def _next_batch(self, after: int) -> list[OutboxRow]:
        """Up to ``batch_size`` events after ``after``, in position order, as the driver's rows
        (``outbox_records``): only the run no running transaction can still fill in before
        (``relay_order``)."""
        return await self._order.read_after(after, self._batch_size)

    async def _advance(self, position: int) -> None:
        """Store the cursor: every event up to ``position`` is acknowledged by Kafka (or proven
        never to commit); seal what it covers in the same transaction."""
        async with self._engine.begin() as conn:
            # The cursor first: the transaction then has reached the driver, and the seals go
            # in by COPY (``bulk_rows.copy_rows``), not by a statement per seal.
            await conn.execute(_MOVE_CURSOR, {"relay": self._name, "position": position})
            await self._seals.extend(conn, position)
        self._cursor = position

    async def _send(self, batch: list[OutboxRow]) -> asyncio.Future[Any]:
        """Hand a batch to the producer, one record batch per partition (in position order
        within each); returns the future of all its acknowledgements.

        ``send_batch`` rather than one ``send`` per event: the per-event future, partitioner
        call and accumulator lookup were a third of the relay's CPU. Order per partition is
        the producer's (one accumulator queue per partition, idempotent sequence numbers)."""
        producer = self._producer
        builders: dict[int, Any] = {}
        sent: list[asyncio.Future[Any]] = []
        for partition, key, value in self._records.records(batch):
            builder = builders.get(partition)
            if builder is None:
                builder = builders[partition] = producer.create_batch()
            if builder.append(timestamp=None, key=key, value=value, headers=HEADERS) is None:
                # Full: send it, and start the partition's next one (a first record always fits).
                sent.append(await self._send_partition(builder, partition))
                builder = builders[partition] = producer.create_batch()
                builder.append(timestamp=None, key=key, value=value, headers=HEADERS)
        for partition, builder in builders.items():
            sent.append(await self._send_partition(builder, partition))
        return asyncio.gather(*sent)

    async def _send_partition(self, builder: Any, partition: int) -> asyncio.Future[Any]:
        # Closed: complete, so the producer sends it without lingering (``linger_ms`` is for
        # the producer's other users, which send one record at a time).
        builder.close()
        sent: asyncio.Future[Any] = await self._producer.send_batch(
            builder, self._topic, partition=partition
        )
        return sent

    async def publish_once(self) -> int:
        """Publish the next batch after the cursor and wait for it (no pipelining); returns how
        many events went out. For tests and benchmarks that step the relay by hand."""
        cursor = self._cursor if self._cursor is not None else await self._resume()
        batch = await self._next_batch(cursor)
        if not batch:
            return 0
        await (await self._send(batch))
        await self._advance(batch[-1]["position"])
        self.published += len(batch)
        return len(batch)

    async def publish_available(self, *, until: int | None = None) -> int:
        """Publish, pipelined, until nothing is left after the cursor (or it reached ``until``,
        for benchmarks) and every batch is acknowledged and checkpointed; returns how many
        events went out.

        Raises the first failed send (after checkpointing the acknowledged batches before it);
        batches still in flight then are left to the producer and re-sent by the next run."""
        cursor = self._cursor if self._cursor is not None else await self._resume()
        loop = asyncio.get_running_loop()
        in_flight: deque[_InFlight] = deque()
        read_to = acked = durable = cursor
        published_before = self.published
        checkpointed_at = loop.time()
        try:
            while True:
                self._check_leadership()
                batch, caught_up = [], until is not None and read_to >= until
                if not caught_up and len(in_flight) < self._max_in_flight:
                    batch = await self._next_batch(read_to)
                    caught_up = not batch
                if batch:
                    read_to = batch[-1]["position"]
                    in_flight.append(_InFlight(read_to, len(batch), await self._send(batch)))
                elif in_flight:
                    # Nothing to read, or the window is full: wait for the oldest batch.
                    await asyncio.wait([in_flight[0].acks])
                acked = self._settle(in_flight, acked)
                if caught_up and not in_flight:
                    break  # drained: checkpoint below
                if acked > durable and loop.time() - checkpointed_at >= self._checkpoint_interval:
                    await self._advance(acked)
                    durable, checkpointed_at = acked, loop.time()
        finally:
            # Also after a failure: what Kafka acknowledged need not be sent again.
            if acked > durable:
                await self._advance(acked)
        return self.published - published_before

    def _settle(self, in_flight: deque[_InFlight], acked: int) -> int:
        """Pop the batches at the head that Kafka acknowledged, in order; return the position
        every event up to which is acknowledged. A failed head raises its error; a batch
        acknowledged behind an unacknowledged one stays until that one is settled."""
        while in_flight and in_flight[0].acks.done():
            head = in_flight.popleft()
            head.acks.result()  # raises the send's error
            acked = head.last
            self.published += head.count
        return acked

    async def run(self) -> None:
        """One run: publish until cancelled or until a failure ends it (run it under a
        ``Supervisor``, which restarts it with back-off).

        Only one relay per database may publish (two would interleave batches on a partition
        and break position order), so it first takes a session advisory lock and holds it on a
        dedicated connection; a standby waits. The same connection LISTENs for appends. A
        killed relay's lock dies with its connection, and so does a failed run's (the
        connection is closed, not returned to the pool still holding the lock): the cursor is
        read again once leadership is regained.

        A leader that is stopped but not dead (SIGSTOP, a frozen VM) would keep its lock for
        ever: so the leader touches its connection every ``heartbeat`` seconds, and a standby
        that finds the holder's connection untouched for ``stale_after`` seconds terminates it
        (``pg_terminate_backend``) and takes the lock. Should the stopped leader resume, its
        connection is gone and it steps down; a batch it still had in flight is published twice
        at most (consumers drop a duplicate by its event id), and a checkpoint it still writes
        fails on positions the new leader sealed already (the cursor never moves back) or
        seals them as the new leader would have (the chain is the same)."""
        self._cursor = None
        async with self._leadership() as leadership:
            await self._listen(leadership)
            self._leading = True
            beating = asyncio.create_task(self._beat(leadership))
            try:
                while True:
                    self._wake.clear()  # before reading: an append committed from here on wakes
                    await self.publish_available()
                    self._check_leadership()
                    # ``asyncio.timeout``, not ``wait_for``: on Python 3.11 ``wait_for`` can
                    # swallow a cancellation that arrives as its timeout fires, and the relay then
                    # polled on for ever while its service was stopping (a stop that never ended).
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self._fallback_poll):
                            await self._wake.wait()
            finally:
                beating.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beating

    async def _beat(self, leadership: AsyncConnection) -> None:
        """Touch the leadership connection (its ``state_change`` is the standbys' sign of life)
        until cancelled; a failure means the connection is gone: the run steps down."""
        try:
            while True:
                await leadership.execute(sa.select(1))
                await leadership.commit()
                await asyncio.sleep(self._heartbeat)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("relay %s: leadership heartbeat failed: %r", self._name, exc)
            self._on_leadership_lost()

    @contextlib.asynccontextmanager
    async def _leadership(self) -> AsyncIterator[AsyncConnection]:
        async with self._engine.connect() as leadership:
            try:
                while not (
                    await leadership.execute(
                        sa.select(sa.func.pg_try_advisory_lock(RELAY_LOCK_KEY))
                    )
                ).scalar():
                    await self._take_over_stale(leadership)
                    await leadership.rollback()
                    await asyncio.sleep(1.0)
                await leadership.commit()
                yield leadership
            finally:
                # Closed rather than pooled: that releases the lock and the LISTEN with it.
                self.listening = self._leading = False
                await leadership.invalidate()

    async def _take_over_stale(self, standby: AsyncConnection) -> None:
        """End the leader's connection when it has been untouched for ``stale_after`` seconds
        (the leader stopped without dying); the next attempt then takes the lock."""
        key = {"high": RELAY_LOCK_KEY >> 32, "low": RELAY_LOCK_KEY & 0xFFFF_FFFF}
        holder = (await standby.execute(_LOCK_HOLDER, key)).first()
        if holder is None or float(holder.untouched) < self._stale_after:
            return
        log.warning(
            "relay %s: the leader's connection (backend %d) is untouched for %.0f s; ending it",
            self._name,
            holder.pid,
            holder.untouched,
        )
        await standby.execute(sa.select(sa.func.pg_terminate_backend(holder.pid)))
        self.took_over_from.append(int(holder.pid))

    async def _listen(self, leadership: AsyncConnection) -> None:
        """LISTEN for appends on the leadership connection (asyncpg's own listener API)."""
        raw = await leadership.get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.add_listener(EVENTS_CHANNEL, self._on_notify)
        driver.add_termination_listener(self._on_leadership_lost)
        self.listening = True

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    def _on_leadership_lost(self, *_: object) -> None:
        self.listening = False
        self._wake.set()

    def _check_leadership(self) -> None:
        """End the run once the leadership connection is gone: its lock went with it, so
        another relay may already publish (two would break position order per partition)."""
        if self._leading and not self.listening:
            raise ConnectionError("the relay's leadership connection was lost; stepping down")


# Built once: the relay moves its cursor after every acknowledged batch.
_cursor_upsert = pg_insert(outbox_cursor).values(
    relay=sa.bindparam("relay"), position=sa.bindparam("position")
)
_MOVE_CURSOR = _cursor_upsert.on_conflict_do_update(
    index_elements=[outbox_cursor.c.relay],
    set_={"position": _cursor_upsert.excluded.position, "updated_at": sa.func.now()},
)
