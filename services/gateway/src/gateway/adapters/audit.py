"""The audit trail: one record per decision of the gateway, on the Kafka topic ``gateway.audit``.

Design and its trade-off. A request must not wait for Kafka, so ``AuditLog.record`` only puts
the record on a bounded in-process queue, and a background task drains the queue with the
kernel's idempotent ``acks=all`` producer. The price: records still in the queue are lost when
the process is killed (a graceful stop flushes them first). The durable alternative, an outbox
table written in the request, would cost a database write on every request, allowed or not.
The queue is bounded so that memory is: when it is full (Kafka unreachable for long), the
gateway fails closed and refuses new requests with 503 until it drains (see ``accepting``),
rather than serving requests it cannot account for.

Who records: ``api.audit.AuditMiddleware`` writes exactly one record per request when the
answer is complete. Code along the way only notes the facts on the request's ``Decision``
(who the caller is, why it was allowed or refused), reachable through ``current_decision()``.

On the topic a record is a back-office CloudEvent like any service's event (the kernel's
envelope, its ``data`` a ``domain.access_decisions.AccessDecided``), so that the kernel's
projection machinery reads it: the gateway's audit read model
(``projections/audit_decisions.py``) is built from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextvars import ContextVar
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from aiokafka import AIOKafkaProducer
from shared_kernel.envelope import Actor, EventEnvelope, versioned_type
from shared_kernel.eventstore import new_event_id
from shared_kernel.identity import Caller
from shared_kernel.supervisor import Supervisor

from gateway.domain.access_decisions import AUDIT_STREAM_TYPE, AccessDecided

log = logging.getLogger(__name__)

AUDIT_EVENT_TYPE = versioned_type(AccessDecided.event_type, AccessDecided.version)
# Envelope fields that an event of an aggregate has and a decision has not: each record is a
# stream of its own, the request's (its id is the case and the cause).
ANONYMOUS = "anonymous"
# The fields of a decision's data, in their order (the record has them all, and id and time).
DECISION_FIELDS = tuple(f.name for f in fields(AccessDecided))


def audit_topic(namespace: str = "") -> str:
    return f"{namespace}gateway.audit"


@dataclass
class Decision:
    """What the gateway found out about one request while handling it."""

    subject: str = ANONYMOUS
    kind: str = ANONYMOUS
    office: str = "none"
    roles: tuple[str, ...] = ()
    decision: Literal["allow", "deny"] | None = None
    reason: str | None = None
    route: str | None = None
    target: str | None = None

    def caller(self, caller: Caller) -> None:
        self.subject, self.kind = caller.subject, caller.kind.value
        self.office = caller.office.value
        self.roles = tuple(sorted(role.value for role in caller.roles))

    def claimed(self, subject: str, kind: str = "user") -> None:
        """Who the caller says they are before it is proven (a log-in's username)."""
        self.subject, self.kind = subject, kind

    def allow(self, reason: str, *, route: str | None = None, target: str | None = None) -> None:
        self.decision, self.reason = "allow", reason
        self.route = route or self.route
        self.target = target or self.target

    def deny(self, reason: str) -> None:
        self.decision, self.reason = "deny", reason


_current: ContextVar[Decision | None] = ContextVar("gateway_decision", default=None)


def current_decision() -> Decision:
    """The decision of the request being handled; a throw-away one outside a request (tests
    that call the app layer directly, the command line)."""
    decision = _current.get()
    return decision if decision is not None else Decision()


def begin_decision() -> tuple[Decision, Any]:
    """A fresh decision for a new request; returns it and the token to reset it with."""
    decision = Decision()
    return decision, _current.set(decision)


def end_decision(token: Any) -> None:
    _current.reset(token)


@dataclass(frozen=True)
class AuditRecord:
    """One decision: who, from which office, which route and method, allowed or denied, why.

    ``client`` is the address of the connection's peer; ``forwarded_client`` the client a
    trusted proxy named (None without one); ``client_request_id`` the request id the client
    sent, kept beside the gateway's own ``request_id``."""

    time: datetime
    request_id: str
    subject: str
    kind: str
    office: str
    roles: tuple[str, ...]
    method: str
    route: str
    path: str
    status: int
    decision: Literal["allow", "deny"]
    reason: str
    client: str
    target: str | None = None
    forwarded_client: str | None = None
    client_request_id: str | None = None
    id: UUID = field(default_factory=new_event_id)

    def event(self) -> AccessDecided:
        """The record's data: everything but its id and time (the CloudEvent's)."""
        return AccessDecided(**{name: getattr(self, name) for name in DECISION_FIELDS})

    def envelope(self) -> EventEnvelope:
        # The event's fields (the record's own, all flat values), without ``asdict``'s deep
        # copies: one record per request, encoded by the audit publisher.
        data = {name: getattr(self, name) for name in DECISION_FIELDS}
        data["roles"] = list(self.roles)
        return EventEnvelope(
            id=self.id,
            source="/gateway",
            type=AUDIT_EVENT_TYPE,
            subject=self.subject,
            time=self.time,
            data=data,
            stream_type=AUDIT_STREAM_TYPE,
            stream_version=1,
            position=0,
            correlation_id=self.request_id,
            causation_id=self.request_id,
            actor=Actor(self.subject, self.office),
        )

    def to_cloudevent(self) -> dict[str, Any]:
        return self.envelope().to_cloudevent()

    def to_json_bytes(self) -> bytes:
        return self.envelope().to_json_bytes()


class AuditLog:
    """A bounded queue of audit records, drained to Kafka by a background task."""

    def __init__(
        self,
        topic: str,
        capacity: int = 10_000,
        *,
        batch_size: int = 500,
        gather_seconds: float = 0.0,
    ) -> None:
        self.topic = topic
        self.capacity = capacity
        self._batch_size = batch_size
        # After the first record of a batch, how long the records of the next moments may
        # join it: a record per request, each sent alone, cost a Kafka produce request each.
        self._gather = gather_seconds
        self._queue: asyncio.Queue[AuditRecord] | None = None
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0
        self.published = 0

    @property
    def queue(self) -> asyncio.Queue[AuditRecord]:
        # Made on first use, inside the running event loop.
        if self._queue is None:
            self._queue = asyncio.Queue(self.capacity)
        return self._queue

    @property
    def accepting(self) -> bool:
        """False while the queue is full: the gateway then refuses requests (fail closed)."""
        return not self.queue.full()

    def record(self, record: AuditRecord) -> None:
        """Queue a record without waiting; a full queue drops it, counted and logged."""
        try:
            self.queue.put_nowait(record)
        except asyncio.QueueFull:
            self.dropped += 1
            log.error(
                "audit queue full (%d); dropped the record of request %s (%s %s -> %d %s)",
                self.capacity,
                record.request_id,
                record.method,
                record.path,
                record.status,
                record.decision,
            )

    def start(self, producer: AIOKafkaProducer, supervisor: Supervisor) -> None:
        """Publish the queue under the service's ``supervisor``: a crash of the publisher is
        logged and it is started again (meanwhile the queue fills and the gateway fails
        closed)."""
        self._task = supervisor.spawn("audit publisher", lambda: self._drain(producer))

    async def stop(self, timeout: float = 5.0) -> None:
        """Give the queue ``timeout`` seconds to drain, then stop; what is left is lost."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self.queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if not self.queue.empty():
            log.error("audit stopped with %d records unpublished", self.queue.qsize())

    async def _drain(self, producer: AIOKafkaProducer) -> None:
        queue = self.queue
        while True:
            batch = [await queue.get()]
            if self._gather > 0:
                await asyncio.sleep(self._gather)
            while len(batch) < self._batch_size and not queue.empty():
                batch.append(queue.get_nowait())
            await self._publish(producer, batch)
            for _ in batch:
                queue.task_done()

    async def _publish(self, producer: AIOKafkaProducer, batch: list[AuditRecord]) -> None:
        """Send until Kafka has acknowledged every record of the batch. Only records whose send
        failed are sent again; one whose acknowledgement was lost may then arrive twice, with
        the same CloudEvent id, by which a reader drops it. Meanwhile new records wait."""
        backoff = 0.5
        pending = batch
        while pending:
            try:
                acks = [
                    await producer.send(
                        self.topic,
                        value=record.to_json_bytes(),
                        key=record.subject.encode(),
                        headers=[("content-type", b"application/cloudevents+json")],
                    )
                    for record in pending
                ]
                outcomes = await asyncio.gather(*acks, return_exceptions=True)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                outcomes = [exc] * len(pending)
            failed = [r for r, o in zip(pending, outcomes, strict=True) if isinstance(o, Exception)]
            self.published += len(pending) - len(failed)
            pending = failed
            if pending:
                log.error("publishing %d audit records failed; retrying", len(pending))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
