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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from shared_kernel.envelope import EventEnvelope
from shared_kernel.kafka import events_topic
from shared_kernel.projections import Projection
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.domain import AccountType
from ledger.projections.sql import add_to, insert_rows
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


class LedgerView(Projection):
    # The name carries the schema's version: a deploy that changes the tables builds the new
    # read model from offset zero under a new name (and consumer group) instead of reading
    # an old generation it cannot understand.
    name = "ledger_view_v2"
    metadata = metadata

    def __init__(self, topic_namespace: str = "") -> None:
        self.topics = (events_topic("ledger", topic_namespace),)

    async def apply(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        await self.apply_batch(conn, [event])

    async def apply_batch(self, conn: AsyncConnection, events: Sequence[EventEnvelope]) -> None:
        batch = _Batch()
        for event in events:
            collect = _COLLECTORS.get(event.event_type)
            if collect is not None:
                collect(batch, event)
        await batch.write(conn)


@dataclass
class _Batch:
    """What one batch of events changes, gathered before a few multi-row statements."""

    opened: list[dict[str, Any]] = field(default_factory=list)
    closed: list[dict[str, Any]] = field(default_factory=list)
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


def _account_opened(batch: _Batch, event: EventEnvelope) -> None:
    data = event.data
    batch.opened.append(
        {
            "account_id": data["account_id"],
            "code": data["code"],
            "name": data["name"],
            "account_type": data["account_type"],
            "normal_side": AccountType(data["account_type"]).normal_side.value,
            "currency": data["currency"],
            "parent_code": data.get("parent_code"),
            "balance_constraint": data.get("balance_constraint", "none"),
            "credit_limit": int(data.get("credit_limit", 0)),
            "opened_at": event.time,
            "version": event.stream_version,
            "position": event.position,
        }
    )


def _account_closed(batch: _Batch, event: EventEnvelope) -> None:
    batch.closed.append(
        {"b_account_id": event.subject, "b_closed_at": event.time, "b_by": event.data["closed_by"]}
    )
    _account_changed(batch, event)


def _account_changed(batch: _Batch, event: EventEnvelope) -> None:
    known = batch.account_versions.get(event.subject, 0)
    batch.account_versions[event.subject] = max(known, event.stream_version)


def _entry_posted(batch: _Batch, event: EventEnvelope) -> None:
    data = event.data
    entry_id = data["entry_id"]
    # Dates stay ISO strings (as in the event) on their way to the database.
    booking_date = data["booking_date"]
    period = data.get("period") or booking_date[:7]
    batch.entries.append(
        {
            "entry_id": entry_id,
            "voucher_number": data["voucher_number"],
            "voucher_date": data.get("voucher_date") or booking_date,
            "booking_date": booking_date,
            "period": period,
            "text": data["text"],
            "source_document": data.get("source_document"),
            "metadata": data.get("metadata") or {},
            "recorded_at": event.time,
            "recorded_by": data.get("recorded_by") or event.actor.subject,
            "approved_by": data.get("approved_by"),
            "request_id": data.get("request_id"),
            "reverses": data.get("reverses"),
            "batch_id": data.get("batch_id"),
            "correlation_id": event.correlation_id,
            "version": event.stream_version,
            "position": event.position,
        }
    )
    for line_no, line in enumerate(data["lines"], start=1):
        amount = int(line["amount"])
        debit = line["side"] == "debit"
        batch.lines.append(
            {
                "entry_id": entry_id,
                "line_no": line_no,
                "account_id": line["account_id"],
                "account_code": line["account_code"],
                "side": line["side"],
                "amount": amount,
                "currency": line["currency"],
                "booking_date": booking_date,
                "position": event.position,
            }
        )
        side = 0 if debit else 1
        balance = batch.balances[line["account_id"]]
        totals = batch.period_totals[(line["account_id"], period)]
        balance[side] += amount
        totals[side] += amount
        batch.daily_totals[(line["account_id"], booking_date)][side] += amount
        balance[2] += 1
        totals[2] += 1
    if data.get("reverses"):
        batch.reversals.append({"b_entry_id": data["reverses"], "b_reversed_by": entry_id})
    if data.get("request_id"):
        # The request's reservation became this posting (see the module docstring).
        batch.reserve(data["lines"], -1)
        batch.approved_by_entry.append(
            {
                "b_request_id": data["request_id"],
                "b_entry_id": entry_id,
                "b_by": data.get("approved_by"),
                "b_at": event.time,
            }
        )


def _entry_reversed(batch: _Batch, event: EventEnvelope) -> None:
    batch.reversals.append(
        {"b_entry_id": event.subject, "b_reversed_by": event.data["reversal_entry_id"]}
    )


def _request_submitted(batch: _Batch, event: EventEnvelope) -> None:
    data = event.data
    request_id = data["request_id"]
    batch.requests.append(
        {
            "request_id": request_id,
            "status": "pending",
            "voucher_number": data["voucher_number"],
            "voucher_date": data["voucher_date"],
            "booking_date": data["booking_date"],
            "period": data["period"],
            "text": data["text"],
            "source_document": data.get("source_document"),
            "metadata": data.get("metadata") or {},
            "submitted_by": data["submitted_by"],
            "submitted_at": event.time,
            "expires_at": data["expires_at"],
            "version": event.stream_version,
            "position": event.position,
        }
    )
    lines = [
        {
            "request_id": request_id,
            "line_no": line_no,
            "account_id": line["account_id"],
            "account_code": line["account_code"],
            "side": line["side"],
            "amount": int(line["amount"]),
            "currency": line["currency"],
        }
        for line_no, line in enumerate(data["lines"], start=1)
    ]
    batch.request_lines[request_id] = lines
    batch.reserve(lines, +1)


def _decided(
    status: str, by: str | None, reason: str | None
) -> Callable[[_Batch, EventEnvelope], None]:
    def collect(batch: _Batch, event: EventEnvelope) -> None:
        data = event.data
        batch.decisions.append(
            {
                "b_request_id": event.subject,
                "b_status": status,
                "b_by": data[by] if by else None,
                "b_at": event.time,
                "b_reason": data[reason] if reason else None,
                "b_entry_id": data.get("entry_id"),
                "b_version": event.stream_version,
            }
        )
        if status in ("rejected", "expired"):
            batch.released.append(event.subject)

    return collect


def _period_closed(batch: _Batch, event: EventEnvelope) -> None:
    batch.closed_periods.append(
        {
            "period": event.data["period"],
            "closed_at": event.time,
            "closed_by": event.data["closed_by"],
            "position": event.position,
        }
    )


_COLLECTORS: dict[str, Callable[[_Batch, EventEnvelope], None]] = {
    "ledger.AccountOpened": _account_opened,
    "ledger.AccountClosed": _account_closed,
    "ledger.AccountPostingRecorded": _account_changed,
    "ledger.AccountFundsReserved": _account_changed,
    "ledger.AccountReservationReleased": _account_changed,
    "ledger.JournalEntryPosted": _entry_posted,
    "ledger.JournalEntryReversed": _entry_reversed,
    "ledger.BookingRequestSubmitted": _request_submitted,
    "ledger.BookingRequestApproved": _decided("approved", "approved_by", None),
    "ledger.BookingRequestRejected": _decided("rejected", "rejected_by", "reason"),
    "ledger.BookingRequestExpired": _decided("expired", None, None),
    "ledger.PeriodClosed": _period_closed,
}


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
        for account_id, (d, c, n, dp, cp) in sorted(deltas.items())
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
        for (account_id, period), (d, c, n) in sorted(deltas.items())
    ]
    await add_to(conn, account_period_totals, ["account_id", "period"], rows)


async def _add_to_daily_totals(
    conn: AsyncConnection, deltas: dict[tuple[str, str], list[int]]
) -> None:
    rows = [
        {"account_id": account_id, "booking_date": day, "debit_total": d, "credit_total": c}
        for (account_id, day), (d, c) in sorted(deltas.items())
    ]
    await add_to(conn, account_daily_totals, ["account_id", "booking_date"], rows)
