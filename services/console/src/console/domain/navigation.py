"""The console's sections and who sees them: a section shows when the operator may call the
API route it is built on (the gateway's policy decides; the console only follows it)."""

from __future__ import annotations

from dataclasses import dataclass

from console.domain.operator import Operator


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    href: str
    # The section shows when the operator may call any of these routes.
    any_of: tuple[str, ...]
    # ... and all of these (Team reads the work of every service at once) ...
    all_of: tuple[str, ...] = ()
    # ... and, when given, is in this office (Team is the back office leads' view).
    office: str | None = None


SECTIONS = (
    Section("home", "My work", "/", ()),
    Section(
        "ledger",
        "Ledger",
        "/ledger",
        # The front office uses the ledger for its booking requests (/ledger takes it there).
        (
            "GET /ledger/v1/journal-entries",
            "GET /ledger/v1/accounts",
            "GET /ledger/v1/booking-requests",
        ),
    ),
    Section("tickets", "Tickets", "/tickets", ("GET /tickets/v1/tickets",)),
    Section("risk", "Risk", "/risk", ("GET /risk/v1/risks", "GET /risk/v1/limits")),
    Section(
        "team",
        "Team",
        "/team",
        (),
        all_of=(
            "GET /ledger/v1/booking-requests",
            "GET /tickets/v1/tickets",
            "GET /risk/v1/reports/breaches",
        ),
        office="back",
    ),
    Section("cases", "Cases", "/cases", ("GET /cases/{correlation_id}",)),
    Section("audit", "Audit", "/audit", ("GET /audit/v1/decisions",)),
    Section("admin", "Admin", "/admin", ("GET /admin/v1/operators",)),
)


def sections_for(operator: Operator) -> list[Section]:
    """The sections this operator may use, in menu order."""
    return [section for section in SECTIONS if may_open(operator, section)]


def may_open(operator: Operator, section: Section) -> bool:
    if section.office and operator.office != section.office:
        return False
    if section.all_of and not operator.may(*section.all_of):
        return False
    return not section.any_of or operator.may_any(*section.any_of)


def section(key: str) -> Section:
    return next(s for s in SECTIONS if s.key == key)
