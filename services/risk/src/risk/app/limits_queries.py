"""Reads of limits, exposures and breaches from the read model, and the pre-deal check.

The pre-deal check is one indexed query, one round trip: the active limits on the exposure keys
a deal would count under, joined to those exposures, read together with the live generation of
the read model (see ``LimitQueries.pre_deal_check``). Utilisation counts posted exposure and the
reservations of cleared deals (``pending``: a refused or undecided request reserves nothing),
the same figures the clearance of a submitted deal decides on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from shared_kernel.errors import DomainError, NotFound
from shared_kernel.readmodel import READ_MODEL_SCHEMA, ReadModelStore
from shared_kernel.schema import read_model_generations
from sqlalchemy.ext.asyncio import AsyncConnection

from risk.app.limits import BreachRef
from risk.domain.exposure import keys_for
from risk.domain.thresholds import FULL_BP, pre_deal_refusal, state_of, utilisation_bp
from risk.projections.limit_view import (
    breach_measures,
    exposures,
    limit_crossings,
    limit_states,
    limit_versions,
    limits,
)

MAX_PAGE = 200
NO_LIMIT = "no deal without a limit"


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class LimitFilter:
    counterparty: str | None = None
    desk: str | None = None
    currency: str | None = None
    dimension: str | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        return [
            column == value
            for column, value in (
                (limits.c.counterparty, self.counterparty),
                (limits.c.desk, self.desk),
                (limits.c.currency, self.currency),
                (limits.c.dimension, self.dimension),
            )
            if value is not None
        ]


@dataclass(frozen=True)
class PreDealCheck:
    currency: str
    amount: int
    counterparty: str | None = None
    desk: str | None = None


_EXPOSURE = sa.func.coalesce(exposures.c.posted, 0) + sa.func.coalesce(exposures.c.pending, 0)


def _active(now: datetime | sa.BindParameter[datetime]) -> sa.ColumnElement[bool]:
    return sa.and_(
        limits.c.current_version > 0,
        limits.c.valid_from <= now,
        sa.or_(limits.c.valid_to.is_(None), limits.c.valid_to > now),
    )


# The pre-deal check's one query, built once (a hot path): the active limits on the deal's
# exposure keys (``limits.exposure_id`` is indexed), each with its exposure.
_PRE_DEAL = (
    sa.select(
        limits.c.limit_id,
        limits.c.dimension,
        limits.c.counterparty,
        limits.c.desk,
        limits.c.current_version,
        limits.c.amount,
        limits.c.warning_threshold_bp,
        _EXPOSURE.label("exposure"),
    )
    .select_from(limits)
    .outerjoin(exposures, exposures.c.exposure_id == limits.c.exposure_id)
    .where(
        limits.c.exposure_id.in_(sa.bindparam("ids", expanding=True)),
        _active(sa.bindparam("now", type_=sa.DateTime(timezone=True))),
    )
    .order_by(limits.c.limit_id)
)

# The same, beside the live generation, in one statement: the generation a reader last saw is
# read from again (its schema named in the statement) and the statement itself says whether
# it is still the live one; no separate lookup of the generation, no transaction around it.
_DEAL_LIMITS = _PRE_DEAL.subquery().lateral("deal_limits")
_PRE_DEAL_LIVE = (
    sa.select(read_model_generations.c.active.label("live_generation"), _DEAL_LIMITS)
    .select_from(read_model_generations.outerjoin(_DEAL_LIMITS, sa.true()))
    .where(read_model_generations.c.projection == sa.bindparam("projection"))
    .order_by(_DEAL_LIMITS.c.limit_id)
)


def _limit_query() -> sa.Select[Any]:
    return (
        sa.select(
            limits,
            sa.func.coalesce(exposures.c.posted, 0).label("posted"),
            sa.func.coalesce(exposures.c.pending, 0).label("pending"),
            limit_states.c.state,
        )
        .select_from(limits)
        .outerjoin(exposures, exposures.c.exposure_id == limits.c.exposure_id)
        .outerjoin(limit_states, limit_states.c.limit_id == limits.c.limit_id)
    )


def _limit(row: Any, now: datetime) -> dict[str, Any]:
    exposure = int(row.posted) + int(row.pending)
    amount = row.amount
    current = None
    if row.current_version:
        current = {
            "version": row.current_version,
            "amount": amount,
            "warning_threshold": row.warning_threshold_bp / FULL_BP,
            "valid_from": row.valid_from,
            "valid_to": row.valid_to,
        }
    active = bool(
        row.current_version
        and row.valid_from <= now
        and (row.valid_to is None or now < row.valid_to)
    )
    return {
        "id": row.limit_id,
        "dimension": row.dimension,
        "counterparty": row.counterparty,
        "desk": row.desk,
        "currency": row.currency,
        "active": active,
        "current": current,
        "pending_request": row.pending_request,
        "exposure": {"posted": int(row.posted), "pending": int(row.pending), "total": exposure},
        "utilisation": (exposure / amount) if amount else None,
        "headroom": (amount - exposure) if amount else None,
        # The recorded state (from crossing events); a limit never crossed is "below".
        "threshold_state": row.state or "below",
        "requested_by": row.requested_by,
        "requested_at": row.requested_at,
        "version": row.version,
        "position": row.position,
    }


class LimitQueries:
    def __init__(self, read_model: ReadModelStore) -> None:
        self._read_model = read_model
        # The generation the last pre-deal check found live (None: look it up).
        self._generation: int | None = None

    async def limits(
        self, where: LimitFilter, cursor: str | None, page_size: int, now: datetime
    ) -> Page:
        query = _limit_query().where(*where.conditions()).order_by(limits.c.limit_id)
        if cursor:
            query = query.where(limits.c.limit_id > cursor)
        async with self._read_model.reading() as conn:
            rows = (await conn.execute(query.limit(page_size + 1))).all()
        items = [_limit(row, now) for row in rows[:page_size]]
        more = len(rows) > page_size
        return Page(items, items[-1]["id"] if more and items else None)

    async def limit(self, limit_id: str, now: datetime) -> dict[str, Any]:
        async with self._read_model.reading() as conn:
            row = (await conn.execute(_limit_query().where(limits.c.limit_id == limit_id))).first()
        if row is None:
            raise NotFound(f"limit {limit_id} does not exist")
        return _limit(row, now)

    async def versions(self, limit_id: str) -> list[dict[str, Any]]:
        async with self._read_model.reading() as conn:
            known = await conn.execute(
                sa.select(limits.c.limit_id).where(limits.c.limit_id == limit_id)
            )
            if known.first() is None:
                raise NotFound(f"limit {limit_id} does not exist")
            rows = await conn.execute(
                sa.select(limit_versions)
                .where(limit_versions.c.limit_id == limit_id)
                .order_by(limit_versions.c.limit_version)
            )
            return [
                {
                    "version": row.limit_version,
                    "request_id": row.request_id,
                    "amount": row.amount,
                    "warning_threshold": row.warning_threshold_bp / FULL_BP,
                    "valid_from": row.valid_from,
                    "valid_to": row.valid_to,
                    "requested_by": row.requested_by,
                    "approved_by": row.approved_by,
                    "approved_at": row.approved_at,
                }
                for row in rows
            ]

    async def exposures(self, where: LimitFilter, cursor: str | None, page_size: int) -> Page:
        """Exposures per key and currency (posted, pending, total), by exposure id."""
        query = sa.select(exposures).order_by(exposures.c.exposure_id)
        for column, value in (
            (exposures.c.counterparty, where.counterparty),
            (exposures.c.desk, where.desk),
            (exposures.c.currency, where.currency),
            (exposures.c.dimension, where.dimension),
        ):
            if value is not None:
                query = query.where(column == value)
        if cursor:
            query = query.where(exposures.c.exposure_id > cursor)
        async with self._read_model.reading() as conn:
            rows = (await conn.execute(query.limit(page_size + 1))).all()
        items = [
            {
                "id": row.exposure_id,
                "dimension": row.dimension,
                "counterparty": row.counterparty,
                "desk": row.desk,
                "currency": row.currency,
                "posted": row.posted,
                "pending": row.pending,
                "total": row.posted + row.pending,
                "updated_at": row.updated_at,
            }
            for row in rows[:page_size]
        ]
        more = len(rows) > page_size
        return Page(items, items[-1]["id"] if more and items else None)

    async def breach_limit(self, breach_id: str) -> BreachRef | None:
        """The breach's limit and business case, or None when there is no such breach."""
        async with self._read_model.reading() as conn:
            found = await conn.execute(
                sa.select(limit_crossings.c.limit_id, limit_crossings.c.correlation_id).where(
                    limit_crossings.c.crossing_id == breach_id,
                    limit_crossings.c.kind == "breached",
                )
            )
            row = found.first()
        return BreachRef(row.limit_id, row.correlation_id) if row else None

    async def pre_deal_check(self, check: PreDealCheck, now: datetime) -> dict[str, Any]:
        """Would ``amount`` fit every active limit the deal counts under? No active limit at
        all: no ("no deal without a limit")."""
        ids = [key.id for key in keys_for(check.counterparty, check.desk, check.currency)]
        rows = await self._deal_limits(ids, now)
        reasons: list[str] = []
        checked: list[dict[str, Any]] = []
        for row in rows:
            exposure, amount = int(row.exposure), int(row.amount)
            after = exposure + check.amount
            headroom = amount - exposure
            if after > amount:
                limit = f"limit {row.limit_id} ({_scope_text(row)}, {check.currency})"
                reasons.append(pre_deal_refusal(limit, amount, exposure, check.amount))
            checked.append(
                {
                    "limit_id": row.limit_id,
                    "limit_version": row.current_version,
                    "dimension": row.dimension,
                    "amount": amount,
                    "exposure": exposure,
                    "headroom": headroom,
                    "utilisation_after": after / amount,
                    "state_after": state_of(after, amount, row.warning_threshold_bp).value,
                    "utilisation_after_bp": utilisation_bp(after, amount),
                }
            )
        if not rows:
            reasons.append(
                f"{NO_LIMIT}: no active limit for {_deal_text(check)} in {check.currency}"
            )
        return {"allowed": not reasons, "reasons": reasons, "limits": checked}

    async def _deal_limits(self, ids: list[str], now: datetime) -> list[sa.Row[Any]]:
        """The active limits on ``ids`` with their exposures, from the live generation, in
        one round trip (a hot path: front-office systems ask before every deal). A rebuild
        that switched generations since the last check is seen in the answer (or, once the
        old generation is dropped, in the error) and the read is made again."""
        store = self._read_model
        async with store.engine.connect() as conn:
            # One statement is its own snapshot: no BEGIN/ROLLBACK round trips around it.
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            for _ in range(3):
                generation = self._generation
                if generation is None:
                    generation = await self._live_generation(conn)
                # On the connection, not the statement: a statement copied per call with its
                # options had its cache key computed afresh each time (4 % of the CPU of checks).
                translate = {READ_MODEL_SCHEMA: store.schema(generation)}
                await conn.execution_options(schema_translate_map=translate)
                params = {"ids": ids, "now": now, "projection": store.name}
                try:
                    result = await conn.execute(_PRE_DEAL_LIVE, params)
                except sa.exc.ProgrammingError:
                    if self._generation is None:
                        raise
                    self._generation = None  # dropped after a rebuild: look it up again
                    continue
                rows = result.all()
                if rows and rows[0].live_generation == generation:
                    self._generation = generation
                    return [row for row in rows if row.limit_id is not None]
                self._generation = None  # switched meanwhile: read the live one
        raise RuntimeError(f"read model {store.name}: no stable live generation to read")

    async def _live_generation(self, conn: AsyncConnection) -> int:
        generation = (
            await conn.execute(
                sa.select(read_model_generations.c.active).where(
                    read_model_generations.c.projection == self._read_model.name
                )
            )
        ).scalar_one_or_none()
        if generation is None:
            raise RuntimeError(f"read model {self._read_model.name} has not been created yet")
        return int(generation)

    async def utilisation_report(
        self, where: LimitFilter, cursor: str | None, page_size: int, now: datetime
    ) -> Page:
        """Limits with an approved version, with exposure and utilisation, by id (so that a
        cursor pages through them stably)."""
        query = (
            _limit_query()
            .where(limits.c.current_version > 0, *where.conditions())
            .order_by(limits.c.limit_id)
        )
        if cursor:
            query = query.where(limits.c.limit_id > cursor)
        async with self._read_model.reading() as conn:
            rows = (await conn.execute(query.limit(page_size + 1))).all()
        items = [_limit(row, now) for row in rows[:page_size]]
        more = len(rows) > page_size
        return Page(items, items[-1]["id"] if more and items else None)

    async def crossings(
        self,
        start: datetime,
        end: datetime,
        kinds: list[str],
        limit_id: str | None,
        cursor: str | None,
        page_size: int,
    ) -> Page:
        if end <= start:
            raise DomainError("to must be after from", field="to", code="PeriodInvalid")
        query = sa.select(limit_crossings).where(
            limit_crossings.c.at >= start,
            limit_crossings.c.at < end,
            limit_crossings.c.kind.in_(kinds),
        )
        if limit_id:
            query = query.where(limit_crossings.c.limit_id == limit_id)
        if cursor:
            query = query.where(limit_crossings.c.position > _position(cursor))
        query = query.order_by(limit_crossings.c.position).limit(page_size + 1)
        async with self._read_model.reading() as conn:
            rows = (await conn.execute(query)).all()
            rows, more = rows[:page_size], len(rows) > page_size
            ids = [row.crossing_id for row in rows]
            measures: dict[str, list[dict[str, Any]]] = {}
            if ids:
                found = await conn.execute(
                    sa.select(breach_measures)
                    .where(breach_measures.c.breach_id.in_(ids))
                    .order_by(breach_measures.c.breach_id, breach_measures.c.seq)
                )
                for m in found:
                    measures.setdefault(m.breach_id, []).append(
                        {
                            "measures": m.measures,
                            "recorded_by": m.recorded_by,
                            "recorded_at": m.recorded_at,
                        }
                    )
        items = [_crossing(row, measures.get(row.crossing_id, [])) for row in rows]
        return Page(items, str(rows[-1].position) if more and rows else None)


