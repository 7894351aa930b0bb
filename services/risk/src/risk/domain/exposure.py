"""Exposures: how much the company has at stake per counterparty, desk, or counterparty on a
desk, per currency, counted from the ledger's entries and booking requests.

The exposure rule: a ledger entry (or booking request) whose metadata names a ``counterparty``
and/or a ``desk`` counts, per currency, its gross amount: the sum of its debit lines in that
currency (equal to the sum of its credit lines, the entry being balanced). It counts under
every key its metadata allows: the counterparty, the desk, and the counterparty on the desk.
A posted entry is *posted* exposure; a booking request that risk cleared (a deal, see
``risk.domain.deals``) is *pending* exposure, its reservation, until it is approved (it becomes
the posted entry: moved, never counted twice), rejected or expires (released). A refused deal
reserves nothing. A reversal (Storno) takes the original's amounts off the original's keys.
Limits are measured against posted plus reserved exposure: deals count the moment they are
cleared.

One ``Exposure`` stream per key and currency holds the totals, the limits attached to that
key, their threshold states and the refused deals waiting for a limit on that key; it decides
every crossing once, recorded as an event.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from uuid import NAMESPACE_URL, uuid5

from shared_kernel.domain import Aggregate, DomainEvent

from risk.domain.exposure_events import (
    DealStoppedWaiting,
    DealWaitingForLimit,
    ExposureChanged,
    LimitAttached,
    LimitBackWithinThreshold,
    LimitBreached,
    LimitWarningReached,
    ThresholdCrossed,
)
from risk.domain.thresholds import Crossing, ThresholdState, crossings, state_of, utilisation_bp

_IDS = uuid5(NAMESPACE_URL, "urn:backoffice:risk:exposure")


@dataclass(frozen=True)
class ExposureKey:
    """One thing exposure is counted for: ``dimension`` is ``counterparty``, ``desk`` or
    ``counterparty_desk``; the values that do not belong to it are None."""

    dimension: str
    counterparty: str | None
    desk: str | None
    currency: str

    @property
    def id(self) -> str:
        """The exposure stream id: a name-based UUID, whatever characters the values hold."""
        return _exposure_id(self.dimension, self.counterparty, self.desk, self.currency)


@lru_cache(maxsize=65_536)
def _exposure_id(dimension: str, counterparty: str | None, desk: str | None, currency: str) -> str:
    """Computed once per key (every ledger event and pre-deal check asks for up to three)."""
    return str(uuid5(_IDS, json.dumps([dimension, counterparty, desk, currency])))


@lru_cache(maxsize=65_536)
def keys_for(counterparty: str | None, desk: str | None, currency: str) -> tuple[ExposureKey, ...]:
    """Every key an item with this counterparty and desk counts under, in one currency.

    Built once per combination (a book names few): the exposure inbox asks for them for
    every ledger entry, up to three frozen keys each time."""
    keys: list[ExposureKey] = []
    if counterparty:
        keys.append(ExposureKey("counterparty", counterparty, None, currency))
    if desk:
        keys.append(ExposureKey("desk", None, desk, currency))
    if counterparty and desk:
        keys.append(ExposureKey("counterparty_desk", counterparty, desk, currency))
    return tuple(keys)


def exposure_amounts(lines: Iterable[tuple[str, int, str]]) -> dict[str, int]:
    """The exposure amount of an entry's ``(side, amount, currency)`` lines: per currency, the
    sum of the debit lines."""
    amounts: dict[str, int] = {}
    for side, amount, currency in lines:
        if side == "debit":
            amounts[currency] = amounts.get(currency, 0) + amount
    return {currency: amount for currency, amount in amounts.items() if amount}


def counterparty_and_desk(metadata: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The counterparty and desk an entry's metadata names (blank means none)."""
    counterparty = (metadata.get("counterparty") or "").strip() or None
    desk = (metadata.get("desk") or "").strip() or None
    return counterparty, desk


@dataclass(frozen=True)
class AttachedLimit:
    limit_id: str
    version: int
    amount: int
    warning_threshold_bp: int
    valid_from: datetime
    valid_to: datetime | None
    state: ThresholdState = ThresholdState.BELOW

    def valid_at(self, at: datetime) -> bool:
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)


@dataclass(frozen=True)
class LimitInForce:
    """A limit active at the time of a decision, and its amount (minor units)."""

    limit_id: str
    amount: int


