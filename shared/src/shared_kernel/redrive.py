"""Re-drive an inbox's dead letters once their cause is fixed: ``python -m <service> redrive
<consumer>``.

An inbox that cannot handle an event dead-letters it and records it as handled (its claim),
marked as dead-lettered (``InboxWriter.dead_mark``). A re-drive reads the service's dead-letter
topic, and for each record of that consumer releases the claim and handles the event again,
mark and all in one transaction (``InboxWriter.redrive``): exactly once, however often it runs,
and a record that fails again stays dead. When every dead letter of the consumer has been
handled (now or by an earlier re-drive), the consumer has recovered: ``DeadLetters.recovered``
announces it, and the incident its dead letters opened is resolved.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared_kernel.codec import MalformedEvent
from shared_kernel.envelope import EnvelopeError
from shared_kernel.inbox import INFRASTRUCTURE_ERRORS, InboxWriter
from shared_kernel.kafka import dead_letter_topic
from shared_kernel.kafka_connection import KafkaTarget, client_kwargs
from shared_kernel.projections import DeadLetters
from shared_kernel.runtime import ServiceRuntime

log = logging.getLogger(__name__)


@dataclass
class RedriveReport:
    consumer: str
    redriven: int = 0  # handled now
    skipped: int = 0  # re-driven before, or never dead-lettered by this inbox
    failed: list[str] = field(default_factory=list)  # still dead, with the reason

    @property
    def clean(self) -> bool:
        return not self.failed

    def __str__(self) -> str:
        failed = "".join(f"\n  still dead: {reason}" for reason in self.failed)
        return (
            f"{self.consumer}: {self.redriven} re-driven, {self.skipped} already handled, "
            f"{len(self.failed)} failed{failed}"
        )


async def redrive(
    writer: InboxWriter,
    dead_letters: Sequence[ConsumerRecord[bytes, bytes]],
    dead: DeadLetters,
    *,
    run: str,
) -> RedriveReport:
    """Re-drive the records of ``writer``'s consumer among ``dead_letters`` (the service's
    dead-letter topic); announce the recovery when none fails (``run`` names this re-drive in
    the notice's id, say the dead-letter topic's end offset)."""
    report = RedriveReport(writer.consumer)
    for record in dead_letters:
        if _header(record, "dlq.projection") != writer.consumer:
            continue
        where = (
            f"{_header(record, 'dlq.topic')}[{_header(record, 'dlq.partition')}]"
            f"@{_header(record, 'dlq.offset')}"
        )
        try:
            handled = await writer.redrive(record)
        except INFRASTRUCTURE_ERRORS:
            raise
        except (EnvelopeError, MalformedEvent) as exc:
            report.failed.append(f"{where}: {exc}")
            continue
        except Exception as exc:  # the cause is not fixed: the record stays dead
            report.failed.append(f"{where}: {type(exc).__name__}: {exc}")
            continue
        if handled:
            report.redriven += 1
        else:
            report.skipped += 1
    if report.clean:
        await dead.recovered(
            writer.consumer,
            how="redrive",
            detail=f"{report.redriven} dead letters handled after all, none failed",
            run=run,
        )
    return report


async def read_dead_letters(
    bootstrap_servers: KafkaTarget, topic: str
) -> tuple[list[ConsumerRecord[bytes, bytes]], int]:
    """Every record of the (one-partition) dead-letter topic, and its end offset."""
    consumer = AIOKafkaConsumer(**client_kwargs(bootstrap_servers), enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end: int = (await consumer.end_offsets([tp]))[tp]
        records: list[ConsumerRecord[bytes, bytes]] = []
        while (records[-1].offset + 1 if records else 0) < end:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            records.extend(batch.get(tp, []))
        return records, end
    finally:
        await consumer.stop()


async def redrive_service(runtime: ServiceRuntime, consumer: str) -> RedriveReport:
    """``python -m <service> redrive <consumer>``: the inbox named ``consumer`` (its name, or
    ``<service>.<name>`` as the dead-letter headers say) re-drives its dead letters.
    ``runtime`` must be built with the relay, projections and inboxes switched off."""
    handlers = {h.name: h for h in runtime.inboxes}
    name = consumer.removeprefix(f"{runtime.service}.")
    if name not in handlers:
        raise SystemExit(f"{runtime.service} has no inbox {consumer!r}: {sorted(handlers)}")
    await runtime.start()
    try:
        dead = runtime.dead_letters()
        writer = InboxWriter(handlers[name], runtime.service, runtime.unit_of_work, dead)
        topic = dead_letter_topic(runtime.service, runtime.namespace)
        records, end = await read_dead_letters(runtime.settings.kafka_connection(), topic)
        report = await redrive(writer, records, dead, run=f"{topic}@{end}")
    finally:
        await runtime.stop()
    print(report)
    return report


def _header(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode()
    return None
