"""Accounts of the general ledger: their type, normal side, balance constraint, and the
``Account`` aggregate.

An account may carry a balance constraint (TigerBeetle's flags): "debits must not exceed
credits" or "credits must not exceed debits", each optionally relaxed by a credit limit. A
constrained account keeps its booked and reserved totals on its own stream (one event per
posting or reservation that touches it), so the write side checks the constraint against
exact figures and concurrent bookings on it are serialised by its stream version.
Unconstrained accounts record nothing per posting: no hot spot where none is needed.
"""

from __future__ import annotations

import re
from enum import StrEnum

from shared_kernel.domain import Aggregate, DomainEvent
from shared_kernel.errors import Conflict, DomainError

from ledger.domain.events import (
    AccountClosed,
    AccountFundsReserved,
    AccountOpened,
    AccountPostingRecorded,
    AccountRenamed,
    AccountReservationReleased,
)
from ledger.domain.money import MAX_AMOUNT, Currency

MAX_CODE_LENGTH = 20
MAX_NAME_LENGTH = 200

# Digits, optionally refined by dot- or dash-separated sub-accounts: "1200", "1200.10", "4400-01".
_ACCOUNT_CODE = re.compile(r"\d+(?:[.-]\d+)*")


class Side(StrEnum):
    """The side of an account a line is booked on."""

    DEBIT = "debit"
    CREDIT = "credit"


class AccountType(StrEnum):
    """The five kinds of account of double-entry bookkeeping."""

    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    REVENUE = "revenue"
    EXPENSE = "expense"

    @property
    def normal_side(self) -> Side:
        """The side on which the account's balance normally grows."""
        if self in (AccountType.ASSET, AccountType.EXPENSE):
            return Side.DEBIT
        return Side.CREDIT


class BalanceConstraint(StrEnum):
    """Which side of an account may not outgrow the other (beyond the credit limit)."""

    NONE = "none"
    DEBITS_MUST_NOT_EXCEED_CREDITS = "debits_must_not_exceed_credits"
    CREDITS_MUST_NOT_EXCEED_DEBITS = "credits_must_not_exceed_debits"


_UNCONSTRAINED = BalanceConstraint.NONE


class InsufficientFunds(DomainError):
    """A booking would break an account's balance constraint (HTTP 422)."""

    title = "Insufficient funds"

    def __init__(self, detail: str, *, account_code: str, field: str) -> None:
        super().__init__(detail, field=field, code="InsufficientFunds")
        self.account_code = account_code

    def without_figures(self) -> InsufficientFunds:
        """The same refusal without the account's balance, for callers who may not see it
        (the front office submitting a booking request)."""
        return InsufficientFunds(
            f"Insufficient funds on account {self.account_code}: the booking would break its"
            " balance constraint. The back office can tell you more.",
            account_code=self.account_code,
            field=self.field or "lines",
        )


def parent_code_of(code: str) -> str | None:
    """The code of the account a sub-account refines: ``"1200.10"`` -> ``"1200"``."""
    cut = max(code.rfind("."), code.rfind("-"))
    return code[:cut] if cut > 0 else None


