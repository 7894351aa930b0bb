"""The rolling-window KRIs "SLA breaches in the last 30 days" and "customer satisfaction over
the last 30 days": their definitions and the kernel inbox that feeds each from the tickets
topic (the windows and values are the domain's, ``risk.domain.kri_windows``).

Exactly once: the kernel inbox claims each tickets event in the batch's transaction; the entry
(in the KRI's day stream, deduplicated by the tickets event's id as well) and the measurement
(id = the tickets event's id) are appended in that same transaction. "Now" is the tickets
event's time, so a retried batch decides the same; a replay of the topic finds every event
claimed and changes nothing. Everything an event causes is recorded inside
``caused_by(envelope.cause)``: it joins the tickets event's business case.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from shared_kernel.codec import EventCodec, RecordedEvent
from shared_kernel.domain import caused_by
from shared_kernel.inbox import InboxHandler
from shared_kernel.kafka import events_topic
from shared_kernel.unit_of_work import UnitOfWork

from risk.app.kri_stream import KRI_LOCK, StreamKriSpec, define_stream_kri
from risk.domain.kri import Kri, KriDefinition, KriSource, Thresholds, kri_stream_id
from risk.domain.kri_windows import (
    CUSTOMER_SATISFACTION,
    SLA_BREACHES,
    WINDOW_DAYS,
    DayTotals,
    KriWindowDay,
    WindowRule,
    day_of,
    entry_of,
    in_window,
    measure_window,
    window_day_stream_id,
    window_days,
)


def sla_breaches_spec(amber: float, red: float, owner: str) -> StreamKriSpec:
    return StreamKriSpec(
        SLA_BREACHES.kri_id,
        KriDefinition(
            name=f"SLA breaches in the last {WINDOW_DAYS} days",
            description="Tickets whose response or resolution SLA ran out, over the last "
            f"{WINDOW_DAYS} UTC days (re-measured daily at 00:00 UTC), from the tickets "
            "service's events.",
            unit="breaches",
            owner=owner,
            source=KriSource.STREAM,
            stream_rule=SLA_BREACHES.stream_rule,
        ),
        Thresholds.of("higher_is_worse", amber, red),
    )


def customer_satisfaction_spec(amber: float, red: float, owner: str) -> StreamKriSpec:
    return StreamKriSpec(
        CUSTOMER_SATISFACTION.kri_id,
        KriDefinition(
            name=f"Customer satisfaction over the last {WINDOW_DAYS} days",
            description="The average rating (1 = bad .. 5 = good) requesters gave resolved "
            f"tickets over the last {WINDOW_DAYS} UTC days (re-measured daily at 00:00 UTC); "
            "no value without ratings.",
            unit="average rating",
            owner=owner,
            source=KriSource.STREAM,
            stream_rule=CUSTOMER_SATISFACTION.stream_rule,
        ),
        Thresholds.of("lower_is_worse", amber, red),
    )


class WindowDays:
    """The day streams of one window KRI a unit of work needs, each loaded once (loading a
    stream twice would conflict with itself); new days are tracked, and appended only when
    they get an entry."""

    def __init__(self, uow: UnitOfWork, kri_id: str) -> None:
        self._uow = uow
        self._kri_id = kri_id
        self._days: dict[date, KriWindowDay] = {}

    async def load(self, days: Iterable[date]) -> list[KriWindowDay]:
        wanted = list(days)
        missing = [d for d in wanted if d not in self._days]
        if missing:
            ids = {d: window_day_stream_id(self._kri_id, d) for d in missing}
            found = await self._uow.find_many(KriWindowDay, list(ids.values()))
            for day, stream_id in ids.items():
                if stream_id not in found:
                    found[stream_id] = KriWindowDay(stream_id)
                    self._uow.add(found[stream_id])
                self._days[day] = found[stream_id]
        return [self._days[d] for d in wanted]

    async def totals(self, days: Iterable[date]) -> list[DayTotals]:
        return [d.totals for d in await self.load(days)]


class WindowKriInbox(InboxHandler):
    """Feeds one rolling-window KRI from ``tickets.events`` (its rule's event type only)."""

    def __init__(self, rule: WindowRule, spec: StreamKriSpec, topic_namespace: str = "") -> None:
        self.rule = rule
        self.spec = spec
        self.name = f"kri_{rule.kri_id.replace('-', '_')}"
        self.topics = (events_topic("tickets", topic_namespace),)
        self.codec = EventCodec((rule.source_type,))

    async def handle(self, uow: UnitOfWork, events: Sequence[RecordedEvent]) -> None:
        # Batches of several partitions move one KRI (and share its day streams): queue.
        await uow.lock(KRI_LOCK, kri_stream_id(self.spec.kri_id))
        kri = await uow.find(Kri, kri_stream_id(self.spec.kri_id))
        if kri is None:
            kri = define_stream_kri(self.spec, uow.context.actor.subject)
            uow.add(kri)
        days = WindowDays(uow, self.rule.kri_id)
        recorded_by = uow.context.actor.subject
        for envelope, event in events:
            entry = entry_of(event)
            with caused_by(envelope.cause):
                (day,) = await days.load([day_of(entry.at)])
                if not day.record(str(envelope.id), entry, source_event_type=envelope.event_type):
                    continue
                last = kri.last_measured_at
                now = max(envelope.time, last) if last else envelope.time
                # A late entry (outside the window) is kept but moves nothing; the first one
                # still gives a count its value (0: green rather than never measured).
                if not in_window(entry.at, now) and kri.latest is not None:
                    continue
                measure_window(
                    kri,
                    self.rule,
                    await days.totals(window_days(now)),
                    str(envelope.id),
                    now,
                    source=envelope.event_type,
                    recorded_by=recorded_by,
                )
