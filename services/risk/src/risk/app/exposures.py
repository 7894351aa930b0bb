"""Live exposures and deal clearance from the ledger: an inbox over the ledger's event topic
that decides every deal (a booking request naming a counterparty or desk: cleared or refused
against the active limits, see ``risk.domain.deals``) and counts posted entries, reversals and
the reservations of cleared deals into this service's ``Exposure`` streams (see
``risk.domain.exposure`` for the rule), exactly once, with every threshold crossing of the
attached limits decided and recorded in the same transaction.

It reads the ledger's events through its own classes of them (``risk.domain.ledger_events``,
the published language), decoded and validated by the kernel's inbox: the services share no
code but the kernel, and a malformed ledger event is dead-lettered, never counted. "Now" is
the ledger event's own time, so that a retried batch decides exactly as the first attempt
would have. Every event recorded for a ledger event joins that event's business case, caused
by it.

Set-based: a batch of ledger events is handled in a few statements, whatever its size (the
kernel claims its ids in one; the counted entries, requests, clearances and exposures it needs
are read once each; the counted entries are written in one, see ``CountedEntries``), and it
records only changes that matter: per exposure, one ``ExposureChanged`` per run of moves up to
a threshold crossing, each crossing once, and nothing per posted entry.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime

from shared_kernel.codec import EventCodec, RecordedEvent
from shared_kernel.domain import Cause, DomainEvent, caused_by
from shared_kernel.inbox import InboxHandler
from shared_kernel.kafka import events_topic
from shared_kernel.unit_of_work import UnitOfWork

from risk.domain.deals import DealClearance, DealTerms, clearance_id
from risk.domain.exposure import (
    Exposure,
    ExposureKey,
    ExposureMove,
    counterparty_and_desk,
    exposure_amounts,
    keys_for,
)
from risk.domain.exposure_events import ExposureChanged, ThresholdCrossed
from risk.domain.exposure_items import CountedEntry, CountedItem, ItemStatus, item_id
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
# The cause of a move that releases a request's reservation (rejected or expired): apart
# from the submission's, so that every move's (cause, cause id) names one ledger event.
RELEASE = "booking_request_release"

# A posted entry as counted: a row (``CountedEntry``) or, counted before rows, a stream.
EntryItem = CountedEntry | CountedItem


class CountedEntries(ABC):
    """Where the inbox keeps the posted entries it counted (what a reversal takes off), by
    ledger entry id: read for a whole batch at once, written at its end."""

    @abstractmethod
    async def load(self, uow: UnitOfWork, entry_ids: Sequence[str]) -> dict[str, EntryItem]:
        """The counted entries among ``entry_ids`` (the others were never seen)."""

    @abstractmethod
    def new(self, uow: UnitOfWork, entry: CountedEntry) -> EntryItem:
        """Keep a newly counted entry (written by ``save`` or the commit)."""

    @abstractmethod
    async def save(self, uow: UnitOfWork, entries: Sequence[EntryItem]) -> None:
        """Write the new and changed entries of a batch, in the batch's transaction."""


class StreamCountedEntries(CountedEntries):
    """Each counted entry a ``CountedItem`` stream of the event store (the event-sourced
    form; also how entries were kept before ``risk.adapters.counted_entries``)."""

    async def load(self, uow: UnitOfWork, entry_ids: Sequence[str]) -> dict[str, EntryItem]:
        if not entry_ids:
            return {}
        ids = {item_id(ENTRY, entry_id): entry_id for entry_id in entry_ids}
        found = await uow.find_many(CountedItem, sorted(ids))
        return {ids[stream_id]: item for stream_id, item in found.items()}

    def new(self, uow: UnitOfWork, entry: CountedEntry) -> EntryItem:
        item = CountedItem.count(
            ENTRY,
            entry.ledger_id,
            entry.status,
            entry.counterparty,
            entry.desk,
            entry.amounts,
            entry.at,
        )
        uow.add(item)
        return item

    async def save(self, uow: UnitOfWork, entries: Sequence[EntryItem]) -> None:
        """Nothing to do: the commit appends the streams' new events."""


