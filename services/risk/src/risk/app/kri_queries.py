"""Read queries over the KRI read model: the KRI list, one KRI, its measurement history and
the KRI status report. Lists are paginated with opaque cursors."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from shared_kernel.errors import DomainError, NotFound
from shared_kernel.readmodel import ReadModelStore

from risk.projections.kri_view import (
    kri_measurements,
    kri_status_changes,
    kri_threshold_changes,
    kris,
)

MAX_PAGE = 500
MAX_HISTORY = 100  # measurements per KRI that a KRI list may carry
STATUS_ORDER = {"red": 0, "amber": 1, "green": 2}


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def _encode(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _decode(cursor: str, *kinds: type) -> list[Any]:
    """The values of a cursor this API handed out; anything else is the client's mistake."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError("wrong shape")
        decoded: list[Any] = []
        for value, kind in zip(values, kinds, strict=True):
            if kind is int:
                if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
                    raise ValueError("not a position")
                decoded.append(value)
            elif kind is datetime:
                decoded.append(datetime.fromisoformat(str(value)))
            else:
                if not isinstance(value, str) or len(value) > 200 or "\x00" in value:
                    raise ValueError("not a key")
                decoded.append(value)
        return decoded
    except (ValueError, TypeError, UnicodeError) as exc:
        raise DomainError("cursor is not one this API handed out", field="cursor") from exc


def _kri_row(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


class KriQueries:
    def __init__(self, read_model: ReadModelStore) -> None:
        self._read_model = read_model

    async def kris(
        self, cursor: str | None, limit: int, status: str | None = None, history: int = 0
    ) -> Page:
        """A page of KRIs by id; with ``history`` > 0 each carries ``history``: its latest
        ``history`` measurements in the order of :meth:`measurements` (newest first)."""
        query = sa.select(kris).order_by(kris.c.kri_id).limit(limit + 1)
        if cursor is not None:
            (after,) = _decode(cursor, str)
            query = query.where(kris.c.kri_id > after)
        if status == "unmeasured":
            query = query.where(kris.c.status.is_(None))
        elif status is not None:
            query = query.where(kris.c.status == status)
        async with self._read_model.reading() as conn:
            rows = [_kri_row(r) for r in await conn.execute(query)]
            more = len(rows) > limit
            rows = rows[:limit]
            if history > 0 and rows:
                recent = await self._recent_measurements(conn, [r["kri_id"] for r in rows], history)
                for row in rows:
                    row["history"] = recent.get(row["kri_id"], [])
        return Page(rows, _encode([rows[-1]["kri_id"]]) if more else None)

    @staticmethod
    async def _recent_measurements(
        conn: Any, kri_ids: list[str], per_kri: int
    ) -> dict[str, list[dict[str, Any]]]:
        """The latest ``per_kri`` measurements of each of ``kri_ids``, newest first, in one
        query: a LATERAL join walks the history index of each KRI and stops after
        ``per_kri`` rows (a window over all their measurements would read every one)."""
        m = kri_measurements
        recent = (
            sa.select(m)
            .where(m.c.kri_id == kris.c.kri_id)
            .order_by(m.c.measured_at.desc(), m.c.position.desc())
            .limit(per_kri)
            .lateral("recent")
        )
        query = (
            sa.select(recent)
            .select_from(kris)
            .join(recent, sa.true())
            .where(kris.c.kri_id.in_(kri_ids))
            .order_by(recent.c.kri_id, recent.c.measured_at.desc(), recent.c.position.desc())
        )
        by_kri: dict[str, list[dict[str, Any]]] = {}
        for r in await conn.execute(query):
            by_kri.setdefault(r.kri_id, []).append(dict(r._mapping))
        return by_kri

    async def kri(self, kri_id: str) -> dict[str, Any]:
        async with self._read_model.reading() as conn:
            row = (await conn.execute(sa.select(kris).where(kris.c.kri_id == kri_id))).first()
        if row is None:
            raise NotFound(f"KRI {kri_id} does not exist", field="kri_id")
        return _kri_row(row)

    async def measured_before(self, kri_ids: list[str], at: datetime) -> list[str]:
        """Those of ``kri_ids`` that have a value measured before ``at`` (window KRIs whose
        window may have moved on since)."""
        query = (
            sa.select(kris.c.kri_id)
            .where(kris.c.kri_id.in_(kri_ids), kris.c.value.is_not(None), kris.c.measured_at < at)
            .order_by(kris.c.kri_id)
        )
        async with self._read_model.reading() as conn:
            return [str(kri_id) for (kri_id,) in await conn.execute(query)]

    async def measurements(
        self,
        kri_id: str,
        cursor: str | None,
        limit: int,
        measured_from: datetime | None = None,
        measured_to: datetime | None = None,
    ) -> Page:
        """The KRI's measurements, newest ``measured_at`` first (out-of-order ones included,
        flagged ``current: false``)."""
        await self.kri(kri_id)
        m = kri_measurements
        query = (
            sa.select(m)
            .where(m.c.kri_id == kri_id)
            .order_by(m.c.measured_at.desc(), m.c.position.desc())
            .limit(limit + 1)
        )
        if measured_from is not None:
            query = query.where(m.c.measured_at >= measured_from)
        if measured_to is not None:
            query = query.where(m.c.measured_at < measured_to)
        if cursor is not None:
            at, position = _decode(cursor, datetime, int)
            query = query.where(sa.tuple_(m.c.measured_at, m.c.position) < (at, position))
        async with self._read_model.reading() as conn:
            rows = [dict(r._mapping) for r in await conn.execute(query)]
        more = len(rows) > limit
        rows = rows[:limit]
        last = rows[-1] if rows else None
        next_cursor = (
            _encode([last["measured_at"].isoformat(), last["position"]]) if more and last else None
        )
        return Page(rows, next_cursor)

    async def threshold_changes(self, kri_id: str, limit: int) -> list[dict[str, Any]]:
        """The KRI's threshold change requests and their decisions, newest first."""
        await self.kri(kri_id)
        t = kri_threshold_changes
        query = sa.select(t).where(t.c.kri_id == kri_id).order_by(t.c.position.desc()).limit(limit)
        async with self._read_model.reading() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]

    async def status_report(
        self, changes_from: datetime | None, changes_to: datetime | None, *, max_changes: int
    ) -> dict[str, Any]:
        """Every KRI with its status (red first), counts per status, and the status changes
        recorded in ``[changes_from, changes_to)`` (newest first, at most ``max_changes``)."""
        c = kri_status_changes
        changes = sa.select(c).order_by(c.c.position.desc()).limit(max_changes + 1)
        if changes_from is not None:
            changes = changes.where(c.c.changed_at >= changes_from)
        if changes_to is not None:
            changes = changes.where(c.c.changed_at < changes_to)
        async with self._read_model.reading() as conn:
            all_kris = [_kri_row(r) for r in await conn.execute(sa.select(kris))]
            change_rows = [dict(r._mapping) for r in await conn.execute(changes)]
        all_kris.sort(key=lambda k: (STATUS_ORDER.get(k["status"] or "", 3), k["kri_id"]))
        counts = {"red": 0, "amber": 0, "green": 0, "unmeasured": 0}
        for kri in all_kris:
            counts[kri["status"] or "unmeasured"] += 1
        return {
            "counts": counts,
            "kris": all_kris,
            "changes": change_rows[:max_changes],
            "changes_truncated": len(change_rows) > max_changes,
        }
