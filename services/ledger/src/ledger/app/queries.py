"""Read queries over the live read model, with cursor pagination."""

from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from shared_kernel.errors import DomainError, NotFound
from shared_kernel.readmodel import ReadModelStore
from shared_kernel.visibility import Visibility

from ledger.domain import parse_period
from ledger.projections.tables import (
    account_balances,
    accounts,
    booking_requests,
    entry_lines,
    journal_entries,
    periods,
    request_lines,
)

MAX_PAGE = 500


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def _request(row: sa.RowMapping) -> dict[str, Any]:
    """A booking request row with its risk clearance as one object."""
    request = {k: v for k, v in row.items() if not k.startswith("clearance_")}
    request["clearance"] = {
        "status": row["clearance_status"],
        "code": row["clearance_code"],
        "reason": row["clearance_reason"],
        "limit_id": row["clearance_limit_id"],
        "shortfall": row["clearance_shortfall"],
        "currency": row["clearance_currency"],
    }
    return request


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, *shape: type) -> tuple[Any, ...] | None:
    """The values of a cursor this API handed out, checked against their expected types
    (``int``, ``str`` or ``date``); anything else is refused as the client's mistake."""
    if cursor is None:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        values = raw if isinstance(raw, list) else [raw]
        if len(values) != len(shape):
            raise ValueError("wrong length")
        return tuple(_cursor_value(v, kind) for v, kind in zip(values, shape, strict=True))
    except (ValueError, TypeError, UnicodeError) as exc:
        raise DomainError("cursor is not one this API handed out", field="cursor") from exc


def _cursor_value(value: Any, kind: type) -> Any:
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
            raise ValueError("not a position")
        return value
    if not isinstance(value, str) or len(value) > 200 or "\x00" in value:
        raise ValueError("not a key")
    value.encode()  # refuses unpaired surrogates
    return date.fromisoformat(value) if kind is date else value


def _account_columns() -> list[Any]:
    debit = sa.func.coalesce(account_balances.c.debit_total, 0)
    credit = sa.func.coalesce(account_balances.c.credit_total, 0)
    debit_pending = sa.func.coalesce(account_balances.c.debit_pending, 0)
    credit_pending = sa.func.coalesce(account_balances.c.credit_pending, 0)
    debit_normal = accounts.c.normal_side == "debit"
    constraint = accounts.c.balance_constraint
    limit = accounts.c.credit_limit
    return [
        accounts.c.account_id,
        accounts.c.code,
        accounts.c.name,
        accounts.c.account_type,
        accounts.c.normal_side,
        accounts.c.currency,
        accounts.c.parent_code,
        constraint.label("balance_constraint"),
        limit.label("credit_limit"),
        accounts.c.opened_at,
        accounts.c.closed_at,
        accounts.c.closed_by,
        accounts.c.version,
        debit.label("debit_total"),
        credit.label("credit_total"),
        sa.case((debit_normal, debit - credit), else_=credit - debit).label("balance"),
        debit_pending.label("debit_pending"),
        credit_pending.label("credit_pending"),
        # Booked balance less what pending requests would take away from it.
        sa.case(
            (debit_normal, debit - credit - credit_pending), else_=credit - debit - debit_pending
        ).label("available_balance"),
        # How much more the constrained side may grow (booked, reserved and credit limit).
        sa.case(
            (
                constraint == "debits_must_not_exceed_credits",
                credit + limit - debit - debit_pending,
            ),
            (
                constraint == "credits_must_not_exceed_debits",
                debit + limit - credit - credit_pending,
            ),
            else_=sa.null(),
        ).label("headroom"),
        sa.func.coalesce(account_balances.c.line_count, 0).label("line_count"),
    ]


@functools.cache
def _accounts_query() -> sa.Select[Any]:
    """Built once: a statement is immutable (``where`` and the like make new ones), and
    building its column expressions cost more than running it."""
    return sa.select(*_account_columns()).select_from(
        accounts.outerjoin(account_balances, account_balances.c.account_id == accounts.c.account_id)
    )


