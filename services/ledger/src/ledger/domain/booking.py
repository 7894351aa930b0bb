"""Bookkeeping operations that involve several aggregates: posting, requesting, approving,
rejecting, expiring and reversing. Pure functions over loaded aggregates; they record events
on each (the entry or request, the constrained accounts, never the period, which is only
read) and the application layer saves them in one unit of work.

Every operation that books into a month checks its ``Period`` is open; the caller must also
expect the period unchanged at commit (see ``periods``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from shared_kernel.identity import Caller

from ledger.domain.accounts import Account
from ledger.domain.events import PostedLine
from ledger.domain.journal import EntryDetails, JournalEntry
from ledger.domain.lines import LineInput, mirrored, movements
from ledger.domain.periods import Period
from ledger.domain.requests import BookingRequest


def post_entry(
    entry_id: str,
    details: EntryDetails,
    lines: Sequence[LineInput],
    accounts: Mapping[str, Account],
    period: Period,
    *,
    recorded_by: str,
    approved_by: str | None = None,
    request_id: str | None = None,
    reverses: str | None = None,
    batch_id: str | None = None,
) -> JournalEntry:
    """Post an entry into an open period; constrained accounts record the posting (and
    refuse it when it would break their constraint). ``details`` must be checked."""
    period.ensure_open(field="booking_date")
    entry = JournalEntry.post_details(
        entry_id,
        details,
        lines,
        accounts,
        recorded_by=recorded_by,
        approved_by=approved_by,
        request_id=request_id,
        reverses=reverses,
        batch_id=batch_id,
    )
    moves = _constrained_moves(entry.lines, accounts)
    # Check every constrained account before recording on any: a refusal leaves none changed.
    for account, debit, credit, field in moves:
        account.ensure_can_post(debit, credit, field=field)
    for account, debit, credit, field in moves:
        account.record_posting(entry_id, debit, credit, field=field)
    return entry


def submit_request(
    request_id: str,
    details: EntryDetails,
    lines: Sequence[LineInput],
    accounts: Mapping[str, Account],
    period: Period,
    *,
    submitted_by: str,
    expires_at: datetime,
) -> BookingRequest:
    """Submit a booking request into an open period; its amounts are reserved on the
    constrained accounts it touches (refused when they would break a constraint)."""
    period.ensure_open(field="booking_date", what="requested")
    request = BookingRequest.submit(
        request_id, details, lines, accounts, submitted_by=submitted_by, expires_at=expires_at
    )
    moves = _constrained_moves(request.lines, accounts)
    for account, debit, credit, field in moves:
        account.ensure_can_reserve(debit, credit, field=field)
    for account, debit, credit, field in moves:
        account.reserve(request_id, debit, credit, field=field)
    return request


def approve_request(
    request: BookingRequest,
    entry_id: str,
    accounts: Mapping[str, Account],
    period: Period,
    approver: Caller,
    now: datetime,
) -> JournalEntry:
    """Approve (four-eyes) and post the request as ``entry_id``: its reservations become
    postings. Refused when its period was closed meanwhile (reject it then)."""
    request.approve(approver, entry_id, now)
    _release(request.id, request.lines, accounts, "approved")
    assert request.details is not None
    return post_entry(
        entry_id,
        request.details,
        request.line_inputs(),
        accounts,
        period,
        recorded_by=request.submitted_by,
        approved_by=approver.subject,
        request_id=request.id,
    )


def reject_request(
    request: BookingRequest,
    accounts: Mapping[str, Account],
    rejecter: Caller,
    reason: str,
    now: datetime,
) -> None:
    """Reject the request and release its reservations."""
    request.reject(rejecter, reason, now)
    _release(request.id, request.lines, accounts, "rejected")


def expire_request(request: BookingRequest, accounts: Mapping[str, Account], now: datetime) -> None:
    """Expire an overdue request and release its reservations."""
    request.expire(now)
    _release(request.id, request.lines, accounts, "expired")


def reverse_entry(
    original: JournalEntry,
    reversal_id: str,
    details: EntryDetails,
    accounts: Mapping[str, Account],
    period: Period,
    *,
    reversed_by: str,
    reason: str,
) -> JournalEntry:
    """Reverse ``original`` (Storno) with a new entry of mirrored lines booked into the open
    ``period``; both link to each other. Refused for an entry reversed before."""
    original.reverse(reversal_id, reversed_by, reason)
    return post_entry(
        reversal_id,
        details,
        mirrored(original.lines),
        accounts,
        period,
        recorded_by=reversed_by,
        reverses=original.id,
    )


def touched_accounts(lines: Sequence[LineInput] | Sequence[PostedLine]) -> list[str]:
    """The ids of the accounts some lines touch, sorted (a stable load and lock order)."""
    return sorted({line.account_id for line in lines})


def _constrained_moves(
    lines: Sequence[PostedLine], accounts: Mapping[str, Account]
) -> list[tuple[Account, int, int, str]]:
    if not any(accounts[line.account_id].is_constrained for line in lines):
        return []
    return [
        (accounts[account_id], debit, credit, f"lines[{first}].amount")
        for account_id, (debit, credit, first) in movements(lines).items()
        if accounts[account_id].is_constrained
    ]


def _release(
    request_id: str, lines: Sequence[PostedLine], accounts: Mapping[str, Account], outcome: str
) -> None:
    for account_id in movements(lines):
        account = accounts[account_id]
        if account.is_constrained:
            account.release(request_id, outcome)
