"""The case timeline's rows and summaries: one readable line per event, for every event.

Rows are made from envelopes as the services publish them (data in minor units), through the
projection's own decoding, so that a summary is tested with what really reaches it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints
from uuid import uuid4

import pytest
from gateway.domain.case_events import CASE_EVENTS
from gateway.domain.case_summaries import generic
from gateway.domain.case_text import compact, money, percent
from gateway.projections.case_timeline import CaseTimeline
from shared_kernel.domain import DomainEvent
from shared_kernel.envelope import Actor, EventEnvelope

pytestmark = pytest.mark.unit

TIMELINE = CaseTimeline(["t.ledger.events"])


def envelope(
    event_type: str,
    data: dict[str, Any],
    *,
    subject: str = "s-1",
    stream_type: str = "thing",
    version: int = 1,
    actor: str = "trader-1",
) -> EventEnvelope:
    return EventEnvelope(
        id=uuid4(),
        source=f"/{event_type.split('.')[0]}",
        type=f"{event_type}.v{version}",
        subject=subject,
        time=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        data=data,
        stream_type=stream_type,
        stream_version=1,
        position=7,
        correlation_id="case-1",
        causation_id="req-1",
        actor=Actor(actor, "front"),
    )


def row(event_type: str, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return TIMELINE.row(envelope(event_type, data, **kwargs))


def lines(amount: int, currency: str = "EUR") -> list[dict[str, Any]]:
    return [
        {"account_id": "a", "account_code": "1200", "side": "debit", "amount": amount,
         "currency": currency},
        {"account_id": "b", "account_code": "3000", "side": "credit", "amount": amount,
         "currency": currency},
    ]  # fmt: skip


def test_a_deal_submitted_names_who_how_much_and_for_whom() -> None:
    submitted = row(
        "ledger.BookingRequestSubmitted",
        {
            "request_id": "r-1",
            "voucher_number": "V-1",
            "text": "FX forward",
            "lines": lines(500_000),
            "submitted_by": "trader-1",
            "metadata": {"counterparty": "Acme", "desk": "rates"},
            "expires_at": "2026-03-09T09:30:00Z",
        },
    )

    assert submitted["summary"] == (
        "Booking request submitted by trader-1: EUR 5,000.00 to Acme (desk rates)"
    )
    assert submitted["internal"] is False
    assert (submitted["service"], submitted["event_type"]) == (
        "ledger",
        "ledger.BookingRequestSubmitted",
    )


def test_a_request_without_counterparty_or_desk_quotes_its_text() -> None:
    submitted = row(
        "ledger.BookingRequestSubmitted",
        {"request_id": "r", "text": "Office  chairs\n", "lines": lines(12_000),
         "submitted_by": "acc-1"},
    )  # fmt: skip

    assert submitted["summary"] == "Booking request submitted by acc-1: EUR 120.00 - Office chairs"


def test_a_refused_deal_names_the_limit_and_the_shortfall() -> None:
    refused = {
        "request_id": "r-1",
        "counterparty": "Acme",
        "desk": None,
        "code": "LimitExceeded",
        "reason": "limit L-1 has EUR 4,000.00 of headroom",
        "limit_id": "L-1",
        "currency": "EUR",
        "limit_amount": 100_000_000,
        "headroom_before": 400_000,
        "amount": 500_000,
        "shortfall": 100_000,
        "at": "2026-03-02T09:30:01Z",
    }

    assert row("risk.DealRefused", refused)["summary"] == (
        "Deal refused: limit L-1 exceeded by EUR 1,000.00"
    )
    no_limit = refused | {"code": "NoActiveLimit", "limit_id": None, "shortfall": None}
    assert row("risk.DealRefused", no_limit)["summary"] == (
        "Deal refused: no active limit for Acme"
    )
    ledger_side = {k: refused[k] for k in ("request_id", "code", "reason", "limit_id", "currency")}
    assert row("ledger.BookingRequestRefused", ledger_side | {"shortfall": 100_000})["summary"] == (
        "Risk refusal recorded on the booking request: limit L-1 exceeded by EUR 1,000.00"
    )


def test_a_cleared_deal_names_its_tightest_limit() -> None:
    def check(limit_id: str, headroom_after: int) -> dict[str, Any]:
        return {
            "limit_id": limit_id,
            "dimension": "counterparty",
            "currency": "EUR",
            "limit_amount": 100_000_000,
            "exposure_before": 0,
            "amount": 500_000,
            "headroom_before": headroom_after + 500_000,
            "headroom_after": headroom_after,
        }

    cleared = {
        "request_id": "r-1",
        "counterparty": "Acme",
        "desk": "rates",
        "checks": [check("L-wide", 90_000_000), check("L-tight", 20_000_000)],
        "recheck": True,
        "at": "2026-03-02T09:30:01Z",
    }

    assert row("risk.DealCleared", cleared)["summary"] == (
        "Deal cleared on re-check: within limit L-tight, EUR 200,000.00 of EUR 1,000,000.00 "
        "left (and 1 more limit)"
    )


def test_a_breach_shows_usage_at_a_glance() -> None:
    breached = {
        "crossing_id": "b-1",
        "limit_id": "L-1",
        "limit_version": 1,
        "exposure_id": "e-1",
        "dimension": "counterparty",
        "counterparty": "Acme",
        "desk": None,
        "currency": "EUR",
        "exposure": 120_000_000,
        "limit_amount": 100_000_000,
        "warning_threshold_bp": 8000,
        "utilisation_bp": 12000,
        "state": "breached",
        "cause": "posting",
        "cause_id": "x",
        "at": "2026-03-02T09:30:01Z",
    }

    assert row("risk.LimitBreached", breached)["summary"] == (
        "Limit breached for Acme: EUR 1.2M of EUR 1M (120 %)"
    )
    back = breached | {"exposure": 90_000_000, "utilisation_bp": 9000, "threshold": "limit"}
    assert row("risk.LimitBackWithinThreshold", back)["summary"] == (
        "Back within the limit for Acme: EUR 900k of EUR 1M (90 %)"
    )


def test_an_exposure_move_says_what_moved_and_stays_internal() -> None:
    moved = {"exposure_id": "e", "dimension": "counterparty_desk", "counterparty": "Acme",
             "desk": "rates", "currency": "EUR", "posted_delta": 500_000,
             "pending_delta": -500_000, "posted": 1, "pending": 0, "cause": "c", "cause_id": "i",
             "at": "2026-03-02T09:30:01Z"}  # fmt: skip

    approved = row("risk.ExposureChanged", moved)
    submitted = row("risk.ExposureChanged", moved | {"posted_delta": 0, "pending_delta": 7})

    assert approved["summary"] == (
        "Exposure of Acme (desk rates): posted +EUR 5,000.00, pending -EUR 5,000.00"
    )
    assert submitted["summary"] == "Exposure of Acme (desk rates): pending +EUR 0.07"
    assert approved["internal"] is True  # a total over everyone's deals


def test_an_incident_and_its_internal_note() -> None:
    opened = row(
        "tickets.TicketOpened",
        {
            "ticket_id": "t-1",
            "ticket_type": "incident",
            "priority": 2,
            "queue_id": "risk-limits",
            "title": "Limit L-1 breached: Acme at 120 %",
            "requester": "system:tickets-risk",
            "requester_kind": "system",
        },
    )
    note = row(
        "tickets.TicketNoteAdded",
        {"ticket_id": "t-1", "message_id": "m", "author": "risk-1", "body": "Desk told to cut."},
    )

    assert opened["summary"] == (
        "Incident opened in risk-limits: Limit L-1 breached: Acme at 120 % "
        "(P2, for system:tickets-risk)"
    )
    assert opened["internal"] is False
    assert note["summary"] == "Internal note added by risk-1: Desk told to cut."
    assert note["internal"] is True  # the front office never reads internal notes


def test_an_unknown_type_gets_the_generic_summary_and_is_internal() -> None:
    posting = row(
        "ledger.AccountPostingRecorded",
        {"account_id": "a-42", "entry_id": "e", "debit": 5, "credit": 0},
        subject="a-42",
        stream_type="account",
    )

    assert posting["summary"] == "Account posting recorded (account a-42)"
    assert posting["internal"] is True  # what the timeline cannot read, it does not show to all


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"request_id": "r", "code": "LimitExceeded", "reason": 17, "currency": ["EUR"]},
        {"request_id": "r", "code": "x", "reason": "y", "currency": "EUR", "amount": "lots"},
    ],
)
def test_odd_data_of_a_known_type_never_fails_a_row(data: dict[str, Any]) -> None:
    refused = row("risk.DealRefused", data, subject="r", stream_type="deal")

    assert refused["summary"] == "Deal refused (deal r)"
    assert refused["internal"] is True


def test_a_newer_version_than_the_timeline_knows_gets_the_generic_summary() -> None:
    newer = row("ledger.BookingRequestExpired", {"request_id": "r"}, version=2,
                subject="r", stream_type="booking_request")  # fmt: skip

    assert newer["summary"] == "Booking request expired (booking_request r)"


def test_free_text_is_one_line_without_control_characters_and_bounded() -> None:
    rejected = row(
        "ledger.BookingRequestRejected",
        {"request_id": "r", "rejected_by": "acc\x00-1", "reason": "no\x00\tvoucher\r\n" * 50},
        subject="r\x00",
    )

    assert "\x00" not in rejected["summary"] and "\n" not in rejected["summary"]
    assert rejected["summary"].startswith("Booking request rejected by acc -1: no voucher no")
    assert len(rejected["summary"]) < 200 and rejected["summary"].endswith("…")
    assert rejected["subject"] == "r"


def test_the_gateways_own_events_are_summarised_too() -> None:
    registered = row(
        "gateway.OperatorRegistered",
        {"username": "tom", "display_name": "Tom", "roles": ["trader"], "office": "front"},
    )

    assert registered["summary"] == "Operator tom registered (trader)"


def test_money_in_minor_units_is_shown_with_the_currencys_decimals() -> None:
    assert money(123_456_789, "EUR") == "EUR 1,234,567.89"
    assert money(-5, "EUR") == "EUR -0.05"
    assert money(1500, "JPY") == "JPY 1,500"
    assert money(1500, "KWD") == "KWD 1.500"
    assert compact(123_456_789, "EUR") == "EUR 1.2M"
    assert compact(99_999, "EUR") == "EUR 999.99"
    assert compact(3 * 10**11, "JPY") == "JPY 300bn"
    assert percent(12_050) == "120.5 %" and percent(9_999) == "99.99 %" and percent(8000) == "80 %"


def test_the_generic_summary_puts_the_type_in_words() -> None:
    assert generic("risk.LedgerItemCounted", "ledger_item", "i-1").text == (
        "Ledger item counted (ledger_item i-1)"
    )
    assert generic("weird", "", "").text == "Weird"


def sample(annotation: Any) -> Any:
    """A plausible JSON value of a field's type (the first member of a union)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, UnionType):
        return sample(next(a for a in args if a is not type(None)))
    if origin is tuple:
        return [sample(args[0])]
    if origin is not None and issubclass(origin, Mapping):
        return {}
    if dataclasses.is_dataclass(annotation):
        hints = get_type_hints(annotation)
        return {f.name: sample(hints[f.name]) for f in dataclasses.fields(annotation)}
    return {str: "x", int: 2, float: 1.5, bool: True, datetime: "2026-03-02T09:30:00Z"}[annotation]


@pytest.mark.parametrize("cls", CASE_EVENTS, ids=lambda cls: cls.event_type)
def test_every_type_the_timeline_reads_has_a_summary_of_its_own(cls: type[DomainEvent]) -> None:
    made = row(cls.event_type, sample(cls), subject="s-1", stream_type="thing")

    assert made["summary"] != generic(cls.event_type, "thing", "s-1").text
