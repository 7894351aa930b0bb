"""What waits, read from the gateway's API: the queries My work and Team share.

Each function asks the API with the operator's own token (``api`` is the visit) and returns
the API's items, narrowed to what waits. Each crossing of the gateway costs the page time, so
one list call answers where it can (the open tickets of all open statuses at once, the risks
with their acceptance); calls that do not depend on each other run at once; where the list does
not carry a fact (a KRI threshold change) the few items that need it are read in one concurrent
round, bounded by ``DETAILS_AT_MOST``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from console.adapters.gateway import Params

Item = dict[str, Any]
# Tickets still waiting for someone (asked for in one call: the API takes several statuses).
OPEN_TICKETS = ("new", "open", "pending")
# KRI threshold changes are not in the KRI list: read one by one, at most this many.
DETAILS_AT_MOST = 20
# Breaches older than this are the breach report's business, not today's work.
BREACHES_SINCE = timedelta(days=90)


class Api(Protocol):
    async def get(self, path: str, params: Params | None = None) -> Any: ...


async def pending_booking_requests(api: Api, limit: int = 50) -> list[Item]:
    page = await api.get("/ledger/v1/booking-requests", {"status": "pending", "limit": limit})
    return list(page["items"])


async def my_booking_requests(api: Api, me: str) -> tuple[list[Item], list[Item], bool]:
    """The submitter's pending requests (all of them) and the decided ones (newest first, of
    the first page), and whether there are more than that page."""
    pending, everything = await asyncio.gather(
        api.get(
            "/ledger/v1/booking-requests", {"status": "pending", "submitted_by": me, "limit": 100}
        ),
        api.get("/ledger/v1/booking-requests", {"submitted_by": me, "limit": 200}),
    )
    decided = [item for item in everything["items"] if item["status"] != "pending"]
    decided.sort(key=lambda item: str(item.get("decided_at") or item["submitted_at"]), reverse=True)
    return list(pending["items"]), decided, everything.get("next_cursor") is not None


async def pending_limit_requests(api: Api) -> list[Item]:
    """Limits with a request (new limit or change) waiting for a second risk officer."""
    page = await api.get("/risk/v1/limits", {"limit": 200})
    waiting = [item for item in page["items"] if item.get("pending_request")]
    return sorted(waiting, key=lambda item: str(item["pending_request"].get("requested_at", "")))


async def requested_acceptances(api: Api) -> list[Item]:
    """Open risks whose acceptance waits for a decision, each with its ``acceptance``
    (requester, reason, until) as the register's list carries it, oldest request first."""
    page = await api.get("/risk/v1/risks", {"status": "open", "limit": 200})
    found = [r for r in page["items"] if (r.get("acceptance") or {}).get("status") == "requested"]
    return sorted(found, key=lambda r: str(r["acceptance"].get("requested_at", "")))


async def pending_kri_changes(api: Api) -> list[Item]:
    """KRIs with a threshold change waiting, each with its ``change`` (requester, values)."""
    page = await api.get("/risk/v1/kris", {"limit": 500})
    waiting = [k for k in page["items"] if k.get("pending_change_id")][:DETAILS_AT_MOST]
    histories = await asyncio.gather(
        *(api.get(f"/risk/v1/kris/{k['kri_id']}/threshold-changes", {"limit": 5}) for k in waiting)
    )
    result = []
    for kri, changes in zip(waiting, histories, strict=True):
        change = next((c for c in changes if c["change_id"] == kri["pending_change_id"]), None)
        if change is not None and change.get("state") == "pending":
            result.append({**kri, "change": change})
    return sorted(result, key=lambda k: str(k["change"].get("requested_at", "")))


async def open_tickets(api: Api, assignee: str | None = None, limit: int = 100) -> list[Item]:
    """Tickets not yet resolved, at most ``limit`` of them, newest first (of ``assignee`` when
    given; a front-office caller gets only the ones it requested, the API narrows that)."""
    page = await api.get(
        "/tickets/v1/tickets", {"status": OPEN_TICKETS, "assignee": assignee, "limit": limit}
    )
    return [t for t in page["items"] if t["status"] in OPEN_TICKETS]


async def queue_names(api: Api) -> dict[str, str]:
    answer = await api.get("/tickets/v1/queues")
    return {q["queue_id"]: q["name"] for q in answer["items"]}


async def breaches_without_measures(api: Api, now: datetime) -> list[Item]:
    """Breaches of the last ``BREACHES_SINCE`` nobody recorded measures about, oldest first."""
    params: Mapping[str, str | int] = {
        "from": (now - BREACHES_SINCE).isoformat(),
        "to": (now + timedelta(minutes=1)).isoformat(),
        "limit": 200,
    }
    page = await api.get("/risk/v1/reports/breaches", params)
    return [b for b in page["items"] if b.get("kind") == "breached" and not b.get("measures")]


async def overdue_reviews(api: Api) -> Item:
    """Risk reviews and actions past their due day (``reviews`` and ``actions``)."""
    report: Item = await api.get("/risk/v1/reports/overdue")
    return report
