"""The ledger's read model: accounts with balances, the journal, and each account's lines.

Set-based: a batch of events becomes a few multi-row statements, which is what makes rebuilds
fast. Applying is a pure function of the events: no side effects, safe to replay.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from shared_kernel.envelope import EventEnvelope
from shared_kernel.kafka import events_topic
from shared_kernel.projections import Projection
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.domain import AccountType
from ledger.projections.tables import (
    account_balances,
    accounts,
    entry_lines,
    journal_entries,
    metadata,
)


class LedgerView(Projection):
    name = "ledger_view"
    metadata = metadata

    def __init__(self, topic_namespace: str = "") -> None:
        self.topics = (events_topic("ledger", topic_namespace),)

    async def apply(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        await self.apply_batch(conn, [event])

    async def apply_batch(self, conn: AsyncConnection, events: Sequence[EventEnvelope]) -> None:
        opened: list[dict[str, Any]] = []
        entries: list[dict[str, Any]] = []
        lines: list[dict[str, Any]] = []
        deltas: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for event in events:
            data = event.data
            if event.event_type == "ledger.AccountOpened":
                opened.append(_account_row(event))
            elif event.event_type == "ledger.JournalEntryPosted":
                booking_date = date.fromisoformat(data["booking_date"])
                entries.append(
                    {
                        "entry_id": data["entry_id"],
                        "voucher_number": data["voucher_number"],
                        "booking_date": booking_date,
                        "text": data["text"],
                        "recorded_at": event.time,
                        "recorded_by": event.actor.subject,
                        "correlation_id": event.correlation_id,
                        "position": event.position,
                    }
                )
                for line_no, line in enumerate(data["lines"], start=1):
                    amount = int(line["amount"])
                    lines.append(
                        {
                            "entry_id": data["entry_id"],
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
                    delta = deltas[line["account_id"]]
                    delta[0 if line["side"] == "debit" else 1] += amount
                    delta[2] += 1
        if opened:
            await conn.execute(accounts.insert(), opened)
        if entries:
            await conn.execute(journal_entries.insert(), entries)
            await conn.execute(entry_lines.insert(), lines)
        if deltas:
            await _add_to_balances(conn, deltas)


def _account_row(event: EventEnvelope) -> dict[str, Any]:
    data = event.data
    return {
        "account_id": data["account_id"],
        "code": data["code"],
        "name": data["name"],
        "account_type": data["account_type"],
        "normal_side": AccountType(data["account_type"]).normal_side.value,
        "currency": data["currency"],
        "opened_at": event.time,
        "position": event.position,
    }


async def _add_to_balances(conn: AsyncConnection, deltas: dict[str, list[int]]) -> None:
    rows = [
        {"account_id": account_id, "debit_total": d, "credit_total": c, "line_count": n}
        for account_id, (d, c, n) in sorted(deltas.items())
    ]
    statement = pg_insert(account_balances).values(rows)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[account_balances.c.account_id],
            set_={
                "debit_total": account_balances.c.debit_total + statement.excluded.debit_total,
                "credit_total": account_balances.c.credit_total + statement.excluded.credit_total,
                "line_count": account_balances.c.line_count + statement.excluded.line_count,
            },
        )
    )
