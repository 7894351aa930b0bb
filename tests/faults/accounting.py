"""The campaign's books: what each request of the load got back, and what one row of the
fault campaign (issue 16) found. Pure: no I/O, so that the rules of the table are unit-tested."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

ACKNOWLEDGED = frozenset({200, 201, 202})


@dataclass(frozen=True)
class Outcome:
    """One command of the load: ``status`` None when no HTTP answer came (``failure`` says
    why: a timeout, a refused connection)."""

    kind: str  # "entry" (a journal entry) or "deal" (a trader system's booking request)
    key: str  # its Idempotency-Key
    amount: int
    status: int | None
    resource_id: str | None = None
    failure: str | None = None
    at: float = 0.0  # monotonic time the answer (or the failure) came

    @property
    def acknowledged(self) -> bool:
        return self.status in ACKNOWLEDGED and self.resource_id is not None

    @property
    def server_error(self) -> bool:
        return self.status is not None and self.status >= 500

    @property
    def other_failure(self) -> str | None:
        """What went wrong that is neither an acknowledgement nor a 5xx: a 4xx, no answer."""
        if self.acknowledged or self.server_error:
            return None
        return self.failure or str(self.status)


@dataclass(frozen=True)
class Rule:
    """What a row's fault may cost: the 5xx codes a command may get (none: the outbox
    absorbs it), and whether a command may fail in other ways (no answer in time)."""

    allowed_5xx: frozenset[int] = frozenset()
    other_failures_allowed: bool = False


@dataclass
class Findings:
    """What the checks after a row found (``checks.py``)."""

    lost: list[str] = field(default_factory=list)  # acknowledged, not in a read model
    duplicates_applied: list[str] = field(default_factory=list)  # in a read model twice
    topic_duplicates: int = 0  # CloudEvent ids on a topic more than once
    applied_unacknowledged: int = 0  # applied although its client saw no acknowledgement
    problems: list[str] = field(default_factory=list)  # any other check that failed
    notes: list[str] = field(default_factory=list)  # what the reader should know


@dataclass
class RowReport:
    name: str
    rule: Rule
    outcomes: list[Outcome] = field(default_factory=list)
    findings: Findings = field(default_factory=Findings)
    recovery: str = ""
    not_run: str | None = None  # why the row did not run

    @property
    def acknowledged(self) -> int:
        return sum(o.acknowledged for o in self.outcomes)

    @property
    def server_errors(self) -> Counter[int]:
        return Counter(o.status for o in self.outcomes if o.server_error and o.status)

    @property
    def other_failures(self) -> Counter[str]:
        return Counter(f for o in self.outcomes if (f := o.other_failure) is not None)

    def reasons(self) -> list[str]:
        """Why the row does not hold; empty when it holds."""
        if self.not_run:
            return [f"not run: {self.not_run}"]
        found = self.findings
        reasons = list(found.problems)
        if not self.outcomes:
            reasons.append("no request was sent")
        elif not self.acknowledged:
            reasons.append("no command was acknowledged")
        refused = sorted(c for c in self.server_errors if c not in self.rule.allowed_5xx)
        if refused:
            reasons.append(f"5xx not allowed here: {', '.join(map(str, refused))}")
        if self.other_failures and not self.rule.other_failures_allowed:
            reasons.append(f"other failures: {dict(self.other_failures)}")
        if found.lost:
            reasons.append(f"{len(found.lost)} acknowledged commands lost")
        if found.duplicates_applied:
            reasons.append(f"{len(found.duplicates_applied)} applied more than once")
        return reasons

    @property
    def holds(self) -> bool:
        return not self.reasons()
