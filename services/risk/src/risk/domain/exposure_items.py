"""Ledger items counted into exposures: one stream per booking request, one ``CountedEntry``
row per posted entry (before rows, a stream each), so that a later event about it (approval,
rejection, expiry, reversal) takes off exactly what was counted, on exactly the keys it was
counted under, whatever the later event's own metadata.

Events of different ledger streams arrive in any order between Kafka partitions: an approved
request's entry may come before the request's submission, a reversal before the original. The
end seen first leaves a ``settled`` marker; the beginning arriving later then counts nothing.
Every order ends in the same totals.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum

from shared_kernel.domain import Aggregate, DomainEvent

from risk.domain.exposure_events import LedgerItemCounted, LedgerItemSettled


class ItemStatus(StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    SETTLED = "settled"


def item_id(kind: str, ledger_id: str) -> str:
    return f"ledger-{kind}:{ledger_id}"


class CountedItem(Aggregate):
    stream_type = "counted_ledger_item"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status = ItemStatus.SETTLED
        self.counterparty: str | None = None
        self.desk: str | None = None
        self.amounts: dict[str, int] = {}

    @classmethod
    def count(
        cls,
        kind: str,
        ledger_id: str,
        status: ItemStatus,
        counterparty: str | None,
        desk: str | None,
        amounts: Mapping[str, int],
        at: datetime,
    ) -> CountedItem:
        item = cls(item_id(kind, ledger_id))
        item._record(
            LedgerItemCounted(
                item.id, ledger_id, kind, status.value, counterparty, desk, dict(amounts), at
            )
        )
        return item

    @classmethod
    def settled_before_seen(cls, kind: str, ledger_id: str, at: datetime) -> CountedItem:
        """The item's end arrived first: when its beginning arrives, it counts nothing."""
        return cls.count(kind, ledger_id, ItemStatus.SETTLED, None, None, {}, at)

    def settle(self, outcome: str, cause_id: str, at: datetime) -> None:
        self._record(LedgerItemSettled(self.id, outcome, cause_id, at))

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case LedgerItemCounted():
                self.status = ItemStatus(event.status)
                self.counterparty, self.desk = event.counterparty, event.desk
                self.amounts = dict(event.amounts)
            case LedgerItemSettled():
                self.status = ItemStatus.SETTLED
            case _:
                raise TypeError(f"CountedItem cannot apply {type(event).__name__}")


class CountedEntry:
    """A posted ledger entry counted into exposures, kept as a row of the inbox's own table
    rather than as a stream of its own (see ``risk.adapters.counted_entries``): an entry is
    counted once and ends at most once (reversed), so its whole history is its current row,
    and writing a batch's entries is one statement, not one event per ledger event.

    It answers like a ``CountedItem`` (``status``, ``counterparty``, ``desk``, ``amounts``,
    ``settle``), so that the exposure rule reads both the same way; ``changed`` says it has
    to be written."""

    def __init__(
        self,
        ledger_id: str,
        status: ItemStatus,
        counterparty: str | None,
        desk: str | None,
        amounts: Mapping[str, int],
        at: datetime,
        *,
        changed: bool = False,
    ) -> None:
        self.ledger_id = ledger_id
        self.status = status
        self.counterparty = counterparty
        self.desk = desk
        self.amounts = dict(amounts)
        self.at = at
        self.settled_by: str | None = None
        self.changed = changed
        # The status it was read in (None: new), which a write expects to find unchanged.
        self.read_as: ItemStatus | None = None

    @property
    def id(self) -> str:
        return item_id("entry", self.ledger_id)

    def settle(self, outcome: str, cause_id: str, at: datetime) -> None:
        """Reversed (the only end of a posted entry): it counts nothing any more."""
        self.status = ItemStatus.SETTLED
        self.settled_by = cause_id
        self.at = at
        self.changed = True
