"""Accounts of the general ledger: their type, normal side, and the ``Account`` aggregate."""

from __future__ import annotations

import re
from enum import StrEnum

from shared_kernel.domain import Aggregate, DomainEvent
from shared_kernel.errors import DomainError

from ledger.domain.events import AccountOpened
from ledger.domain.money import Currency

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


class Account(Aggregate):
    """A ledger account, kept in exactly one currency. Its id is chosen by the caller."""

    stream_type = "account"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.code = ""
        self.name = ""
        self.account_type: AccountType | None = None
        self.currency: Currency | None = None

    @classmethod
    def open(
        cls, account_id: str, code: str, name: str, account_type: str, currency: str
    ) -> Account:
        """Open a new account; refuses a malformed code, a blank name, or an unknown type
        or currency. ``account_type`` accepts an ``AccountType`` or its value."""
        _check_code(code)
        name = _check_name(name)
        kind = _account_type(account_type)
        known = Currency.of(currency, field="currency")
        account = cls(account_id)
        account._record(
            AccountOpened(
                account_id=account_id,
                code=code,
                name=name,
                account_type=kind.value,
                currency=known.code,
            )
        )
        return account

    @property
    def is_open(self) -> bool:
        """Whether the account has been opened (an empty stream is not an account)."""
        return self.currency is not None

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case AccountOpened():
                self.code = event.code
                self.name = event.name
                self.account_type = AccountType(event.account_type)
                self.currency = Currency.of(event.currency)
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
