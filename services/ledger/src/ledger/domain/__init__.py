"""The ledger's pure domain: accounts, periods, journal entries, booking requests, their
events and rules.

Pure Python: nothing here imports a web framework, a database driver or Kafka.
"""

from ledger.domain.accounts import (
    Account,
    AccountType,
    BalanceConstraint,
    InsufficientFunds,
    Side,
    parent_code_of,
)
from ledger.domain.booking import (
    approve_request,
    expire_request,
    post_entry,
    reject_request,
    reverse_entry,
    submit_request,
    touched_accounts,
)
from ledger.domain.clearance import ClearanceStatus, Refusal, is_deal
from ledger.domain.events import (
    ALL_EVENTS,
    AccountClosed,
    AccountFundsReserved,
    AccountOpened,
    AccountPostingRecorded,
    AccountRenamed,
    AccountReservationReleased,
    BookingRequestApproved,
    BookingRequestCleared,
    BookingRequestExpired,
    BookingRequestRefused,
    BookingRequestRejected,
    BookingRequestSubmitted,
    JournalEntryPosted,
    JournalEntryReversed,
    PeriodClosed,
    PostedLine,
    VoucherNumberClaimed,
    VoucherNumberReleased,
)
from ledger.domain.journal import EntryDetails, JournalEntry
from ledger.domain.lines import LineInput, check_lines, mirrored, movements
from ledger.domain.money import MAX_AMOUNT, Currency
from ledger.domain.periods import (
    Period,
    PeriodIsClosed,
    parse_period,
    period_bounds,
    period_of,
    period_stream_id,
)
from ledger.domain.requests import APPROVER_ROLES, BookingRequest, RequestStatus
from ledger.domain.vouchers import Voucher, VoucherNumberInUse, voucher_key

__all__ = [
    "ALL_EVENTS",
    "APPROVER_ROLES",
    "MAX_AMOUNT",
    "Account",
    "AccountClosed",
    "AccountFundsReserved",
    "AccountOpened",
    "AccountPostingRecorded",
    "AccountRenamed",
    "AccountReservationReleased",
    "AccountType",
    "BalanceConstraint",
    "BookingRequest",
    "BookingRequestApproved",
    "BookingRequestCleared",
    "BookingRequestExpired",
    "BookingRequestRefused",
    "BookingRequestRejected",
    "BookingRequestSubmitted",
    "ClearanceStatus",
    "Currency",
    "EntryDetails",
    "InsufficientFunds",
    "JournalEntry",
    "JournalEntryPosted",
    "JournalEntryReversed",
    "LineInput",
    "Period",
    "PeriodClosed",
    "PeriodIsClosed",
    "PostedLine",
    "Refusal",
    "RequestStatus",
    "Side",
    "Voucher",
    "VoucherNumberClaimed",
    "VoucherNumberInUse",
    "VoucherNumberReleased",
    "approve_request",
    "check_lines",
    "expire_request",
    "is_deal",
    "mirrored",
    "movements",
    "parent_code_of",
    "parse_period",
    "period_bounds",
    "period_of",
    "period_stream_id",
    "post_entry",
    "reject_request",
    "reverse_entry",
    "submit_request",
    "touched_accounts",
    "voucher_key",
]
