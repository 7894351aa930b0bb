"""The console's words in German, one module per area (English is the key and the fallback).

Each area's module holds ``GERMAN: dict[str, str]``; a unit test checks that every text a
template or page asks for has its German entry.
"""

from __future__ import annotations

from console.texts import admin, common, ledger, office, risk, tickets

GERMAN: dict[str, str] = {
    **common.GERMAN,
    **ledger.GERMAN,
    **tickets.GERMAN,
    **risk.GERMAN,
    **office.GERMAN,
    **admin.GERMAN,
}
