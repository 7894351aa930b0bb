"""Dead-letter notices: what a consumer could not handle, as CloudEvents any service can read.

The dead-letter topic ``<ns><service>.dead-letters`` keeps the original record (which may not
even be JSON) with ``dlq.*`` headers, for an operator. Beside it, ``DeadLetters`` publishes a
compact notice to ``<ns><service>.dead-letter-notices``: ``DeadLettered`` (which consumer, the
error, where the record was, and the original event's id, type and case when it decodes), and
``DeadLettersRecovered`` when a consumer has handled what it dead-lettered after all (a rebuild
of a read model that met no poison event). The tickets service turns them into incidents.

Exactly once in effect: a ``DeadLettered`` notice's id derives from service, consumer, topic,
partition and offset, so the same record dead-lettered again (a retried batch, a crash before
the commit) sends the same id and a reader's inbox claim drops it; a ``DeadLettersRecovered``
notice's id derives from the consumer and the run that recovered it (say the generation a
rebuild switched to). Notices are keyed by consumer: one consumer's notices stay in order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from aiokafka import AIOKafkaProducer, ConsumerRecord

from shared_kernel.codec import EventCodec
from shared_kernel.domain import DomainEvent
from shared_kernel.envelope import Actor, EnvelopeError, EventEnvelope, versioned_type

log = logging.getLogger(__name__)

_NOTICE_NAMESPACE = uuid5(NAMESPACE_URL, "urn:backoffice:dead-letter-notice")
NOTICE_STREAM_TYPE = "dead-letters"


@dataclass(frozen=True)
class DeadLettered(DomainEvent):
    """A consumer (a projection or an inbox) of ``service`` could not handle a record and sent
    it to ``dead_letter_topic``. ``source_event_*`` are None when the record does not decode."""

    event_type: ClassVar[str] = "backoffice.DeadLettered"

    service: str
    consumer: str
    error: str
    source_topic: str
    source_partition: int
    source_offset: int
    dead_letter_topic: str
    source_event_id: str | None = None
    source_event_type: str | None = None


@dataclass(frozen=True)
class DeadLettersRecovered(DomainEvent):
    """A consumer of ``service`` has handled what it dead-lettered after all; ``how`` (say
    ``rebuild``) and ``detail`` say how."""

    event_type: ClassVar[str] = "backoffice.DeadLettersRecovered"

    service: str
    consumer: str
    how: str
    detail: str


NOTICE_EVENTS: tuple[type[DomainEvent], ...] = (DeadLettered, DeadLettersRecovered)


def dead_lettered_id(service: str, consumer: str, topic: str, partition: int, offset: int) -> UUID:
    """The notice id of one record dead-lettered by one consumer: the same at every retry."""
    return uuid5(_NOTICE_NAMESPACE, f"dead-lettered\x00{service}\x00{consumer}\x00{topic}"
                                    f"\x00{partition}\x00{offset}")  # fmt: skip


def recovered_id(service: str, consumer: str, run: str) -> UUID:
    """The notice id of one recovery run (``run`` names it, say ``generation 4``)."""
    return uuid5(_NOTICE_NAMESPACE, f"recovered\x00{service}\x00{consumer}\x00{run}")


def is_notices_topic(topic: str) -> bool:
    return topic.endswith(".dead-letter-notices")


class DeadLetterNotices:
    """Publishes a service's dead-letter notices to its notices topic."""

    def __init__(self, producer: AIOKafkaProducer, service: str, topic: str) -> None:
        self._producer = producer
        self.service = service
        self.topic = topic
        self._codec = EventCodec(NOTICE_EVENTS)

    async def dead_lettered(
        self,
        consumer: str,
        record: ConsumerRecord[bytes, bytes],
        error: str,
        dead_letter_topic: str,
    ) -> None:
        notice_id = dead_lettered_id(
            self.service, consumer, record.topic, record.partition, record.offset
        )
        try:
            original: EventEnvelope | None = EventEnvelope.from_json_bytes(record.value or b"")
        except EnvelopeError:
            original = None  # undecodable: the notice still tells where the record was
        event = DeadLettered(
            service=self.service,
            consumer=consumer,
            error=error[:2000],
            source_topic=record.topic,
            source_partition=record.partition,
            source_offset=record.offset,
            dead_letter_topic=dead_letter_topic,
            source_event_id=str(original.id) if original else None,
            source_event_type=original.type if original else None,
        )
        # The original's case, caused by it: a reader's effects join the case it broke.
        case = (original.correlation_id, str(original.id)) if original else None
        await self._publish(notice_id, consumer, event, case)

    async def recovered(self, consumer: str, *, how: str, detail: str, run: str) -> None:
        event = DeadLettersRecovered(
            service=self.service, consumer=consumer, how=how, detail=detail[:2000]
        )
        await self._publish(recovered_id(self.service, consumer, run), consumer, event, None)

    async def _publish(
        self,
        notice_id: UUID,
        consumer: str,
        event: DomainEvent,
        case: tuple[str, str] | None,
    ) -> None:
        correlation_id, causation_id = case or (str(notice_id), str(notice_id))
        envelope = EventEnvelope(
            id=notice_id,
            source=f"/{self.service}",
            type=versioned_type(event.event_type, event.version),
            subject=consumer,
            time=datetime.now(UTC),
            data=self._codec.encode(event),
            stream_type=NOTICE_STREAM_TYPE,
            stream_version=0,
            position=0,
            correlation_id=correlation_id,
            causation_id=causation_id,
            actor=Actor.system(f"{self.service}-dead-letters"),
        )
        await self._producer.send_and_wait(
            self.topic, value=envelope.to_json_bytes(), key=consumer.encode()
        )
        log.info("%s notice %s for %s", event.event_type, notice_id, consumer)
