"""The ledger's read model: the chart of accounts with booked, reserved and per-month totals,
the journal, each account's lines, booking requests and closed periods.

Set-based: a batch of events becomes a few multi-row statements, which is what makes rebuilds
fast. Applying is a pure function of the events: no side effects, safe to replay.

Events of one stream arrive in order (one Kafka partition), events of different streams in
any order between partitions. So totals are additive upserts (they commute), and a fact that
links two streams is written from both sides: a reversal sets ``reversed_by`` from the
reversal entry and from the original's ``JournalEntryReversed``; an approved request is
marked approved from its entry and from its own ``BookingRequestApproved``. Whichever comes
first, the end state is the same. The facts recorded on constrained accounts' streams
(postings, reservations) are not needed here: entries and requests carry the same amounts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from shared_kernel.codec import EventCodec, RecordedEvent
from shared_kernel.domain import DomainEvent
from shared_kernel.envelope import EventEnvelope
from shared_kernel.kafka import events_topic
from shared_kernel.recordsets import add_to, insert_rows
from shared_kernel.typed_projection import TypedProjection
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.domain import ALL_EVENTS, AccountType, ClearanceStatus
from ledger.domain import events as ev
from ledger.domain.clearance import clearance_on_submission
from ledger.projections.tables import (
    account_balances,
    account_daily_totals,
    account_period_totals,
    accounts,
    booking_requests,
    entry_lines,
    journal_entries,
    metadata,
    periods,
    request_lines,
)


class LedgerView(TypedProjection):
    # The name carries the schema's version: a deploy that changes the tables builds the new
    # read model from offset zero under a new name (and consumer group) instead of reading
    # an old generation it cannot understand.
    name = "ledger_view_v4"
    metadata = metadata
    # Inserts of new rows, additive upserts and single-statement updates (``greatest``):
    # batches of different partitions may be written at once (see ``Projection``).
    parallel_fill = True
    reads = (
        ev.AccountOpened,
        ev.AccountClosed,
        ev.AccountRenamed,
        ev.AccountPostingRecorded,
        ev.AccountFundsReserved,
        ev.AccountReservationReleased,
        ev.JournalEntryPosted,
        ev.JournalEntryReversed,
        ev.BookingRequestSubmitted,
        ev.BookingRequestApproved,
        ev.BookingRequestRejected,
        ev.BookingRequestExpired,
        ev.BookingRequestCleared,
        ev.BookingRequestRefused,
        ev.PeriodClosed,
    )

    def __init__(self, topic_namespace: str = "", *, codec: EventCodec | None = None) -> None:
        """``codec``: the service's, with its upcasters (default: the ledger's event classes)."""
        super().__init__(codec or EventCodec(ALL_EVENTS))
        self.topics = (events_topic("ledger", topic_namespace),)

    async def apply_events(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        batch = _Batch()
        for envelope, event in events:
            _collect(batch, envelope, event)
        await batch.write(conn)


@dataclass
class _Batch:
    """What one batch of events changes, gathered before a few multi-row statements."""

    opened: list[dict[str, Any]] = field(default_factory=list)
    closed: list[dict[str, Any]] = field(default_factory=list)
    # account id -> its latest name in the batch (a stream's events come in order)
    renamed: dict[str, str] = field(default_factory=dict)
    account_versions: dict[str, int] = field(default_factory=dict)
    entries: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    reversals: list[dict[str, Any]] = field(default_factory=list)
    # account id -> [debits, credits, lines, debits pending, credits pending]
    balances: defaultdict[str, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0, 0, 0])
    )
    # (account id, period) -> [debits, credits, lines]
    period_totals: defaultdict[tuple[str, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0])
    )
    # (account id, booking date as YYYY-MM-DD) -> [debits, credits]
    daily_totals: defaultdict[tuple[str, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])
    )
    requests: list[dict[str, Any]] = field(default_factory=list)
    request_lines: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    # risk's answers, in stream order (a later answer overwrites an earlier one)
    clearances: list[dict[str, Any]] = field(default_factory=list)
    approved_by_entry: list[dict[str, Any]] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    closed_periods: list[dict[str, Any]] = field(default_factory=list)

    def reserve(self, lines: Sequence[dict[str, Any]], sign: int) -> None:
        for line in lines:
            pending = self.balances[line["account_id"]]
            pending[3 if line["side"] == "debit" else 4] += sign * int(line["amount"])

    async def write(self, conn: AsyncConnection) -> None:
        if self.opened:
            await insert_rows(conn, accounts, self.opened)
        if self.requests:
            await insert_rows(conn, booking_requests, self.requests)
            rows = [line for lines in self.request_lines.values() for line in lines]
            await insert_rows(conn, request_lines, rows)
        if self.entries:
            await insert_rows(conn, journal_entries, self.entries)
            await insert_rows(conn, entry_lines, self.lines)
        if self.released:
            await self._release(conn)
        if self.balances:
            await _add_to_balances(conn, self.balances)
        if self.period_totals:
            await _add_to_period_totals(conn, self.period_totals)
            await _add_to_daily_totals(conn, self.daily_totals)
        await self._update(conn)
        if self.closed_periods:
            await conn.execute(
                pg_insert(periods).values(self.closed_periods).on_conflict_do_nothing()
            )

    async def _release(self, conn: AsyncConnection) -> None:
        """Reservations of rejected or expired requests end: subtract their lines."""
        missing = [r for r in self.released if r not in self.request_lines]
        stored: dict[str, list[dict[str, Any]]] = defaultdict(list)
        if missing:
            rows = await conn.execute(
                sa.select(
                    request_lines.c.request_id,
                    request_lines.c.account_id,
                    request_lines.c.side,
                    request_lines.c.amount,
                ).where(request_lines.c.request_id.in_(missing))
            )
            for row in rows.mappings():
                stored[row["request_id"]].append(dict(row))
        for request_id in self.released:
            self.reserve(self.request_lines.get(request_id) or stored[request_id], -1)

    async def _update(self, conn: AsyncConnection) -> None:
        if self.closed:
            await conn.execute(
                accounts.update()
                .where(accounts.c.account_id == sa.bindparam("b_account_id"))
                .values(closed_at=sa.bindparam("b_closed_at"), closed_by=sa.bindparam("b_by")),
                self.closed,
            )
        if self.renamed:
            await conn.execute(
                accounts.update()
                .where(accounts.c.account_id == sa.bindparam("b_account_id"))
                .values(name=sa.bindparam("b_name")),
                [{"b_account_id": a, "b_name": n} for a, n in sorted(self.renamed.items())],
            )
        if self.account_versions:
            await conn.execute(
                accounts.update()
                .where(accounts.c.account_id == sa.bindparam("b_account_id"))
                .values(version=sa.func.greatest(accounts.c.version, sa.bindparam("b_version"))),
                [
                    {"b_account_id": account_id, "b_version": version}
                    for account_id, version in sorted(self.account_versions.items())
                ],
            )
        if self.reversals:
            await conn.execute(
                journal_entries.update()
                .where(journal_entries.c.entry_id == sa.bindparam("b_entry_id"))
                .values(
                    reversed_by=sa.bindparam("b_reversed_by"),
                    version=sa.func.greatest(journal_entries.c.version, 2),
                ),
                self.reversals,
            )
        if self.approved_by_entry:
            await conn.execute(
                booking_requests.update()
                .where(booking_requests.c.request_id == sa.bindparam("b_request_id"))
                .values(
                    status="approved",
                    entry_id=sa.bindparam("b_entry_id"),
                    decided_by=sa.bindparam("b_by"),
                    decided_at=sa.bindparam("b_at"),
                    version=sa.func.greatest(booking_requests.c.version, 2),
                ),
                self.approved_by_entry,
            )
        if self.clearances:
            await conn.execute(
                booking_requests.update()
                .where(booking_requests.c.request_id == sa.bindparam("b_request_id"))
                .values(
                    clearance_status=sa.bindparam("b_status"),
                    clearance_code=sa.bindparam("b_code"),
                    clearance_reason=sa.bindparam("b_reason"),
                    clearance_limit_id=sa.bindparam("b_limit_id"),
                    clearance_currency=sa.bindparam("b_currency"),
                    clearance_shortfall=sa.bindparam("b_shortfall"),
                    clearance_at=sa.bindparam("b_at"),
                    version=sa.func.greatest(booking_requests.c.version, sa.bindparam("b_version")),
                ),
                self.clearances,
            )
        if self.decisions:
            await conn.execute(
                booking_requests.update()
                .where(booking_requests.c.request_id == sa.bindparam("b_request_id"))
                .values(
                    status=sa.bindparam("b_status"),
                    decided_by=sa.bindparam("b_by"),
                    decided_at=sa.bindparam("b_at"),
                    reason=sa.bindparam("b_reason"),
                    entry_id=sa.func.coalesce(
                        sa.bindparam("b_entry_id", type_=sa.Text), booking_requests.c.entry_id
                    ),
                    version=sa.bindparam("b_version"),
                ),
                self.decisions,
            )


def _account_opened(batch: _Batch, envelope: EventEnvelope, event: ev.AccountOpened) -> None:
    batch.opened.append(
        {
            "account_id": event.account_id,
            "code": event.code,
            "name": event.name,
            "account_type": event.account_type,
            "normal_side": AccountType(event.account_type).normal_side.value,
            "currency": event.currency,
            "parent_code": event.parent_code,
            "balance_constraint": event.balance_constraint,
            "credit_limit": event.credit_limit,
            "opened_at": envelope.time,
            "version": envelope.stream_version,
            "position": envelope.position,
        }
    )


def _account_closed(batch: _Batch, envelope: EventEnvelope, event: ev.AccountClosed) -> None:
    batch.closed.append(
        {"b_account_id": envelope.subject, "b_closed_at": envelope.time, "b_by": event.closed_by}
    )
    _account_changed(batch, envelope, event)


def _account_renamed(batch: _Batch, envelope: EventEnvelope, event: ev.AccountRenamed) -> None:
    batch.renamed[envelope.subject] = event.name
    _account_changed(batch, envelope, event)


def _account_changed(batch: _Batch, envelope: EventEnvelope, event: DomainEvent) -> None:
    known = batch.account_versions.get(envelope.subject, 0)
    batch.account_versions[envelope.subject] = max(known, envelope.stream_version)


def _entry_posted(batch: _Batch, envelope: EventEnvelope, event: ev.JournalEntryPosted) -> None:
    entry_id = event.entry_id
    booking_date = event.booking_date
    day = booking_date.isoformat()
    period = event.period or day[:7]
    batch.entries.append(
        {
            "entry_id": entry_id,
            "voucher_number": event.voucher_number,
            "voucher_date": event.voucher_date or booking_date,
            "booking_date": booking_date,
            "period": period,
            "text": event.text,
            "source_document": event.source_document,
            "metadata": dict(event.metadata),
            "recorded_at": envelope.time,
            "recorded_by": event.recorded_by or envelope.actor.subject,
            "approved_by": event.approved_by,
            "request_id": event.request_id,
            "reverses": event.reverses,
            "batch_id": event.batch_id,
            "correlation_id": envelope.correlation_id,
            "version": envelope.stream_version,
            "position": envelope.position,
        }
    )
    for line_no, line in enumerate(event.lines, start=1):
        batch.lines.append(
            {
                "entry_id": entry_id,
                "line_no": line_no,
                "account_id": line.account_id,
                "account_code": line.account_code,
                "side": line.side,
                "amount": line.amount,
                "currency": line.currency,
                "booking_date": booking_date,
                "position": envelope.position,
            }
        )
        side = 0 if line.side == "debit" else 1
        balance = batch.balances[line.account_id]
        totals = batch.period_totals[(line.account_id, period)]
        balance[side] += line.amount
        totals[side] += line.amount
        batch.daily_totals[(line.account_id, day)][side] += line.amount
        balance[2] += 1
        totals[2] += 1
    if event.reverses:
        batch.reversals.append({"b_entry_id": event.reverses, "b_reversed_by": entry_id})
    if event.request_id:
        # The request's reservation became this posting (see the module docstring).
        batch.reserve([_line_row(line) for line in event.lines], -1)
        batch.approved_by_entry.append(
            {
                "b_request_id": event.request_id,
                "b_entry_id": entry_id,
                "b_by": event.approved_by,
                "b_at": envelope.time,
            }
        )


def _line_row(line: ev.PostedLine) -> dict[str, Any]:
    return {
        "account_id": line.account_id,
        "account_code": line.account_code,
        "side": line.side,
        "amount": line.amount,
        "currency": line.currency,
    }


def _entry_reversed(batch: _Batch, envelope: EventEnvelope, event: ev.JournalEntryReversed) -> None:
    batch.reversals.append(
        {"b_entry_id": envelope.subject, "b_reversed_by": event.reversal_entry_id}
    )


def _request_submitted(
    batch: _Batch, envelope: EventEnvelope, event: ev.BookingRequestSubmitted
) -> None:
    request_id = event.request_id
    batch.requests.append(
        {
            "request_id": request_id,
            "status": "pending",
            "voucher_number": event.voucher_number,
            "voucher_date": event.voucher_date,
            "booking_date": event.booking_date,
            "period": event.period,
            "text": event.text,
            "source_document": event.source_document,
            "metadata": dict(event.metadata),
            "submitted_by": event.submitted_by,
            "submitted_at": envelope.time,
            "expires_at": event.expires_at,
            "correlation_id": envelope.correlation_id,
            "clearance_status": clearance_on_submission(event.metadata).value,
            "version": envelope.stream_version,
            "position": envelope.position,
        }
    )
    lines = [
        {"request_id": request_id, "line_no": line_no, **_line_row(line)}
        for line_no, line in enumerate(event.lines, start=1)
    ]
    batch.request_lines[request_id] = lines
    batch.reserve(lines, +1)


def _decided(batch: _Batch, envelope: EventEnvelope, event: DomainEvent) -> None:
    by: str | None = None
    reason: str | None = None
    entry_id: str | None = None
    match event:
        case ev.BookingRequestApproved():
            status, by, entry_id = "approved", event.approved_by, event.entry_id
        case ev.BookingRequestRejected():
            status, by, reason = "rejected", event.rejected_by, event.reason
        case _:
            status = "expired"
    batch.decisions.append(
        {
            "b_request_id": envelope.subject,
            "b_status": status,
            "b_by": by,
            "b_at": envelope.time,
            "b_reason": reason,
            "b_entry_id": entry_id,
            "b_version": envelope.stream_version,
        }
    )
    if status in ("rejected", "expired"):
        batch.released.append(envelope.subject)


def _clearance(batch: _Batch, envelope: EventEnvelope, event: DomainEvent) -> None:
    row: dict[str, Any] = {
        "b_request_id": envelope.subject,
        "b_status": ClearanceStatus.CLEARED.value,
        "b_code": None,
        "b_reason": None,
        "b_limit_id": None,
        "b_currency": None,
        "b_shortfall": None,
        "b_at": envelope.time,
        "b_version": envelope.stream_version,
    }
    if isinstance(event, ev.BookingRequestRefused):
        row |= {
            "b_status": ClearanceStatus.REFUSED.value,
            "b_code": event.code,
            "b_reason": event.reason,
            "b_limit_id": event.limit_id,
            "b_currency": event.currency,
            "b_shortfall": event.shortfall,
        }
    batch.clearances.append(row)


def _period_closed(batch: _Batch, envelope: EventEnvelope, event: ev.PeriodClosed) -> None:
    batch.closed_periods.append(
        {
            "period": event.period,
            "closed_at": envelope.time,
            "closed_by": event.closed_by,
            "position": envelope.position,
        }
    )


def _collect(batch: _Batch, envelope: EventEnvelope, event: DomainEvent) -> None:
    match event:
        case ev.AccountOpened():
            _account_opened(batch, envelope, event)
        case ev.AccountClosed():
            _account_closed(batch, envelope, event)
        case ev.AccountRenamed():
            _account_renamed(batch, envelope, event)
        case (
            ev.AccountPostingRecorded()
            | ev.AccountFundsReserved()
            | ev.AccountReservationReleased()
        ):
            _account_changed(batch, envelope, event)
        case ev.JournalEntryPosted():
            _entry_posted(batch, envelope, event)
        case ev.JournalEntryReversed():
            _entry_reversed(batch, envelope, event)
        case ev.BookingRequestSubmitted():
            _request_submitted(batch, envelope, event)
        case ev.BookingRequestApproved() | ev.BookingRequestRejected() | ev.BookingRequestExpired():
            _decided(batch, envelope, event)
        case ev.BookingRequestCleared() | ev.BookingRequestRefused():
            _clearance(batch, envelope, event)
        case ev.PeriodClosed():
            _period_closed(batch, envelope, event)


async def _add_to_balances(conn: AsyncConnection, deltas: dict[str, list[int]]) -> None:
    rows = [
        {
            "account_id": account_id,
            "debit_total": d,
            "credit_total": c,
            "line_count": n,
            "debit_pending": dp,
            "credit_pending": cp,
        }
        for account_id, (d, c, n, dp, cp) in deltas.items()
    ]
    await add_to(conn, account_balances, ["account_id"], rows)


async def _add_to_period_totals(
    conn: AsyncConnection, deltas: dict[tuple[str, str], list[int]]
) -> None:
    rows = [
        {
            "account_id": account_id,
            "period": period,
            "debit_total": d,
            "credit_total": c,
            "line_count": n,
        }
        for (account_id, period), (d, c, n) in deltas.items()
    ]
    await add_to(conn, account_period_totals, ["account_id", "period"], rows)


async def _add_to_daily_totals(
    conn: AsyncConnection, deltas: dict[tuple[str, str], list[int]]
) -> None:
    rows = [
        {"account_id": account_id, "booking_date": day, "debit_total": d, "credit_total": c}
        for (account_id, day), (d, c) in deltas.items()
    ]
    await add_to(conn, account_daily_totals, ["account_id", "booking_date"], rows)
