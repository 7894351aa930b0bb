"""Deal clearance in the ledger on the kernel's in-memory backend: a booking request naming a
counterparty or a desk waits for risk's answer, which the clearance inbox records on it once
(whatever is redelivered), in the deal's case; approval refuses an uncleared deal; decisions
and reversals continue their case."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import ConsumerRecord
from ledger.app.clearance import RiskClearances
from ledger.app.commands import (
    DecideBookingRequest,
    ExpireBookingRequest,
    LedgerCommands,
    OpenAccount,
    ReverseJournalEntry,
    SubmitBookingRequest,
    account_id_for,
)
from ledger.bootstrap import ledger_codec
from ledger.domain import (
    BookingRequest,
    BookingRequestRefused,
    ClearanceStatus,
    EntryDetails,
    LineInput,
    is_deal,
)
from shared_kernel.commands import CommandBus
from shared_kernel.envelope import Actor, EventEnvelope
from shared_kernel.errors import Conflict
from shared_kernel.identity import Caller
from shared_kernel.inbox import InboxWriter
from shared_kernel.memory import InMemoryBackend
from shared_kernel.projections import DeadLetters
from shared_kernel.roles import Role
from shared_kernel.unit_of_work import CommandContext

pytestmark = pytest.mark.unit

CODEC = ledger_codec()  # built once: building a codec takes a moment
DAY = date(2026, 11, 26)
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
DEAL = {"counterparty": "ACME GmbH", "desk": "rates"}


def person(subject: str, role: Role, office: str, case: str | None = None) -> CommandContext:
    caller = Caller(subject, frozenset({role}), office)
    return CommandContext(caller, correlation_id=case) if case else CommandContext(caller)


def accountant(case: str | None = None) -> CommandContext:
    return person("user:anna", Role.ACCOUNTANT, "back", case)


def trader(case: str | None = None) -> CommandContext:
    return person("user:fiona", Role.TRADER, "front", case)


class RecordingDeadLetters(DeadLetters):
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, projection: str, record: ConsumerRecord[bytes, bytes], error: str) -> None:
        self.sent.append(error)


@dataclass
class Ledger:
    """A ledger on the in-memory backend with its clearance inbox."""

    backend: InMemoryBackend = field(default_factory=lambda: InMemoryBackend(CODEC, "/ledger"))
    commands: LedgerCommands = field(default_factory=LedgerCommands)
    dead: RecordingDeadLetters = field(default_factory=RecordingDeadLetters)
    offset: int = 0

    @property
    def bus(self) -> CommandBus:
        return CommandBus(self.backend.make_uow)

    def inbox(self) -> InboxWriter:
        return InboxWriter(RiskClearances(), "ledger", self.backend.make_uow, self.dead)

    async def chart(self) -> None:
        for code, kind in (("1400", "asset"), ("8000", "revenue")):
            command = OpenAccount(code, f"Account {code}", kind, "EUR")
            await self.bus.execute(accountant(), self.commands.open_account, command)

    async def submit(
        self, metadata: dict[str, str], *, case: str | None = None, day: date = DAY
    ) -> str:
        command = SubmitBookingRequest(
            EntryDetails(f"D-{uuid4().hex[:8]}", day, "deal", metadata=metadata),
            (
                LineInput(account_id_for("1400"), "debit", 500_00, "EUR"),
                LineInput(account_id_for("8000"), "credit", 500_00, "EUR"),
            ),
        )
        result = await self.bus.execute(trader(case), self.commands.submit_booking_request, command)
        return result.aggregate_id

    async def approve(self, request_id: str, case: str | None = None) -> str:
        command = DecideBookingRequest(request_id)
        result = await self.bus.execute(
            accountant(case), self.commands.approve_booking_request, command
        )
        return result.aggregate_id

    async def reject(self, request_id: str) -> None:
        command = DecideBookingRequest(request_id, "no")
        await self.bus.execute(accountant(), self.commands.reject_booking_request, command)

    async def request(self, request_id: str) -> BookingRequest:
        async with self.backend.make_uow(accountant()) as uow:
            return await uow.get(BookingRequest, request_id)

    def record(self, envelope: EventEnvelope) -> ConsumerRecord[bytes, bytes]:
        value = envelope.to_json_bytes()
        self.offset += 1
        return ConsumerRecord(
            "risk.events", 0, self.offset, 0, 0, b"k", value, None, 0, len(value), ()
        )

    async def deliver(self, *envelopes: EventEnvelope) -> None:
        """One batch of risk's events through the inbox writer (claims included)."""
        await self.inbox().write([self.record(e) for e in envelopes])

    def types(self, stream_id: str) -> list[str]:
        return [e.event_type for e in self.backend.events(stream_id)]


