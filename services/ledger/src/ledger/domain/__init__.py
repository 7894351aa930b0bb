"""The ledger's pure domain: accounts, journal entries, their events and rules.

Pure Python: nothing here imports a web framework, a database driver or Kafka.
"""

from ledger.domain.accounts import Account, AccountType, Side
from ledger.domain.events import AccountOpened, JournalEntryPosted, PostedLine
from ledger.domain.journal import JournalEntry
from ledger.domain.lines import LineInput, check_lines
from ledger.domain.money import MAX_AMOUNT, Currency

__all__ = [
    "MAX_AMOUNT",
    "Account",
    "AccountOpened",
    "AccountType",
    "Currency",
    "JournalEntry",
    "JournalEntryPosted",
    "LineInput",
    "PostedLine",
    "Side",
    "check_lines",
]
