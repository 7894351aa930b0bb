"""Four-eyes principle, one implementation for every approval in every service.

Whoever entered a transaction, or requested a limit change or a risk acceptance, may not
approve it; the approver is a person, never a system (an API key: whoever holds it, or the
administrator who issued it, could otherwise approve their own request); and the approver must
hold a back-office role (one of ``approver_roles`` when the rule names them). Enforced in the
services, on the server, whatever a UI or gateway did before.
Pure Python: called from aggregates and command handlers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared_kernel.errors import PermissionDenied

BACK_OFFICE = "back"


@dataclass(frozen=True)
class Approver:
    """Who approves: their subject, office and roles, and whether they are a person (not a
    system), as the gateway vouched for them."""

    subject: str
    office: str
    roles: frozenset[str]
    person: bool


def ensure_four_eyes(
    requested_by: str,
    approver: Approver,
    *,
    what: str,
    approver_roles: Iterable[str] | None = None,
) -> None:
    """Refuse (403) an approval by a system, by the requester, by anyone outside the back
    office, or by someone without one of ``approver_roles``."""
    ensure_person(approver, f"approving a {what}")
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


def ensure_person(decider: Approver, what: str) -> None:
    """Refuse (403 ``PersonRequired``) a four-eyes decision made by a system: systems may submit,
    only people decide."""
    if not decider.person:
        raise PermissionDenied(
            f"{what} is a decision for a person; {decider.subject} is a system, which may"
            " submit but never decide",
            code="PersonRequired",
        )
