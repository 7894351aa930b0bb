"""What the ledger pages share: the policy routes they are built on, the section's tabs, the
chart of accounts for the lines editor, and small readers of query values."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Path
from starlette.responses import HTMLResponse

from console.api.web import Visit
from console.domain.operator import Operator

ACCOUNTS = "GET /ledger/v1/accounts"
BOOKING_ACCOUNTS = "GET /ledger/v1/booking-accounts"
STATEMENT = "GET /ledger/v1/accounts/{account_id}/statement"
JOURNAL = "GET /ledger/v1/journal-entries"
ENTRY = "GET /ledger/v1/journal-entries/{entry_id}"
POST_ENTRY = "POST /ledger/v1/journal-entries"
REVERSE_ENTRY = "POST /ledger/v1/journal-entries/{entry_id}/reversal"
REQUESTS = "GET /ledger/v1/booking-requests"
REQUEST = "GET /ledger/v1/booking-requests/{request_id}"
SUBMIT_REQUEST = "POST /ledger/v1/booking-requests"
APPROVE_REQUEST = "POST /ledger/v1/booking-requests/{request_id}/approval"
REJECT_REQUEST = "POST /ledger/v1/booking-requests/{request_id}/rejection"
TRIAL_BALANCE = "GET /ledger/v1/reports/trial-balance"
BALANCE_SHEET = "GET /ledger/v1/reports/balance-sheet"
PROFIT_AND_LOSS = "GET /ledger/v1/reports/profit-and-loss"
PERIODS = "GET /ledger/v1/periods"
CLOSE_PERIOD = "POST /ledger/v1/periods/{period}/closing"
VERIFICATION = "GET /ledger/v1/verification"

# The ledger's identifiers (as its API checks them): refused here before any call is made.
LedgerId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
PERIOD_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
# The most accounts a select offers (the API's largest page).
CHART_PAGE = 500


def _(text: str) -> str:
    """Marks a text for translation where it is defined; the template translates it."""
    return text


@dataclass(frozen=True)
class Tab:
    label: str
    href: str
    route: str


TABS = (
    Tab(_("Chart of accounts"), "/ledger", ACCOUNTS),
    Tab(_("Journal"), "/ledger/journal", JOURNAL),
    Tab(_("Post an entry"), "/ledger/post", POST_ENTRY),
    Tab(_("Booking requests"), "/ledger/booking-requests", REQUESTS),
    Tab(_("Trial balance"), "/ledger/trial-balance", TRIAL_BALANCE),
    Tab(_("Balance sheet"), "/ledger/balance-sheet", BALANCE_SHEET),
    Tab(_("Profit and loss"), "/ledger/profit-and-loss", PROFIT_AND_LOSS),
    Tab(_("Periods"), "/ledger/periods", PERIODS),
    Tab(_("Verification"), "/ledger/verification", VERIFICATION),
)


def tabs_for(operator: Operator) -> list[Tab]:
    return [tab for tab in TABS if operator.may(tab.route)]


def page(visit: Visit, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A ledger page: the template with the section's tabs."""
    return visit.render(template, status_code, tabs=tabs_for(visit.operator), **context)


async def chart(visit: Visit) -> list[dict[str, Any]]:
    """The open accounts, for the lines editor's selects: the booking accounts (code, name,
    currency, no balances: the front office may read them), else the chart; none when the
    operator may read neither (the form then asks for an account id)."""
    if visit.operator.may(BOOKING_ACCOUNTS):
        answer = await visit.get("/ledger/v1/booking-accounts", {"limit": CHART_PAGE})
        return list(answer["items"])
    if not visit.operator.may(ACCOUNTS):
        return []
    answer = await visit.get("/ledger/v1/accounts", {"limit": CHART_PAGE})
    return [account for account in answer["items"] if not account.get("closed_at")]


def today(visit: Visit) -> date:
    """Today where the console's operators work (booking dates are local days)."""
    return datetime.now(visit.console.timezone).date()


def this_period(visit: Visit) -> str:
    return today(visit).isoformat()[:7]


def form_key() -> str:
    """A fresh idempotency key for a form: submitting it twice writes once."""
    return str(uuid.uuid4())


def read_position(value: str | None) -> int | None:
    """``min_position`` passed on after a write (read-your-writes), when it is a number."""
    return int(value) if value and value.isdigit() else None


def debit_totals(lines: list[dict[str, Any]]) -> dict[str, int]:
    """An entry's amount per currency: the sum of its debits (equal to its credits)."""
    totals: dict[str, int] = {}
    for line in lines:
        if line["side"] == "debit":
            totals[line["currency"]] = totals.get(line["currency"], 0) + int(line["amount"])
    return totals
