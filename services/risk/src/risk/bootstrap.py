"""The risk service's composition root: the one place that wires kernel, domain and adapters.

Made for plugging in: the register, limits and KRIs each add their projection to
``projections``, their objects to the ``Risk`` container, their settings to ``RiskSettings``
and their loops to ``background`` (started and stopped by the lifespan in ``main``).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, ClassVar

from pydantic import Field
from shared_kernel.codec import EventCodec
from shared_kernel.commands import CommandBus, utc_now
from shared_kernel.inbox import InboxHandler
from shared_kernel.projections import Projection
from shared_kernel.readmodel import PositionWaiter
from shared_kernel.runtime import ServiceRuntime
from shared_kernel.settings import ServiceSettings

from risk.adapters.counted_entries import SqlCountedEntries
from risk.app.acceptance_expiry import AcceptanceExpirySweeper
from risk.app.deal_queries import DealQueries
from risk.app.exposures import LedgerExposures
from risk.app.kri_commands import KriCommands
from risk.app.kri_queries import KriQueries
from risk.app.kri_stream import (
    OpenCriticalIncidentsInbox,
    define_stream_kri_at_start,
    open_critical_incidents_spec,
)
from risk.app.kri_window_roll import KriWindowRoll
from risk.app.kri_windows import WindowKriInbox, customer_satisfaction_spec, sla_breaches_spec
from risk.app.limits import LimitCommands
from risk.app.limits_queries import LimitQueries
from risk.app.register import RegisterCommands
from risk.app.register_queries import RegisterQueries
from risk.domain import ALL_EVENTS
from risk.domain.kri_windows import CUSTOMER_SATISFACTION, SLA_BREACHES
from risk.domain.register import RegisterRules
from risk.domain.scoring import (
    DEFAULT_LEVEL_FLOORS,
    DEFAULT_REVIEW_DAYS,
    Level,
    ReviewPolicy,
    ScoringMatrix,
)
from risk.projections.deal_view import DealView
from risk.projections.kri_view import KriView
from risk.projections.limit_view import LimitView
from risk.projections.register_view import RegisterView

SERVICE = "risk"


class RiskSettings(ServiceSettings):
    """Risk settings: the common ones, plus those of the register, limits and KRIs."""

    service: ClassVar[str] = SERVICE

    # How often a command is run again after a concurrency conflict before answering 409.
    command_attempts: int = Field(default=8, ge=1, le=100)

    # -- register ---------------------------------------------------------------------------
    # 5 rows (likelihood 1..5) of 5 scores (impact 1..5); None: likelihood x impact.
    risk_matrix_scores: list[list[int]] | None = None
    # Lowest score of each level above low (JSON, e.g. {"medium": 5, "high": 10, ...}).
    risk_level_floors: dict[Level, int] = Field(default_factory=lambda: dict(DEFAULT_LEVEL_FLOORS))
    # Days between two reviews, by residual level.
    risk_review_days: dict[Level, int] = Field(default_factory=lambda: dict(DEFAULT_REVIEW_DAYS))
    run_acceptance_sweeper: bool = True
    acceptance_sweep_interval_seconds: float = Field(default=30.0, gt=0)
    # The longest an acceptance may run, in days from its request.
    acceptance_max_days: int = Field(default=730, ge=1, le=3650)

    # -- KRIs ---------------------------------------------------------------------------------
    # Thresholds and owner of the stream-fed KRI "open-critical-incidents" when the service
    # defines it (at its first start); later changes go through the API.
    kri_open_critical_incidents_amber: float = Field(default=1, allow_inf_nan=False)
    kri_open_critical_incidents_red: float = Field(default=3, allow_inf_nan=False)
    kri_stream_owner: str = "risk-office"
    # ... and of the rolling-window KRIs "sla-breaches-30d" (higher is worse) and
    # "customer-satisfaction-30d" (average rating 1..5, lower is worse).
    kri_sla_breaches_amber: float = Field(default=5, allow_inf_nan=False)
    kri_sla_breaches_red: float = Field(default=10, allow_inf_nan=False)
    kri_customer_satisfaction_amber: float = Field(default=4.0, allow_inf_nan=False)
    kri_customer_satisfaction_red: float = Field(default=3.0, allow_inf_nan=False)
    # The daily window roll (00:00 UTC) is looked for this often.
    run_kri_window_roll: bool = True
    kri_window_roll_interval_seconds: float = Field(default=60.0, gt=0)

    def register_rules(self) -> RegisterRules:
        scores = tuple(tuple(row) for row in self.risk_matrix_scores or ()) or None
        return RegisterRules(
            matrix=ScoringMatrix(scores=scores, level_floors=dict(self.risk_level_floors)),
            reviews=ReviewPolicy(days=dict(self.risk_review_days)),
            acceptance_max_days=self.acceptance_max_days,
        )


def risk_codec() -> EventCodec:
    return EventCodec(ALL_EVENTS)


@dataclass(frozen=True)
class BackgroundTask:
    """A loop the lifespan runs beside the runtime until shutdown (e.g. an expiry sweeper)."""

    name: str
    run: Callable[[], Coroutine[Any, Any, None]]


@dataclass
class Risk:
    """Everything a request handler or a command line needs. Fields have no defaults, so
    each part can add its own anywhere."""

    settings: RiskSettings
    runtime: ServiceRuntime
    clock: Callable[[], datetime]
    bus: CommandBus
    # One read-your-writes waiter per projection: a read waits until all have caught up.
    waiters: list[PositionWaiter]
    background: list[BackgroundTask]
    # -- register --
    register: RegisterCommands
    register_queries: RegisterQueries
    acceptance_sweeper: AcceptanceExpirySweeper
    # -- KRIs --
    kri_commands: KriCommands
    kri_queries: KriQueries
    kri_window_roll: KriWindowRoll
    # -- limits --
    limits: LimitCommands
    limit_queries: LimitQueries
    # -- deal clearance (decided by the ledger inbox and limit approvals) --
    deal_queries: DealQueries


def bootstrap(
    settings: RiskSettings | None = None, *, clock: Callable[[], datetime] = utc_now
) -> Risk:
    settings = settings or RiskSettings()
    codec = risk_codec()
    register_view = RegisterView(settings.topic_namespace, codec=codec)
    kri_view = KriView(settings.topic_namespace, codec=codec)
    limit_view = LimitView(settings.topic_namespace, codec=codec)
    deal_view = DealView(settings.topic_namespace, codec=codec)
    projections: list[Projection] = [register_view, kri_view, limit_view, deal_view]
    kri_spec = open_critical_incidents_spec(
        settings.kri_open_critical_incidents_amber,
        settings.kri_open_critical_incidents_red,
        settings.kri_stream_owner,
    )
    sla_breaches = sla_breaches_spec(
        settings.kri_sla_breaches_amber, settings.kri_sla_breaches_red, settings.kri_stream_owner
    )
    satisfaction = customer_satisfaction_spec(
        settings.kri_customer_satisfaction_amber,
        settings.kri_customer_satisfaction_red,
        settings.kri_stream_owner,
    )
    window_kris = [(SLA_BREACHES, sla_breaches), (CUSTOMER_SATISFACTION, satisfaction)]
    inboxes: list[InboxHandler] = [OpenCriticalIncidentsInbox(kri_spec, settings.topic_namespace)]
    inboxes += [WindowKriInbox(rule, spec, settings.topic_namespace) for rule, spec in window_kris]
    # Counted entries as rows of risk's own table: one statement per batch, not one stream
    # (and one event) per ledger entry.
    inboxes.append(LedgerExposures(settings.topic_namespace, entries=SqlCountedEntries()))
    runtime = ServiceRuntime(SERVICE, settings, codec, projections, inboxes=inboxes)
    bus = CommandBus(runtime.unit_of_work, attempts=settings.command_attempts)
    limit_queries = LimitQueries(runtime.read_models[limit_view.name])

    register = RegisterCommands(settings.register_rules(), clock)
    register_queries = RegisterQueries(
        runtime.read_models[register_view.name],
        runtime.engine,
        runtime.store,
        register.rules.matrix,
    )
    acceptance_sweeper = AcceptanceExpirySweeper(
        bus,
        register,
        register_queries,
        clock,
        interval_seconds=settings.acceptance_sweep_interval_seconds,
    )

    kri_commands = KriCommands(clock)
    kri_queries = KriQueries(runtime.read_models[kri_view.name])
    kri_window_roll = KriWindowRoll(
        bus,
        kri_commands,
        kri_queries,
        clock,
        interval_seconds=settings.kri_window_roll_interval_seconds,
    )
    background: list[BackgroundTask] = []
    if settings.run_acceptance_sweeper:
        background.append(BackgroundTask("acceptance expiry", acceptance_sweeper.run))
    background.append(
        BackgroundTask(
            "stream KRI definition",
            lambda: define_stream_kri_at_start(bus, kri_commands.define_stream_kri, kri_spec),
        )
    )
    for _, spec in window_kris:
        define = partial(define_stream_kri_at_start, bus, kri_commands.define_stream_kri, spec)
        background.append(BackgroundTask(f"stream KRI definition {spec.kri_id}", define))
    if settings.run_kri_window_roll:
        background.append(BackgroundTask("KRI window roll", kri_window_roll.run))

    return Risk(
        settings=settings,
        runtime=runtime,
        clock=clock,
        bus=bus,
        waiters=[runtime.waiter(p.name) for p in projections],
        background=background,
        register=register,
        register_queries=register_queries,
        acceptance_sweeper=acceptance_sweeper,
        kri_commands=kri_commands,
        kri_queries=kri_queries,
        kri_window_roll=kri_window_roll,
        limits=LimitCommands(limit_queries.breach_limit, clock),
        limit_queries=limit_queries,
        deal_queries=DealQueries(runtime.read_models[deal_view.name]),
    )
