"""Reports from the read model: trial balance (Summen- und Saldenliste), balances at any past
date, account statement with running balance, balance sheet, profit and loss.

All figures are integers in minor units, per currency (the ledger does not convert). A
balance is shown on the account's normal side (assets and expenses debit, the others
credit), as in the account views. Dates are booking dates: "at 2026-11-15" means everything
booked up to and including that day. Opening balances run from the first period on (year-end
closing entries are not modelled, so profit and loss accounts accumulate across years).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from shared_kernel.errors import DomainError
from shared_kernel.readmodel import ReadModelStore

from ledger.app.queries import LedgerQueries, Page, decode_cursor, page_of
from ledger.domain import parse_period, period_bounds, period_of
from ledger.projections.tables import (
    account_daily_totals,
    account_period_totals,
    accounts,
    entry_lines,
    journal_entries,
    periods,
)

BALANCE_SHEET_TYPES = ("asset", "liability", "equity")


def oriented(normal_side: str, debits: int, credits: int) -> int:
    """A balance on the account's normal side."""
    return debits - credits if normal_side == "debit" else credits - debits


def _account_fields(row: Any) -> dict[str, Any]:
    return {
        "account_id": row["account_id"],
        "code": row["code"],
        "name": row["name"],
        "account_type": row["account_type"],
        "normal_side": row["normal_side"],
        "currency": row["currency"],
        "parent_code": row["parent_code"],
    }


