"""Reads of deal clearances from the read model (``risk.projections.deal_view``)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from shared_kernel.errors import NotFound
from shared_kernel.readmodel import ReadModelStore

from risk.projections.deal_view import deals


class DealQueries:
    def __init__(self, read_model: ReadModelStore) -> None:
        self._read_model = read_model

    async def deal(self, request_id: str) -> dict[str, Any]:
        """The latest clearance decision of a deal and where it stands; 404 when risk has
        decided nothing about this request (unknown, or not a deal)."""
        async with self._read_model.reading() as conn:
            found = await conn.execute(sa.select(deals).where(deals.c.request_id == request_id))
            row = found.first()
        if row is None:
            raise NotFound(
                f"risk has no clearance decision for booking request {request_id}",
                field="request_id",
            )
        return {
            "request_id": row.request_id,
            "status": row.status,
            "decision": row.decision,
            "counterparty": row.counterparty,
            "desk": row.desk,
            "amounts": row.amounts,
            "checks": row.checks,
            "code": row.code,
            "reason": row.reason,
            "limit_id": row.limit_id,
            "currency": row.currency,
            "limit_amount": row.limit_amount,
            "headroom_before": row.headroom_before,
            "amount": row.amount,
            "shortfall": row.shortfall,
            "recheck": row.recheck,
            "decided_at": row.decided_at,
            "outcome": row.outcome,
            "entry_id": row.entry_id,
            "updated_at": row.updated_at,
            "correlation_id": row.correlation_id,
            "position": row.position,
        }
