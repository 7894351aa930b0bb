"""Voucher numbers (Belegnummern): a number identifies one voucher in its fiscal year.

The fiscal year is the calendar year of the booking date (the year of the entry's period):
that is the year whose books the entry is in, and numbering restarts with each year's books.
Numbers compare exactly (after trimming blanks): ``RE-1`` and ``re-1`` are two numbers.

A ``Voucher`` aggregate per year and number (stream ``voucher:2026:RE-1``) holds the claim.
Posting an entry claims its number; a booking request claims (reserves) it when submitted,
its approval hands the number to the posted entry, and a rejection or expiry releases it. Two
commands that claim one number meet on one stream, so of two concurrent posts exactly one
commits (optimistic concurrency per stream); the other, retried, meets the claim and is refused.
A reversal (Storno) is an entry too: by default it is numbered ``ST-<original number>``.
"""

from __future__ import annotations

from shared_kernel.domain import Aggregate, DomainEvent
from shared_kernel.errors import Conflict

from ledger.domain.events import VoucherNumberClaimed, VoucherNumberReleased
from ledger.domain.journal import EntryDetails

STREAM_PREFIX = "voucher:"


def voucher_stream_id(fiscal_year: int, voucher_number: str) -> str:
    return f"{STREAM_PREFIX}{fiscal_year:04d}:{voucher_number}"


def voucher_key(details: EntryDetails) -> tuple[int, str]:
    """The fiscal year and voucher number of checked entry details."""
    return details.booking_date.year, details.voucher_number


class VoucherNumberInUse(Conflict):
    """The voucher number is already taken in the fiscal year (HTTP 409)."""

    title = "Voucher number in use"


class Voucher(Aggregate):
    """Who holds a voucher number in one fiscal year: an entry, or a pending request."""

    stream_type = "voucher"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        _, year, number = aggregate_id.split(":", 2)
        self.fiscal_year = int(year)
        self.voucher_number = number
        self.entry_id: str | None = None
        self.request_id: str | None = None

    @classmethod
    def of(cls, fiscal_year: int, voucher_number: str) -> Voucher:
        return cls(voucher_stream_id(fiscal_year, voucher_number))

    @property
    def is_free(self) -> bool:
        return self.entry_id is None and self.request_id is None

    def claim(self, *, entry_id: str | None = None, request_id: str | None = None) -> None:
        """Take the number for a posted entry or a pending request. A request's entry takes
        the number its request reserved; any other holder makes it a conflict naming them."""
        if not self.is_free and not (self.entry_id is None and self.request_id == request_id):
            raise VoucherNumberInUse(
                f"Voucher number {self.voucher_number!r} is already used in fiscal year "
                f"{self.fiscal_year} by {self.holder}; a voucher number identifies one voucher, "
                "so give this one its own number.",
                field="voucher_number",
                code="VoucherNumberInUse",
            )
        self._record(
            VoucherNumberClaimed(
                self.fiscal_year, self.voucher_number, entry_id=entry_id, request_id=request_id
            )
        )

    @property
    def holder(self) -> str:
        """The holder in words: ``journal entry <id>`` or ``booking request <id> (pending)``."""
        if self.entry_id is not None:
            return f"journal entry {self.entry_id}"
        return f"booking request {self.request_id}, which awaits its decision"

    def release(self, request_id: str, outcome: str) -> None:
        """Free the number a request reserved (it was rejected or expired). A request that
        holds no claim (submitted before numbers were claimed) leaves the voucher as it is."""
        if self.entry_id is None and self.request_id == request_id:
            self._record(
                VoucherNumberReleased(self.fiscal_year, self.voucher_number, request_id, outcome)
            )

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case VoucherNumberClaimed():
                self.entry_id = event.entry_id
                self.request_id = event.request_id
            case VoucherNumberReleased():
                self.entry_id = self.request_id = None
            case _:
                raise TypeError(f"Voucher cannot apply {type(event).__name__}")
