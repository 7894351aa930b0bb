"""Tamper evidence: recompute the hash chain of the ledger's event store and name the first
event that does not match, in the ledger's terms (which journal entry, which voucher).

The chain is the kernel's (``EventStore.verify_chain``): every stored event's hash covers
the previous hash and the event in a canonical form, so any row changed, inserted or deleted
behind the system's back breaks the chain from there on.
"""

from __future__ import annotations

import time
from typing import Any

from shared_kernel.envelope import EventEnvelope
from shared_kernel.eventstore import EventStore
from sqlalchemy.ext.asyncio import AsyncEngine

_WHAT = {
    "journal_entry": "journal entry",
    "account": "account",
    "booking_request": "booking request",
    "period": "period",
    "voucher": "voucher number",
}


class JournalVerifier:
    def __init__(self, engine: AsyncEngine, store: EventStore) -> None:
        self._engine = engine
        self._store = store

    async def verify(self) -> dict[str, Any]:
        started = time.perf_counter()
        async with self._engine.connect() as conn:
            report = await self._store.verify_chain(conn)
        seconds = round(time.perf_counter() - started, 3)
        if report.broken_at is None:
            return {
                "intact": True,
                "checked": report.checked,
                "seconds": seconds,
                "first_mismatch": None,
                "detail": f"All {report.checked} events of the journal match their hash chain.",
            }
        mismatch = describe(report.broken_at)
        return {
            "intact": False,
            "checked": report.checked,
            "seconds": seconds,
            "first_mismatch": mismatch,
            "detail": (
                f"{mismatch['what']} does not match the hash chain (event at position "
                f"{mismatch['position']}): it was changed, inserted or removed behind the "
                f"system's back. The {report.checked} events before it are intact."
            ),
        }


def describe(envelope: EventEnvelope) -> dict[str, Any]:
    """The first event that does not match, named as the ledger knows it."""
    data = envelope.data if isinstance(envelope.data, dict) else {}
    kind = _WHAT.get(envelope.stream_type, envelope.stream_type)
    what = f"{kind.capitalize()} {envelope.subject}"
    if data.get("voucher_number"):
        what += f" (voucher {data['voucher_number']})"
    return {
        "what": what,
        "position": envelope.position,
        "event_id": str(envelope.id),
        "event_type": envelope.type,
        "stream_type": envelope.stream_type,
        "stream_id": envelope.subject,
        "entry_id": envelope.subject if envelope.stream_type == "journal_entry" else None,
        "voucher_number": data.get("voucher_number"),
        "recorded_at": envelope.time,
        "recorded_by": envelope.actor.subject,
    }
