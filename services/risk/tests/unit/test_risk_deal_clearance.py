"""Deal clearance ("no deal without a limit"): the decision rule, the ``DealClearance``
aggregate, and the ledger inbox and the limit approval deciding deals on the kernel's
in-memory backend (reservations, refusals that never breach, releases, re-checks after a
limit is created or raised, and the business case every decision carries)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from ledger.bootstrap import ledger_codec
from ledger.domain.events import (
    BookingRequestExpired,
    BookingRequestRejected,
)
from risk.app.exposures import LedgerExposures
from risk.app.limits import (
    BreachRef,
    DecideLimitChange,
    LimitCommands,
    RecordBreachMeasures,
    RequestLimit,
    RequestLimitChange,
)
from risk.bootstrap import risk_codec
from risk.domain.deal_events import DealCleared, DealPosted, DealRefused, DealReleased
from risk.domain.deals import (
    LIMIT_EXCEEDED,
    NO_ACTIVE_LIMIT,
    DealClearance,
    DealStatus,
    DealTerms,
    Refusal,
    assess,
    clearance_id,
)
from risk.domain.exposure import Exposure, ExposureKey, ExposureState, LimitInForce, keys_for
from risk.domain.exposure_events import ExposureChanged, LimitBreached, ThresholdCrossed
from risk.domain.limits import Dimension, LimitScope, LimitTerms
from shared_kernel.commands import CommandBus
from shared_kernel.domain import DomainEvent
from shared_kernel.envelope import Actor, EventEnvelope, versioned_type
from shared_kernel.identity import Caller
from shared_kernel.memory import InMemoryBackend
from shared_kernel.unit_of_work import CommandContext

from .ledger_feed import T0, deal, posted, submitted

pytestmark = pytest.mark.unit

LEDGER = ledger_codec()
RISK = risk_codec()
INBOX = CommandContext.system("risk-ledger_exposures")
ACME_FX = {"counterparty": "ACME", "desk": "FX"}
[ACME_EUR, FX_EUR, ACME_FX_EUR] = keys_for("ACME", "FX", "EUR")


# -- the rule ------------------------------------------------------------------------------


def state(key: ExposureKey, exposure: int, *limits: tuple[str, int]) -> ExposureState:
    return ExposureState(key, exposure, tuple(LimitInForce(i, a) for i, a in limits))


def test_a_deal_without_an_active_limit_on_any_key_is_refused() -> None:
    terms = DealTerms("r1", "ACME", "FX", {"EUR": 100})
    refusal = assess(terms, {ACME_EUR: state(ACME_EUR, 0)})
    assert isinstance(refusal, Refusal)
    assert (refusal.code, refusal.limit_id, refusal.shortfall) == (NO_ACTIVE_LIMIT, None, None)
    assert "no active limit for counterparty ACME / desk FX in EUR" in refusal.reason


def test_a_deal_over_a_limit_is_refused_naming_the_largest_shortfall() -> None:
    terms = DealTerms("r1", "ACME", "FX", {"EUR": 5_000_000})
    refusal = assess(
        terms,
        {
            ACME_EUR: state(ACME_EUR, 200_000, ("cp", 1_000_000)),
            FX_EUR: state(FX_EUR, 0, ("desk", 4_000_000)),
        },
    )
    assert isinstance(refusal, Refusal)
    assert (refusal.code, refusal.limit_id, refusal.limit_amount) == (
        LIMIT_EXCEEDED,
        "cp",
        1_000_000,
    )
    assert (refusal.headroom_before, refusal.amount, refusal.shortfall) == (
        800_000,
        5_000_000,
        4_200_000,
    )
    assert "limit cp (counterparty ACME)" in refusal.reason and "4200000" in refusal.reason


def test_a_deal_that_fits_every_active_limit_is_cleared_with_its_checks() -> None:
    terms = DealTerms("r1", "ACME", "FX", {"EUR": 300})
    checks = assess(
        terms,
        {ACME_EUR: state(ACME_EUR, 700, ("cp", 1000)), FX_EUR: state(FX_EUR, 0)},
    )
    assert not isinstance(checks, Refusal)
    [check] = checks
    assert (check.limit_id, check.dimension, check.exposure_before) == ("cp", "counterparty", 700)
    assert (check.headroom_before, check.headroom_after) == (300, 0)  # using it fully fits


def test_every_currency_of_a_deal_needs_a_limit() -> None:
    [usd] = keys_for("ACME", None, "USD")
    terms = DealTerms("r1", "ACME", None, {"EUR": 10, "USD": 10})
    refusal = assess(terms, {ACME_EUR: state(ACME_EUR, 0, ("cp", 1000)), usd: state(usd, 0)})
    assert isinstance(refusal, Refusal)
    assert (refusal.code, refusal.currency) == (NO_ACTIVE_LIMIT, "USD")


def test_a_recheck_clears_a_waiting_deal_once_and_an_unchanged_refusal_records_nothing() -> None:
    terms = DealTerms("r1", "ACME", None, {"EUR": 500})
    clearance = DealClearance.decide(
        terms, {ACME_EUR: state(ACME_EUR, 0, ("cp", 400))}, submitted_at=T0
    )
    assert clearance.id == clearance_id("r1") and clearance.waiting
    assert clearance.recheck({ACME_EUR: state(ACME_EUR, 0, ("cp", 400))}, T0) is False
    assert len(clearance.pending_events()) == 1  # the same refusal: nothing new to say
    assert clearance.recheck({ACME_EUR: state(ACME_EUR, 0, ("cp", 500))}, T0) is True
    cleared = clearance.pending_events()[-1]
    assert isinstance(cleared, DealCleared) and cleared.recheck
    assert clearance.status is DealStatus.CLEARED and not clearance.waiting
    clearance.release("rejected", T0)
    released = clearance.pending_events()[-1]
    assert isinstance(released, DealReleased) and released.reserved
    clearance.release("expired", T0)  # ended already
    assert len(clearance.pending_events()) == 3


# -- the ledger inbox ----------------------------------------------------------------------


def envelope(subject: str, event: DomainEvent, case: str | None = None) -> EventEnvelope:
    """A ledger event as the inbox reads it, in the business case ``case``."""
    correlation = case or str(uuid4())
    return EventEnvelope(
        id=uuid4(),
        source="/ledger",
        type=versioned_type(event.event_type, event.version),
        subject=subject,
        time=T0,
        data=LEDGER.encode(event),
        stream_type="ledger",
        stream_version=1,
        position=1,
        correlation_id=correlation,
        causation_id=correlation,
        actor=Actor("user:trader", "front"),
    )


async def handle(
    backend: InMemoryBackend, handler: LedgerExposures, batch: Sequence[EventEnvelope]
) -> None:
    async with backend.make_uow(INBOX) as uow:
        await handler.handle(uow, handler.codec.read_all(batch))
        await uow.commit()


async def attach(backend: InMemoryBackend, key: ExposureKey, limit_id: str, amount: int) -> None:
    async with backend.make_uow(INBOX) as uow:
        exposure = await uow.find(Exposure, key.id) or Exposure.of(key)
        uow.add(exposure)
        exposure.attach(limit_id, 1, amount, 8000, T0 - timedelta(days=1), None, at=T0)
        await uow.commit()


def stored(backend: InMemoryBackend, cls: type[DomainEvent]) -> list[tuple[EventEnvelope, Any]]:
    return [
        (e, event)
        for e in backend.events()
        if isinstance(event := backend.codec.decode_envelope(e), cls)
    ]


async def exposure_of(backend: InMemoryBackend, key: ExposureKey) -> Exposure:
    async with backend.make_uow(INBOX) as uow:
        return await uow.find(Exposure, key.id) or Exposure.of(key)


async def test_an_unapproved_request_over_its_limit_is_refused_and_never_breaches() -> None:
    backend, handler = InMemoryBackend(RISK), LedgerExposures()
    await attach(backend, ACME_EUR, "cp", 1_000_000)
    await handle(backend, handler, [envelope("r1", submitted("r1", 5_000_000, ACME_FX))])

    [(_, refused)] = stored(backend, DealRefused)
    assert (refused.code, refused.limit_id, refused.shortfall) == (
        LIMIT_EXCEEDED,
        "cp",
        4_000_000,
    )
    assert stored(backend, DealCleared) == [] and stored(backend, ThresholdCrossed) == []
    exposure = await exposure_of(backend, ACME_EUR)
    assert (exposure.posted, exposure.pending) == (0, 0)
    assert exposure.waiting_deals() == ["r1"]  # waits for the limit to be raised


async def test_a_deal_without_a_limit_is_refused_and_an_expense_is_no_deal() -> None:
    backend, handler = InMemoryBackend(RISK), LedgerExposures()
    await handle(
        backend,
        handler,
        [
            envelope("r1", submitted("r1", 100, ACME_FX)),
            envelope("r2", submitted("r2", 100, {"purpose": "office chairs"})),
        ],
    )
    [(_, refused)] = stored(backend, DealRefused)
    assert (refused.request_id, refused.code) == ("r1", NO_ACTIVE_LIMIT)
    for key in (ACME_EUR, FX_EUR, ACME_FX_EUR):  # it waits on every key it counts under
        assert (await exposure_of(backend, key)).waiting_deals() == ["r1"]
    assert stored(backend, ExposureChanged) == []


async def test_cleared_deals_reserve_in_order_within_a_batch_and_release_on_rejection() -> None:
    backend, handler = InMemoryBackend(RISK), LedgerExposures()
    await attach(backend, ACME_EUR, "cp", 1000)
    await handle(
        backend,
        handler,
        [
            envelope("r1", submitted("r1", 600, ACME_FX)),
            envelope("r2", submitted("r2", 600, ACME_FX)),  # 600 + 600 > 1000
            envelope("r3", submitted("r3", 400, ACME_FX)),  # exactly the rest
        ],
    )
    assert [e.request_id for _, e in stored(backend, DealCleared)] == ["r1", "r3"]
    [(_, refused)] = stored(backend, DealRefused)
    assert (refused.request_id, refused.headroom_before, refused.shortfall) == ("r2", 400, 200)
    assert (await exposure_of(backend, ACME_EUR)).pending == 1000

    await handle(
        backend,
        handler,
        [
            envelope("r1", BookingRequestRejected("r1", "user:acc", "no")),
            envelope("r2", BookingRequestExpired("r2", T0)),
        ],
    )
    released = {e.request_id: e.reserved for _, e in stored(backend, DealReleased)}
    assert released == {"r1": True, "r2": False}
    exposure = await exposure_of(backend, ACME_EUR)
    assert (exposure.pending, exposure.waiting_deals()) == (400, [])


async def test_a_cleared_reservation_moves_to_posted_and_postings_breach() -> None:
    backend, handler = InMemoryBackend(RISK), LedgerExposures()
    await attach(backend, ACME_EUR, "cp", 1000)
    await handle(backend, handler, [envelope("r1", submitted("r1", 900, ACME_FX))])
    await handle(
        backend, handler, [envelope("e1", posted("e1", deal(900), ACME_FX, request_id="r1"))]
    )
    [(_, done)] = stored(backend, DealPosted)
    assert (done.entry_id, done.reserved) == ("e1", True)
    exposure = await exposure_of(backend, ACME_EUR)
    assert (exposure.posted, exposure.pending) == (900, 0)
    assert stored(backend, LimitBreached) == []
    # An accountant's journal entry naming the counterparty: posted exposure, a breach.
    await handle(
        backend, handler, [envelope("e2", posted("e2", deal(200), {"counterparty": "ACME"}))]
    )
    [(_, breach)] = stored(backend, LimitBreached)
    assert (breach.cause_id, breach.exposure) == ("e2", 1100)


async def test_every_event_for_a_ledger_event_carries_its_case_and_replays_change_nothing() -> None:
    backend, handler = InMemoryBackend(RISK), LedgerExposures()
    await attach(backend, ACME_EUR, "cp", 1000)
    batch = [
        envelope("r1", submitted("r1", 850, ACME_FX), case="case-r1"),  # reaches the warning
        envelope("e1", posted("e1", deal(200), ACME_FX), case="case-e1"),  # this posting breaches
        envelope("r2", submitted("r2", 10, ACME_FX), case="case-r2"),  # refused: over
    ]
    await handle(backend, handler, batch)
    by_source = {str(e.id): e.correlation_id for e in batch}
    written = [e for e in backend.events() if e.actor.subject == INBOX.actor.subject]
    written = [e for e in written if e.event_type != "risk.LimitAttached"]
    assert written
    for event in written:
        assert by_source[event.causation_id] == event.correlation_id, event.event_type
    [(cleared, _)] = stored(backend, DealCleared)
    assert (cleared.correlation_id, cleared.causation_id) == ("case-r1", str(batch[0].id))
    [(breach, _)] = stored(backend, LimitBreached)
    assert (breach.correlation_id, breach.causation_id) == ("case-e1", str(batch[1].id))
    [(refused, _)] = stored(backend, DealRefused)
    assert refused.correlation_id == "case-r2"

    before = len(backend.events())
    await handle(backend, LedgerExposures(), batch)  # a redelivery that escaped the claims
    assert len(backend.events()) == before


# -- the re-check on a limit approval --------------------------------------------------------

ANNA = Caller("user:anna", frozenset({"risk-officer"}), "back")
BERT = Caller("user:bert", frozenset({"risk-officer"}), "back")


async def approved_limit(
    bus: CommandBus, commands: LimitCommands, amount: int
) -> tuple[str, CommandContext]:
    """A limit on ACME in EUR, requested by Anna and approved by Bert (whose context)."""
    scope = LimitScope(Dimension.COUNTERPARTY, "ACME", None, "EUR")
    terms = LimitTerms(amount, T0 - timedelta(days=1))
    created = await bus.execute(
        CommandContext(ANNA), commands.request_limit, RequestLimit(scope, terms, "client")
    )
    approval = CommandContext(BERT)
    await bus.execute(approval, commands.approve, DecideLimitChange(created.aggregate_id))
    return created.aggregate_id, approval


async def test_a_limit_created_or_raised_clears_the_waiting_deals_oldest_first() -> None:
    backend, handler = InMemoryBackend(RISK), LedgerExposures()
    bus = CommandBus(backend.make_uow)
    commands = LimitCommands(breach_limit=_no_breach, clock=lambda: T0)
    batch = [
        envelope("r1", submitted("r1", 600, ACME_FX), case="case-r1"),
        envelope("r2", submitted("r2", 300, ACME_FX), case="case-r2"),
        envelope("r3", submitted("r3", 300, ACME_FX), case="case-r3"),
    ]
    await handle(backend, handler, batch)
    assert {e.code for _, e in stored(backend, DealRefused)} == {NO_ACTIVE_LIMIT}

    limit_id, approval = await approved_limit(bus, commands, 800)  # r1 fits, then r2 not
    assert [(e.request_id, e.recheck) for _, e in stored(backend, DealCleared)] == [("r1", True)]
    refusals = [e for _, e in stored(backend, DealRefused) if e.recheck]
    assert [(e.request_id, e.code, e.shortfall) for e in refusals] == [
        ("r2", LIMIT_EXCEEDED, 100),
        ("r3", LIMIT_EXCEEDED, 100),
    ]
    # The re-check's decision continues the deal's case, caused by the approval's request.
    [(cleared, _)] = stored(backend, DealCleared)
    assert (cleared.correlation_id, cleared.causation_id) == ("case-r1", approval.correlation_id)
    assert (await exposure_of(backend, ACME_EUR)).waiting_deals() == ["r2", "r3"]

    await bus.execute(
        CommandContext(ANNA),
        commands.request_change,
        RequestLimitChange(limit_id, LimitTerms(1200, T0 - timedelta(days=1)), "raise"),
    )
    raise_context = CommandContext(BERT)
    await bus.execute(raise_context, commands.approve, DecideLimitChange(limit_id))
    cleared_events = stored(backend, DealCleared)
    assert [e.request_id for _, e in cleared_events] == ["r1", "r2", "r3"]
    for envelope_, event in cleared_events[1:]:
        assert envelope_.correlation_id == f"case-{event.request_id}"
        assert envelope_.causation_id == raise_context.correlation_id
    exposure = await exposure_of(backend, ACME_EUR)
    assert (exposure.pending, exposure.waiting_deals()) == (1200, [])
    assert stored(backend, LimitBreached) == []
    async with backend.make_uow(INBOX) as uow:
        clearance = await uow.get(DealClearance, clearance_id("r3"))
    assert clearance.status is DealStatus.CLEARED


async def _no_breach(breach_id: str) -> None:
    return None


async def test_measures_on_a_breach_continue_the_breach_case() -> None:
    backend = InMemoryBackend(RISK)

    async def breach(breach_id: str) -> BreachRef | None:
        return BreachRef("l1", "case-breach") if breach_id == "b1" else None

    commands = LimitCommands(breach_limit=breach, clock=lambda: T0)
    context = CommandContext(Caller("user:carl", frozenset({"controller"}), "back"))
    await CommandBus(backend.make_uow).execute(
        context, commands.record_measures, RecordBreachMeasures("b1", "trading suspended")
    )
    [recorded] = backend.events()
    assert (recorded.correlation_id, recorded.causation_id) == (
        "case-breach",
        context.correlation_id,
    )