def risk_event(
    event_type: str, request_id: str, case: str = "case-1", **data: Any
) -> EventEnvelope:
    """A risk event as risk publishes it: every field of the contract, more than the ledger
    reads."""
    common = {
        "request_id": request_id,
        "counterparty": "ACME GmbH",
        "desk": "rates",
        "at": T0.isoformat(),
    }
    return EventEnvelope(
        id=uuid4(),
        source="/risk",
        type=f"{event_type}.v1",
        subject=f"deal-{request_id}",
        time=T0,
        data={**common, **data},
        stream_type="deal",
        stream_version=1,
        position=1,
        correlation_id=case,
        causation_id=case,
        actor=Actor("system:risk-deal-clearance", "system"),
    )


def cleared(request_id: str, case: str = "case-1", *, recheck: bool = False) -> EventEnvelope:
    return risk_event("risk.DealCleared", request_id, case, checks=[], recheck=recheck)


def refused(
    request_id: str, case: str = "case-1", *, shortfall: int | None = 150_00
) -> EventEnvelope:
    return risk_event(
        "risk.DealRefused",
        request_id,
        case,
        code="LimitExceeded",
        reason=f"limit L-7 for ACME GmbH has 350.00 EUR headroom; the deal is {shortfall} over",
        limit_id="L-7",
        currency="EUR",
        limit_amount=1_000_00,
        headroom_before=350_00,
        amount=500_00,
        shortfall=shortfall,
    )


async def office() -> Ledger:
    ledger = Ledger()
    await ledger.chart()
    return ledger


def test_a_deal_names_a_counterparty_or_a_desk_and_blank_names_none() -> None:
    assert is_deal({"counterparty": "ACME"}) and is_deal({"desk": "FX"})
    assert is_deal({"counterparty": "ACME", "desk": "FX", "note": "x"})
    assert not is_deal({}) and not is_deal({"cost_center": "IT"})
    assert not is_deal({"counterparty": "  ", "desk": ""})


async def test_a_deal_waits_for_risk_and_is_approved_once_cleared_in_its_case() -> None:
    ledger = await office()
    deal = await ledger.submit(DEAL, case="case-1")
    assert (await ledger.request(deal)).clearance is ClearanceStatus.AWAITING

    with pytest.raises(Conflict) as early:
        await ledger.approve(deal)
    assert early.value.code == "AwaitingRiskClearance"
    assert "awaiting risk clearance" in early.value.detail

    answer = cleared(deal)
    await ledger.deliver(answer)
    assert (await ledger.request(deal)).clearance is ClearanceStatus.CLEARED
    stored = ledger.backend.events(deal)[-1]
    assert stored.event_type == "ledger.BookingRequestCleared"
    # The answer joins the deal's case, caused by risk's event.
    assert (stored.correlation_id, stored.causation_id) == ("case-1", str(answer.id))

    entry_id = await ledger.approve(deal, case="approval-request")
    assert ledger.types(deal)[-1] == "ledger.BookingRequestApproved"
    approval, posted = ledger.backend.events(deal)[-1], ledger.backend.events(entry_id)[0]
    for event in (approval, posted):
        assert (event.correlation_id, event.causation_id) == ("case-1", "approval-request")


async def test_a_refused_deal_cannot_be_approved_until_a_recheck_clears_it() -> None:
    ledger = await office()
    deal = await ledger.submit(DEAL)

    await ledger.deliver(refused(deal))
    request = await ledger.request(deal)
    assert request.clearance is ClearanceStatus.REFUSED
    with pytest.raises(Conflict) as refusal:
        await ledger.approve(deal)
    assert refusal.value.code == "DealRefused"
    assert "L-7" in refusal.value.detail and "shortfall 150.00 EUR" in refusal.value.detail

    await ledger.deliver(cleared(deal, recheck=True))  # the limit was raised
    assert (await ledger.request(deal)).clearance is ClearanceStatus.CLEARED
    await ledger.approve(deal)
    assert ledger.types(deal) == [
        "ledger.BookingRequestSubmitted",
        "ledger.BookingRequestRefused",
        "ledger.BookingRequestCleared",
        "ledger.BookingRequestApproved",
    ]


