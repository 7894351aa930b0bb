"""A risk in the register: identified, assessed, controlled, treated, reviewed, accepted,
closed. Each method checks the rules and records one past-tense event."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from enum import StrEnum

from shared_kernel.domain import Aggregate, DomainEvent
from shared_kernel.errors import Conflict, DomainError, NotFound
from shared_kernel.identity import Caller

from risk.domain.acceptance import Acceptance, AcceptanceStatus, check_request
from risk.domain.register_events import (
    Assessment,
    RiskAcceptanceApproved,
    RiskAcceptanceExpired,
    RiskAcceptanceRejected,
    RiskAcceptanceRequested,
    RiskActionChanged,
    RiskActionCompleted,
    RiskActionPlanned,
    RiskClosed,
    RiskControlAdded,
    RiskControlChanged,
    RiskControlRemoved,
    RiskDetailsChanged,
    RiskIdentified,
    RiskReassessed,
    RiskReviewed,
    RiskTreatmentSet,
)
from risk.domain.scoring import (
    ControlEffect,
    Effectiveness,
    Rating,
    Reduces,
    ReviewPolicy,
    ScoringMatrix,
)

CATEGORIES = frozenset({"credit", "market", "liquidity", "operational", "it", "compliance"})


class Treatment(StrEnum):
    MITIGATE = "mitigate"
    ACCEPT = "accept"
    TRANSFER = "transfer"
    AVOID = "avoid"


class RiskStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class RegisterRules:
    """The configurable parts: the scoring matrix and the review intervals."""

    matrix: ScoringMatrix = field(default_factory=ScoringMatrix)
    reviews: ReviewPolicy = field(default_factory=ReviewPolicy)
    # An acceptance is temporary by nature: it may run at most this many days ahead.
    acceptance_max_days: int = 730


@dataclass(frozen=True)
class RiskDetails:
    title: str
    description: str
    category: str
    owner: str

    def checked(self) -> RiskDetails:
        details = replace(self, title=self.title.strip(), owner=self.owner.strip())
        if not details.title:
            raise DomainError("a risk needs a title", field="title", code="TitleRequired")
        if not details.owner:
            raise DomainError("a risk needs an owner", field="owner", code="OwnerRequired")
        if details.category not in CATEGORIES:
            raise DomainError(
                f"category must be one of {', '.join(sorted(CATEGORIES))}",
                field="category",
                code="UnknownCategory",
            )
        return details


@dataclass(frozen=True)
class Control:
    control_id: str
    name: str
    description: str
    effectiveness: Effectiveness
    reduces: Reduces

    @property
    def effect(self) -> ControlEffect:
        return ControlEffect(self.effectiveness, self.reduces)


@dataclass(frozen=True)
class Action:
    action_id: str
    title: str
    owner: str
    due_date: date
    done: bool = False


def child_id(kind: str, version: int) -> str:
    """The id of a control, action or acceptance: its kind and the risk version that
    recorded it (``control-4``). Deterministic, so a replayed request answers the same id."""
    return f"{kind}-{version}"


def _day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def _required(text: str, name: str) -> str:
    if not text.strip():
        raise DomainError(f"{name} must not be empty", field=name, code=f"{name.title()}Required")
    return text.strip()


class RegisteredRisk(Aggregate):
    stream_type = "risk"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.details: RiskDetails | None = None
        self.status = RiskStatus.OPEN
        self.assessment: Assessment | None = None
        self.controls: dict[str, Control] = {}
        self.actions: dict[str, Action] = {}
        self.treatment: Treatment | None = None
        self.last_review: date | None = None
        self.review_due: date | None = None
        self.acceptance: Acceptance | None = None

    # -- commands ---------------------------------------------------------------------------

    @classmethod
    def identify(
        cls,
        risk_id: str,
        details: RiskDetails,
        likelihood: int,
        impact: int,
        rules: RegisterRules,
        *,
        by: str,
        at: datetime,
    ) -> RegisteredRisk:
        details = details.checked()
        inherent = rules.matrix.rate(likelihood, impact)
        assessment = Assessment(inherent, inherent)
        risk = cls(risk_id)
        risk._record(
            RiskIdentified(
                risk_id=risk_id,
                title=details.title,
                description=details.description,
                category=details.category,
                owner=details.owner,
                assessment=assessment,
                review_due=rules.reviews.next_review(_day(at), inherent.level),
                by=by,
                at=at,
            )
        )
        return risk

    def change_details(self, details: RiskDetails, reason: str, *, by: str, at: datetime) -> None:
        self._check_open()
        details = details.checked()
        self._record(
            RiskDetailsChanged(
                risk_id=self.id,
                title=details.title,
                description=details.description,
                category=details.category,
                owner=details.owner,
                reason=_required(reason, "reason"),
                by=by,
                at=at,
            )
        )

    def reassess(
        self,
        likelihood: int,
        impact: int,
        reason: str,
        rules: RegisterRules,
        *,
        by: str,
        at: datetime,
    ) -> None:
        """New likelihood and impact; being a review, it moves the review date."""
        self._check_open()
        reason = _required(reason, "reason")
        assessment = self._assess(rules.matrix.rate(likelihood, impact), self.controls, rules)
        self._record(
            RiskReassessed(
                risk_id=self.id,
                assessment=assessment,
                review_due=rules.reviews.next_review(_day(at), assessment.residual.level),
                reason=reason,
                by=by,
                at=at,
            )
        )

    def add_control(
        self, control: Control, reason: str, rules: RegisterRules, *, by: str, at: datetime
    ) -> None:
        self._check_open()
        if control.control_id in self.controls:
            raise Conflict(f"control {control.control_id} exists already", field="control_id")
        name = _required(control.name, "name")
        controls = {**self.controls, control.control_id: control}
        assessment = self._assess(self._inherent, controls, rules)
        self._record(
            RiskControlAdded(
                risk_id=self.id,
                control_id=control.control_id,
                name=name,
                description=control.description,
                effectiveness=control.effectiveness,
                reduces=control.reduces,
                assessment=assessment,
                review_due=self._due_after(assessment, rules),
                reason=reason,
                by=by,
                at=at,
            )
        )

    def change_control(
        self, control: Control, reason: str, rules: RegisterRules, *, by: str, at: datetime
    ) -> None:
        self._check_open()
        self._control(control.control_id)
        name = _required(control.name, "name")
        controls = {**self.controls, control.control_id: control}
        assessment = self._assess(self._inherent, controls, rules)
        self._record(
            RiskControlChanged(
                risk_id=self.id,
                control_id=control.control_id,
                name=name,
                description=control.description,
                effectiveness=control.effectiveness,
                reduces=control.reduces,
                assessment=assessment,
                review_due=self._due_after(assessment, rules),
                reason=_required(reason, "reason"),
                by=by,
                at=at,
            )
        )

    def remove_control(
        self, control_id: str, reason: str, rules: RegisterRules, *, by: str, at: datetime
    ) -> None:
        self._check_open()
        self._control(control_id)
        controls = {k: c for k, c in self.controls.items() if k != control_id}
        assessment = self._assess(self._inherent, controls, rules)
        self._record(
            RiskControlRemoved(
                risk_id=self.id,
                control_id=control_id,
                assessment=assessment,
                review_due=self._due_after(assessment, rules),
                reason=_required(reason, "reason"),
                by=by,
                at=at,
            )
        )

    def set_treatment(self, treatment: Treatment, reason: str, *, by: str, at: datetime) -> None:
        self._check_open()
        if (
            treatment is not Treatment.ACCEPT
            and self.acceptance is not None
            and self.acceptance.is_open
        ):
            raise Conflict(
                f"acceptance {self.acceptance.acceptance_id} is {self.acceptance.status.value}; "
                "reject it or let it expire before choosing another treatment",
                field="treatment",
                code="AcceptanceOpen",
            )
        self._record(
            RiskTreatmentSet(
                risk_id=self.id,
                treatment=treatment.value,
                reason=_required(reason, "reason"),
                by=by,
                at=at,
            )
        )

    def plan_action(self, action: Action, reason: str, *, by: str, at: datetime) -> None:
        self._check_open()
        if action.action_id in self.actions:
            raise Conflict(f"action {action.action_id} exists already", field="action_id")
        self._record(
            RiskActionPlanned(
                risk_id=self.id,
                action_id=action.action_id,
                title=_required(action.title, "title"),
                owner=_required(action.owner, "owner"),
                due_date=action.due_date,
                reason=reason,
                by=by,
                at=at,
            )
        )

    def change_action(self, action: Action, reason: str, *, by: str, at: datetime) -> None:
        """Rename, hand over or reschedule an open action."""
        self._check_open()
        self._open_action(action.action_id)
        self._record(
            RiskActionChanged(
                risk_id=self.id,
                action_id=action.action_id,
                title=_required(action.title, "title"),
                owner=_required(action.owner, "owner"),
                due_date=action.due_date,
                reason=_required(reason, "reason"),
                by=by,
                at=at,
            )
        )

    def complete_action(self, action_id: str, note: str, *, by: str, at: datetime) -> None:
        self._check_open()
        self._open_action(action_id)
        self._record(
            RiskActionCompleted(risk_id=self.id, action_id=action_id, note=note, by=by, at=at)
        )

    def record_review(self, note: str, rules: RegisterRules, *, by: str, at: datetime) -> None:
        self._check_open()
        level = self._assessment.residual.level
        self._record(
            RiskReviewed(
                risk_id=self.id,
                note=note,
                review_due=rules.reviews.next_review(_day(at), level),
                by=by,
                at=at,
            )
        )

    def close(self, reason: str, *, by: str, at: datetime) -> None:
        self._check_open()
        self._record(RiskClosed(risk_id=self.id, reason=_required(reason, "reason"), by=by, at=at))

    def request_acceptance(
        self,
        acceptance_id: str,
        reason: str,
        until: date,
        rules: RegisterRules,
        *,
        by: str,
        at: datetime,
    ) -> None:
        self._check_open()
        if self.treatment is not Treatment.ACCEPT:
            raise Conflict(
                "only a risk whose treatment is 'accept' can be accepted; set the treatment first",
                field="treatment",
                code="TreatmentNotAccept",
            )
        if self.acceptance is not None and self.acceptance.is_open:
            raise Conflict(
                f"acceptance {self.acceptance.acceptance_id} is {self.acceptance.status.value}"
                " already",
                code="AcceptanceOpen",
            )
        check_request(reason, until, at, max_days=rules.acceptance_max_days)
        self._record(
            RiskAcceptanceRequested(
                risk_id=self.id,
                acceptance_id=acceptance_id,
                reason=reason.strip(),
                until=until,
                by=by,
                at=at,
            )
        )

    def approve_acceptance(
        self, acceptance_id: str, approver: Caller, note: str, *, at: datetime
    ) -> None:
        """Four-eyes: never by the requester; a back-office ``risk-officer`` only."""
        self._check_open()
        acceptance = self._acceptance(acceptance_id)
        acceptance.check_approval(approver, at)
        self._record(
            RiskAcceptanceApproved(
                risk_id=self.id,
                acceptance_id=acceptance_id,
                note=note,
                until=acceptance.until,
                by=approver.subject,
                at=at,
            )
        )

    def reject_acceptance(self, acceptance_id: str, reason: str, *, by: str, at: datetime) -> None:
        self._check_open()
        acceptance = self._acceptance(acceptance_id)
        acceptance.check_rejection()
        self._record(
            RiskAcceptanceRejected(
                risk_id=self.id,
                acceptance_id=acceptance_id,
                reason=_required(reason, "reason"),
                by=by,
                at=at,
            )
        )

    def expire_acceptance(self, acceptance_id: str, *, by: str, at: datetime) -> None:
        """The acceptance's time is up: it ends, and the risk's review was due by its last
        day, so the review is overdue at once."""
        self._check_open()
        acceptance = self._acceptance(acceptance_id)
        if not acceptance.is_due_to_expire(at):
            raise Conflict(
                f"acceptance {acceptance_id} is {acceptance.status.value} and runs until "
                f"{acceptance.until.isoformat()}; it does not expire now",
                code="AcceptanceNotDue",
            )
        self._record(
            RiskAcceptanceExpired(
                risk_id=self.id,
                acceptance_id=acceptance_id,
                until=acceptance.until,
                review_due=acceptance.until,
                by=by,
                at=at,
            )
        )

    # -- queries ----------------------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        return self.status is RiskStatus.CLOSED

    # -- helpers ----------------------------------------------------------------------------

    @property
    def _assessment(self) -> Assessment:
        assert self.assessment is not None, "a risk is assessed when identified"
        return self.assessment

    @property
    def _inherent(self) -> Rating:
        return self._assessment.inherent

    def _assess(
        self, inherent: Rating, controls: dict[str, Control], rules: RegisterRules
    ) -> Assessment:
        residual = rules.matrix.residual(inherent, (c.effect for c in controls.values()))
        return Assessment(inherent, residual)

    def _due_after(self, assessment: Assessment, rules: RegisterRules) -> date:
        """The review date for a new residual level: counted from the last review."""
        assert self.last_review is not None
        return rules.reviews.next_review(self.last_review, assessment.residual.level)

    def _check_open(self) -> None:
        if self.is_closed:
            raise Conflict(f"risk {self.id} is closed", code="RiskClosed")

    def _control(self, control_id: str) -> Control:
        control = self.controls.get(control_id)
        if control is None:
            raise NotFound(f"risk {self.id} has no control {control_id}", field="control_id")
        return control

    def _open_action(self, action_id: str) -> Action:
        action = self.actions.get(action_id)
        if action is None:
            raise NotFound(f"risk {self.id} has no action {action_id}", field="action_id")
        if action.done:
            raise Conflict(f"action {action_id} is completed already", code="ActionCompleted")
        return action

    def _acceptance(self, acceptance_id: str) -> Acceptance:
        if self.acceptance is None or self.acceptance.acceptance_id != acceptance_id:
            raise NotFound(
                f"risk {self.id} has no acceptance {acceptance_id}", field="acceptance_id"
            )
        return self.acceptance

    # -- state ------------------------------------------------------------------------------

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case RiskIdentified():
                self.details = RiskDetails(
                    event.title, event.description, event.category, event.owner
                )
                self.assessment = event.assessment
                self.last_review = _day(event.at)
                self.review_due = event.review_due
            case RiskDetailsChanged():
                self.details = RiskDetails(
                    event.title, event.description, event.category, event.owner
                )
            case RiskReassessed():
                self.assessment = event.assessment
                self.last_review = _day(event.at)
                self.review_due = event.review_due
            case RiskControlAdded() | RiskControlChanged():
                self.controls[event.control_id] = Control(
                    event.control_id,
                    event.name,
                    event.description,
                    event.effectiveness,
                    event.reduces,
                )
                self.assessment = event.assessment
                self.review_due = event.review_due
            case RiskControlRemoved():
                self.controls.pop(event.control_id, None)
                self.assessment = event.assessment
                self.review_due = event.review_due
            case RiskTreatmentSet():
                self.treatment = Treatment(event.treatment)
            case RiskActionPlanned():
                self.actions[event.action_id] = Action(
                    event.action_id, event.title, event.owner, event.due_date
                )
            case RiskActionChanged():
                self.actions[event.action_id] = replace(
                    self.actions[event.action_id],
                    title=event.title,
                    owner=event.owner,
                    due_date=event.due_date,
                )
            case RiskActionCompleted():
                self.actions[event.action_id] = replace(self.actions[event.action_id], done=True)
            case RiskReviewed():
                self.last_review = _day(event.at)
                self.review_due = event.review_due
            case RiskClosed():
                self.status = RiskStatus.CLOSED
            case RiskAcceptanceRequested():
                self.acceptance = Acceptance(
                    event.acceptance_id, event.reason, event.until, event.by, event.at
                )
            case RiskAcceptanceApproved():
                self.acceptance = self._acceptance(event.acceptance_id).decided(
                    AcceptanceStatus.APPROVED, event.by, event.at, event.note
                )
            case RiskAcceptanceRejected():
                self.acceptance = self._acceptance(event.acceptance_id).decided(
                    AcceptanceStatus.REJECTED, event.by, event.at, event.reason
                )
            case RiskAcceptanceExpired():
                self.acceptance = self._acceptance(event.acceptance_id).decided(
                    AcceptanceStatus.EXPIRED, event.by, event.at
                )
                self.review_due = event.review_due
            case _:
                raise TypeError(f"unexpected event {type(event).__name__}")