class Account(Aggregate):
    """A ledger account, kept in exactly one currency. Its id is chosen by the caller."""

    stream_type = "account"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.code = ""
        self.name = ""
        self.account_type: AccountType | None = None
        self.currency: Currency | None = None
        self.parent_code: str | None = None
        self.constraint = BalanceConstraint.NONE
        self.credit_limit = 0
        self.closed = False
        # Booked and reserved totals: kept for constrained accounts only (see module doc).
        self.debits_posted = 0
        self.credits_posted = 0
        self.debits_pending = 0
        self.credits_pending = 0
        self.reservations: dict[str, tuple[int, int]] = {}

    @classmethod
    def open(
        cls,
        account_id: str,
        code: str,
        name: str,
        account_type: str,
        currency: str,
        *,
        parent: Account | None = None,
        balance_constraint: str = "none",
        credit_limit: int = 0,
    ) -> Account:
        """Open a new account; refuses a malformed code, a blank name, an unknown type,
        currency or constraint, a credit limit without a constraint, and a sub-account
        (``1200.10``) whose ``parent`` is not an open account of the same type.
        ``account_type`` accepts an ``AccountType`` or its value."""
        _check_code(code)
        name = _check_name(name)
        kind = _account_type(account_type)
        known = Currency.of(currency, field="currency")
        constraint = _constraint(balance_constraint)
        _check_credit_limit(credit_limit, constraint)
        parent_code = parent_code_of(code)
        if parent is not None or parent_code is not None:
            _check_parent(code, kind, parent, parent_code)
        account = cls(account_id)
        account._record(
            AccountOpened(
                account_id=account_id,
                code=code,
                name=name,
                account_type=kind.value,
                currency=known.code,
                parent_code=parent_code,
                balance_constraint=constraint.value,
                credit_limit=credit_limit,
            )
        )
        return account

    @property
    def is_open(self) -> bool:
        """Whether the account has been opened (an empty stream is not an account)."""
        return self.currency is not None

    @property
    def is_constrained(self) -> bool:
        return self.constraint is not _UNCONSTRAINED

    @property
    def balance(self) -> int:
        """Booked balance on the normal side (tracked for constrained accounts only)."""
        signed = self.debits_posted - self.credits_posted
        return signed if self.account_type in (AccountType.ASSET, AccountType.EXPENSE) else -signed

    def close(self, closed_by: str, reason: str) -> None:
        """Close the account; refused when already closed or while reservations are open."""
        if self.closed:
            raise Conflict(f"Account {self.code} is already closed.", code="AccountAlreadyClosed")
        if self.reservations:
            raise DomainError(
                f"Account {self.code} has {len(self.reservations)} pending booking request(s) "
                "reserving amounts on it; approve, reject or let them expire first.",
                code="AccountHasReservations",
            )
        self._record(AccountClosed(self.id, closed_by, reason.strip() or "closed"))

    def rename(self, name: str, renamed_by: str, reason: str) -> None:
        """Give the account a new name (code, type and currency stay); refused for a blank or
        too long name, on a closed account (409, as closing it again), and when the name is
        already the account's (409, nothing would change: as a KRI's unchanged details)."""
        name = _check_name(name)
        if self.closed:
            raise Conflict(
                f"Account {self.code} is closed; its name stays as it was.",
                field="account_id",
                code="AccountClosed",
            )
        if name == self.name:
            raise Conflict(
                f"Account {self.code} is already named {name!r}; nothing changes.",
                field="name",
                code="AccountNameUnchanged",
            )
        self._record(AccountRenamed(self.id, name, renamed_by, reason.strip() or "renamed"))

    def ensure_bookable(self, *, field: str) -> None:
        """Refuse a booking on a closed account."""
        if self.closed:
            raise DomainError(
                f"Account {self.code} is closed; nothing may be booked on it.",
                field=field,
                code="AccountClosed",
            )

    def ensure_can_post(self, debit: int, credit: int, *, field: str) -> None:
        """Refuse a posting that would break the constraint (or book on a closed account)."""
        self.ensure_bookable(field=field)
        self._check(debit, credit, pending=False, field=field)

    def ensure_can_reserve(self, debit: int, credit: int, *, field: str) -> None:
        """Refuse a reservation that would break the constraint."""
        self.ensure_bookable(field=field)
        self._check(debit, credit, pending=True, field=field)

    def record_posting(self, entry_id: str, debit: int, credit: int, *, field: str) -> None:
        """A posting moves this constrained account; refused if it breaks the constraint."""
        self.ensure_can_post(debit, credit, field=field)
        self._record(AccountPostingRecorded(self.id, entry_id, debit, credit))

    def reserve(self, request_id: str, debit: int, credit: int, *, field: str) -> None:
        """Reserve a booking request's amounts; refused if they break the constraint."""
        self.ensure_can_reserve(debit, credit, field=field)
        self._record(AccountFundsReserved(self.id, request_id, debit, credit))

    def release(self, request_id: str, outcome: str) -> tuple[int, int]:
        """End a request's reservation (exactly once); returns its (debit, credit)."""
        if request_id not in self.reservations:
            raise Conflict(
                f"Account {self.code} holds no reservation of booking request {request_id}.",
                code="NoSuchReservation",
            )
        debit, credit = self.reservations[request_id]
        self._record(AccountReservationReleased(self.id, request_id, debit, credit, outcome))
        return debit, credit

    def violates_constraint(self) -> bool:
        """Whether booked plus reserved amounts break the constraint (never, if all is well)."""
        return self._over(
            self.debits_posted, self.credits_posted, self.debits_pending, self.credits_pending
        )

    def available(self) -> int:
        """How much more the limited side may still grow (booked less reserved, plus the
        credit limit); meaningful for constrained accounts only."""
        if self.constraint is BalanceConstraint.DEBITS_MUST_NOT_EXCEED_CREDITS:
            used = self.debits_posted + self.debits_pending
            return self.credits_posted + self.credit_limit - used
        used = self.credits_posted + self.credits_pending
        return self.debits_posted + self.credit_limit - used

    def _over(self, debits: int, credits: int, debits_pending: int, credits_pending: int) -> bool:
        # Pending amounts count against the constraint on the side they would worsen; a
        # pending amount on the other side never helps (the request may still be rejected).
        if self.constraint is BalanceConstraint.DEBITS_MUST_NOT_EXCEED_CREDITS:
            return debits + debits_pending > credits + self.credit_limit
        if self.constraint is BalanceConstraint.CREDITS_MUST_NOT_EXCEED_DEBITS:
            return credits + credits_pending > debits + self.credit_limit
        return False

    def _check(self, debit: int, credit: int, *, pending: bool, field: str) -> None:
        if pending:
            over = self._over(
                self.debits_posted,
                self.credits_posted,
                self.debits_pending + debit,
                self.credits_pending + credit,
            )
        else:
            over = self._over(
                self.debits_posted + debit,
                self.credits_posted + credit,
                self.debits_pending,
                self.credits_pending,
            )
        if over:
            debits_limited = self.constraint is BalanceConstraint.DEBITS_MUST_NOT_EXCEED_CREDITS
            raise self._insufficient(debits_limited, debit if debits_limited else credit, field)

    def _insufficient(self, debits_limited: bool, wanted: int, field: str) -> InsufficientFunds:
        assert self.currency is not None
        money, currency = self.currency.format, self.currency.code
        side, other = ("debits", "credits") if debits_limited else ("credits", "debits")
        limit = (
            f" plus its credit limit of {money(self.credit_limit)} {currency}"
            if self.credit_limit
            else ""
        )
        return InsufficientFunds(
            f"Insufficient funds on account {self.code}: its {side} may not exceed its {other}"
            f"{limit}. This booking needs {money(wanted)} {currency} on the {side[:-1]} side, "
            f"but only {money(max(self.available(), 0))} {currency} is available "
            "(booked balance less pending reservations).",
            account_code=self.code,
            field=field,
        )

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case AccountOpened():
                self.code = event.code
                self.name = event.name
                self.account_type = AccountType(event.account_type)
                self.currency = Currency.of(event.currency)
                self.parent_code = event.parent_code
                self.constraint = BalanceConstraint(event.balance_constraint)
                self.credit_limit = event.credit_limit
            case AccountRenamed():
                self.name = event.name
            case AccountClosed():
                self.closed = True
            case AccountPostingRecorded():
                self.debits_posted += event.debit
                self.credits_posted += event.credit
            case AccountFundsReserved():
                self.debits_pending += event.debit
                self.credits_pending += event.credit
                self.reservations[event.request_id] = (event.debit, event.credit)
            case AccountReservationReleased():
                self.debits_pending -= event.debit
                self.credits_pending -= event.credit
                del self.reservations[event.request_id]
            case _:
                raise TypeError(f"Account cannot apply {type(event).__name__}")


