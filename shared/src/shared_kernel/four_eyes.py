"""Four-eyes principle, one implementation for every approval in every service.

Whoever entered a transaction, or requested a limit change or a risk acceptance, may not
approve it; the approver is a person, never a system (an API key: whoever holds it, or the
administrator who issued it, could otherwise approve their own request); and the approver must
hold a back-office role (one of ``approver_roles`` when the rule names them). The approver is
the ``Caller`` the gateway vouched for (a command's ``context.caller``). Enforced in the
services, on the server, whatever a UI or gateway did before.
Pure Python: called from aggregates and command handlers.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared_kernel.errors import PermissionDenied
from shared_kernel.identity import Caller
from shared_kernel.roles import Office, Role


class FourEyesRefused(PermissionDenied):
    """A decision refused by the four-eyes principle (403; ``code`` says which rule): counted
    apart from other refusals (``backoffice_four_eyes_refusals_total``)."""


def ensure_four_eyes(
    requested_by: str,
    approver: Caller,
    *,
    what: str,
    approver_roles: Iterable[Role] | None = None,
) -> None:
    """Refuse (403) an approval by a system, by the requester, by anyone outside the back
    office, or by someone without one of ``approver_roles``."""
    ensure_person(approver, f"approving a {what}")
    if approver.subject == requested_by:
        raise FourEyesRefused(
            f"four-eyes principle: {requested_by} requested this {what} and may not approve it;"
            " a second person must",
            code="FourEyesViolation",
        )
    if approver.office is not Office.BACK:
        raise FourEyesRefused(
            f"approving a {what} is back-office work; {approver.subject} acts for the"
            f" {approver.office} office",
            code="BackOfficeRequired",
        )
    allowed = frozenset(approver_roles or ())
    if allowed and not approver.has_any(allowed):
        raise FourEyesRefused(
            f"approving a {what} needs one of the roles {', '.join(sorted(allowed))}",
            code="ApproverRoleRequired",
        )


def ensure_person(decider: Caller, what: str) -> None:
    """Refuse (403 ``PersonRequired``) a four-eyes decision made by a system: systems may submit,
    only people decide."""
    if not decider.is_person:
        raise FourEyesRefused(
            f"{what} is a decision for a person; {decider.subject} is a system, which may"
            " submit but never decide",
            code="PersonRequired",
        )
