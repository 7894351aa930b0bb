"""Events of the ledger: facts in the past tense, with JSON-friendly fields only.

Enumerations travel as their string values (``"asset"``, ``"debit"``) and currencies as
ISO 4217 codes, so the wire format does not depend on Python class names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from shared_kernel.domain import DomainEvent


@dataclass(frozen=True)
class AccountOpened(DomainEvent):
    """An account was opened in the chart of accounts."""

    event_type: ClassVar[str] = "ledger.AccountOpened"
    version: ClassVar[int] = 1

    account_id: str
    code: str
    name: str
    account_type: str
    currency: str


@dataclass(frozen=True)
class PostedLine:
    """One line of a posted journal entry: an amount in minor units on one side of an account.

    ``account_code`` is copied from the account at posting time so that the journal reads
    on its own, without looking the account up.
    """

    account_id: str
    account_code: str
    side: str
    amount: int
    currency: str

    @property
    def signed_amount(self) -> int:
        """The amount with debits positive and credits negative."""
        return self.amount if self.side == "debit" else -self.amount


@dataclass(frozen=True)
class JournalEntryPosted(DomainEvent):
    """A balanced journal entry was posted to the journal."""

    event_type: ClassVar[str] = "ledger.JournalEntryPosted"
    version: ClassVar[int] = 1

    entry_id: str
    voucher_number: str
    booking_date: date
    text: str
    lines: tuple[PostedLine, ...]
