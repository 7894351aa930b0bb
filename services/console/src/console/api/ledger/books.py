"""The books: chart of accounts with balances, an account's statement, the journal with its
filters, one entry with its history, and the reversal (Storno) of an entry."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from console.adapters.gateway import ApiRefusal
from console.api.ledger.common import (
    ACCOUNTS,
    ENTRY,
    JOURNAL,
    PERIOD_PATTERN,
    REQUESTS,
    REVERSE_ENTRY,
    STATEMENT,
    LedgerId,
    chart,
    debit_totals,
    form_key,
    page,
    read_position,
    today,
)
from console.api.web import CurrentVisit, Visit, redirect
from console.domain.journal_search import entry_matches

router = APIRouter(prefix="/ledger")

# Entries a filtered journal page looks through (the API filters by period only; account and
# text are matched here, one API page at a time).
SEARCH_PAGE = 200
PAGE = 50
Day = Annotated[date | None, Query()]


@router.get("")
async def chart_of_accounts(visit: CurrentVisit, cursor: str | None = None) -> Response:
    """Every account with its balance; a trader (who may not read the chart) is taken to the
    booking requests, the part of the ledger the front office uses."""
    if not visit.operator.may(ACCOUNTS) and visit.operator.may(REQUESTS):
        return redirect("/ledger/booking-requests", visit)
    visit.require(ACCOUNTS)
    answer = await visit.get("/ledger/v1/accounts", {"limit": PAGE * 4, "cursor": cursor})
    return page(
        visit, "ledger/chart.html", accounts=answer["items"], next_cursor=answer["next_cursor"]
    )


@router.get("/accounts/{account_id}")
async def statement(
    visit: CurrentVisit,
    account_id: LedgerId,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: Day = None,
    cursor: str | None = None,
) -> Response:
    """The account's lines between two days with the running balance (this year by default)."""
    visit.require(STATEMENT)
    year = today(visit).year
    first, last = from_ or date(year, 1, 1), to or date(year, 12, 31)
    answer = await visit.get(
        f"/ledger/v1/accounts/{account_id}/statement",
        {"from": first.isoformat(), "to": last.isoformat(), "cursor": cursor, "limit": PAGE},
    )
    return page(
        visit,
        "ledger/statement.html",
        statement=answer,
        account=answer["account"],
        first=first,
        last=last,
    )


@router.get("/journal")
async def journal(
    visit: CurrentVisit,
    period: Annotated[str | None, Query(pattern=PERIOD_PATTERN + "|^$")] = None,
    account: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: str | None = None,
) -> Response:
    """The journal in posting order, by period; account and text narrow it further."""
    visit.require(JOURNAL)
    searching = bool(account or (q and q.strip()))
    params = {
        "period": period or None,
        "cursor": cursor,
        "limit": SEARCH_PAGE if searching else PAGE,
    }
    answer, accounts = await visit.gather(
        visit.get("/ledger/v1/journal-entries", params), chart(visit)
    )
    entries = [
        {**e, "totals": debit_totals(e["lines"])}
        for e in answer["items"]
        if entry_matches(e, account, q or "")
    ]
    return page(
        visit,
        "ledger/journal.html",
        entries=entries,
        looked_at=len(answer["items"]),
        searching=searching,
        next_cursor=answer["next_cursor"],
        accounts=accounts,
        filters={"period": period or "", "account": account or "", "q": q or ""},
    )


@router.get("/journal/{entry_id}")
async def entry_detail(
    visit: CurrentVisit, entry_id: LedgerId, min_position: str | None = None
) -> Response:
    visit.require(ENTRY)
    return await _entry_page(visit, entry_id, read_position(min_position))


async def _entry_page(
    visit: Visit,
    entry_id: str,
    min_position: int | None = None,
    *,
    error: ApiRefusal | None = None,
    message: str | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    entry = await visit.get(
        f"/ledger/v1/journal-entries/{entry_id}", {"min_position": min_position}
    )
    return page(
        visit,
        "ledger/entry.html",
        status_code,
        entry=entry,
        totals=debit_totals(entry["lines"]),
        may_reverse=visit.operator.may(REVERSE_ENTRY) and not entry["reversed_by"],
        error=error,
        message=message,
        typed=typed or {},
        idempotency_key=form_key(),
    )


@router.post("/journal/{entry_id}/reversal")
async def reverse(visit: CurrentVisit, entry_id: LedgerId) -> Response:
    """Reverse the entry with a new one of mirrored lines (the reason is required)."""
    visit.require(REVERSE_ENTRY)
    fields = await visit.form()
    reason = fields.get("reason", "").strip()
    if not reason:
        message = visit.formats._("A reason is required to reverse an entry.")
        return await _entry_page(visit, entry_id, message=message, typed=fields, status_code=422)
    body: dict[str, Any] = {"reason": reason}
    if fields.get("booking_date"):
        body["booking_date"] = fields["booking_date"]
    headers = {"Idempotency-Key": fields.get("idempotency_key") or form_key()}
    if fields.get("version", "").isdigit():
        headers["If-Match"] = fields["version"]
    try:
        written = await visit.post(f"/ledger/v1/journal-entries/{entry_id}/reversal", body, headers)
    except ApiRefusal as refusal:
        return await _entry_page(
            visit, entry_id, error=refusal, typed=fields, status_code=refusal.status
        )
    return redirect(f"/ledger/journal/{written['id']}?min_position={written['position']}", visit)