class LedgerReports:
    def __init__(self, read_model: ReadModelStore, queries: LedgerQueries) -> None:
        self._read_model = read_model
        self._queries = queries

    async def trial_balance(self, period: str) -> dict[str, Any]:
        period = parse_period(period)
        t = account_period_totals
        earlier = t.c.period < period
        current = t.c.period == period
        query = (
            sa.select(
                accounts,
                sa.func.coalesce(sa.func.sum(t.c.debit_total).filter(earlier), 0).label("od"),
                sa.func.coalesce(sa.func.sum(t.c.credit_total).filter(earlier), 0).label("oc"),
                sa.func.coalesce(sa.func.sum(t.c.debit_total).filter(current), 0).label("d"),
                sa.func.coalesce(sa.func.sum(t.c.credit_total).filter(current), 0).label("c"),
            )
            .select_from(accounts.join(t, t.c.account_id == accounts.c.account_id))
            .where(t.c.period <= period)
            .group_by(accounts.c.account_id)
            .order_by(accounts.c.code)
        )
        async with self._read_model.reading() as conn:
            rows = (await conn.execute(query)).mappings().all()
            closed = (
                await conn.execute(sa.select(periods.c.closed_by).where(periods.c.period == period))
            ).first()
        items: list[dict[str, Any]] = []
        totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for row in rows:
            od, oc, d, c = int(row["od"]), int(row["oc"]), int(row["d"]), int(row["c"])
            side = row["normal_side"]
            items.append(
                {
                    **_account_fields(row),
                    "opening_balance": oriented(side, od, oc),
                    "debits": d,
                    "credits": c,
                    "closing_balance": oriented(side, od + d, oc + c),
                }
            )
            total = totals[row["currency"]]
            total["debits"] += d
            total["credits"] += c
            _split(total, "opening", od - oc)
            _split(total, "closing", od + d - oc - c)
        return {
            "period": period,
            "status": "closed" if closed else "open",
            "accounts": items,
            "totals": [{"currency": k, **totals[k]} for k in sorted(totals)],
        }

    async def balances_at(self, day: date) -> dict[str, Any]:
        """Every account's balance at the end of ``day``."""
        rows = await self._balances(day)
        return {
            "as_of": day,
            "accounts": [
                {**_account_fields(r), "balance": oriented(r["normal_side"], r["d"], r["c"])}
                for r in rows
            ],
        }

    async def balance_sheet(self, day: date) -> dict[str, Any]:
        rows = await self._balances(day)
        sheets: dict[str, dict[str, Any]] = {}
        for row in rows:
            sheet = sheets.setdefault(
                row["currency"],
                {
                    "currency": row["currency"],
                    **{kind: {"accounts": [], "total": 0} for kind in BALANCE_SHEET_TYPES},
                    "result": 0,
                },
            )
            balance = oriented(row["normal_side"], row["d"], row["c"])
            if row["account_type"] in BALANCE_SHEET_TYPES:
                section = sheet[row["account_type"]]
                section["accounts"].append({**_account_fields(row), "balance": balance})
                section["total"] += balance
            else:
                sheet["result"] += balance if row["account_type"] == "revenue" else -balance
        for sheet in sheets.values():
            sheet["liabilities_and_equity"] = (
                sheet["liability"]["total"] + sheet["equity"]["total"] + sheet["result"]
            )
            sheet["balanced"] = sheet["asset"]["total"] == sheet["liabilities_and_equity"]
        return {"as_of": day, "currencies": [sheets[k] for k in sorted(sheets)]}

    async def profit_and_loss(self, start: date, end: date) -> dict[str, Any]:
        if end < start:
            raise DomainError("'to' must not be before 'from'.", field="to", code="InvalidRange")
        before = {r["account_id"]: r for r in await self._balances(start - timedelta(days=1))}
        reports: dict[str, dict[str, Any]] = {}
        for row in await self._balances(end):
            if row["account_type"] not in ("revenue", "expense"):
                continue
            earlier = before.get(row["account_id"])
            d = row["d"] - (earlier["d"] if earlier else 0)
            c = row["c"] - (earlier["c"] if earlier else 0)
            if d == 0 and c == 0:
                continue
            report = reports.setdefault(
                row["currency"],
                {
                    "currency": row["currency"],
                    "revenue": {"accounts": [], "total": 0},
                    "expense": {"accounts": [], "total": 0},
                },
            )
            amount = oriented(row["normal_side"], d, c)
            section = report[row["account_type"]]
            section["accounts"].append({**_account_fields(row), "amount": amount})
            section["total"] += amount
        for report in reports.values():
            report["result"] = report["revenue"]["total"] - report["expense"]["total"]
        return {"from": start, "to": end, "currencies": [reports[k] for k in sorted(reports)]}

    async def statement(
        self, account_id: str, start: date, end: date, cursor: str | None, limit: int
    ) -> dict[str, Any]:
        """Lines booked on the account between two dates, with the running balance."""
        if end < start:
            raise DomainError("'to' must not be before 'from'.", field="to", code="InvalidRange")
        account = await self._queries.account(account_id)
        side = account["normal_side"]
        opening = await self._balances(start - timedelta(days=1), account_id)
        closing = await self._balances(end, account_id)
        od, oc = (opening[0]["d"], opening[0]["c"]) if opening else (0, 0)
        signed = sa.case(
            (entry_lines.c.side == "debit", entry_lines.c.amount), else_=-entry_lines.c.amount
        )
        key = (entry_lines.c.booking_date, entry_lines.c.position, entry_lines.c.line_no)
        running = (
            sa.select(
                entry_lines,
                sa.func.sum(signed).over(order_by=key).label("movement"),
            )
            .where(
                entry_lines.c.account_id == account_id,
                entry_lines.c.booking_date >= start,
                entry_lines.c.booking_date <= end,
            )
            .subquery()
        )
        query = (
            sa.select(running, journal_entries.c.voucher_number, journal_entries.c.text)
            .join(journal_entries, journal_entries.c.entry_id == running.c.entry_id)
            .order_by(running.c.booking_date, running.c.position, running.c.line_no)
            .limit(limit + 1)
        )
        after = decode_cursor(cursor, date, int, int)
        if after is not None:
            query = query.where(
                sa.tuple_(running.c.booking_date, running.c.position, running.c.line_no) > after
            )
        async with self._read_model.reading() as conn:
            rows = [dict(r) for r in (await conn.execute(query)).mappings()]
        sign = 1 if side == "debit" else -1
        for row in rows:
            row["balance"] = sign * (od - oc + int(row.pop("movement")))
        page: Page = page_of(
            rows, limit, lambda r: [r["booking_date"].isoformat(), r["position"], r["line_no"]]
        )
        return {
            "account": account,
            "from": start,
            "to": end,
            "opening_balance": oriented(side, od, oc),
            "closing_balance": oriented(side, closing[0]["d"], closing[0]["c"])
            if closing
            else oriented(side, od, oc),
            "items": page.items,
            "next_cursor": page.next_cursor,
        }

    async def _balances(self, day: date, account_id: str | None = None) -> list[dict[str, Any]]:
        """Debit and credit totals per account up to the end of ``day``: whole months from the
        period totals, the rest of the month from the daily totals."""
        month_start, _ = period_bounds(period_of(day))
        p, dt = account_period_totals, account_daily_totals
        months = sa.select(
            p.c.account_id, p.c.debit_total.label("d"), p.c.credit_total.label("c")
        ).where(p.c.period < period_of(day))
        days = sa.select(
            dt.c.account_id, dt.c.debit_total.label("d"), dt.c.credit_total.label("c")
        ).where(dt.c.booking_date >= month_start, dt.c.booking_date <= day)
        if account_id is not None:
            months = months.where(p.c.account_id == account_id)
            days = days.where(dt.c.account_id == account_id)
        both = sa.union_all(months, days).subquery()
        query = (
            sa.select(
                accounts,
                sa.func.sum(both.c.d).label("d"),
                sa.func.sum(both.c.c).label("c"),
            )
            .select_from(accounts.join(both, both.c.account_id == accounts.c.account_id))
            .group_by(accounts.c.account_id)
            .order_by(accounts.c.code)
        )
        async with self._read_model.reading() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [{**row, "d": int(row["d"]), "c": int(row["c"])} for row in rows]


def _split(total: dict[str, int], what: str, signed: int) -> None:
    """Add a debit-positive balance to the debit or credit balances column."""
    total[f"{what}_debit_balances"] += max(signed, 0)
    total[f"{what}_credit_balances"] += max(-signed, 0)