@functools.cache
def _account_by_id() -> sa.Select[Any]:
    return _accounts_query().where(accounts.c.account_id == sa.bindparam("account_id"))


class LedgerQueries:
    def __init__(self, read_model: ReadModelStore) -> None:
        self._read_model = read_model

    async def account(self, account_id: str) -> dict[str, Any]:
        async with self._read_model.reading() as conn:
            row = (
                (await conn.execute(_account_by_id(), {"account_id": account_id}))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"account {account_id} does not exist", field="account_id")
        return dict(row)

    async def accounts(
        self,
        cursor: str | None,
        limit: int,
        parent_code: str | None = None,
        *,
        open_only: bool = False,
    ) -> Page:
        after = decode_cursor(cursor, str, str)
        query = _accounts_query().order_by(accounts.c.code, accounts.c.account_id).limit(limit + 1)
        if after is not None:
            query = query.where(sa.tuple_(accounts.c.code, accounts.c.account_id) > after)
        if parent_code is not None:
            query = query.where(accounts.c.parent_code == parent_code)
        if open_only:
            query = query.where(accounts.c.closed_at.is_(None))
        async with self._read_model.reading() as conn:
            rows = [dict(r) for r in (await conn.execute(query)).mappings()]
        return page_of(rows, limit, lambda r: [r["code"], r["account_id"]])

    async def account_lines(self, account_id: str, cursor: str | None, limit: int) -> Page:
        await self.account(account_id)
        after = decode_cursor(cursor, int, int)
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
            query = query.where(sa.tuple_(entry_lines.c.position, entry_lines.c.line_no) > after)
        async with self._read_model.reading() as conn:
            rows = [dict(r) for r in (await conn.execute(query)).mappings()]
        return page_of(rows, limit, lambda r: [r["position"], r["line_no"]])

    async def entries(self, cursor: str | None, limit: int, period: str | None = None) -> Page:
        after = decode_cursor(cursor, int)
        query = sa.select(journal_entries).order_by(journal_entries.c.position).limit(limit + 1)
        if after is not None:
            query = query.where(journal_entries.c.position > after[0])
        if period is not None:
            query = query.where(journal_entries.c.period == parse_period(period))
        async with self._read_model.reading() as conn:
            rows = [dict(r) for r in (await conn.execute(query)).mappings()]
            page = page_of(rows, limit, lambda r: r["position"])
            await _attach_lines(conn, entry_lines, "entry_id", page.items)
        return page

    async def entry(self, entry_id: str) -> dict[str, Any]:
        async with self._read_model.reading() as conn:
            query = sa.select(journal_entries).where(journal_entries.c.entry_id == entry_id)
            row = (await conn.execute(query)).mappings().first()
            if row is None:
                raise NotFound(f"journal entry {entry_id} does not exist", field="entry_id")
            entry = dict(row)
            await _attach_lines(conn, entry_lines, "entry_id", [entry])
        return entry

    async def booking_requests(
        self,
        cursor: str | None,
        limit: int,
        visibility: Visibility,
        *,
        status: str | None = None,
        submitted_by: str | None = None,
        clearance: str | None = None,
    ) -> Page:
        """The requests ``visibility`` shows, narrowed by the client's filters."""
        after = decode_cursor(cursor, int)
        query = sa.select(booking_requests).order_by(booking_requests.c.position).limit(limit + 1)
        query = visibility.restrict(query, booking_requests.c.submitted_by)
        if after is not None:
            query = query.where(booking_requests.c.position > after[0])
        if status is not None:
            query = query.where(booking_requests.c.status == status)
        if submitted_by is not None:
            query = query.where(booking_requests.c.submitted_by == submitted_by)
        if clearance is not None:
            query = query.where(booking_requests.c.clearance_status == clearance)
        async with self._read_model.reading() as conn:
            rows = [_request(r) for r in (await conn.execute(query)).mappings()]
            page = page_of(rows, limit, lambda r: r["position"])
            await _attach_lines(conn, request_lines, "request_id", page.items)
        return page

    async def booking_request(self, request_id: str) -> dict[str, Any]:
        async with self._read_model.reading() as conn:
            query = sa.select(booking_requests).where(booking_requests.c.request_id == request_id)
            row = (await conn.execute(query)).mappings().first()
            if row is None:
                raise NotFound(f"booking request {request_id} does not exist", field="request_id")
            request = _request(row)
            await _attach_lines(conn, request_lines, "request_id", [request])
        return request

    async def pending_request_ids(self, period: str) -> list[str]:
        """The requests pending in a period (candidates for the period close guard)."""
        async with self._read_model.reading() as conn:
            rows = await conn.execute(
                sa.select(booking_requests.c.request_id).where(
                    booking_requests.c.status == "pending", booking_requests.c.period == period
                )
            )
            return [str(r) for r in rows.scalars()]

    async def due_requests(self, now: datetime, limit: int) -> list[str]:
        """Pending requests whose time is up, oldest first (for the expiry sweeper)."""
        async with self._read_model.reading() as conn:
            rows = await conn.execute(
                sa.select(booking_requests.c.request_id)
                .where(booking_requests.c.status == "pending", booking_requests.c.expires_at <= now)
                .order_by(booking_requests.c.expires_at)
                .limit(limit)
            )
            return [str(r) for r in rows.scalars()]

    async def periods(self) -> list[dict[str, Any]]:
        """Every month that has entries or was closed, newest first, with its status."""
        async with self._read_model.reading() as conn:
            booked = (
                sa.select(
                    journal_entries.c.period.label("period"),
                    sa.func.count().label("entries"),
                )
                .group_by(journal_entries.c.period)
                .subquery()
            )
            names = sa.union(sa.select(booked.c.period), sa.select(periods.c.period)).subquery()
            query = (
                sa.select(
                    names.c.period,
                    sa.func.coalesce(booked.c.entries, 0).label("entries"),
                    periods.c.closed_at,
                    periods.c.closed_by,
                )
                .select_from(
                    names.outerjoin(booked, booked.c.period == names.c.period).outerjoin(
                        periods, periods.c.period == names.c.period
                    )
                )
                .order_by(names.c.period.desc())
            )
            rows = [dict(r) for r in (await conn.execute(query)).mappings()]
        for row in rows:
            row["status"] = "closed" if row["closed_at"] else "open"
        return rows

    async def period(self, name: str) -> dict[str, Any]:
        name = parse_period(name)
        async with self._read_model.reading() as conn:
            closed = (
                (await conn.execute(sa.select(periods).where(periods.c.period == name)))
                .mappings()
                .first()
            )
            entries = (
                await conn.execute(
                    sa.select(sa.func.count()).where(journal_entries.c.period == name)
                )
            ).scalar_one()
        return {
            "period": name,
            "status": "closed" if closed else "open",
            "closed_at": closed["closed_at"] if closed else None,
            "closed_by": closed["closed_by"] if closed else None,
            "entries": entries,
        }


async def _attach_lines(conn: Any, table: sa.Table, key: str, items: list[dict[str, Any]]) -> None:
    if not items:
        return
    ids = [item[key] for item in items]
    rows = await conn.execute(
        sa.select(table).where(table.c[key].in_(ids)).order_by(table.c[key], table.c.line_no)
    )
    by_id: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for line in rows.mappings():
        by_id[line[key]].append(dict(line))
    for item in items:
        item["lines"] = by_id[item[key]]


def page_of(rows: list[dict[str, Any]], limit: int, key: Any) -> Page:
    more = len(rows) > limit
    items = rows[:limit]
    return Page(items, encode_cursor(key(items[-1])) if more and items else None)