async def test_redelivered_and_repeated_answers_change_nothing() -> None:
    ledger = await office()
    deal = await ledger.submit(DEAL)
    refusal, clearance = refused(deal), cleared(deal)

    await ledger.deliver(refusal, refusal)  # one batch with a duplicate
    await ledger.deliver(refusal)  # redelivered later
    await ledger.deliver(refused(deal))  # another event with the same refusal
    assert ledger.types(deal).count("ledger.BookingRequestRefused") == 1
    await ledger.deliver(refused(deal, shortfall=80_00))  # a re-check refused it again, less
    refusals = [
        CODEC.decode_envelope(e)
        for e in ledger.backend.events(deal)
        if e.event_type == "ledger.BookingRequestRefused"
    ]
    assert [r.shortfall for r in refusals if isinstance(r, BookingRequestRefused)] == [
        150_00,
        80_00,
    ]

    await ledger.deliver(clearance, cleared(deal))
    await ledger.deliver(clearance)
    await ledger.deliver(refused(deal))  # late: a clearance is final
    assert ledger.types(deal)[3:] == ["ledger.BookingRequestCleared"]
    assert ledger.dead.sent == []


async def test_answers_for_decided_unknown_or_non_deal_requests_are_ignored() -> None:
    ledger = await office()
    deal = await ledger.submit(DEAL)
    await ledger.reject(deal)  # rejection needs no answer
    expense = await ledger.submit({"cost_center": "IT"})
    assert (await ledger.request(expense)).clearance is ClearanceStatus.NOT_REQUIRED
    before = len(ledger.backend.events())

    await ledger.deliver(cleared(deal), refused(expense), cleared(str(uuid4())))

    assert len(ledger.backend.events()) == before
    assert ledger.dead.sent == []
    await ledger.approve(expense)  # not a deal: approved as ever
    assert ledger.types(expense)[-1] == "ledger.BookingRequestApproved"


async def test_a_malformed_answer_is_dead_lettered_and_changes_nothing() -> None:
    ledger = await office()
    deal = await ledger.submit(DEAL)
    broken = risk_event("risk.DealRefused", deal, reason="no code, no currency")

    await ledger.deliver(broken)

    assert len(ledger.dead.sent) == 1 and "malformed" in ledger.dead.sent[0]
    assert (await ledger.request(deal)).clearance is ClearanceStatus.AWAITING


async def test_a_deal_can_be_rejected_awaiting_or_refused() -> None:
    ledger = await office()
    waiting, turned_down = await ledger.submit(DEAL), await ledger.submit({"desk": "FX"})
    await ledger.deliver(refused(turned_down))

    for request_id in (waiting, turned_down):
        await ledger.reject(request_id)
        assert ledger.types(request_id)[-1] == "ledger.BookingRequestRejected"


async def test_decisions_and_reversals_continue_the_case_they_belong_to() -> None:
    ledger = await office()
    rejected = await ledger.submit({}, case="case-r")
    expiring = await ledger.submit({}, case="case-x")
    approved = await ledger.submit({}, case="case-a")

    reject = DecideBookingRequest(rejected, "no")
    await ledger.bus.execute(accountant("req-2"), ledger.commands.reject_booking_request, reject)
    entry_id = await ledger.approve(approved, case="req-3")
    late = LedgerCommands(clock=lambda: T0 + timedelta(days=30))
    expire = ExpireBookingRequest(expiring)
    await ledger.bus.execute(CommandContext.system("sweeper"), late.expire_booking_request, expire)
    reverse = ReverseJournalEntry(entry_id, "wrong")
    reversal = await ledger.bus.execute(
        accountant("req-4"), ledger.commands.reverse_journal_entry, reverse
    )

    def case_of(stream_id: str) -> set[str]:
        return {e.correlation_id for e in ledger.backend.events(stream_id)}

    assert case_of(rejected) == {"case-r"}
    assert case_of(expiring) == {"case-x"}
    assert case_of(approved) == case_of(entry_id) == {"case-a"}
    assert case_of(reversal.aggregate_id) == {"case-a"}
    # Every event the decisions stored (vouchers too) carries its request's case.
    for request, case in (("req-2", "case-r"), ("req-3", "case-a"), ("req-4", "case-a")):
        caused = [e for e in ledger.backend.events() if e.causation_id == request]
        assert len(caused) >= 2 and {e.correlation_id for e in caused} == {case}