def _check_code(code: str) -> None:
    if not isinstance(code, str) or not code:
        raise DomainError("The account code is required.", field="code", code="InvalidAccountCode")
    if len(code) > MAX_CODE_LENGTH:
        raise DomainError(
            f"The account code may have at most {MAX_CODE_LENGTH} characters.",
            field="code",
            code="InvalidAccountCode",
        )
    if not _ACCOUNT_CODE.fullmatch(code):
        raise DomainError(
            f"The account code {code!r} must be digits, optionally with dot- or dash-separated "
            "sub-accounts such as '1200' or '1200.10'.",
            field="code",
            code="InvalidAccountCode",
        )


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise DomainError("The account name is required.", field="name", code="InvalidAccountName")
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise DomainError(
            f"The account name may have at most {MAX_NAME_LENGTH} characters.",
            field="name",
            code="InvalidAccountName",
        )
    return name


def _account_type(value: str) -> AccountType:
    try:
        return AccountType(value)
    except ValueError:
        kinds = ", ".join(kind.value for kind in AccountType)
        raise DomainError(
            f"Unknown account type {value!r}; it must be one of {kinds}.",
            field="account_type",
            code="UnknownAccountType",
        ) from None


def _constraint(value: str) -> BalanceConstraint:
    try:
        return BalanceConstraint(value)
    except ValueError:
        kinds = ", ".join(kind.value for kind in BalanceConstraint)
        raise DomainError(
            f"Unknown balance constraint {value!r}; it must be one of {kinds}.",
            field="balance_constraint",
            code="UnknownBalanceConstraint",
        ) from None


def _check_credit_limit(limit: int, constraint: BalanceConstraint) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_AMOUNT:
        raise DomainError(
            f"The credit limit must be a whole number of minor units from 0 to {MAX_AMOUNT}.",
            field="credit_limit",
            code="InvalidCreditLimit",
        )
    if limit and constraint is BalanceConstraint.NONE:
        raise DomainError(
            "A credit limit relaxes a balance constraint; give the account a "
            "balance_constraint as well.",
            field="credit_limit",
            code="CreditLimitWithoutConstraint",
        )


def _check_parent(
    code: str, kind: AccountType, parent: Account | None, parent_code: str | None
) -> None:
    if parent is None or not parent.is_open or parent.code != parent_code:
        raise DomainError(
            f"Account {code} is a sub-account of {parent_code}, which is not open; "
            "open the parent account first.",
            field="code",
            code="ParentAccountMissing",
        )
    if parent.closed:
        raise DomainError(
            f"The parent account {parent_code} is closed.", field="code", code="AccountClosed"
        )
    if parent.account_type is not kind:
        raise DomainError(
            f"A sub-account has its parent's type: {parent_code} is "
            f"{parent.account_type}, not {kind}.",
            field="account_type",
            code="ParentTypeMismatch",
        )
