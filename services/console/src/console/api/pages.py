"""Every page router of the console, in menu order (main.py includes them)."""

from __future__ import annotations

from fastapi import APIRouter

from console.api import home, ledger


def routers() -> list[APIRouter]:
    return [home.router, ledger.router]
