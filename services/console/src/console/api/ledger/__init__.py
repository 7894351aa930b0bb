"""The Ledger section: chart of accounts, journal, posting, booking requests, reports,
periods and the hash chain's verification. Every page is gated by the policy route it reads;
every action is offered only to those the policy lets call it (the API decides again)."""

from __future__ import annotations

from fastapi import APIRouter

from console.api.ledger import books, periods, posting, reports, requests

router = APIRouter()
for part in (books, posting, requests, reports, periods):
    router.include_router(part.router)
