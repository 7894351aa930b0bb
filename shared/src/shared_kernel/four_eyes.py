"""Four-eyes principle, one implementation for every approval in every service.

Whoever entered a transaction, or requested a limit change or a risk acceptance, may not
approve it; and the approver must hold a back-office role (one of ``approver_roles`` when the
rule names them). Enforced in the services, on the server, whatever a UI or gateway did before.
Pure Python: called from aggregates and command handlers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared_kernel.errors import PermissionDenied

BACK_OFFICE = "back"


@dataclass(frozen=True)
class Approver:
    """The person approving: their subject, office and roles, as the gateway vouched for them."""

    subject: str
    office: str
    roles: frozenset[str]


def ensure_four_eyes(
    requested_by: str,
    approver: Approver,
    *,
    what: str,
    approver_roles: Iterable[str] | None = None,
) -> None:
    """Refuse (403) an approval by the requester, by anyone outside the back office, or by
    someone without one of ``approver_roles``."""
    if approver.subject == requested_by:
        raise PermissionDenied(
            f"four-eyes principle: {requested_by} requested this {what} and may not approve it;"
            " a second person must",
            code="FourEyesViolation",
        )
    if approver.office != BACK_OFFICE:
        raise PermissionDenied(
            f"approving a {what} is back-office work; {approver.subject} acts for the"
            f" {approver.office} office",
            code="BackOfficeRequired",
        )
    allowed = frozenset(approver_roles or ())
    if allowed and not approver.roles & allowed:
        raise PermissionDenied(
            f"approving a {what} needs one of the roles {', '.join(sorted(allowed))}",
            code="ApproverRoleRequired",
        )
