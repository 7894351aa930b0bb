"""A month of demo bookkeeping: what a small trading company posts from the 1st up to today.

Pure data: ``month_entries`` and ``open_requests`` answer journal entries by account code, dated
in the current month (day 1 to today, so no closed or future period is touched); demo_data.py
turns the codes into account ids and posts them through the gateway. Sales to counterparties
that have a limit carry ``metadata.counterparty``, so the risk service counts them: ACME GmbH
ends close to its warning threshold (about 76 % of 50,000.00 EUR with the open request).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

VAT_RATE_PERCENT = 19
# Nominal days of the month the entries below are spread over (1..28), squeezed into 1..today.
NOMINAL_DAYS = 28


@dataclass(frozen=True)
class Entry:
    """A journal entry: ``lines`` are ``(account code, side, amount in cents)``, all in EUR."""

    voucher_number: str
    day: int  # nominal day 1..28, see ``booking_date``
    text: str
    lines: tuple[tuple[str, str, int], ...]
    metadata: dict[str, str] = field(default_factory=dict)

    def booking_date(self, today: date) -> date:
        """The nominal day mapped onto the 1st..today of today's month (order kept)."""
        span = today.day - 1
        return today.replace(day=1 + (self.day - 1) * span // (NOMINAL_DAYS - 1))


def eur(amount: float) -> int:
    return round(amount * 100)


def vat(net: int) -> int:
    return net * VAT_RATE_PERCENT // 100


def sale(voucher: str, day: int, customer: str, net_eur: float, *, limit: bool) -> Entry:
    """An invoice: receivable against revenue and output VAT; a counterparty with a limit is
    named in the metadata, so the invoice counts against it."""
    net = eur(net_eur)
    lines = (
        ("1400", "debit", net + vat(net)),
        ("8400", "credit", net),
        ("1776", "credit", vat(net)),
    )
    metadata = {"counterparty": customer} if limit else {}
    return Entry(voucher, day, f"Invoice {voucher} to {customer}", lines, metadata)


def receipt(voucher: str, day: int, customer: str, gross: int) -> Entry:
    lines = (("1200", "debit", gross), ("1400", "credit", gross))
    return Entry(voucher, day, f"Payment received from {customer}", lines)


def purchase(voucher: str, day: int, supplier: str, expense: str, net_eur: float) -> Entry:
    net = eur(net_eur)
    lines = (
        (expense, "debit", net),
        ("1576", "debit", vat(net)),
        ("1600", "credit", net + vat(net)),
    )
    return Entry(voucher, day, f"Invoice {voucher} from {supplier}", lines)


def payment(voucher: str, day: int, supplier: str, gross: int) -> Entry:
    lines = (("1600", "debit", gross), ("1200", "credit", gross))
    return Entry(voucher, day, f"Payment to {supplier}", lines)


def bank(voucher: str, day: int, text: str, debit: str, credit: str, amount_eur: float) -> Entry:
    amount = eur(amount_eur)
    return Entry(voucher, day, text, ((debit, "debit", amount), (credit, "credit", amount)))


def gross_of(entry: Entry) -> int:
    return sum(amount for _, side, amount in entry.lines if side == "debit")


def month_entries() -> list[Entry]:
    """About forty entries in date order: opening balances, sales and receipts, purchases and
    payments, salaries, rent and the bank's own postings."""
    opening = Entry(
        "EB-001",
        1,
        "Opening balances (Eroeffnungsbilanz)",
        (
            ("1200", "debit", eur(250_000)),
            ("1000", "debit", eur(1_500)),
            ("0420", "debit", eur(18_000)),
            ("0800", "credit", eur(100_000)),
            ("0860", "credit", eur(169_500)),
        ),
    )
    sales = [
        sale("AR-001", 2, "ACME GmbH", 10_000, limit=True),
        sale("AR-002", 3, "Nordwind Logistik AG", 24_000, limit=True),
        sale("AR-003", 5, "Baeckerei Sommer", 1_850, limit=False),
        sale("AR-004", 8, "ACME GmbH", 12_000, limit=True),
        sale("AR-005", 10, "Hanse Trading KG", 7_400, limit=True),
        sale("AR-006", 13, "Nordwind Logistik AG", 16_500, limit=True),
        sale("AR-007", 16, "Praxis Dr. Yilmaz", 2_300, limit=False),
        sale("AR-008", 19, "ACME GmbH", 8_000, limit=True),
        sale("AR-009", 22, "Hanse Trading KG", 5_200, limit=True),
        sale("AR-010", 25, "Stadtwerke Kiel", 9_900, limit=False),
    ]
    by_voucher = {entry.voucher_number: entry for entry in sales}
    receipts = [
        receipt("BK-101", 9, "Baeckerei Sommer", gross_of(by_voucher["AR-003"])),
        receipt("BK-102", 12, "Nordwind Logistik AG", gross_of(by_voucher["AR-002"])),
        receipt("BK-103", 20, "Praxis Dr. Yilmaz", gross_of(by_voucher["AR-007"])),
        receipt("BK-104", 24, "Hanse Trading KG", gross_of(by_voucher["AR-005"])),
    ]
    purchases = [
        purchase("ER-001", 2, "Grosshandel Meyer", "3400", 14_200),
        purchase("ER-002", 4, "Werbeagentur Blau", "4600", 3_200),
        purchase("ER-003", 7, "Grosshandel Meyer", "3400", 9_800),
        purchase("ER-004", 11, "Buero-Express", "4930", 412),
        purchase("ER-005", 15, "Grosshandel Meyer", "3400", 11_600),
        purchase("ER-006", 18, "Telekom", "4920", 289),
        purchase("ER-007", 21, "Werbeagentur Blau", "4600", 1_450),
        purchase("ER-008", 26, "Softwarehaus Nord", "0027", 4_900),
    ]
    paid = {entry.voucher_number: gross_of(entry) for entry in purchases}
    payments = [
        payment("BK-201", 6, "Grosshandel Meyer", paid["ER-001"]),
        payment("BK-202", 10, "Werbeagentur Blau", paid["ER-002"]),
        payment("BK-203", 14, "Grosshandel Meyer", paid["ER-003"]),
        payment("BK-204", 17, "Buero-Express", paid["ER-004"]),
        payment("BK-205", 23, "Telekom", paid["ER-006"]),
    ]
    bank_postings = [
        bank("BK-301", 1, "Rent for the office, Hafenstrasse 12", "4210", "1200", 4_800),
        bank("KA-001", 3, "Coffee and kitchen supplies (cash)", "4930", "1000", 86.40),
        bank("KA-002", 9, "Postage (cash)", "4930", "1000", 42.50),
        bank("BK-302", 12, "Loan interest", "2100", "1200", 612.75),
        bank("BK-303", 15, "Account fees", "4970", "1200", 38.50),
        bank("BK-304", 16, "Web shop receipts, first half", "1200", "8400.10", 3_481.20),
        bank("BK-305", 20, "Cash withdrawal for the till", "1000", "1200", 500),
        bank("BK-306", 27, "Interest on the call account", "1200", "2650", 215.30),
        bank("BK-307", 27, "Web shop receipts, second half", "1200", "8400.10", 2_967.80),
        bank("BK-308", 28, "Card fees", "4970", "1200", 61.20),
    ]
    salaries = [
        Entry(
            "LG-001",
            27,
            "Salaries of the month",
            (("4120", "debit", eur(28_500)), ("1740", "credit", eur(28_500))),
        ),
        Entry(
            "LG-002",
            27,
            "Employer's social security contributions",
            (("4130", "debit", eur(5_900)), ("1740", "credit", eur(5_900))),
        ),
        bank("BK-309", 28, "Salary payments", "1740", "1200", 34_400),
    ]
    entries = [opening, *sales, *receipts, *purchases, *payments, *bank_postings, *salaries]
    return sorted(entries, key=lambda entry: entry.day)


def open_requests() -> list[Entry]:
    """Deals entered by the trader and waiting for the back office's approval."""
    return [
        sale("TR-001", 28, "ACME GmbH", 2_000, limit=True),
        sale("TR-002", 28, "Nordwind Logistik AG", 6_000, limit=True),
        sale("TR-003", 28, "Hanse Trading KG", 3_100, limit=True),
    ]
