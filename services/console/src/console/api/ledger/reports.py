"""Reports: trial balance of a month (with its CSV), balance sheet at a day, profit and loss
between two days."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from console.api.ledger.common import (
    BALANCE_SHEET,
    PERIOD_PATTERN,
    PROFIT_AND_LOSS,
    TRIAL_BALANCE,
    page,
    this_period,
    today,
)
from console.api.web import CurrentVisit, Visit
from console.domain.money import major

router = APIRouter(prefix="/ledger")

Period = Annotated[str | None, Query(pattern=PERIOD_PATTERN + "|^$")]
CSV_COLUMNS = (
    "period",
    "code",
    "name",
    "account_type",
    "currency",
    "opening_balance",
    "debits",
    "credits",
    "closing_balance",
)


async def _trial_balance(visit: Visit, period: str | None) -> dict[str, Any]:
    visit.require(TRIAL_BALANCE)
    report: dict[str, Any] = await visit.get(
        "/ledger/v1/reports/trial-balance", {"period": period or this_period(visit)}
    )
    return report


@router.get("/trial-balance")
async def trial_balance(visit: CurrentVisit, period: Period = None) -> Response:
    """Summen- und Saldenliste: per account opening balance, debits, credits, closing."""
    report = await _trial_balance(visit, period)
    return page(visit, "ledger/trial_balance.html", report=report)


@router.get("/trial-balance.csv")
async def trial_balance_csv(visit: CurrentVisit, period: Period = None) -> Response:
    """The trial balance for a spreadsheet: major units with a point, whatever the locale."""
    report = await _trial_balance(visit, period)
    return Response(
        trial_balance_csv_text(report),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="trial-balance-{report["period"]}.csv"'
        },
    )


def trial_balance_csv_text(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in report["accounts"]:
        currency = row["currency"]
        writer.writerow(
            [
                report["period"],
                row["code"],
                row["name"],
                row["account_type"],
                currency,
                *(
                    str(major(int(row[name]), currency))
                    for name in ("opening_balance", "debits", "credits", "closing_balance")
                ),
            ]
        )
    return out.getvalue()


@router.get("/balance-sheet")
async def balance_sheet(
    visit: CurrentVisit, as_of: Annotated[date | None, Query()] = None
) -> Response:
    visit.require(BALANCE_SHEET)
    day = as_of or today(visit)
    report = await visit.get("/ledger/v1/reports/balance-sheet", {"as_of": day.isoformat()})
    return page(visit, "ledger/balance_sheet.html", report=report, as_of=day)


@router.get("/profit-and-loss")
async def profit_and_loss(
    visit: CurrentVisit,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: Annotated[date | None, Query()] = None,
) -> Response:
    visit.require(PROFIT_AND_LOSS)
    last = to or today(visit)
    first = from_ or date(last.year, 1, 1)
    report = await visit.get(
        "/ledger/v1/reports/profit-and-loss", {"from": first.isoformat(), "to": last.isoformat()}
    )
    return page(visit, "ledger/profit_and_loss.html", report=report, first=first, last=last)
