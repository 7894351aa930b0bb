"""Every page router of the console, in menu order (main.py includes them)."""

from __future__ import annotations

from fastapi import APIRouter

from console.api import admin, audit, cases, home, ledger, risk, team, tickets


def routers() -> list[APIRouter]:
    return [
        home.router,
        ledger.router,
        tickets.router,
        risk.router,
        team.router,
        cases.router,
        audit.router,
        admin.router,
    ]