def _crossing(row: Any, measures: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row.crossing_id,
        "kind": row.kind,
        "threshold": row.threshold,
        "limit_id": row.limit_id,
        "limit_version": row.limit_version,
        "dimension": row.dimension,
        "counterparty": row.counterparty,
        "desk": row.desk,
        "currency": row.currency,
        "exposure": row.exposure,
        "limit_amount": row.limit_amount,
        "utilisation": row.utilisation_bp / FULL_BP,
        "state": row.state,
        "cause": row.cause,
        "cause_id": row.cause_id,
        "at": row.at,
        # The business case the breach belongs to (the Cases page's timeline).
        "correlation_id": row.correlation_id,
        "position": row.position,
        "measures": measures,
    }


def _position(cursor: str) -> int:
    if not cursor.isdigit() or len(cursor) > 18:
        raise DomainError("cursor is not one this API handed out", field="cursor")
    return int(cursor)


def _scope_text(row: Any) -> str:
    parts = [f"counterparty {row.counterparty}" if row.counterparty else ""]
    parts.append(f"desk {row.desk}" if row.desk else "")
    return " on ".join(p for p in parts if p)


def _deal_text(check: PreDealCheck) -> str:
    parts = [f"counterparty {check.counterparty}" if check.counterparty else ""]
    parts.append(f"desk {check.desk}" if check.desk else "")
    return " / ".join(p for p in parts if p)