class LedgerExposures(InboxHandler):
    """Exposure streams live long (one event per deal of a counterparty), so they stay in
    memory between batches instead of being replayed each time. A cached stream that another
    writer moved (a limit approval, another instance) fails the commit with a concurrency
    conflict; the runner retries, and a cached aggregate still holding unsaved events (its
    commit failed) is dropped and loaded afresh. The event store's version check is exact,
    so the cache can be stale but never wrong: every deal's decision writes to every
    exposure it read (a reservation or a waiting refusal)."""

    name = "ledger_exposures"
    # Fetches of up to 2,000 ledger events: a batch records one change per exposure it moves
    # (some 250 of them for a busy book, whatever the batch's size), so a lagging inbox that
    # takes four times the runner's default records a quarter of the events, and risk's own
    # projections and relay have a quarter of the work. Each transaction stays well below a
    # second; a conflict (a limit approval meanwhile) retries one such batch.
    max_records = 2_000

    def __init__(
        self,
        topic_namespace: str = "",
        *,
        cache_size: int = 20_000,
        entries: CountedEntries | None = None,
    ) -> None:
        self.topics = (events_topic("ledger", topic_namespace),)
        self.codec = EventCodec(LEDGER_EVENTS)
        self._entries = entries or StreamCountedEntries()
        self._cache: dict[str, Exposure] = {}
        self._cache_size = cache_size

    async def handle(self, uow: UnitOfWork, events: Sequence[RecordedEvent]) -> None:
        stale = [i for i, exposure in self._cache.items() if exposure.pending_events()]
        for exposure_id in stale:
            del self._cache[exposure_id]
        if len(self._cache) > self._cache_size:
            self._cache.clear()
        batch = _Batch(uow, self._cache, self._entries)
        await batch.prefetch(events)
        # Approvals are not read: they arrive as the posted entry (it names its request).
        for envelope, event in events:
            batch.cause = cause = envelope.cause
            with caused_by(cause):
                match event:
                    case JournalEntryPosted():
                        await batch.entry_posted(event, envelope.time)
                    case BookingRequestSubmitted():
                        await batch.request_submitted(event, envelope.time)
                    case BookingRequestRejected():
                        await batch.request_released(event.request_id, "rejected", envelope.time)
                    case BookingRequestExpired():
                        await batch.request_released(event.request_id, "expired", envelope.time)
        await batch.move_exposures()
        await batch.save_entries()


