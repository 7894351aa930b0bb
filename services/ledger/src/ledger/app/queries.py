"""Read queries over the live read model, with cursor pagination."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from shared_kernel.errors import DomainError, NotFound
from shared_kernel.readmodel import ReadModelStore

from ledger.projections.tables import account_balances, accounts, entry_lines, journal_entries

MAX_PAGE = 500


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    if cursor is None:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError as exc:
        raise DomainError("cursor is not one this API handed out", field="cursor") from exc


def _account_columns() -> list[Any]:
    debit = sa.func.coalesce(account_balances.c.debit_total, 0)
    credit = sa.func.coalesce(account_balances.c.credit_total, 0)
    return [
        accounts.c.account_id,
        accounts.c.code,
        accounts.c.name,
        accounts.c.account_type,
        accounts.c.normal_side,
        accounts.c.currency,
        accounts.c.opened_at,
        debit.label("debit_total"),
        credit.label("credit_total"),
        sa.case((accounts.c.normal_side == "debit", debit - credit), else_=credit - debit).label(
            "balance"
        ),
        sa.func.coalesce(account_balances.c.line_count, 0).label("line_count"),
    ]


def _accounts_query() -> sa.Select[Any]:
    return sa.select(*_account_columns()).select_from(
        accounts.outerjoin(account_balances, account_balances.c.account_id == accounts.c.account_id)
    )


class LedgerQueries:
    def __init__(self, read_model: ReadModelStore) -> None:
        self._read_model = read_model

    async def account(self, account_id: str) -> dict[str, Any]:
        async with self._read_model.reading() as conn:
            row = (
                (await conn.execute(_accounts_query().where(accounts.c.account_id == account_id)))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"account {account_id} does not exist", field="account_id")
        return dict(row)

    async def accounts(self, cursor: str | None, limit: int) -> Page:
        after = decode_cursor(cursor)
        query = _accounts_query().order_by(accounts.c.code, accounts.c.account_id).limit(limit + 1)
        if after is not None:
            query = query.where(sa.tuple_(accounts.c.code, accounts.c.account_id) > tuple(after))
        async with self._read_model.reading() as conn:
            rows = [dict(r) for r in (await conn.execute(query)).mappings()]
        return _page(rows, limit, lambda r: [r["code"], r["account_id"]])

    async def account_lines(self, account_id: str, cursor: str | None, limit: int) -> Page:
        await self.account(account_id)
        after = decode_cursor(cursor)
        query = (
            sa.select(
                entry_lines,
                journal_entries.c.voucher_number,
                journal_entries.c.text,
            )
            .join(journal_entries, journal_entries.c.entry_id == entry_lines.c.entry_id)
            .where(entry_lines.c.account_id == account_id)
            .order_by(entry_lines.c.position, entry_lines.c.line_no)
            .limit(limit + 1)
        )
        if after is not None:
            query = query.where(
                sa.tuple_(entry_lines.c.position, entry_lines.c.line_no) > tuple(after)
            )
        async with self._read_model.reading() as conn:
            rows = [dict(r) for r in (await conn.execute(query)).mappings()]
        return _page(rows, limit, lambda r: [r["position"], r["line_no"]])

    async def entries(self, cursor: str | None, limit: int) -> Page:
        after = decode_cursor(cursor)
        query = sa.select(journal_entries).order_by(journal_entries.c.position).limit(limit + 1)
        if after is not None:
            query = query.where(journal_entries.c.position > int(after))
        async with self._read_model.reading() as conn:
            rows = [dict(r) for r in (await conn.execute(query)).mappings()]
            page = _page(rows, limit, lambda r: r["position"])
            await self._attach_lines(conn, page.items)
        return page

    async def entry(self, entry_id: str) -> dict[str, Any]:
        async with self._read_model.reading() as conn:
            row = (
                (
                    await conn.execute(
                        sa.select(journal_entries).where(journal_entries.c.entry_id == entry_id)
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                raise NotFound(f"journal entry {entry_id} does not exist", field="entry_id")
            entry = dict(row)
            await self._attach_lines(conn, [entry])
        return entry

    async def _attach_lines(self, conn: Any, entries: list[dict[str, Any]]) -> None:
        if not entries:
            return
        ids = [e["entry_id"] for e in entries]
        rows = await conn.execute(
            sa.select(entry_lines)
            .where(entry_lines.c.entry_id.in_(ids))
            .order_by(entry_lines.c.entry_id, entry_lines.c.line_no)
        )
        by_entry: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
        for line in rows.mappings():
            by_entry[line["entry_id"]].append(dict(line))
        for entry in entries:
            entry["lines"] = by_entry[entry["entry_id"]]


def _page(rows: list[dict[str, Any]], limit: int, key: Any) -> Page:
    more = len(rows) > limit
    items = rows[:limit]
    return Page(items, encode_cursor(key(items[-1])) if more and items else None)
