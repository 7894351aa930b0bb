"""Live exposures from the ledger: an inbox over the ledger's event topic that counts posted
entries, reversals and pending booking requests into this service's ``Exposure`` streams
(see ``risk.domain.exposure`` for the rule), exactly once, with every threshold crossing of
the attached limits decided and recorded in the same transaction.

It reads the ledger's events through its own classes of them (``risk.domain.ledger_events``,
the published language), decoded and validated by the kernel's inbox: the services share no
code but the kernel, and a malformed ledger event is dead-lettered, never counted. "Now" is
the ledger event's own time, so that a retried batch decides exactly as the first attempt
would have.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from shared_kernel.codec import EventCodec, RecordedEvent
from shared_kernel.inbox import InboxHandler
from shared_kernel.kafka import events_topic
from shared_kernel.unit_of_work import UnitOfWork

from risk.domain.exposure import (
    Exposure,
    ExposureKey,
    ExposureMove,
    counterparty_and_desk,
    exposure_amounts,
    keys_for,
)
from risk.domain.exposure_items import CountedItem, ItemStatus, item_id
from risk.domain.ledger_events import (
    LEDGER_EVENTS,
    BookingRequestExpired,
    BookingRequestRejected,
    BookingRequestSubmitted,
    JournalEntryPosted,
    LedgerLine,
)

ENTRY = "entry"
REQUEST = "booking_request"


class LedgerExposures(InboxHandler):
    """Exposure streams live long (one event per deal of a counterparty), so they stay in
    memory between batches instead of being replayed each time. A cached stream that another
    writer moved (a limit approval, another instance) fails the commit with a concurrency
    conflict; the runner retries, and a cached aggregate still holding unsaved events (its
    commit failed) is dropped and loaded afresh. The event store's version check is exact,
    so the cache can be stale but never wrong."""

    name = "ledger_exposures"

    def __init__(self, topic_namespace: str = "", *, cache_size: int = 20_000) -> None:
        self.topics = (events_topic("ledger", topic_namespace),)
        self.codec = EventCodec(LEDGER_EVENTS)
        self._cache: dict[str, Exposure] = {}
        self._cache_size = cache_size

    async def handle(self, uow: UnitOfWork, events: Sequence[RecordedEvent]) -> None:
        stale = [i for i, exposure in self._cache.items() if exposure.pending_events()]
        for exposure_id in stale:
            del self._cache[exposure_id]
        if len(self._cache) > self._cache_size:
            self._cache.clear()
        batch = _Batch(uow, self._cache)
        await batch.prefetch_items(events)
        # Approvals are not read: they arrive as the posted entry (it names its request).
        for envelope, event in events:
            match event:
                case JournalEntryPosted():
                    await batch.entry_posted(event, envelope.time)
                case BookingRequestSubmitted():
                    await batch.request_submitted(event, envelope.time)
                case BookingRequestRejected() | BookingRequestExpired():
                    await batch.request_released(event.request_id, envelope.time)
        await batch.move_exposures()


class _Batch:
    """The aggregates of one batch, each loaded once (a second load would conflict).

    Counted items change as the events come; the exposures' moves are collected per key in
    event order and applied at the end (``move_exposures``), every exposure the batch
    touches loaded in one query, so that each exposure decides its crossings move by move
    but records the moves between crossings as one change."""

    def __init__(self, uow: UnitOfWork, exposures: dict[str, Exposure]) -> None:
        self._uow = uow
        self._items: dict[str, CountedItem | None] = {}
        self._exposures = exposures
        self._moves: dict[ExposureKey, list[ExposureMove]] = {}

    async def prefetch_items(self, events: Sequence[RecordedEvent]) -> None:
        """Load every counted item the batch may need in one query."""
        wanted: set[str] = set()
        for _, event in events:
            match event:
                case JournalEntryPosted():
                    wanted.add(item_id(ENTRY, event.entry_id))
                    if event.request_id:
                        wanted.add(item_id(REQUEST, event.request_id))
                    if event.reverses:
                        wanted.add(item_id(ENTRY, event.reverses))
                case BookingRequestSubmitted() | BookingRequestRejected() | BookingRequestExpired():
                    wanted.add(item_id(REQUEST, event.request_id))
        found = await self._uow.find_many(CountedItem, sorted(wanted)) if wanted else {}
        self._items = {stream_id: found.get(stream_id) for stream_id in wanted}

    async def entry_posted(self, entry: JournalEntryPosted, at: datetime) -> None:
        entry_id = entry.entry_id
        if entry.reverses:
            await self._reverse(entry.reverses, entry_id, at)
            return
        counterparty, desk = counterparty_and_desk(entry.metadata)
        if not counterparty and not desk:
            return
        moves = _Moves()
        request_id = entry.request_id
        if request_id:
            # The request's pending exposure becomes this entry's posted exposure: one
            # change, so the total never dips in between (no false crossings).
            request = await self._item(REQUEST, request_id)
            if request is None:
                self._add_item(CountedItem.settled_before_seen(REQUEST, request_id, at))
            elif request.status is ItemStatus.PENDING:
                request.settle("posted", entry_id, at)
                moves.add(request.counterparty, request.desk, request.amounts, 0, -1)
        if await self._item(ENTRY, entry_id) is None:
            amounts = exposure_amounts(_lines(entry.lines))
            self._add_item(
                CountedItem.count(
                    ENTRY, entry_id, ItemStatus.POSTED, counterparty, desk, amounts, at
                )
            )
            moves.add(counterparty, desk, amounts, 1, 0)
        # else: its reversal came first, so it counts nothing.
        await self._apply(moves, "ledger_entry", entry_id, at)

    async def request_submitted(self, submitted: BookingRequestSubmitted, at: datetime) -> None:
        request_id = submitted.request_id
        counterparty, desk = counterparty_and_desk(submitted.metadata)
        if not counterparty and not desk:
            return
        if await self._item(REQUEST, request_id) is not None:
            return  # its posted entry came first: counted as posted already
        amounts = exposure_amounts(_lines(submitted.lines))
        self._add_item(
            CountedItem.count(
                REQUEST, request_id, ItemStatus.PENDING, counterparty, desk, amounts, at
            )
        )
        moves = _Moves()
        moves.add(counterparty, desk, amounts, 0, 1)
        await self._apply(moves, REQUEST, request_id, at)

    async def request_released(self, request_id: str, at: datetime) -> None:
        request = await self._item(REQUEST, request_id)
        if request is None or request.status is not ItemStatus.PENDING:
            return
        request.settle("released", request_id, at)
        moves = _Moves()
        moves.add(request.counterparty, request.desk, request.amounts, 0, -1)
        await self._apply(moves, REQUEST, request_id, at)

    async def _reverse(self, original_id: str, reversal_id: str, at: datetime) -> None:
        original = await self._item(ENTRY, original_id)
        if original is None:
            self._add_item(CountedItem.settled_before_seen(ENTRY, original_id, at))
        elif original.status is ItemStatus.POSTED:
            original.settle("reversed", reversal_id, at)
            moves = _Moves()
            moves.add(original.counterparty, original.desk, original.amounts, -1, 0)
            await self._apply(moves, "entry_reversal", reversal_id, at)

    async def _apply(self, moves: _Moves, cause: str, cause_id: str, at: datetime) -> None:
        for key, (posted, pending) in moves.by_key.items():
            move = ExposureMove(posted, pending, cause, cause_id, at)
            self._moves.setdefault(key, []).append(move)

    async def move_exposures(self) -> None:
        """Apply the batch's moves, each exposure's in event order."""
        missing = sorted({key.id for key in self._moves} - self._exposures.keys())
        found = await self._uow.find_many(Exposure, missing) if missing else {}
        for key, moves in self._moves.items():
            exposure = self._exposures.get(key.id) or found.get(key.id) or Exposure.of(key)
            self._exposures[key.id] = exposure
            self._uow.add(exposure)
            exposure.change_many(moves)

    async def _item(self, kind: str, ledger_id: str) -> CountedItem | None:
        stream_id = item_id(kind, ledger_id)
        if stream_id not in self._items:
            self._items[stream_id] = await self._uow.find(CountedItem, stream_id)
        return self._items[stream_id]

    def _add_item(self, item: CountedItem) -> None:
        self._items[item.id] = item
        self._uow.add(item)


class _Moves:
    """What one ledger event does to each exposure key: (posted, pending) deltas."""

    def __init__(self) -> None:
        self.by_key: dict[ExposureKey, tuple[int, int]] = {}

    def add(
        self,
        counterparty: str | None,
        desk: str | None,
        amounts: Mapping[str, int],
        posted_sign: int,
        pending_sign: int,
    ) -> None:
        for currency, amount in sorted(amounts.items()):
            for key in keys_for(counterparty, desk, currency):
                posted, pending = self.by_key.get(key, (0, 0))
                self.by_key[key] = (
                    posted + posted_sign * amount,
                    pending + pending_sign * amount,
                )


def _lines(lines: Sequence[LedgerLine]) -> list[tuple[str, int, str]]:
    return [(line.side, line.amount, line.currency) for line in lines]