class _Batch:
    """The aggregates of one batch, each loaded once (a second load would conflict).

    Counted items and clearances change as the events come; the exposures' moves are
    collected per key in event order and applied at the end (``move_exposures``), so that
    each exposure decides its crossings move by move but records the moves between crossings
    as one change. A deal decided in the middle of the batch sees the moves before it
    (``_unsaved``). The moves' events get the case of the ledger event that caused them
    (``_causes``, by the move's cause and cause id)."""

    def __init__(
        self, uow: UnitOfWork, exposures: dict[str, Exposure], entries: CountedEntries
    ) -> None:
        self._uow = uow
        self._items: dict[str, CountedItem | None] = {}  # booking requests, by stream id
        self._entry_store = entries
        self._entries: dict[str, EntryItem | None] = {}  # posted entries, by entry id
        self._clearances: dict[str, DealClearance | None] = {}
        self._exposures = exposures
        self._moves: dict[ExposureKey, list[ExposureMove]] = {}
        self._unsaved: dict[str, int] = {}
        self._causes: dict[tuple[str, str], Cause] = {}
        self.cause: Cause | None = None  # of the ledger event being handled

    async def prefetch(self, events: Sequence[RecordedEvent]) -> None:
        """Load every counted item, clearance and deal exposure the batch may need, one
        query for each kind."""
        items: set[str] = set()
        entries: set[str] = set()
        requests: set[str] = set()
        keys: list[ExposureKey] = []
        for _, event in events:
            match event:
                case JournalEntryPosted():
                    entries.add(event.entry_id)
                    if event.request_id:
                        items.add(item_id(REQUEST, event.request_id))
                        requests.add(event.request_id)
                    if event.reverses:
                        entries.add(event.reverses)
                case BookingRequestSubmitted():
                    counterparty, desk = counterparty_and_desk(event.metadata)
                    if counterparty or desk:
                        items.add(item_id(REQUEST, event.request_id))
                        requests.add(event.request_id)
                        for currency in exposure_amounts(_lines(event.lines)):
                            keys.extend(keys_for(counterparty, desk, currency))
                case BookingRequestRejected() | BookingRequestExpired():
                    items.add(item_id(REQUEST, event.request_id))
                    requests.add(event.request_id)
        found = await self._uow.find_many(CountedItem, sorted(items)) if items else {}
        self._items = {stream_id: found.get(stream_id) for stream_id in items}
        counted = await self._entry_store.load(self._uow, sorted(entries))
        self._entries = {entry_id: counted.get(entry_id) for entry_id in entries}
        ids = {clearance_id(request_id): request_id for request_id in requests}
        decided = await self._uow.find_many(DealClearance, sorted(ids)) if ids else {}
        self._clearances = {ids[i]: decided.get(i) for i in ids}
        await self._load_exposures(keys)

    async def entry_posted(self, entry: JournalEntryPosted, at: datetime) -> None:
        entry_id = entry.entry_id
        if entry.reverses:
            await self._reverse(entry.reverses, entry_id, at)
            return
        counterparty, desk = counterparty_and_desk(entry.metadata)
        request_id = entry.request_id
        if request_id:
            await self._deal_posted(request_id, entry_id, at)
        if not counterparty and not desk:
            return
        moves = _Moves()
        if request_id:
            # The request's reservation becomes this entry's posted exposure: one change, so
            # the total never dips in between (no false crossings). A request never cleared
            # reserved nothing: its entry just counts as posted.
            request = await self._item(REQUEST, request_id)
            if request is None:
                self._add_item(CountedItem.settled_before_seen(REQUEST, request_id, at))
            elif request.status is ItemStatus.PENDING:
                request.settle("posted", entry_id, at)
                moves.add(request.counterparty, request.desk, request.amounts, 0, -1)
        if await self._entry(entry_id) is None:
            amounts = exposure_amounts(_lines(entry.lines))
            self._add_entry(
                CountedEntry(entry_id, ItemStatus.POSTED, counterparty, desk, amounts, at)
            )
            moves.add(counterparty, desk, amounts, 1, 0)
        # else: its reversal came first, so it counts nothing.
        await self._apply(moves, "ledger_entry", entry_id, at)

    async def request_submitted(self, submitted: BookingRequestSubmitted, at: datetime) -> None:
        """A deal: cleared (it reserves its amounts) or refused (it waits on its keys)."""
        request_id = submitted.request_id
        counterparty, desk = counterparty_and_desk(submitted.metadata)
        if not counterparty and not desk:
            return  # not a deal: needs no clearance, counts nothing until posted
        if await self._item(REQUEST, request_id) is not None:
            return  # its posted entry came first: counted as posted already
        if await self._clearance(request_id) is not None:
            return  # decided before
        amounts = exposure_amounts(_lines(submitted.lines))
        terms = DealTerms(request_id, counterparty, desk, amounts)
        keys = terms.keys()
        exposures = await self._load_exposures(keys)
        states = {
            key: exposure.state_at(at, self._unsaved.get(key.id, 0))
            for key, exposure in zip(keys, exposures, strict=True)
        }
        clearance = DealClearance.decide(terms, states, submitted_at=at)
        self._clearances[request_id] = clearance
        self._uow.add(clearance)
        if not clearance.reserved:
            for exposure in exposures:
                exposure.wait(request_id, at, at)
            return
        self._add_item(
            CountedItem.count(
                REQUEST, request_id, ItemStatus.PENDING, counterparty, desk, amounts, at
            )
        )
        moves = _Moves()
        moves.add(counterparty, desk, amounts, 0, 1)
        await self._apply(moves, REQUEST, request_id, at)

    async def request_released(self, request_id: str, outcome: str, at: datetime) -> None:
        """Rejected or expired: a cleared deal's reservation is released, a refused deal
        stops waiting."""
        clearance = await self._clearance(request_id)
        if clearance is not None:
            waiting = clearance.waiting
            clearance.release(outcome, at)
            if waiting:
                await self._stop_waiting(clearance, at)
        request = await self._item(REQUEST, request_id)
        if request is None or request.status is not ItemStatus.PENDING:
            return
        request.settle("released", request_id, at)
        moves = _Moves()
        moves.add(request.counterparty, request.desk, request.amounts, 0, -1)
        await self._apply(moves, RELEASE, request_id, at)

    async def _deal_posted(self, request_id: str, entry_id: str, at: datetime) -> None:
        clearance = await self._clearance(request_id)
        if clearance is None:
            return
        waiting = clearance.waiting
        clearance.post(entry_id, at)
        if waiting:
            await self._stop_waiting(clearance, at)

    async def _stop_waiting(self, clearance: DealClearance, at: datetime) -> None:
        assert clearance.terms is not None
        request_id = clearance.terms.request_id
        for exposure in await self._load_exposures(clearance.terms.keys()):
            exposure.stop_waiting(request_id, at)

    async def _reverse(self, original_id: str, reversal_id: str, at: datetime) -> None:
        original = await self._entry(original_id)
        if original is None:
            self._add_entry(CountedEntry(original_id, ItemStatus.SETTLED, None, None, {}, at))
        elif original.status is ItemStatus.POSTED:
            original.settle("reversed", reversal_id, at)
            moves = _Moves()
            moves.add(original.counterparty, original.desk, original.amounts, -1, 0)
            await self._apply(moves, "entry_reversal", reversal_id, at)

    async def _apply(self, moves: _Moves, cause: str, cause_id: str, at: datetime) -> None:
        if self.cause is not None:
            self._causes[(cause, cause_id)] = self.cause
        # The keys of one event mostly move alike (a counterparty, its desk, the two): one
        # move each for them, it being immutable.
        made: dict[tuple[int, int], ExposureMove] = {}
        for key, deltas in moves.by_key.items():
            move = made.get(deltas)
            if move is None:
                move = made[deltas] = ExposureMove(*deltas, cause, cause_id, at)
            self._moves.setdefault(key, []).append(move)
            self._unsaved[key.id] = self._unsaved.get(key.id, 0) + move.posted + move.pending

    async def move_exposures(self) -> None:
        """Apply the batch's moves, each exposure's in event order; each event they record
        carries the case of the ledger event that caused it."""
        exposures = await self._load_exposures(list(self._moves))
        for exposure, moves in zip(exposures, self._moves.values(), strict=True):
            exposure.change_many(moves)
            exposure.restamp(self._cause_of)

    def _cause_of(self, event: DomainEvent) -> Cause | None:
        if isinstance(event, ExposureChanged | ThresholdCrossed):
            return self._causes.get((event.cause, event.cause_id))
        return None

    async def _load_exposures(self, keys: Sequence[ExposureKey]) -> list[Exposure]:
        """The exposures of ``keys`` (cached, loaded in one query, or new), tracked."""
        missing = sorted({key.id for key in keys} - self._exposures.keys())
        found = await self._uow.find_many(Exposure, missing) if missing else {}
        loaded: list[Exposure] = []
        for key in keys:
            exposure = self._exposures.get(key.id) or found.get(key.id) or Exposure.of(key)
            self._exposures[key.id] = exposure
            self._uow.add(exposure)
            loaded.append(exposure)
        return loaded

    async def _clearance(self, request_id: str) -> DealClearance | None:
        if request_id not in self._clearances:
            self._clearances[request_id] = await self._uow.find(
                DealClearance, clearance_id(request_id)
            )
        return self._clearances[request_id]

    async def _item(self, kind: str, ledger_id: str) -> CountedItem | None:
        stream_id = item_id(kind, ledger_id)
        if stream_id not in self._items:
            self._items[stream_id] = await self._uow.find(CountedItem, stream_id)
        return self._items[stream_id]

    async def save_entries(self) -> None:
        """Write the batch's new and changed counted entries at once."""
        await self._entry_store.save(
            self._uow, [entry for entry in self._entries.values() if entry is not None]
        )

    async def _entry(self, entry_id: str) -> EntryItem | None:
        if entry_id not in self._entries:
            found = await self._entry_store.load(self._uow, [entry_id])
            self._entries[entry_id] = found.get(entry_id)
        return self._entries[entry_id]

    def _add_entry(self, entry: CountedEntry) -> None:
        entry.changed = True
        self._entries[entry.ledger_id] = self._entry_store.new(self._uow, entry)

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
