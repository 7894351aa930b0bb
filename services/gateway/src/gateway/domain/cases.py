"""Who sees which case on the timeline.

A case is a correlation id: every event of every service caused, directly or not, by one
request. Back office and auditors see every case (they check and control the business of
everyone); the front office sees only the cases it started, the actor of a case's first event,
and so does a system (an API key), whatever its roles: a key acts for one system, and a
system's roles say what it may do, not whose business it may read. Administrators manage
access, not the business: they too see only the cases they started (their own changes of
operators and keys).

Whoever sees only their own cases does not see the internal events in them either (an internal
note on an incident, an exposure total: see ``case_summaries``). A case the caller may not see
is answered exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared_kernel.identity import Caller
from shared_kernel.roles import Office, Role

#: Who reads every case: the whole back office and the auditors.
CASE_READERS = frozenset({role for role in Role if role.office is Office.BACK} | {Role.AUDITOR})


@dataclass(frozen=True)
class CaseAccess:
    """What one caller may read on the timeline: every case (``own`` None) or its own."""

    own: str | None

    @classmethod
    def of(cls, caller: Caller) -> CaseAccess:
        """Every case for a person of the back office or an auditor outside the front office;
        otherwise the caller's own (fail closed: whatever else a caller is, it sees its own)."""
        if (
            caller.is_person
            and caller.office in (Office.BACK, Office.OVERSIGHT)
            and caller.has_any(CASE_READERS)
        ):
            return cls(own=None)
        return cls(own=caller.subject)

    @property
    def everything(self) -> bool:
        return self.own is None

    def sees_case(self, started_by: str) -> bool:
        """Whether a case whose first event was made by ``started_by`` is visible."""
        return self.own is None or started_by == self.own

    @property
    def sees_internal_events(self) -> bool:
        return self.own is None