@dataclass(frozen=True)
class ExposureState:
    """What a deal is checked against on one key: the exposure (posted plus reserved) and
    the limits in force on it."""

    key: ExposureKey
    exposure: int
    limits: tuple[LimitInForce, ...]


@dataclass(frozen=True)
class ExposureMove:
    """One ledger item's move of an exposure (posted and pending deltas) and its cause."""

    posted: int
    pending: int
    cause: str
    cause_id: str
    at: datetime


_CROSSING_EVENTS: dict[Crossing, type[ThresholdCrossed]] = {
    Crossing.WARNING_REACHED: LimitWarningReached,
    Crossing.BREACHED: LimitBreached,
    Crossing.BACK_BELOW_LIMIT: LimitBackWithinThreshold,
    Crossing.BACK_BELOW_WARNING: LimitBackWithinThreshold,
}
_STATE_AFTER = {
    Crossing.WARNING_REACHED: ThresholdState.WARNING,
    Crossing.BREACHED: ThresholdState.BREACHED,
    Crossing.BACK_BELOW_LIMIT: ThresholdState.WARNING,
    Crossing.BACK_BELOW_WARNING: ThresholdState.BELOW,
}


class Exposure(Aggregate):
    """Posted and pending exposure of one key, with the limits measuring it."""

    stream_type = "exposure"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.key: ExposureKey | None = None
        self.posted = 0
        self.pending = 0
        self.limits: dict[str, AttachedLimit] = {}
        # Refused deals that count under this key: request id -> submitted at.
        self.waiting: dict[str, datetime] = {}

    @classmethod
    def of(cls, key: ExposureKey) -> Exposure:
        exposure = cls(key.id)
        exposure.key = key
        return exposure

    @property
    def total(self) -> int:
        return self.posted + self.pending

    def state_at(self, at: datetime, unsaved: int = 0) -> ExposureState:
        """The exposure (plus ``unsaved`` moves not applied yet) and the limits active at
        ``at``, for a deal's decision."""
        in_force = tuple(
            LimitInForce(limit.limit_id, limit.amount)
            for limit in sorted(self.limits.values(), key=lambda limit: limit.limit_id)
            if limit.valid_at(at)
        )
        return ExposureState(self._key(), self.total + unsaved, in_force)

    def waiting_deals(self) -> list[str]:
        """The refused deals waiting here, oldest first."""
        return sorted(self.waiting, key=lambda request_id: (self.waiting[request_id], request_id))

    def wait(self, request_id: str, since: datetime, at: datetime) -> None:
        """A refused deal waits for a limit on this key to be created or raised."""
        if request_id in self.waiting:
            return
        key = self._key()
        self._record(
            DealWaitingForLimit(
                exposure_id=self.id,
                dimension=key.dimension,
                counterparty=key.counterparty,
                desk=key.desk,
                currency=key.currency,
                request_id=request_id,
                since=since,
                at=at,
            )
        )

    def stop_waiting(self, request_id: str, at: datetime) -> None:
        if request_id in self.waiting:
            self._record(DealStoppedWaiting(self.id, request_id, at))

    def change(
        self, *, posted: int = 0, pending: int = 0, cause: str, cause_id: str, at: datetime
    ) -> None:
        """Move the exposure and record every threshold the attached limits valid at ``at``
        crossed because of it."""
        self.change_many([ExposureMove(posted, pending, cause, cause_id, at)])

    def change_many(self, moves: Iterable[ExposureMove]) -> None:
        """Move the exposure by each move in turn, deciding every threshold crossing at the
        move that causes it, exactly as one ``change`` per move would. Moves that cross
        nothing are recorded together: one ``ExposureChanged`` per run of moves up to (and
        including) a move that crosses a threshold, and one for the rest, so that a batch of
        deals costs a few events per exposure, not one per deal."""
        run: list[ExposureMove] = []
        posted, pending = self.posted, self.pending
        for move in moves:
            if not move.posted and not move.pending:
                continue
            run.append(move)
            posted, pending = posted + move.posted, pending + move.pending
            if self._crosses(posted + pending, move.at):
                self._record_changed(run)
                run = []
                for limit in list(self.limits.values()):
                    self._evaluate(limit.limit_id, move.cause, move.cause_id, move.at)
        if run:
            self._record_changed(run)

    def _crosses(self, total: int, at: datetime) -> bool:
        """Would ``total`` move a limit valid at ``at`` across a threshold?"""
        return any(
            limit.valid_at(at)
            and crossings(limit.state, state_of(total, limit.amount, limit.warning_threshold_bp))
            for limit in self.limits.values()
        )

    def _record_changed(self, run: list[ExposureMove]) -> None:
        key, last = self._key(), run[-1]
        posted = sum(move.posted for move in run)
        pending = sum(move.pending for move in run)
        self._record(
            ExposureChanged(
                exposure_id=self.id,
                dimension=key.dimension,
                counterparty=key.counterparty,
                desk=key.desk,
                currency=key.currency,
                posted_delta=posted,
                pending_delta=pending,
                posted=self.posted + posted,
                pending=self.pending + pending,
                cause=last.cause,
                cause_id=last.cause_id,
                at=last.at,
                cause_ids=tuple(move.cause_id for move in run) if len(run) > 1 else (),
            )
        )

    def attach(
        self,
        limit_id: str,
        version: int,
        amount: int,
        warning_threshold_bp: int,
        valid_from: datetime,
        valid_to: datetime | None,
        *,
        at: datetime,
    ) -> None:
        """A limit version now measures this exposure. Its new amount or threshold may itself
        move the utilisation across a threshold: evaluated at once, caused by the change."""
        key = self._key()
        self._record(
            LimitAttached(
                exposure_id=self.id,
                dimension=key.dimension,
                counterparty=key.counterparty,
                desk=key.desk,
                currency=key.currency,
                limit_id=limit_id,
                limit_version=version,
                amount=amount,
                warning_threshold_bp=warning_threshold_bp,
                valid_from=valid_from,
                valid_to=valid_to,
                at=at,
            )
        )
        self._evaluate(limit_id, "limit_change", f"{limit_id}/v{version}", at)

    def _evaluate(self, limit_id: str, cause: str, cause_id: str, at: datetime) -> None:
        limit = self.limits[limit_id]
        if not limit.valid_at(at):
            return  # an inactive limit keeps its state until it is measured again
        after = state_of(self.total, limit.amount, limit.warning_threshold_bp)
        key = self._key()
        for crossing in crossings(limit.state, after):
            event_class = _CROSSING_EVENTS[crossing]
            extra = (
                {"threshold": "limit" if crossing is Crossing.BACK_BELOW_LIMIT else "warning"}
                if event_class is LimitBackWithinThreshold
                else {}
            )
            self._record(
                event_class(
                    crossing_id=self._next_event_uuid(),
                    limit_id=limit.limit_id,
                    limit_version=limit.version,
                    exposure_id=self.id,
                    dimension=key.dimension,
                    counterparty=key.counterparty,
                    desk=key.desk,
                    currency=key.currency,
                    exposure=self.total,
                    limit_amount=limit.amount,
                    warning_threshold_bp=limit.warning_threshold_bp,
                    utilisation_bp=utilisation_bp(self.total, limit.amount),
                    state=_STATE_AFTER[crossing].value,
                    cause=cause,
                    cause_id=cause_id,
                    at=at,
                    **extra,
                )
            )

    def _next_event_uuid(self) -> str:
        """A stable id for the next event of this stream (its stream and version)."""
        return str(uuid5(_IDS, f"{self.id}/{self.version + len(self._pending) + 1}"))

    def _key(self) -> ExposureKey:
        assert self.key is not None, "an exposure is opened with Exposure.of(key)"
        return self.key

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case ExposureChanged():
                self.key = self.key or _key_of(event)
                self.posted, self.pending = event.posted, event.pending
            case LimitAttached():
                self.key = self.key or _key_of(event)
                previous = self.limits.get(event.limit_id)
                self.limits[event.limit_id] = AttachedLimit(
                    event.limit_id,
                    event.limit_version,
                    event.amount,
                    event.warning_threshold_bp,
                    event.valid_from,
                    event.valid_to,
                    previous.state if previous else ThresholdState.BELOW,
                )
            case ThresholdCrossed():
                limit = self.limits[event.limit_id]
                self.limits[event.limit_id] = replace(limit, state=ThresholdState(event.state))
            case DealWaitingForLimit():
                self.key = self.key or _key_of(event)
                self.waiting[event.request_id] = event.since
            case DealStoppedWaiting():
                self.waiting.pop(event.request_id, None)
            case _:
                raise TypeError(f"Exposure cannot apply {type(event).__name__}")


def _key_of(event: ExposureChanged | LimitAttached | DealWaitingForLimit) -> ExposureKey:
    return ExposureKey(event.dimension, event.counterparty, event.desk, event.currency)
