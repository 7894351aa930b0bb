"""A Hypothesis state machine over the ledger's domain: random sequences of open, post,
request, approve, reject, expire, reverse and close (accounts and periods), each run the way
the application runs it (load every aggregate from its events, decide, save the new events,
or save nothing on a refusal), keep the ledger's invariants:

- each currency sums to zero over the journal;
- each balance equals the fold of its lines (the running model of accepted postings, and a
  constrained account's own booked totals, against the lines in the journal);
- constrained accounts never break their constraint, counting reservations;
- a closed period never changes; an entry is reversed at most once; a reservation is
  released exactly once.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule
from ledger.domain import (
    Account,
    AccountFundsReserved,
    AccountReservationReleased,
    BalanceConstraint,
    BookingRequest,
    EntryDetails,
    JournalEntry,
    JournalEntryPosted,
    JournalEntryReversed,
    LineInput,
    Period,
    PeriodClosed,
    RequestStatus,
    approve_request,
    expire_request,
    period_of,
    period_stream_id,
    post_entry,
    reject_request,
    reverse_entry,
    submit_request,
)
from shared_kernel.domain import Aggregate, DomainEvent
from shared_kernel.errors import DomainError
from shared_kernel.identity import Caller

pytestmark = pytest.mark.unit

A = TypeVar("A", bound=Aggregate)
TTL = timedelta(hours=12)
DAYS = st.dates(date(2026, 1, 1), date(2026, 12, 31))
RARELY = st.integers(0, 3)  # closing is rarer than booking: close only on 0
AMOUNTS = st.integers(1, 5_000)
PEOPLE = {
    "user:anna": Caller("user:anna", frozenset({"accountant"}), "back"),
    "user:bert": Caller("user:bert", frozenset({"controller"}), "back"),
    "user:tom": Caller("user:tom", frozenset({"trader"}), "front"),
    "user:rita": Caller("user:rita", frozenset({"risk-officer"}), "back"),
}


def line(account: str, side: str, amount: int, currency: str) -> LineInput:
    return LineInput(account, side, amount, currency)


class LedgerMachine(RuleBasedStateMachine):
    accounts = Bundle("accounts")
    entries = Bundle("entries")
    requests = Bundle("requests")

    def __init__(self) -> None:
        super().__init__()
        self.streams: dict[str, list[DomainEvent]] = defaultdict(list)
        self.currency: dict[str, str] = {}
        self.now = datetime(2026, 1, 1, tzinfo=UTC)
        self.model: Counter[str] = Counter()  # debit-positive balance of accepted postings
        self.closed: dict[str, list[tuple[str, Any]]] = {}
        self.refusals: Counter[str] = Counter()

    # -- the application's way: load, decide, save all or nothing -----------------------------

    def load(self, cls: type[A], stream_id: str) -> A:
        return cls.load(stream_id, self.streams.get(stream_id, []))

    def accounts_for(self, lines: tuple[LineInput, ...]) -> dict[str, Account]:
        found = {ln.account_id: self.load(Account, ln.account_id) for ln in lines}
        return {i: a for i, a in found.items() if a.is_open}

    def period(self, day: date) -> Period:
        return self.load(Period, period_stream_id(period_of(day)))

    def attempt(self, decide: Callable[[], list[Aggregate]]) -> bool:
        try:
            changed = decide()
        except DomainError as refusal:
            self.refusals[refusal.code] += 1
            return False
        for aggregate in changed:
            self.streams[aggregate.id].extend(aggregate.pending_events())
            aggregate.mark_saved()
        return True

    def entry_lines(self, draw_pairs: list[tuple[str, str, int]]) -> tuple[LineInput, ...]:
        """Balanced lines for the drawn pairs; a credit account in another currency than its
        debit (or the debit account itself) is swapped for another account in the debit's
        currency, so that mostly valid entries get through to the rules further in."""
        lines: list[LineInput] = []
        for debit, credit, amount in draw_pairs:
            currency = self.currency[debit]
            if self.currency[credit] != currency or credit == debit:
                same = sorted(a for a, c in self.currency.items() if c == currency and a != debit)
                credit = same[amount % len(same)] if same else credit
            lines.append(line(debit, "debit", amount, currency))
            lines.append(line(credit, "credit", amount, self.currency[credit]))
        return tuple(lines)

    def remember_postings(self, entry: JournalEntry) -> None:
        for posted in entry.lines:
            self.model[posted.account_id] += posted.signed_amount

    # -- rules --------------------------------------------------------------------------------

    @rule(
        target=accounts,
        currency=st.sampled_from(["EUR", "EUR", "EUR", "USD"]),
        kind=st.sampled_from(["asset", "liability", "expense", "revenue", "equity"]),
        constraint=st.sampled_from([BalanceConstraint.NONE, *BalanceConstraint]),
        limit=st.sampled_from([0, 0, 1_000, 5_000]),
    )
    def open_account(
        self, currency: str, kind: str, constraint: BalanceConstraint, limit: int
    ) -> str:
        account_id = str(uuid.uuid4())
        code = str(1000 + len(self.currency))
        limit = 0 if constraint is BalanceConstraint.NONE else limit
        account = Account.open(
            account_id,
            code,
            f"Account {code}",
            kind,
            currency,
            balance_constraint=constraint.value,
            credit_limit=limit,
        )
        self.currency[account_id] = currency
        assert self.attempt(lambda: [account])
        return account_id

    @rule(
        target=entries,
        pairs=st.lists(st.tuples(accounts, accounts, AMOUNTS), min_size=1, max_size=2),
        day=DAYS,
    )
    def post(self, pairs: list[tuple[str, str, int]], day: date) -> str:
        entry_id = str(uuid.uuid4())
        lines = self.entry_lines(pairs)
        holder: list[JournalEntry] = []

        def decide() -> list[Aggregate]:
            accounts = self.accounts_for(lines)
            entry = post_entry(
                entry_id,
                EntryDetails("V", day, "post").checked(),
                lines,
                accounts,
                self.period(day),
                recorded_by="user:anna",
            )
            holder.append(entry)
            return [entry, *accounts.values()]

        if self.attempt(decide):
            self.remember_postings(holder[0])
        return entry_id

    @rule(
        target=requests,
        pairs=st.lists(st.tuples(accounts, accounts, AMOUNTS), min_size=1, max_size=2),
        day=DAYS,
        submitter=st.sampled_from(["user:tom", "user:anna"]),
    )
    def request(self, pairs: list[tuple[str, str, int]], day: date, submitter: str) -> str:
        request_id = str(uuid.uuid4())
        lines = self.entry_lines(pairs)

        def decide() -> list[Aggregate]:
            accounts = self.accounts_for(lines)
            request = submit_request(
                request_id,
                EntryDetails("R", day, "request").checked(),
                lines,
                accounts,
                self.period(day),
                submitted_by=submitter,
                expires_at=self.now + TTL,
            )
            return [request, *accounts.values()]

        self.attempt(decide)
        return request_id

    @rule(request_id=requests, approver=st.sampled_from(sorted(PEOPLE)))
    def approve(self, request_id: str, approver: str) -> None:
        entry_id = str(uuid.uuid4())
        holder: list[JournalEntry] = []

        def decide() -> list[Aggregate]:
            request = self.load(BookingRequest, request_id)
            if not request.exists:
                raise DomainError("no such request", code="NotFound")
            assert request.details is not None
            accounts = self.accounts_for(request.line_inputs())
            entry = approve_request(
                request,
                entry_id,
                accounts,
                self.period(request.details.booking_date),
                PEOPLE[approver],
                self.now,
            )
            holder.append(entry)
            return [request, entry, *accounts.values()]

        if self.attempt(decide):
            self.remember_postings(holder[0])

    @rule(request_id=requests, rejecter=st.sampled_from(sorted(PEOPLE)))
    def reject(self, request_id: str, rejecter: str) -> None:
        def decide() -> list[Aggregate]:
            request = self.load(BookingRequest, request_id)
            if not request.exists:
                raise DomainError("no such request", code="NotFound")
            accounts = self.accounts_for(request.line_inputs())
            reject_request(request, accounts, PEOPLE[rejecter], "no voucher", self.now)
            return [request, *accounts.values()]

        self.attempt(decide)

    @rule(hours=st.integers(1, 8))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @rule(request_id=requests, late=st.booleans())
    def expire(self, request_id: str, late: bool) -> None:
        """The sweeper's turn; ``late``: it comes when the request is due (time moves on)."""

        def decide() -> list[Aggregate]:
            request = self.load(BookingRequest, request_id)
            if not request.exists:
                raise DomainError("no such request", code="NotFound")
            if late and request.expires_at is not None:
                self.now = max(self.now, request.expires_at)
            accounts = self.accounts_for(request.line_inputs())
            expire_request(request, accounts, self.now)
            return [request, *accounts.values()]

        self.attempt(decide)

    @rule(target=entries, entry_id=entries, day=st.none() | DAYS)
    def reverse(self, entry_id: str, day: date | None) -> str:
        reversal_id = str(uuid.uuid4())
        holder: list[JournalEntry] = []

        def decide() -> list[Aggregate]:
            original = self.load(JournalEntry, entry_id)
            if not original.is_posted:
                raise DomainError("no such entry", code="NotFound")
            assert original.booking_date is not None
            booking = day or original.booking_date
            accounts = self.accounts_for(
                tuple(line(ln.account_id, ln.side, ln.amount, ln.currency) for ln in original.lines)
            )
            reversal = reverse_entry(
                original,
                reversal_id,
                EntryDetails("ST", booking, "storno").checked(),
                accounts,
                self.period(booking),
                reversed_by="user:bert",
                reason="wrong",
            )
            holder.append(reversal)
            return [original, reversal, *accounts.values()]

        if self.attempt(decide):
            self.remember_postings(holder[0])
        return reversal_id

    @rule(day=DAYS, chance=RARELY)
    def close_period(self, day: date, chance: int) -> None:
        if chance:
            return
        name = period_of(day)

        def decide() -> list[Aggregate]:
            period = self.period(day)
            period.close("user:bert")
            return [period]

        if self.attempt(decide):
            self.closed[name] = self.journal_of(name)

    @rule(account_id=accounts, chance=RARELY)
    def close_account(self, account_id: str, chance: int) -> None:
        if chance:
            return

        def decide() -> list[Aggregate]:
            account = self.load(Account, account_id)
            account.close("user:bert", "no longer used")
            return [account]

        self.attempt(decide)

    # -- what the journal says ----------------------------------------------------------------

    def posted(self) -> list[JournalEntryPosted]:
        return [
            e
            for events in self.streams.values()
            for e in events
            if isinstance(e, JournalEntryPosted)
        ]

    def journal_of(self, period: str) -> list[tuple[str, Any]]:
        return sorted((e.entry_id, e.lines) for e in self.posted() if e.period == period)

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def each_currency_sums_to_zero(self) -> None:
        totals: Counter[str] = Counter()
        for entry in self.posted():
            for posted in entry.lines:
                totals[posted.currency] += posted.signed_amount
        assert all(total == 0 for total in totals.values()), totals

    @invariant()
    def each_balance_is_the_fold_of_its_lines(self) -> None:
        folded: Counter[str] = Counter()
        debits: Counter[str] = Counter()
        credits: Counter[str] = Counter()
        for entry in self.posted():
            for posted in entry.lines:
                folded[posted.account_id] += posted.signed_amount
                (debits if posted.side == "debit" else credits)[posted.account_id] += posted.amount
        assert +folded == +self.model and -folded == -self.model
        for account_id in self.currency:
            account = self.load(Account, account_id)
            if account.is_constrained:
                assert (account.debits_posted, account.credits_posted) == (
                    debits[account_id],
                    credits[account_id],
                )

    @invariant()
    def constrained_accounts_never_break_their_constraint(self) -> None:
        pending: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for request_id, events in self.streams.items():
            request = BookingRequest.load(request_id, events) if self._is_request(events) else None
            if request is None or request.status is not RequestStatus.PENDING:
                continue
            for posted in request.lines:
                pending[posted.account_id][0 if posted.side == "debit" else 1] += posted.amount
        for account_id in self.currency:
            account = self.load(Account, account_id)
            assert not account.violates_constraint()
            if not account.is_constrained:
                continue
            assert [account.debits_pending, account.credits_pending] == pending[account_id]
            debit, credit = account.debits_posted, account.credits_posted
            waiting_debit, waiting_credit = pending[account_id]
            if account.constraint is BalanceConstraint.DEBITS_MUST_NOT_EXCEED_CREDITS:
                assert debit + waiting_debit <= credit + account.credit_limit
            else:
                assert credit + waiting_credit <= debit + account.credit_limit

    @invariant()
    def a_closed_period_never_changes(self) -> None:
        for name, journal in self.closed.items():
            assert self.journal_of(name) == journal
            assert (
                sum(isinstance(e, PeriodClosed) for e in self.streams[period_stream_id(name)]) == 1
            )

    @invariant()
    def reversed_at_most_once_and_released_exactly_once(self) -> None:
        for events in self.streams.values():
            assert sum(isinstance(e, JournalEntryReversed) for e in events) <= 1
        reserved: Counter[tuple[str, str]] = Counter()
        released: Counter[tuple[str, str]] = Counter()
        for stream_id, events in self.streams.items():
            for event in events:
                if isinstance(event, AccountFundsReserved):
                    reserved[(stream_id, event.request_id)] += 1
                elif isinstance(event, AccountReservationReleased):
                    released[(stream_id, event.request_id)] += 1
        assert all(n == 1 for n in reserved.values())
        assert set(released) <= set(reserved) and all(n == 1 for n in released.values())
        for request_id, events in self.streams.items():
            if not self._is_request(events):
                continue
            request = BookingRequest.load(request_id, events)
            ended = {key for key in reserved if key[1] == request_id}
            if request.status is RequestStatus.PENDING:
                assert not ended & set(released)
            else:
                assert ended <= set(released)

    @staticmethod
    def _is_request(events: list[DomainEvent]) -> bool:
        return bool(events) and type(events[0]).__name__ == "BookingRequestSubmitted"


LedgerMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_ledger_invariants_hold_for_random_histories = LedgerMachine.TestCase
