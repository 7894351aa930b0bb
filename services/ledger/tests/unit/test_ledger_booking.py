"""The bookkeeping operations one by one: constraints with credit limits, reservations,
four-eyes approval, expiry, reversal, period closing."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from ledger.app.bulk import bulk_entry_ids
from ledger.domain import (
    Account,
    BookingRequest,
    EntryDetails,
    JournalEntry,
    LineInput,
    Period,
    approve_request,
    expire_request,
    parse_period,
    post_entry,
    reject_request,
    reverse_entry,
    submit_request,
)
from shared_kernel.errors import DomainError, PermissionDenied
from shared_kernel.identity import Caller

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
DAY = date(2026, 11, 26)
ANNA = Caller("user:anna", frozenset({"accountant"}), "back")
FIONA = Caller("user:fiona", frozenset({"trader"}), "front")


def saved(account: Account) -> Account:
    return Account.load(account.id, account.pending_events())


def chart(constraint: str = "credits_must_not_exceed_debits", limit: int = 0) -> dict[str, Account]:
    bank = Account.open(
        str(uuid.uuid4()),
        "1200",
        "Bank",
        "asset",
        "EUR",
        balance_constraint=constraint,
        credit_limit=limit,
    )
    revenue = Account.open(str(uuid.uuid4()), "8400", "Revenue", "revenue", "EUR")
    return {"bank": saved(bank), "revenue": saved(revenue)}


def lines(debit: Account, credit: Account, amount: int) -> tuple[LineInput, ...]:
    return (
        LineInput(debit.id, "debit", amount, "EUR"),
        LineInput(credit.id, "credit", amount, "EUR"),
    )


def details(day: date = DAY) -> EntryDetails:
    return EntryDetails("V-1", day, "text").checked()


def by_id(accounts: dict[str, Account]) -> dict[str, Account]:
    return {a.id: a for a in accounts.values()}


def test_a_credit_limit_lets_a_constrained_account_go_that_far_and_no_further() -> None:
    accounts = chart(limit=100)
    bank, revenue = accounts["bank"], accounts["revenue"]
    post_entry(
        "e1",
        details(),
        lines(revenue, bank, 100),
        by_id(accounts),
        Period.of("2026-11"),
        recorded_by="anna",
    )
    assert bank.balance == -100
    with pytest.raises(DomainError) as refused:
        post_entry(
            "e2",
            details(),
            lines(revenue, bank, 1),
            by_id(accounts),
            Period.of("2026-11"),
            recorded_by="anna",
        )
    assert (refused.value.code, refused.value.field) == ("InsufficientFunds", "lines[1].amount")
    assert "credit limit of 1.00 EUR" in refused.value.detail


def test_a_refused_posting_changes_no_account() -> None:
    bank = saved(
        Account.open(
            str(uuid.uuid4()),
            "1200",
            "Bank",
            "asset",
            "EUR",
            balance_constraint="credits_must_not_exceed_debits",
        )
    )
    cash = saved(
        Account.open(
            str(uuid.uuid4()),
            "1000",
            "Cash",
            "asset",
            "EUR",
            balance_constraint="credits_must_not_exceed_debits",
        )
    )
    both = {bank.id: bank, cash.id: cash}
    with pytest.raises(DomainError):
        post_entry(
            "e", details(), lines(bank, cash, 5), both, Period.of("2026-11"), recorded_by="anna"
        )
    assert bank.pending_events() == [] and cash.pending_events() == []


def submitted(accounts: dict[str, Account], amount: int, by: str = "user:tom") -> BookingRequest:
    request = submit_request(
        "r1",
        details(),
        lines(accounts["revenue"], accounts["bank"], amount),
        by_id(accounts),
        Period.of("2026-11"),
        submitted_by=by,
        expires_at=NOW + timedelta(hours=1),
    )
    return BookingRequest.load(request.id, request.pending_events())


def funded() -> dict[str, Account]:
    accounts = chart()
    post_entry(
        "e0",
        details(),
        lines(accounts["bank"], accounts["revenue"], 1_000),
        by_id(accounts),
        Period.of("2026-11"),
        recorded_by="anna",
    )
    return accounts


def test_a_request_reserves_and_its_approval_turns_the_reservation_into_a_posting() -> None:
    accounts = funded()
    bank = accounts["bank"]
    request = submitted(accounts, 600)
    assert (bank.credits_pending, bank.available()) == (600, 400)
    with pytest.raises(DomainError) as refused:
        submitted(accounts, 401)
    assert refused.value.code == "InsufficientFunds"

    entry = approve_request(request, "e9", by_id(accounts), Period.of("2026-11"), ANNA, NOW)

    assert (entry.recorded_by, entry.lines[0].amount) == ("user:tom", 600)
    assert (bank.credits_pending, bank.credits_posted, bank.available()) == (0, 600, 400)
    assert bank.reservations == {}


@pytest.mark.parametrize(
    ("approver", "code"),
    [
        (Caller("user:tom", frozenset({"accountant"}), "back"), "FourEyesViolation"),
        (FIONA, "BackOfficeRequired"),
        (
            Caller("user:rita", frozenset({"risk-officer"}), "back"),
            "ApproverRoleRequired",
        ),
    ],
)
def test_four_eyes_refuses_the_submitter_the_front_office_and_other_roles(
    approver: Caller, code: str
) -> None:
    accounts = funded()
    request = submitted(accounts, 10)
    with pytest.raises(PermissionDenied) as refused:
        approve_request(request, "e9", by_id(accounts), Period.of("2026-11"), approver, NOW)
    assert refused.value.code == code


def test_a_request_ends_once_approved_rejected_or_expired() -> None:
    accounts = funded()
    request = submitted(accounts, 10)
    reject_request(request, by_id(accounts), ANNA, "no voucher", NOW)
    assert accounts["bank"].credits_pending == 0
    for decide in (
        lambda: approve_request(request, "e", by_id(accounts), Period.of("2026-11"), ANNA, NOW),
        lambda: reject_request(request, by_id(accounts), ANNA, "again", NOW),
        lambda: expire_request(request, by_id(accounts), NOW + timedelta(days=9)),
    ):
        with pytest.raises(DomainError) as refused:
            decide()
        assert refused.value.code == "BookingRequestRejected"


def test_expiry_comes_only_when_due_and_then_approval_is_too_late() -> None:
    accounts = funded()
    request = submitted(accounts, 10)
    with pytest.raises(DomainError) as early:
        expire_request(request, by_id(accounts), NOW)
    assert early.value.code == "BookingRequestNotDue"
    late = NOW + timedelta(hours=1)
    with pytest.raises(DomainError) as too_late:
        approve_request(request, "e", by_id(accounts), Period.of("2026-11"), ANNA, late)
    assert too_late.value.code == "BookingRequestExpired"
    expire_request(request, by_id(accounts), late)
    assert accounts["bank"].credits_pending == 0


def test_a_reversal_mirrors_and_a_closed_period_refuses_it() -> None:
    accounts = chart(constraint="none")
    posted = JournalEntry.post_details(
        "e1", details(), lines(accounts["bank"], accounts["revenue"], 7), by_id(accounts)
    )
    original = JournalEntry.load("e1", posted.pending_events())
    closed = Period.of("2026-11")
    closed.close("user:bert")
    with pytest.raises(DomainError) as refused:
        reverse_entry(
            original, "e2", details(), by_id(accounts), closed, reversed_by="anna", reason="wrong"
        )
    assert refused.value.code == "PeriodClosed"

    original = JournalEntry.load("e1", posted.pending_events())
    reversal = reverse_entry(
        original,
        "e2",
        details(date(2026, 12, 1)),
        by_id(accounts),
        Period.of("2026-12"),
        reversed_by="anna",
        reason="wrong",
    )
    assert [(ln.side, ln.amount) for ln in reversal.lines] == [("credit", 7), ("debit", 7)]
    assert (original.reversed_by, reversal.reverses) == ("e2", "e1")


def test_periods_are_months_and_close_once() -> None:
    assert parse_period("2026-11") == "2026-11"
    for bad in ("2026-13", "26-11", "2026-1", "1899-12", "3000-01", "2026-11\n"):
        with pytest.raises(DomainError):
            parse_period(bad)
    period = Period.of("2026-11")
    period.close("user:bert")
    with pytest.raises(DomainError) as again:
        period.close("user:anna")
    assert again.value.status == 409


def test_bulk_entry_ids_derive_from_the_first() -> None:
    first = str(uuid.uuid4())
    ids = bulk_entry_ids(first, 3)
    assert ids[0] == first and len(set(ids)) == 3
    assert bulk_entry_ids(first, 3) == ids
